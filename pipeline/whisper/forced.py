"""How likely Whisper finds a text as the words said in a stretch of audio.

The text is forced through the decoder (CTranslate2's ``Whisper.align``,
teacher-forced, as for word timing) and the log-probability of each of its
tokens, the closing end-of-text included, is read off. Two texts scored over
the same audio compare what the audio supports: the transcript's words
against the words the ASR heard, the context around them held the same.

A stretch that one chunk the run has encoded already holds, with room
before it, is read from that encoding, cut to the stretch's frames: no
encoder pass, only the decoder's (the frames of a 30 s encoding keep their
meaning when cut; on the real-speech episodes the verdicts' margins from such
cuts and from fresh encodings mostly differed by a nat or two). A stretch at
a chunk's very start, or running over from one chunk into the next, is
encoded on its own, unpadded: cut there it fits a line's own words far worse
(real-edits: a line at a chunk's start -6.7 nats a token cut against -2.0
alone; a line across two chunks, the added word's margin 5 nats cut against
10 alone). So is every stretch when the stages were cached. Encoding every
stretch afresh gains as much again on a 7.8-minute episode's 97 findings but
makes the QA stage 2.7 times as long (17.7 s against 6.5 s). Texts over the
same stretch share its encoding, and stretches go to the model's workers.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

from pipeline.audio import SAMPLE_RATE
from pipeline.whisper.encoder import FRAMES, EncodedAudio, encode_audio, frame_count, select
from pipeline.whisper.engine import Engine

# A stretch this far into its chunk or more is cut from the chunk's encoding; one nearer its
# start is encoded alone (the cut fits a line at a chunk's start far worse, see above).
ROOM = 1.0
FLOOR = 1e-12  # the probability a token never falls below (log 0 would swallow the comparison)
_OUTPUTS_PER_SECOND = SAMPLE_RATE / 160 / 2  # encoder outputs: one per two mel frames


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
    """Scores passages of one episode's audio with a loaded :class:`Engine`.

    ``encoded``: the run's kept chunk encodings (padded to 30 s, as transcription
    encodes them), when the run has them.
    """

    def __init__(self, engine: Engine, samples: np.ndarray, encoded: EncodedAudio | None = None) -> None:
        self.engine, self.samples, self.encoded = engine, samples, encoded
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
        """The stretch's encoder outputs (a batch of one) and its length in mel frames.

        Cut from the kept encoding of the chunk that holds it (:meth:`_kept_rows`),
        or else encoded afresh.
        """
        rows = self._kept_rows(start, end)
        if rows is not None:
            import ctranslate2

            return ctranslate2.StorageView.from_array(np.ascontiguousarray(rows[None])), 2 * len(rows)
        piece = self.samples[int(start * SAMPLE_RATE) : int(end * SAMPLE_RATE)]
        return encode_audio(self.engine, [piece], pad=False), frame_count(end - start)

    def _kept_rows(self, start: float, end: float) -> np.ndarray | None:
        """The stretch's rows of the kept encoding of the one chunk that holds it, ``ROOM`` s in."""
        encoded = self.encoded
        if encoded is None or not encoded.pad or encoded.squeeze != 1.0:
            return None
        holding = [
            k
            for k, c in enumerate(encoded.chunks)
            if c.start + ROOM <= start and end <= c.end and encoded.kept(k)
        ]
        if not holding:
            return None
        k = holding[0]
        offset = encoded.chunks[k].start
        first = int((start - offset) * _OUTPUTS_PER_SECOND)
        last = min(FRAMES // 2, int(np.ceil((end - offset) * _OUTPUTS_PER_SECOND)))
        return np.asarray(encoded.load([k]))[0, first:last] if last > first else None


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
