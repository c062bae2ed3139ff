"""Whether a transcript read along the audio (``--no-asr``) is this audio's: its own text against another's.

The read-along's token probabilities follow the recording as much as the
text: clean speech reads at 0.7-0.8, speech under a loud music bed at 0.36,
and a transcript of another recording at 0.07-0.13, so no fixed level tells
them apart. A likelihood ratio does: a few chunks are scored again with the
words a chunk far away took. Their own words are many times likelier when the
transcript is the audio's; when it is not, their own words are as foreign as
the others. Measured on synthetic speech (the sample, the bench episodes) and
human speech (festvox-ru: the real-speech bench episodes and others), clean,
under a music bed at 10, 3 and 0 dB, under white noise at 5 and 15 dB and
through an 8 kHz mu-law telephone line, against transcripts of other
recordings and music (each figure pools up to 6 chunks):

=======================================  ==============================
own text over a far chunk's              pooled
=======================================  ==============================
the audio's own transcript               3.0 (music bed at 3 dB) - 10.5
  one line in five, or half, foreign     4.4, 4.0
another recording's transcript           0.96 - 1.09
music                                    1.0
the own transcript, speech at 2x speed   1.65 - 2.7
=======================================  ==============================

Music takes a word or two per chunk (the text does not fit it), so every
chunk with a word counts.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np

from pipeline.whisper.attention import MAX_TOKENS, Attention, align_tokens
from pipeline.whisper.encoder import EncodedAudio, frame_count

SAMPLED = 6  # chunks scored again, in one batch
MIN_WORDS = 1  # a chunk with any word read along it


def likelihood_ratio(
    attention: Attention, encoded: EncodedAudio, by_chunk: Mapping[int, Sequence[tuple[str, float]]]
) -> float | None:
    """How much likelier sampled chunks find their own words than a far chunk's; None under two chunks.

    ``by_chunk`` maps a chunk's index to the words read along it with
    their probabilities (:class:`pipeline.align.readalong.ReadAlong`).
    """
    usable = sorted(k for k, words in by_chunk.items() if len(words) >= MIN_WORDS)
    if len(usable) < 2:
        return None
    step = max(1, len(usable) // SAMPLED)
    picked = list(range(0, len(usable), step))[:SAMPLED]
    scored = [usable[at] for at in picked]
    far = [usable[(at + len(usable) // 2) % len(usable)] for at in picked]
    chunks = [encoded.chunks[k] for k in scored]
    placed = align_tokens(  # one batch: the chunks' encodings are kept from the read-along
        attention.engine,
        attention.tokenizer,
        encoded.load(scored),
        [_tokens(attention, [text for text, _ in by_chunk[k]]) for k in far],
        [frame_count(chunk.duration, encoded.squeeze) for chunk in chunks],
        [chunk.start for chunk in chunks],
        encoded.squeeze,
    )
    own = np.mean([p for k in scored for _, p in by_chunk[k]])
    foreign = np.mean([p.probability for words in placed for p in words])
    return float(own) / max(float(foreign), 1e-6)


def _tokens(attention: Attention, words: Sequence[str]) -> list[list[int]]:
    """The words' tokens, as many words as the decoder takes."""
    tokens, count = [], 0
    for word in words:
        piece = attention.word_tokens(word)
        if count + len(piece) > MAX_TOKENS:
            break
        tokens.append(piece)
        count += len(piece)
    return tokens
