"""Alignment without transcription (``--no-asr``): the reference read along the audio.

Each encoded chunk (not padded to 30 s, and heard faster than it was
spoken, see ``READ_ALONG_SQUEEZE``: the text is known) is offered the
next stretch of reference words, a little more than its speech can hold;
Whisper's cross-attention places them. The chunk keeps the whole lines
that fit; the rest, crammed into its last frames or cut off at its end,
goes to the next chunk, which then starts on a line's first word.
A line whose words the model finds very unlikely where they land is left out:
it is probably not spoken. What comes out stands in for ASR words, so the usual
aligner (anchors, windows, boundaries) finishes the job, placing again only
the lines whose times look wrong.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np

from pipeline.types import Line, Word
from pipeline.whisper.attention import MAX_TOKENS, Attention, Placement, align_tokens
from pipeline.whisper.encoder import EncodedAudio, frame_count

OVERSHOOT = 1.2  # offer this many times the words the chunk's speech should hold (1.1 lost lines)
CRAMMED = 0.05  # seconds: words placed shorter than this at a chunk's end did not fit
UNLIKELY = 0.12  # mean token probability under which a line is taken as unspoken
CRAMMED_SHARE = 0.5  # a line given less than this share of the time its letters take is doubtful
TAIL = 1.0  # seconds: a line ending this close to a chunk's end may have been crammed there
LONG_LINE = 0.5  # a line with more letters than this share of a chunk's is split between chunks
# The encoder hears the speech this much faster (fewer frames, less of its cost). On the bench
# episodes 1.5-1.75 timed lines as well as 1.0 did; 2.0 and faster lost unspoken lines in noise.
# 1.75 takes 2 of the 58-min episode's 1075 lines (names, short lines) for unspoken.
READ_ALONG_SQUEEZE = 1.75


@dataclass(frozen=True)
class ReadAlong:
    words: list[Word]  # reference words placed in the audio, standing in for ASR words
    recheck: frozenset[int]  # lines whose times need a second look
    # Each chunk's words as read along it, with their probabilities (unspoken lines' too):
    # the evidence whether the transcript belongs to the audio (whisper/belongs.py).
    by_chunk: dict[int, list[tuple[str, float]]] = field(default_factory=dict)


def read_along(lines: Sequence[Line], encoded: EncodedAudio, attention: Attention) -> ReadAlong:
    """Reference words placed in the audio, one chunk after another, as pseudo ASR words.

    Chunks keep whole lines: a line cut at a chunk's end was, more often
    than not, placed with its first word in the pause before the chunk ended
    and the rest crammed; the next chunk places it whole. Only a long line
    (a paragraph) is split between chunks, each placing the words it holds.
    """
    words = [(i, w) for i, line in enumerate(lines) for w in line.ru.split()]
    if not words or not encoded.chunks:
        return ReadAlong([], frozenset())
    split: set[int] = set()
    line_letters: Counter[int] = Counter()
    for line, word in words:
        line_letters[line] += len(word)
    speech = sum(c.duration for c in encoded.chunks)
    letters_per_second = sum(len(w) for _, w in words) / max(1.0, speech)
    placed: list[tuple[int, str, Placement]] = []
    by_chunk: dict[int, list[tuple[str, float]]] = {}
    cursor = 0
    # Encoding needs no text, so the workers encode ahead while each chunk is read in turn.
    ready = attention.engine.map(lambda k: encoded.encode([k]), range(len(encoded.chunks)))
    for index, (chunk, storage) in enumerate(zip(encoded.chunks, ready)):
        if cursor >= len(words):
            break
        expected = chunk.duration * letters_per_second
        paragraph = _paragraphs(line_letters, expected)
        offer = _offer(words, cursor, expected, expected * OVERSHOOT + 20, paragraph)
        tokens = [attention.word_tokens(w) for _, w in offer]
        while sum(map(len, tokens)) > MAX_TOKENS and len(offer) > 1:
            whole = _line_start(offer, len(offer) - 1)
            offer, tokens = offer[: whole or len(offer) - 1], tokens[: whole or len(offer) - 1]
        found = align_tokens(
            attention.engine,
            attention.tokenizer,
            storage,
            [tokens],
            [frame_count(chunk.duration, encoded.squeeze)],
            [chunk.start],
            encoded.squeeze,
        )[0]
        last_chunk = index + 1 == len(encoded.chunks)
        fitted = len(found) if last_chunk else _fitted(offer, found, chunk.end, letters_per_second, paragraph)
        placed.extend((line, text, p) for (line, text), p in zip(offer[:fitted], found[:fitted]))
        by_chunk[index] = [(text, p.probability) for (_, text), p in zip(offer[:fitted], found[:fitted])]
        cursor += fitted
        if fitted > 0 and cursor < len(words) and words[cursor - 1][0] == words[cursor][0]:
            split.add(words[cursor][0])
    words_found, doubtful = _judge(placed, letters_per_second)
    # A line split between chunks is longer than a second look's window could hold.
    return ReadAlong(words_found, frozenset(doubtful - split), by_chunk)


def _paragraphs(line_letters: Mapping[int, int], expected: float) -> Callable[[int], bool]:
    """Whether a line is a paragraph: more letters than ``LONG_LINE`` of a chunk's ``expected``."""
    return lambda line: line_letters[line] > LONG_LINE * expected


