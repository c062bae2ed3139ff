"""Alignment without transcription (``--no-asr``): the reference read along the audio.

Each encoded chunk (not padded to 30 s, and heard faster than it was
spoken, see ``READ_ALONG_SQUEEZE``: the text is known) is offered the
next stretch of reference words, a little more than its speech can hold;
Whisper's cross-attention places them. The chunk keeps the lines that fit,
and the part of a line said before its end (real speech pauses inside
lines); the rest, crammed into its last frames or cut off at its end, goes
to the next chunk.

A read-along can lose its place: a line not said, speech not in the
transcript, a line placed too early. Then the opening of what a chunk is
offered is unlikely there (token probabilities collapse); line starts near
the place are tried on the same encoding and the likeliest is taken, or the
chunk is left unread. Lines it does not place, or finds very unlikely, are
left to the aligner, which looks for them between their placed neighbours
(:mod:`pipeline.align.recovery`). What comes out stands in for ASR words, so
the usual aligner (anchors, windows, boundaries) finishes the job, placing
again only the lines whose times look wrong. How often the place was lost is
said on the run's summary line (:meth:`ReadAlong.summary`).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np

from pipeline.normalize import normalize_word
from pipeline.types import Line, Word
from pipeline.whisper.attention import MAX_TOKENS, Attention, Placement, align_tokens
from pipeline.whisper.encoder import EncodedAudio, frame_count, select

OVERSHOOT = 1.2  # offer this many times the words the chunk's speech should hold (1.1 lost lines)
CRAMMED = 0.05  # seconds: words placed shorter than this at a chunk's end did not fit
UNLIKELY = 0.12  # mean token probability under which a line is taken as unspoken
CRAMMED_SHARE = 0.5  # a line given less than this share of the time its letters take is doubtful
TAIL = 1.0  # seconds: a line ending this close to a chunk's end may have been crammed there
LONG_LINE = 0.5  # a line with more letters than this share of a chunk's is split between chunks
# A line cut off at a chunk's end keeps the words that start this far before the end, when they
# are likely (festvox-ru study episodes: said words 0.6-0.9, crammed or misplaced 0.05-0.3).
PART_MARGIN = 0.15
PART_LIKELY = 0.4
PART_SHORT = 0.25  # ... and at most this share of them shorter than CRAMMED («в», «же» may take a frame)
# The place is lost when the opening of the offer is this unlikely (mean token probability);
# measured on the festvox-ru study episodes: a chunk read in its place scores 0.26-0.9 (most
# above 0.5), one offered lines not said there 0.04-0.11.
LOST = 0.2
FOUND = 0.3  # a line start tried elsewhere must score this to be taken as the place
TIE = 0.1
PROBE = 8  # words of each tried start that are read (the likelihood takes OPENING of them)
OPENING = 4  # words (with letters) the opening's likelihood is taken over
LOOK_BACK = 2  # lines before the cursor's that are tried
LOOK_AHEAD = 2.5  # chunks' worth of text after the cursor whose line starts are tried
MAX_TRIES = 10
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
    lost: int = 0  # chunks where the read-along had lost its place
    relocated: int = 0  # ... and found it again further on or back
    unread: float = 0.0  # seconds of chunks where no text near its place was found: left to the aligner

    def summary(self) -> str:
        """What the read-along says of itself on the run's summary line ("" when all went well)."""
        if not self.lost:
            return ""
        said = f"read-along lost its place in {self.lost} chunk{'s' if self.lost > 1 else ''}"
        said += f", found it again in {self.relocated}"
        if self.unread:
            said += f", {self.unread:.0f} s left to the full aligner"
        return said


def read_along(lines: Sequence[Line], encoded: EncodedAudio, attention: Attention) -> ReadAlong:
    """Reference words placed in the audio, one chunk after another, as pseudo ASR words.

    Chunks keep whole lines, or the part of a line said before a chunk's end
    (:func:`_fitted`). When the text a chunk is offered is unlikely there
    (the place is lost: a line not said, speech not in the transcript, a line
    placed too early), nearby line starts are tried on the same encoding and
    the likeliest taken (:func:`_relocate`); if none is likely the chunk is
    left unread, its lines to the full aligner.
    """
    reader = _Reader(lines, encoded, attention)
    if not reader.words or not encoded.chunks:
        return ReadAlong([], frozenset())
    # Encoding needs no text, so the workers encode ahead while each chunk is read in turn.
    ready = attention.engine.map(lambda k: encoded.encode([k]), range(len(encoded.chunks)))
    for index, storage in enumerate(ready):
        if reader.cursor >= len(reader.words):
            break
        reader.read(index, storage)
    words_found, doubtful = _judge(reader.placed, reader.letters_per_second)
    # A line split between chunks is longer than a second look's window could hold.
    return ReadAlong(
        words_found,
        frozenset(doubtful - reader.split),
        reader.by_chunk,
        reader.lost,
        reader.relocated,
        reader.unread,
    )


