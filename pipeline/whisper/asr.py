"""Transcription: the encoded chunks decoded in batches into timed words.

Each chunk is encoded once (:mod:`pipeline.whisper.encoder`); the same encoding is
decoded greedily, then gives the ASR words their times through Whisper's
cross-attention (:mod:`pipeline.whisper.attention`), and later serves the reference
alignment of lines the ASR heard only in part. Guards against Whisper's
loops: speech-gated chunks, a token budget per chunk, and a compression-ratio
check that re-decodes a looping chunk with beam search and an n-gram ban.
"""

from __future__ import annotations

import zlib
from collections.abc import Callable, Iterable, Iterator, Sequence

from pipeline.audio import SAMPLE_RATE
from pipeline.audio.chunks import Chunk
from pipeline.types import Word
from pipeline.whisper.attention import align_tokens
from pipeline.whisper.encoder import EncodedAudio, encode_audio, frame_count, select
from pipeline.whisper.engine import Engine, load, pick_device

__all__ = ["Engine", "load", "pick_device", "transcribe"]

TOKENS_PER_SECOND = 12  # generous for Russian speech (~7/s); more means a loop
LOOP_COMPRESSION = 2.4  # zlib ratio above which text repeats itself
NO_SPEECH = 0.6
UNHEARD_TAIL = 1.0  # seconds of a chunk after its last heard word (chunks end where speech does)


def transcribe(
    engine: Engine,
    encoded: EncodedAudio,
    progress: Callable[[float], None] | None = None,
    arriving: Iterable[Sequence[Chunk]] = (),
) -> Iterator[Word]:
    """Yield the ASR's words with times, in order, chunk batch by chunk batch.

    Batches go to the engine's workers: each encodes, decodes and times its own
    chunks, so the cores stay busy through every step. ``arriving``: chunks
    still to come while the audio decodes (:func:`pipeline.audio.chunks.arriving`),
    added to ``encoded`` and transcribed as they come.
    """
    shared = engine.tokenizer()

    def work(indices: list[int]) -> tuple[list[int], list[Word]]:
        return indices, _transcribe_batch(engine, shared, encoded, indices)

    for indices, words in engine.map(work, _batches(engine, encoded, arriving)):
        yield from words
        if progress:
            progress(encoded.chunks[indices[-1]].end)


def _batches(
    engine: Engine, encoded: EncodedAudio, arriving: Iterable[Sequence[Chunk]]
) -> Iterator[list[int]]:
    """Chunk indices in batches: full ones while chunks arrive, then the rest as evenly as workers need."""
    pending = list(range(len(encoded.chunks)))
    for chunks in arriving:
        first = len(encoded.chunks)
        encoded.add(chunks)
        pending += range(first, len(encoded.chunks))
        while len(pending) > engine.batch_size * engine.workers:
            yield pending[: engine.batch_size]
            pending = pending[engine.batch_size :]
    for group in engine.groups(len(pending)):
        yield [pending[k] for k in group]


def _transcribe_batch(
    engine: Engine, tokenizer: object, encoded: EncodedAudio, indices: list[int]
) -> list[Word]:
    chunks = encoded.chunks
    storage = encoded.encode(indices)
    spans = [(chunks[i].start, chunks[i].end) for i in indices]
    heard = _heard(engine, tokenizer, storage, spans)
    # Whisper without timestamps sometimes ends a chunk early, dropping its last phrase
    # as if the chunk were over; the speech left after its last word is heard on its own.
    cut_short = [k for k, words in enumerate(heard) if words and spans[k][1] - words[-1].end > UNHEARD_TAIL]
    if cut_short:
        tails = [(heard[k][-1].end, spans[k][1]) for k in cut_short]
        pieces = [encoded.samples[int(start * SAMPLE_RATE) : int(end * SAMPLE_RATE)] for start, end in tails]
        for k, words in zip(cut_short, _heard(engine, tokenizer, encode_audio(engine, pieces), tails)):
            heard[k].extend(words)
    return [word for words in heard for word in words]