def _offer(
    words: Sequence[tuple[int, str]],
    cursor: int,
    expected: float,
    budget: float,
    paragraph: Callable[[int], bool],
) -> list[tuple[int, str]]:
    """The words from ``cursor`` offered to a chunk: ``budget`` letters, cut back to whole lines.

    A line only begun by the offer would be cut off at the chunk's end and
    handed on anyway; it is left out, unless that leaves less than the
    ``expected`` letters (the chunk's speech would stretch the last line);
    then it is offered whole, or in part if it is a ``paragraph``.
    """
    end, letters = cursor, 0
    while end < len(words) and letters < budget:
        letters += len(words[end][1])
        end += 1
    if end < len(words) and words[end - 1][0] == words[end][0] and not paragraph(words[end][0]):
        whole = max(cursor, _line_start(words, end - 1))
        if sum(len(text) for _, text in words[cursor:whole]) >= expected:
            end = whole
        else:
            while end < len(words) and words[end - 1][0] == words[end][0]:
                end += 1
    return list(words[cursor:end])


def _fitted(
    offer: Sequence[tuple[int, str]],
    found: Sequence[Placement],
    chunk_end: float,
    letters_per_second: float,
    paragraph: Callable[[int], bool],
) -> int:
    """How many leading words of the offer the chunk keeps: whole lines, none crammed at its end.

    Words squeezed into the last frames did not fit, nor did a line near the
    end given a fraction of the time its letters take (had it been said in
    this chunk, the speech before the end would hold it). A line cut off
    goes on whole, unless it is a ``paragraph`` or the chunk's
    only line: those are split here.
    """
    count = len(found)
    while (
        count > 0
        and found[count - 1].end - found[count - 1].start < CRAMMED
        and found[count - 1].start > chunk_end - 1.0
    ):
        count -= 1
    while count > 0 and found[count - 1].end > chunk_end - TAIL:
        first = _line_start(offer, count - 1)
        letters = sum(len(text) for _, text in offer[first:count])
        if found[count - 1].end - found[first].start >= CRAMMED_SHARE * letters / letters_per_second:
            break
        count = first
    if 0 < count < len(offer) and offer[count - 1][0] == offer[count][0] and not paragraph(offer[count][0]):
        count = _line_start(offer, count - 1) or count
    return count


def _line_start(words: Sequence[tuple[int, str]], word: int) -> int:
    """Index of the first word of ``word``'s line in ``words`` (line, text) pairs."""
    while word > 0 and words[word - 1][0] == words[word][0]:
        word -= 1
    return word


def _judge(
    placed: Sequence[tuple[int, str, Placement]], letters_per_second: float
) -> tuple[list[Word], set[int]]:
    """Words of the lines the model finds said, and the lines whose placement needs a second look.

    A line whose words are very unlikely where they land is taken as
    unspoken. One crammed into a fraction of the time its letters take is
    doubtful: the line may not be said (the attention had no speech to give
    it), or the alignment slipped there; its own window decides.
    """
    by_line: dict[int, list[Placement]] = {}
    letters: dict[int, int] = {}
    for line, text, p in placed:
        by_line.setdefault(line, []).append(p)
        letters[line] = letters.get(line, 0) + len(text)
    unspoken, doubtful = set(), set()
    for line, places in by_line.items():
        if float(np.mean([p.probability for p in places])) < UNLIKELY:
            unspoken.add(line)
        elif places[-1].end - places[0].start < CRAMMED_SHARE * letters[line] / letters_per_second:
            doubtful.add(line)
    words = [Word(text, p.start, p.end, p.probability) for line, text, p in placed if line not in unspoken]
    return words, doubtful
