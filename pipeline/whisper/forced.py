"""How likely Whisper finds a text as the words said in a stretch of audio.

The text is forced through the decoder (CTranslate2's ``Whisper.align``,
teacher-forced, as for word timing) and the log-probability of each of its
tokens, the closing end-of-text included, is read off. Two texts scored over
the same audio compare what the audio supports: the transcript's words
against the words the ASR heard, the context around them held the same.

A stretch in chunks the run has encoded already is read from those
encodings, cut to the stretch's frames: no encoder pass, only the decoder's
(the frames of a 30 s encoding keep their meaning when cut; on the real-speech
episodes the verdicts' margins from cut encodings and from fresh ones mostly
differed by a nat or two). Any other stretch, and every stretch when the
stages were cached, is encoded on its own, unpadded. Texts over the same stretch share
its encoding, and stretches go to the model's workers.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

from pipeline.audio import SAMPLE_RATE
from pipeline.whisper.encoder import FRAMES, EncodedAudio, encode_audio, frame_count, select
from pipeline.whisper.engine import Engine

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

        Cut from the kept encodings of the chunks it overlaps, joined where it
        runs over from one chunk to the next (the pause between is not speech),
        or else encoded afresh.
        """
        parts = self._kept_parts(start, end)
        if parts:
            import ctranslate2

            rows = np.concatenate(parts)
            return ctranslate2.StorageView.from_array(np.ascontiguousarray(rows[None])), 2 * len(rows)
        piece = self.samples[int(start * SAMPLE_RATE) : int(end * SAMPLE_RATE)]
        return encode_audio(self.engine, [piece], pad=False), frame_count(end - start)

    def _kept_parts(self, start: float, end: float) -> list[np.ndarray]:
        """The stretch's rows of each kept chunk encoding it overlaps; none unless all are kept."""
        encoded = self.encoded
        if encoded is None or not encoded.pad or encoded.squeeze != 1.0:
            return []
        overlapping = [k for k, c in enumerate(encoded.chunks) if c.start < end and start < c.end]
        if not overlapping or not all(encoded.kept(k) for k in overlapping):
            return []
        parts = []
        for k in overlapping:
            offset = encoded.chunks[k].start
            first = max(0, int((start - offset) * _OUTPUTS_PER_SECOND))
            last = min(
                FRAMES // 2, int(np.ceil((min(end, encoded.chunks[k].end) - offset) * _OUTPUTS_PER_SECOND))
            )
            if last > first:
                parts.append(np.asarray(encoded.load([k]))[0, first:last])
        return parts


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