def _heard(
    engine: Engine, tokenizer: object, storage: object, spans: Sequence[tuple[float, float]]
) -> list[list[Word]]:
    """The timed words decoded from each encoded chunk (``spans``: its start and end in seconds)."""
    prompt = [*tokenizer.sot_sequence, tokenizer.no_timestamps]  # type: ignore[attr-defined]
    budgets = [len(prompt) + 8 + int(TOKENS_PER_SECOND * (end - start)) for start, end in spans]
    tokens = _decode(engine, storage, prompt, budgets, tokenizer)
    heard: list[list[Word]] = [[] for _ in spans]
    spoken = [k for k, found in enumerate(tokens) if found]
    if not spoken:
        return heard
    per_word = {k: _word_tokens(tokenizer, tokens[k]) for k in spoken}
    # On the CPU each chunk's words are timed on their own: six chunks took 2.3-2.5 s one by one
    # against 2.7-2.9 s as one batch (the same times), as the encoder's batches do (see encoder).
    groups = [[k] for k in spoken] if engine.device == "cpu" else [spoken]
    placed = [
        place
        for group in groups
        for place in align_tokens(
            engine,
            tokenizer,
            select(storage, group),
            [[t for _, t in per_word[k]] for k in group],
            [frame_count(spans[k][1] - spans[k][0]) for k in group],
            [spans[k][0] for k in group],
        )
    ]
    for k, places in zip(spoken, placed):
        words = per_word[k]
        heard[k] = [
            Word(text, round(place.start, 3), round(place.end, 3), round(place.probability, 3))
            for (text, _), place in zip(words, places)
        ]
    return heard


def _decode(
    engine: Engine, storage: object, prompt: list[int], budgets: Sequence[int], tokenizer: object
) -> list[list[int]]:
    """Greedy decoding; chunks that loop are decoded again with beam search and an n-gram ban."""
    model = engine.whisper.model
    common = {
        "max_length": min(448, max(budgets)),
        "return_scores": True,
        "return_no_speech_prob": True,
        "suppress_blank": True,
        "suppress_tokens": [-1],
    }
    results = model.generate(storage, [prompt] * len(budgets), beam_size=1, **common)
    tokens: list[list[int]] = []
    looping: list[int] = []
    for k, (result, budget) in enumerate(zip(results, budgets)):
        found = list(result.sequences_ids[0])
        if result.no_speech_prob > NO_SPEECH and result.scores[0] / max(1, len(found)) < -1.0:
            found = []  # Whisper's own verdict: this chunk holds no speech
        elif len(found) + len(prompt) >= budget or _compression(tokenizer.decode(found)) > LOOP_COMPRESSION:
            looping.append(k)
        tokens.append(found[: max(0, budget - len(prompt))])
    if looping:
        again = model.generate(
            select(storage, looping),
            [prompt] * len(looping),
            beam_size=5,
            no_repeat_ngram_size=3,
            repetition_penalty=1.1,
            **common,
        )
        for k, result in zip(looping, again):
            tokens[k] = list(result.sequences_ids[0])[: max(0, budgets[k] - len(prompt))]
    return tokens


def _word_tokens(tokenizer: object, tokens: list[int]) -> list[tuple[str, list[int]]]:
    """Words of a decoded chunk with their tokens; punctuation joins the word before it."""
    eot = tokenizer.eot  # type: ignore[attr-defined]
    words, word_tokens = tokenizer.split_to_word_tokens([*tokens, eot])  # type: ignore[attr-defined]
    merged: list[tuple[str, list[int]]] = []
    for word, pieces in zip(words, word_tokens):
        if not pieces or pieces[0] == eot or not word.strip():
            continue
        if merged and not any(ch.isalnum() for ch in word):
            merged[-1] = (merged[-1][0] + word.strip(), merged[-1][1] + list(pieces))
        else:
            merged.append((word.strip(), list(pieces)))
    return merged


def _compression(text: str) -> float:
    data = text.encode("utf-8")
    return len(data) / len(zlib.compress(data)) if data else 0.0
