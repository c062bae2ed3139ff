"""Formatting shared by the report writers."""

from __future__ import annotations


def clock(seconds: float) -> str:
    """``m:ss.s``, or ``h:mm:ss`` past the hour, as producers read times in an editor."""
    seconds = max(0.0, seconds)
    hours, rest = divmod(seconds, 3600)
    minutes, secs = divmod(rest, 60)
    if hours >= 1:
        return f"{int(hours)}:{int(minutes):02d}:{int(secs):02d}"
    return f"{int(minutes)}:{secs:04.1f}"


def percent(rate: float) -> str:
    return f"{100 * rate:.1f}%"
