"""How likely Whisper finds a text as the words said in a stretch of audio.

The text is forced through the decoder (CTranslate2's ``Whisper.align``,
teacher-forced, as for word timing) and the log-probability of each of its
tokens, the closing end-of-text included, is read off. Two texts scored over
the same audio compare what the audio supports: the transcript's words
against the words the ASR heard, the context around them held the same.

Each stretch is encoded on its own, unpadded, and texts over the same stretch
share its encoding; stretches go to the model's workers. The run's kept chunk
encodings are not reused: rows cut from a padded 30 s encoding (or joined from
two) read the stretch in the context of speech the stretch does not hold, and
on the real-speech episodes such cuts fit a line's own words far worse than a
stretch encoded alone (real-edits: a line at a chunk's start, -6.7 nats a token
cut against -2.0 alone; a line across two chunks, the added word's margin 5 nats
cut against 10 alone), so that the verdicts of a first run and of a run from the
stage cache (which has no encodings) differed.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

from pipeline.audio import SAMPLE_RATE
from pipeline.whisper.encoder import encode_audio, frame_count, select
from pipeline.whisper.engine import Engine

FLOOR = 1e-12  # the probability a token never falls below (log 0 would swallow the comparison)


@dataclass(frozen=True, slots=True)
class Passage:
    """A text that may be what is said from ``start`` to ``end`` (seconds, at most 30 s)."""

    start: float
    end: float
    words: tuple[str, ...]

    def key(self) -> str:
        """The passage as a string, for a cache of scores."""
        return f"{self.start:.3f} {self.end:.3f} {' '.join(self.words)}"


@dataclass(frozen=True, slots=True)
class TextScore:
    """The summed log-probability of a passage's tokens (end-of-text included) and their count."""

    logprob: float
    tokens: int


Scorer = Callable[[Sequence[Passage]], Sequence[TextScore]]


class ForcedScorer:
    """Scores passages of one episode's audio with a loaded :class:`Engine`."""

    def __init__(self, engine: Engine, samples: np.ndarray) -> None:
        self.engine, self.samples = engine, samples
        self.tokenizer = engine.tokenizer()

    def __call__(self, passages: Sequence[Passage]) -> list[TextScore]:
        by_stretch: dict[tuple[float, float], list[int]] = {}
        for k, p in enumerate(passages):
            by_stretch.setdefault((p.start, p.end), []).append(k)
        stretches = list(by_stretch)

        def work(stretch: tuple[float, float]) -> list[TextScore]:
            return self._score(stretch, [passages[k].words for k in by_stretch[stretch]])

        scores: dict[int, TextScore] = {}
        for stretch, found in zip(stretches, self.engine.map(work, stretches)):
            scores.update(zip(by_stretch[stretch], found))
        return [scores[k] for k in range(len(passages))]

    def _score(self, stretch: tuple[float, float], texts: Sequence[Sequence[str]]) -> list[TextScore]:
        start, end = stretch
        if end - start < 0.02:
            return [TextScore(0.0, 0) for _ in texts]
        encoded, frames = self._encoding(start, end)
        tok = self.tokenizer
        tokens = [[*tok.encode(" " + " ".join(words)), tok.eot] for words in texts]  # type: ignore[attr-defined]
        results = self.engine.whisper.model.align(
            select(encoded, [0] * len(tokens)),
            tok.sot_sequence,  # type: ignore[attr-defined]
            tokens,
            [frames] * len(tokens),
        )
        out = []
        for result, sequence in zip(results, tokens):
            probs = np.maximum(np.asarray(result.text_token_probs, dtype=np.float64), FLOOR)
            out.append(TextScore(float(np.log(probs).sum()), len(sequence)))
        return out

    def _encoding(self, start: float, end: float) -> tuple[object, int]:
        """The stretch's encoder outputs (a batch of one), encoded on its own, and its mel frames."""
        piece = self.samples[int(start * SAMPLE_RATE) : int(end * SAMPLE_RATE)]
        return encode_audio(self.engine, [piece], pad=False), frame_count(end - start)


class Remembered:
    """A scorer that scores each passage once, across runs: ``known`` maps :meth:`Passage.key`
    to ``[logprob, tokens]`` (a stage cache's entry), and ``make`` builds the real scorer (loading
    the model) only when a passage is not known."""

    def __init__(self, make: Callable[[], Scorer], known: dict[str, list[float]] | None = None) -> None:
        self.make, self.known = make, dict(known or {})
        self.added = 0

    def __call__(self, passages: Sequence[Passage]) -> list[TextScore]:
        missing = list({p.key(): p for p in passages if p.key() not in self.known}.values())
        if missing:
            for p, found in zip(missing, self.make()(missing)):
                self.known[p.key()] = [found.logprob, found.tokens]
            self.added += len(missing)
        return [TextScore(float(self.known[p.key()][0]), int(self.known[p.key()][1])) for p in passages]
