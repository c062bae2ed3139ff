"""Subtitles: cues from aligned lines under a style profile, rule checks, and the file formats."""
