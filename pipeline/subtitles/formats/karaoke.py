"""Word-level karaoke WebVTT for the Russian text: an inline timestamp before each word.

Players that support WebVTT timestamps (``<00:00:01.500>``) style the words
already spoken as ``:past`` and the rest as ``:future``.
"""

from __future__ import annotations

from collections.abc import Sequence

from pipeline.pace import spread
from pipeline.subtitles.formats._common import clean_rows, ms, timestamp
from pipeline.subtitles.formats.webvtt import escape
from pipeline.types import Cue

STYLE = """STYLE
::cue {
  color: #ffffff;
}
::cue(:future) {
  color: #a8a8a8;
}"""


def compose_karaoke(cues: Sequence[Cue]) -> str:
    """A Russian WebVTT file in which every word after the first carries its start time.

    Word times come from the aligner (``Cue.words``) when they match the
    cue's words one to one, and are otherwise spread over the cue by length.
    """
    out = ["WEBVTT", STYLE]
    for cue in (c for c in cues if clean_rows(c.ru)):
        rows = [row.split() for row in clean_rows(cue.ru)]
        tokens = [t for row in rows for t in row]
        stamps = iter(_stamps(cue, tokens))
        shown = []
        for row in rows:
            parts = []
            for token in row:
                stamp = next(stamps)
                parts.append(escape(token) if stamp is None else f"<{timestamp(stamp)}>{escape(token)}")
            shown.append(" ".join(parts))
        out.append("\n".join([str(len(out) - 1), f"{timestamp(cue.start)} --> {timestamp(cue.end)}", *shown]))
    return "\n\n".join(out) + "\n"


def word_times(cue: Cue, tokens: Sequence[str]) -> list[float]:
    """When each token starts: the aligned words' starts, or a share of the cue by characters."""
    if len(cue.words) == len(tokens):
        return [w.start for w in cue.words]
    return [start for start, _ in spread(cue.start, cue.end, [len(t) for t in tokens], pause=1)]


def _stamps(cue: Cue, tokens: Sequence[str]) -> list[float | None]:
    """Timestamps to write, ``None`` where there is none.

    WebVTT wants each timestamp after the cue start, after the one before and
    before the cue end (whole milliseconds); the first word needs none, and a
    word that cannot get a valid one shares the previous word's.
    """
    start, end = ms(cue.start), ms(cue.end)
    out: list[float | None] = [None]
    last = start
    for t in word_times(cue, tokens)[1:]:
        at = max(ms(t), last + 1)
        if at >= end:
            out.append(None)
            continue
        out.append(at / 1000)
        last = at
    return out[: len(tokens)]
