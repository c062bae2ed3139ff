"""Lines the ASR did not hear, looked for in the speech between the lines it did.

Whisper now and then skips a sentence (often the second of two alike) or
mishears it beyond recognition; its silence is no evidence that the line was
not said. Before a line is taken as unspoken, the lines between two trusted
neighbours are aligned by their own text (cross-attention) over the speech
between those neighbours. A line is spoken when the attention finds its text
likely there and gives it room of its own on speech; it is unspoken when no
speech is left between its neighbours, or its text is unlikely wherever the
attention can put it.

Only stretches with doubtful lines are heard again, so an episode the ASR
heard whole costs nothing here.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

from pipeline.align.reference import Reference
from pipeline.align.speech import Speech
from pipeline.align.timing import Spans
from pipeline.types import Word
from pipeline.whisper.attention import MAX_TOKENS, Placement, Window

Attend = Callable[[np.ndarray, Sequence[Window]], list[list[Placement]]]
TokenCount = Callable[[Sequence[str]], int]

# Mean token probability a line's text must reach where the attention puts it. Tuned on the
# festvox-ru study episodes from ru_0101-0360 (lines said but unheard by the ASR scored 0.61-0.97,
# lines not said 0.04-0.11), checked on ones from ru_0361-0620 and on the bench's real-edits and
# real-repeats (said 0.53 and up, not said 0.16 at most; with --no-asr as well).
LIKELY = 0.3
CRAMMED = 0.3  # a line given less than this share of the time its letters take was squeezed in
ON_SPEECH = 0.4  # share of a line's placed time that must be speech
NO_ROOM = 0.3  # speech left between the neighbours, as a share of the shortest line's time: none
MAX_WINDOW = 30.0
PAD = 0.2
CUT_OFF = 0.3  # a line placed this close to a window's end (not the stretch's) may be cut off
FILL = 1.2  # a window is offered lines whose letters take up to this many times its length
OVERLAP = 2.0  # seconds a window shares with the one before, so a line across their edge is whole in one


@dataclass(frozen=True)
class Found:
    placed: dict[int, list[Word]]  # lines found spoken, with their words' times
    unspoken: frozenset[int]  # lines with no place in the audio
    windows: int  # windows the attention placed (what this cost)


def recover(
    ref: Reference,
    doubtful: Sequence[int],
    spans: Spans,
    speech: Speech,
    attend: Attend,
    token_count: TokenCount,
    seconds_per_letter: float,
) -> Found:
    """Decide each ``doubtful`` line: spoken (and placed) or unspoken.

    ``spans`` are the trusted lines' times: a run of doubtful lines is looked
    for only between the trusted lines on either side of it.
    """
    placed: dict[int, list[Word]] = {}
    unspoken: set[int] = set()
    windows = 0
    for run in _runs(doubtful, spans):
        lo = max((spans[i][1] for i in spans if i < run[0]), default=0.0)
        hi = min((spans[i][0] for i in spans if i > run[-1]), default=speech.duration)
        search = _Search(ref, speech, attend, token_count, seconds_per_letter)
        search.run(run, lo, max(lo, hi))
        placed |= search.placed
        unspoken |= set(run) - set(search.placed)
        windows += search.windows
    return Found(placed, frozenset(unspoken), windows)


def _runs(doubtful: Sequence[int], spans: Spans) -> list[list[int]]:
    """Doubtful lines grouped where no trusted line lies between them."""
    runs: list[list[int]] = []
    for index in sorted(doubtful):
        if runs and not any(runs[-1][-1] < i < index for i in spans):
            runs[-1].append(index)
        else:
            runs.append([index])
    return runs


class _Search:
    def __init__(
        self,
        ref: Reference,
        speech: Speech,
        attend: Attend,
        token_count: TokenCount,
        seconds_per_letter: float,
    ) -> None:
        self.ref, self.speech, self.attend, self.token_count = ref, speech, attend, token_count
        self.pace = seconds_per_letter
        self.placed: dict[int, list[Word]] = {}
        self.windows = 0

    def expected(self, line: int) -> float:
        return max(0.2, self.ref.letters(self.ref.by_line[line]) * self.pace)

    def run(self, lines: list[int], lo: float, hi: float) -> None:
        """Place what of ``lines`` is spoken between ``lo`` and ``hi``, window after window."""
        while lines and hi - lo > 0.1:
            if self._speech_seconds(lo, hi) < NO_ROOM * min(self.expected(i) for i in lines):
                return  # no speech left for any of them
            end = min(hi, lo + MAX_WINDOW - 2 * PAD)
            group = self._fit(lines, end - lo)
            kept, resume = self._place(group, lo, end, last=end >= hi)
            if kept and any(i not in kept for i in group if i < max(kept)):
                # Text that was not there took some of the speech of the lines after it.
                kept, resume = self._place(sorted(kept), lo, end, last=end >= hi)
            if kept:
                self.placed |= kept
                last = max(kept)
                lo = max(lo, kept[last][-1].end)
                lines = [i for i in lines if i > last]
            elif end >= hi:  # looked for where they could be: not said; the next lines may be
                lines = [i for i in lines if i not in group]
            else:  # other speech here; the lines may be said after it
                lo = max(lo + 1.0, min(end - OVERLAP, resume if resume is not None else end))

    def _fit(self, lines: list[int], seconds: float) -> list[int]:
        """The leading lines whose text a window of ``seconds`` can hold."""
        group: list[int] = []
        for index in lines:
            tokens = self.token_count([w for i in [*group, index] for w in self.ref.texts(i)])
            if group and (tokens > MAX_TOKENS or sum(map(self.expected, [*group, index])) > FILL * seconds):
                break
            group.append(index)
        return group

    def _place(
        self, group: list[int], lo: float, hi: float, last: bool
    ) -> tuple[dict[int, list[Word]], float | None]:
        """The lines of ``group`` found said in ``lo``-``hi``, with their words.

        Unless the window is the ``last`` of the stretch, a line reaching its end
        may be cut off there: the next window, which starts where that line does
        (returned too), places it whole.
        """
        start, end = max(0.0, lo - PAD), min(self.speech.duration, hi + PAD)
        words = tuple(w for i in group for w in self.ref.texts(i))
        found = self.attend(self.speech.samples, [Window(start, max(end, start + 0.2), words)])[0]
        self.windows += 1
        kept: dict[int, list[Word]] = {}
        cursor = 0
        for index in group:
            texts = self.ref.texts(index)
            piece = found[cursor : cursor + len(texts)]
            cursor += len(texts)
            line = [Word(t, p.start, p.end, p.probability) for t, p in zip(texts, piece)]
            if not line or (not last and line[-1].end > hi - CUT_OFF):
                return kept, (line[0].start - PAD if line else None)
            if self._said(index, line):
                kept[index] = line
        return kept, None

    def _said(self, index: int, words: Sequence[Word]) -> bool:
        likely = float(np.mean([w.probability for w in words])) >= LIKELY
        start, end = words[0].start, words[-1].end
        roomy = end - start >= CRAMMED * self.expected(index)
        return likely and roomy and self._speech_seconds(start, end) >= ON_SPEECH * (end - start)

    def _speech_seconds(self, lo: float, hi: float) -> float:
        env = self.speech.env
        a, b = env.frame(lo), env.frame(hi)
        return float(np.count_nonzero(env.speech[a:b])) * env.hop