class _Reader:
    def __init__(self, lines: Sequence[Line], encoded: EncodedAudio, attention: Attention) -> None:
        self.encoded, self.attention = encoded, attention
        self.words = [(i, w) for i, line in enumerate(lines) for w in line.ru.split()]
        self.line_letters: Counter[int] = Counter()
        for line, word in self.words:
            self.line_letters[line] += len(word)
        speech = sum(c.duration for c in encoded.chunks)
        self.letters_per_second = sum(len(w) for _, w in self.words) / max(1.0, speech)
        self.placed: list[tuple[int, str, Placement]] = []
        self.by_chunk: dict[int, list[tuple[str, float]]] = {}
        self.split: set[int] = set()
        self.cursor = 0
        self.lost = self.relocated = 0
        self.unread = 0.0

    def read(self, index: int, storage: object) -> None:
        chunk = self.encoded.chunks[index]
        expected = chunk.duration * self.letters_per_second
        paragraph = _paragraphs(self.line_letters, expected)
        offer = self._offer(self.cursor, expected, paragraph)
        found = self._align(storage, index, [offer])[0]
        if _likelihood(offer, found) < LOST:
            self.lost += 1
            best = self._relocate(storage, index, expected, paragraph)
            if best is None:
                self.unread += chunk.duration
                return  # nothing near its place is said here: the aligner's own search takes over
            self.relocated += 1
            start, offer, found = best
            self.placed = [item for item in self.placed if item[0] < self.words[start][0]]
            self.cursor = start
        last_chunk = index + 1 == len(self.encoded.chunks)
        fitted = len(found) if last_chunk else _fitted(offer, found, chunk.end, self.letters_per_second)
        self.placed.extend((line, text, p) for (line, text), p in zip(offer[:fitted], found[:fitted]))
        self.by_chunk[index] = [(text, p.probability) for (_, text), p in zip(offer[:fitted], found[:fitted])]
        self.cursor += fitted
        words, cursor = self.words, self.cursor
        if fitted > 0 and cursor < len(words) and words[cursor - 1][0] == words[cursor][0]:
            self.split.add(words[cursor][0])

    def _offer(self, cursor: int, expected: float, paragraph: Callable[[int], bool]) -> list[tuple[int, str]]:
        offer = _offer(self.words, cursor, expected, expected * OVERSHOOT + 20, paragraph)
        tokens = [len(self.attention.word_tokens(w)) for _, w in offer]
        while sum(tokens) > MAX_TOKENS and len(offer) > 1:
            whole = _line_start(offer, len(offer) - 1) or len(offer) - 1
            offer, tokens = offer[:whole], tokens[:whole]
        return offer

    def _align(self, storage: object, index: int, offers: Sequence[Sequence[tuple[int, str]]]) -> list:
        chunk, att = self.encoded.chunks[index], self.attention
        rows = storage if len(offers) == 1 else select(storage, [0] * len(offers))
        return align_tokens(
            att.engine,
            att.tokenizer,
            rows,
            [[att.word_tokens(w) for _, w in offer] for offer in offers],
            [frame_count(chunk.duration, self.encoded.squeeze)] * len(offers),
            [chunk.start] * len(offers),
            self.encoded.squeeze,
        )

    def _relocate(
        self, storage: object, index: int, expected: float, paragraph: Callable[[int], bool]
    ) -> tuple[int, list[tuple[int, str]], list[Placement]] | None:
        """The likeliest place to read this chunk from: line starts near the cursor, before and after.

        Back: the cursor's own line and ``LOOK_BACK`` lines before it (placed
        too early, in speech that was not theirs). On: the line starts within
        ``LOOK_AHEAD`` chunks' worth of text (lines not said, or said where
        the read-along did not look).
        """
        starts = _line_starts(self.words, self.cursor, LOOK_BACK, LOOK_AHEAD * expected)
        starts = [k for k in starts if k != self.cursor][:MAX_TRIES]
        if not starts:
            return None
        # The decoder reads the text left to right: its opening's probabilities do not depend on
        # what follows, so each start is tried with its opening alone (a fraction of the cost).
        openings = [self.words[k : k + PROBE] for k in starts]
        scores = [_likelihood(o, found) for o, found in zip(openings, self._align(storage, index, openings))]
        if max(scores) < FOUND:
            return None
        # Of the likeliest (within TIE), the nearest: a far jump needs clearly better evidence.
        near = [n for n, score in enumerate(scores) if score >= max(scores) - TIE]
        best = starts[min(near, key=lambda n: abs(starts[n] - self.cursor))]
        offer = self._offer(best, expected, paragraph)
        return best, offer, self._align(storage, index, [offer])[0]


