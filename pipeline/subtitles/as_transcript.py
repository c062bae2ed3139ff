"""Subtitle files as transcripts: ``subpipe run AUDIO FILE.srt`` re-times subtitles another tool made.

Each cue with text becomes one transcript line. In a dual file a cue's
Russian rows are the line's Russian and its English rows the translation,
told apart by alphabet (or by subpipe's own markup, see
:func:`pipeline.subtitles.formats._common.row_languages`); a Russian-only
file gives lines without English. An English file given with ``--en`` is
paired by time: each English cue joins the Russian cue it overlaps most, and
one that overlaps none becomes a line of its own where its time puts it.

The old times are never taken as truth: the aligner places every line from
the audio, so the text may differ from what is said and the times may be
shifted or drift. They come back beside the lines (:class:`SubtitleTranscript`)
as a hint that could narrow the aligner's search; the aligner does not take
one yet.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from pipeline.subtitles.formats._lenient import is_timing_line
from pipeline.subtitles.formats.reading import parse_subtitles, read_subtitles, require_text
from pipeline.types import Cue, Line

_SUFFIXES = (".srt", ".vtt")
_TIMING_SHARE = 0.2  # of non-empty lines: an SRT file has one in three or four


@dataclass(frozen=True, slots=True)
class SubtitleTranscript:
    """Transcript lines from a subtitle file, and the cue times each line had there (start, end)."""

    lines: tuple[Line, ...]
    old_times: tuple[tuple[float, float], ...]


def is_subtitles(path: str | Path, text: str) -> bool:
    """Whether a transcript file is really subtitles: by its name, its WEBVTT header or its timing lines."""
    if Path(path).suffix.lower() in _SUFFIXES or text.lstrip()[:6].upper() == "WEBVTT":
        return True
    rows = [row for row in text[:20_000].split("\n") if row.strip()]  # subtitles show it from the start
    timed = sum(1 for row in rows if is_timing_line(row, "srt"))
    return timed >= 2 and timed >= _TIMING_SHARE * len(rows)


def read_lines(text: str, path: str | Path, english: str | Path | None = None) -> SubtitleTranscript:
    """The transcript in the decoded subtitle file ``text``; ``english``: an English subtitle file to pair.

    Raises ``SubtitleError`` for a file without a cue with text (and for an
    unreadable ``english`` file).
    """
    _, parsed = parse_subtitles(text, path)
    require_text(parsed, path, empty=not text.strip())
    cues = [(cue, line_no) for cue, line_no in zip(parsed.cues, parsed.line_numbers) if cue.ru or cue.en]
    if english is not None:
        # The other file brings the English: this one's own English rows would pair twice.
        cues = [(Cue(cue.start, cue.end, cue.ru, ()), line_no) for cue, line_no in cues if cue.ru]
        theirs = read_subtitles(english, ("en",))
        cues = _pair(cues, [(cue, 0) for cue in theirs.cues if cue.en])
    lines, times = [], []
    for cue, line_no in cues:
        ru, en = _joined(cue.ru), _joined(cue.en)
        if ru or en:
            lines.append(Line(len(lines), ru, en, line_no))
            times.append((cue.start, cue.end))
    return SubtitleTranscript(tuple(lines), tuple(times))


def _joined(rows: Sequence[str]) -> str:
    return " ".join(rows)


def _pair(russian: Sequence[tuple[Cue, int]], english: Sequence[tuple[Cue, int]]) -> list[tuple[Cue, int]]:
    """Each English cue joined to the Russian cue it overlaps most; the rest as lines of their own."""
    joined: dict[int, list[str]] = {k: [] for k in range(len(russian))}
    alone: list[tuple[Cue, int]] = []
    for cue, line_no in english:
        overlaps = [
            (min(cue.end, ru.end) - max(cue.start, ru.start), -k) for k, (ru, _) in enumerate(russian)
        ]
        best = max(overlaps, default=(0.0, 0))
        if best[0] > 0:
            joined[-best[1]].extend(cue.en)
        else:
            alone.append((cue, line_no))
    out = [(Cue(r.start, r.end, r.ru, tuple(joined[k])), line_no) for k, (r, line_no) in enumerate(russian)]
    for cue, line_no in alone:
        at = sum(1 for ru, _ in out if ru.start <= cue.start)
        out.insert(at, (cue, line_no))
    return out
