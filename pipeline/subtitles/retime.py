"""The timing rules: when each cue appears and goes, given when its lines are spoken.

Fixes are applied only while the cue stays on its speech: it may run past
the speech for reading (``max_extend``) or, when it would otherwise be too
short, on into the silence up to the next line; it may start up to
``max_extend`` early into silence; and it may hold back the next cue as long
as that cue still starts within ``max_extend`` of its speech's end. Gaps
under ``chain_gap`` are closed to ``gap_frames``. What these cannot mend
stays for ``check_cues`` to report.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import replace

from pipeline.subtitles.lint import chars
from pipeline.subtitles.profiles import Profile
from pipeline.types import Cue

_TICK = 0.001  # a millisecond, the resolution of subtitle files


def retime(cues: Sequence[Cue], p: Profile) -> list[Cue]:
    """Cues timed to the profile; each input cue's ``start``/``end`` is its speech, in order."""
    out: list[Cue] = []
    prev_end = -math.inf
    for i, cue in enumerate(cues):
        nxt = cues[i + 1] if i + 1 < len(cues) else None
        start, end = _span(cue, nxt, prev_end, p)
        if out and p.min_gap + _TICK < start - out[-1].end < p.chain_gap - _TICK:
            # A gap left too short by the fixes above: chain it from whichever side allows.
            prev = out[-1]
            if start - p.min_gap - prev.start <= p.max_duration:
                out[-1] = replace(prev, end=_ms(start - p.min_gap))
            else:
                start = _ms(prev.end + p.min_gap)
                end = min(end, _ms(start + p.max_duration))
        out.append(replace(cue, start=start, end=end))
        prev_end = end
    return out


def _span(cue: Cue, nxt: Cue | None, prev_end: float, p: Profile) -> tuple[float, float]:
    """Start and end of one cue, given where the previous one ended and when the next is spoken."""
    floor = 0.0 if prev_end == -math.inf else _ms(prev_end + p.min_gap)
    # A line spoken over the previous cue waits for it rather than covering it.
    start = max(cue.start, floor)
    speech_end = max(cue.end, start)
    reading = max(chars(cue.ru) / p.ru_max_cps, chars(cue.en) / p.en_max_cps)
    end = max(speech_end, min(start + reading, speech_end + p.max_extend), start + p.min_duration)
    limit = nxt.start - p.min_gap if nxt is not None else math.inf
    if nxt is not None and nxt.start - end < p.chain_gap:
        end = limit  # closes a short gap, or gives way to the next line's speech
    end = min(end, start + p.max_duration)
    if end - start < p.min_duration:
        # Too short before the next line: start early into silence, then hold the next cue back
        # if it still shows within max_extend of its speech.
        start = max(floor, min(start, end - p.min_duration), cue.start - p.max_extend)
        hold = start + p.min_duration
        if end - start < p.min_duration and (nxt is None or hold + p.min_gap < nxt.end + p.max_extend):
            end = hold
    # Still too short (the next line is spoken over this one): the next cue waits. A cue
    # nobody can read is worse than one shown late.
    start = _ms(start)
    return start, max(_ms(end), _ms(start + p.min_duration))


def _ms(seconds: float) -> float:
    """Whole milliseconds, as subtitle files keep them, so what is checked here is what is written."""
    return round(seconds, 3)