def _likelihood(offer: Sequence[tuple[int, str]], found: Sequence[Placement]) -> float:
    """How likely the chunk finds the opening of its offer: mean probability of its first ``OPENING`` words.

    Only the opening: a line whose first words were dragged into speech
    before it (not in the transcript) still places the rest well.
    """
    said = [p.probability for (_, text), p in zip(offer, found) if normalize_word(text)][:OPENING]
    return float(np.mean(said)) if said else 0.0


def _line_starts(words: Sequence[tuple[int, str]], cursor: int, back: int, ahead: float) -> list[int]:
    """Word indices of line starts from ``back`` lines before ``cursor``'s to ``ahead`` letters after it."""
    starts = [k for k in range(len(words)) if k == 0 or words[k - 1][0] != words[k][0]]
    here = max((n for n, k in enumerate(starts) if k <= cursor), default=0)
    before = starts[max(0, here - back) : here + 1]
    after, letters = [], 0
    for k in starts[here + 1 :]:
        letters = sum(len(w) for _, w in words[cursor:k])
        if letters > ahead:
            break
        after.append(k)
    return [*before, *after]


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
    offer: Sequence[tuple[int, str]], found: Sequence[Placement], chunk_end: float, letters_per_second: float
) -> int:
    """How many leading words of the offer the chunk keeps: whole lines, none crammed at its end.

    Words squeezed into the last frames did not fit, nor did a line near the
    end given a fraction of the time its letters take (had it been said in
    this chunk, the speech before the end would hold it). A line cut off
    at the end is split there when the part before the cut was said in the
    chunk (:func:`_said_part`; real speech pauses inside lines), and goes on
    whole otherwise, unless it is the chunk's only line.
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
    if 0 < count < len(offer) and offer[count - 1][0] == offer[count][0]:
        first = _line_start(offer, count - 1)
        part = _said_part(offer, found, first, count, chunk_end, letters_per_second)
        if part:
            count = first + part
        elif first > 0:
            count = first  # nothing of it said here: the next chunk places it whole, or its part
    return count


def _said_part(
    offer: Sequence[tuple[int, str]],
    found: Sequence[Placement],
    first: int,
    count: int,
    chunk_end: float,
    letters_per_second: float,
) -> int:
    """How many words of a line cut off at a chunk's end were really said in the chunk (0: none).

    Real speech pauses inside lines, and chunks end at pauses: a line begun
    in a chunk is often said up to a comma there. Its words placed well
    before the end, with time of their own and likely, are that part; what
    is crammed or stretched against the end is not.

    One word can be that part: a name or a call said alone before a pause
    («Гасси, вдруг стал...», «Папаша! - лепетал Шарль»). Handed on with its
    line, it was crammed into the next chunk's first frames and the line
    started on its second word, 1.3 s late (real-long, real-noise). A lone
    word needs the time its letters take, as a whole line does at the end,
    and more than one letter: a one-letter word («в», «к», «и») is a
    preposition or a conjunction, said with the word after it, not alone
    before a pause (on the synthetic mismatched episode a «к» took the pause
    before its line and started it 1 s early).
    """
    while count > first and found[count - 1].start > chunk_end - PART_MARGIN:
        count -= 1  # crammed into the last frames (the end of a word before them runs into the padding)
    pairs = [
        (text, p) for (_, text), p in zip(offer[first:count], found[first:count]) if normalize_word(text)
    ]
    said = [p for _, p in pairs]
    short = sum(p.end - p.start < CRAMMED for p in said)  # (a dash has a token but no sound)
    if not said or short > PART_SHORT * len(said):
        return 0
    if len(said) == 1:
        letters = len("".join(normalize_word(pairs[0][0])))
        if letters < 2 or said[0].end - said[0].start < CRAMMED_SHARE * letters / letters_per_second:
            return 0
    return count - first if float(np.mean([p.probability for p in said])) >= PART_LIKELY else 0


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
