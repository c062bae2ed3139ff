"""A season at a time: every episode of a folder brought up to date in OUT/<stem>/."""

from pipeline.batch.progress import QuietView, View
from pipeline.batch.runner import run

__all__ = ["QuietView", "View", "run"]
