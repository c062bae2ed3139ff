"""A season at a time: every episode of a folder brought up to date in OUT/<stem>/."""

from pipeline.batch.runner import QuietView, View, run

__all__ = ["QuietView", "View", "run"]
