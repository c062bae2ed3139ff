"""Forced alignment of the reference transcript to the audio (see :mod:`pipeline.align.aligner`)."""

from pipeline.align.aligner import Attender, Names, Options, align
from pipeline.align.reference import Reference
from pipeline.align.speech import Speech

__all__ = ["Attender", "Names", "Options", "Reference", "Speech", "align"]
