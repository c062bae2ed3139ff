"""Forced alignment of the reference transcript to the audio (see :mod:`pipeline.align.aligner`)."""

from pipeline.align.aligner import align

__all__ = ["align"]
