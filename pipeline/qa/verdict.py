"""Verdicts on transcript errors: does the audio support what was heard over what is written?

The ASR disagrees with a transcript for two reasons: the transcript departs
from the recording, or the ASR slipped (a case ending, a name it does not
know, two words run together). Its confidence cannot tell these apart; the
audio can. For each place where the two texts differ, the line is scored as
forced text over its own stretch of audio twice, once as written and once
with the heard words in place, the rest of the line held the same
(:class:`Scorer`, Whisper's decoder in a run). The finding is ``likely`` when
the heard version is more probable by a wide margin, and ``possible``
otherwise: when the margin is narrow, when the two spell what sounds the same
(«без приданого»/«беспреданного», «решения»/«решение», «20»/«двадцать»), or
when the audio cannot decide (the line's timing is doubtful, or the ASR heard
nothing for a whole stretch of it).

A ``likely`` verdict carries the correction: the written words and the heard
ones that replace them, dressed in the written words' punctuation and case,
which the patch (:mod:`pipeline.qa.patch`) writes into the transcript.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from difflib import SequenceMatcher
from functools import lru_cache

from pipeline.normalize import normalize_word
from pipeline.qa.diff import Op, letters
from pipeline.qa.scores import SegmentScore
from pipeline.types import AlignedLine, Word
from pipeline.whisper.forced import Passage, Scorer, TextScore

LIKELY = "likely"
POSSIBLE = "possible"

# The heard text must be this much more probable (nats, natural log of the
# likelihood ratio) for the audio to decide against the transcript. Tuned on
# real-edits, real-clean and real-phone (the smallest margin with no false
# alarm there), checked on real-edits-2, real-noise, real-repeats and
# real-long: docs/qa.md has the figures.
MARGIN = 9.0
# A difference of a word or two of a letter or two («и», «ж»/«же», «в»/«с»)
# is where Whisper's sense of the language speaks loudest, so it must win by more.
SHORT_LETTERS = 3
SHORT_MARGIN = 1.5 * MARGIN
# Two spellings whose sounds (:func:`sounds`) agree this much are one pronunciation
# written two ways, an ASR slip rather than a transcript error: for a whole
# difference, and for a heard word against a written one.
SAME_SOUND = 0.8
# A heard word this like a written one is that word as the ASR spelt it («чахоточного» heard as
# «чехотршного»): the difference is elsewhere, if anywhere.
NEAR_MISS = 0.7
PAD = 0.3  # seconds of audio either side of the words scored
MAX_SECONDS = 30.0  # Whisper reads at most 30 s
# Written words in a row the ASR did not hear: Whisper dropped speech; the audio decides nothing.
UNHEARD_STRETCH = 3
# A line's first or last words not heard may lie just outside its span, where the aligner,
# placing the line by the words heard, could not see them: their audio is looked for this far out.
EDGE_REACH = 1.5
# The better of the two texts must fit the audio at least this well (mean log-probability per
# token): below, the stretch does not hold the line (the aligner put it elsewhere), and a margin
# between two texts that both fail says nothing. Where the line is right, the heard text fit at
# -0.5 to -4.6 on the real-speech episodes; a line misplaced on a repeat, at -6.6.
FIT = -5.0
PACE_LIMIT = 2.0  # times the episode's pace: beyond, a line's span cannot hold its words

_PUNCT = re.compile(r"^(\W*)(.*?)(\W*)$", re.DOTALL)
_DIGIT = re.compile(r"\d")
_SOUNDS = str.maketrans({**dict(zip("бвгджзоеэяйыщю", "пфктшсаииииишу")), "ъ": None, "ь": None})
_SENTENCE_END = (".", "!", "?", "…")


@dataclass(frozen=True, slots=True)
class Edit:
    """Written words ``start..end`` (word indices of the line; ``start == end``: an insertion before
    word ``start``) replaced by ``words``."""

    start: int
    end: int
    words: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class Proposal:
    """One difference, as the change the heard words would make to the line, and where to listen."""

    line: int
    written: tuple[str, ...]  # the line's words as written
    edits: tuple[Edit, ...]  # empty: the difference is one of spelling only
    start: float
    end: float
    context: tuple[int, int]  # the line's words scored around the difference
    similarity: float  # letter similarity of the written and the heard words
    unjudged: str = ""  # why the audio cannot decide, when it cannot

    def corrected(self) -> tuple[str, ...]:
        return apply(self.written, self.edits)


@dataclass(frozen=True, slots=True)
class Verdict:
    verdict: str
    reason: str
    similarity: float
    edits: tuple[Edit, ...] = ()
    written: float | None = None  # log-probability of the words as written over their audio
    heard: float | None = None  # ... with the heard words in their place
    tokens: tuple[int, int] = (0, 0)  # tokens scored, as written and as heard

    @property
    def margin(self) -> float | None:
        return None if self.written is None or self.heard is None else self.heard - self.written

    def evidence(self) -> dict[str, object]:
        """The figures behind the verdict, for ``qa.json``."""
        out: dict[str, object] = {"reason": self.reason, "similarity": round(self.similarity, 3)}
        if self.margin is not None:
            out |= {
                "logprob_written": round(self.written or 0.0, 2),
                "logprob_heard": round(self.heard or 0.0, 2),
                "margin": round(self.margin, 2),
                "tokens": list(self.tokens),
            }
        return out


def apply(words: Sequence[str], edits: Sequence[Edit]) -> tuple[str, ...]:
    """``words`` with ``edits`` (in order, not overlapping) made."""
    out: list[str] = []
    at = 0
    for edit in edits:
        out.extend(words[at : edit.start])
        out.extend(edit.words)
        at = edit.end
    out.extend(words[at:])
    return tuple(out)


def propose(
    al: AlignedLine, seg: SegmentScore, region: Op, heard: Sequence[Word], pace: float, duration: float
) -> Proposal:
    """The change ``region`` of line ``al`` stands for, and the stretch of audio that decides it."""
    written = tuple(al.line.ru.split())
    ref_words = sorted({seg.ref.owner[i] for i in range(region.ref_start, region.ref_end)})
    hyp_words = sorted({seg.hyp.owner[j] for j in range(region.hyp_start, region.hyp_end)})
    said = [heard[j] for j in hyp_words]
    if ref_words:
        first, last = ref_words[0], ref_words[-1] + 1
    else:  # after the word of the token before: bare punctuation («-») has no tokens
        first = last = seg.ref.owner[region.ref_start - 1] + 1 if region.ref_start else 0
    similarity = _similarity(" ".join(written[first:last]), " ".join(w.text for w in said))
    previous = heard[hyp_words[0] - 1] if hyp_words and hyp_words[0] > 0 else None
    edits = () if similarity >= SAME_SOUND else _edits(written, first, last, said, previous)
    start, end, context = _stretch(al, written, first, last, said, duration)
    unjudged = ""
    if not edits:
        unjudged = "the two spell what sounds the same"
    elif not said and last - first >= UNHEARD_STRETCH:
        unjudged = "the ASR heard nothing for several written words (Whisper drops stretches of speech)"
    elif _squeezed(al, pace):
        unjudged = "the line's timing is doubtful, so its audio may not hold these words"
    return Proposal(al.line.index, written, edits, start, end, context, similarity, unjudged)


def judge(proposals: Sequence[Proposal], scorer: Scorer | None) -> list[Verdict]:
    """A verdict for each proposal; the audio is scored once, for all of them together."""
    asked = [p for p in proposals if not p.unjudged and scorer is not None]
    # One stretch per line (and context): the text as written is scored once for all its places.
    stretch: dict[tuple[int, tuple[int, int]], tuple[float, float]] = {}
    for p in asked:
        a, b = stretch.get((p.line, p.context), (p.start, p.end))
        stretch[(p.line, p.context)] = (min(a, p.start), max(b, p.end))
    passages: dict[Passage, int] = {}
    owners: list[tuple[int, int, int]] = []  # (proposal, 0 as written or 1 as heard, passage)
    for k, p in enumerate(asked):
        a, b = p.context
        start, end = stretch[(p.line, p.context)]
        end = min(end, start + MAX_SECONDS)
        for side, words in ((0, p.written[a:b]), (1, _context_of(p))):
            for spelling in _spellings(words):
                passage = passages.setdefault(Passage(start, end, spelling), len(passages))
                owners.append((k, side, passage))
    scores = list(scorer(list(passages))) if passages and scorer is not None else []
    best: dict[tuple[int, int], TextScore] = {}
    for k, side, passage in owners:
        found = scores[passage]
        if (k, side) not in best or found.logprob > best[(k, side)].logprob:
            best[(k, side)] = found
    out = []
    judged = {id(p): k for k, p in enumerate(asked)}
    for p in proposals:
        if id(p) not in judged:
            reason = p.unjudged or "not checked against the audio"
            out.append(Verdict(POSSIBLE, reason, p.similarity))
            continue
        written, heard = best[(judged[id(p)], 0)], best[(judged[id(p)], 1)]
        margin = heard.logprob - written.logprob
        tokens = (written.tokens, heard.tokens)
        fit = max(written.logprob / max(1, written.tokens), heard.logprob / max(1, heard.tokens))
        if fit < FIT:
            reason = "the line's audio holds neither text (its timing is doubtful)"
            out.append(Verdict(POSSIBLE, reason, p.similarity, (), written.logprob, heard.logprob, tokens))
        elif margin >= needed(p):
            reason = f"the audio fits the heard words far better ({margin:.1f} nats)"
            out.append(Verdict(LIKELY, reason, p.similarity, p.edits, written.logprob, heard.logprob, tokens))
        else:
            reason = (
                f"the audio fits the heard words only a little better ({margin:.1f} nats)"
                if margin > 0
                else f"the audio fits the written words as well or better ({margin:.1f} nats)"
            )
            out.append(Verdict(POSSIBLE, reason, p.similarity, (), written.logprob, heard.logprob, tokens))
    return out


def needed(p: Proposal) -> float:
    """The margin the heard words need over the written ones for ``p`` to be likely."""
    changed = max(
        (
            max(len(letters(" ".join(p.written[e.start : e.end]))), len(letters(" ".join(e.words))))
            for e in p.edits
        ),
        default=0,
    )
    return SHORT_MARGIN if changed < SHORT_LETTERS else MARGIN


def _changed_letters(written: Sequence[str], heard: Sequence[str]) -> int:
    """Letters an edit changes: «слово,» to «слово и,» changes one."""
    a, b = letters(" ".join(written)), letters(" ".join(heard))
    same = sum(block.size for block in SequenceMatcher(None, a, b, autojunk=False).get_matching_blocks())
    return max(len(a), len(b)) - same


def _context_of(p: Proposal) -> tuple[str, ...]:
    """The scored words with the heard ones in place."""
    a, b = p.context
    shifted = [Edit(e.start - a, e.end - a, e.words) for e in p.edits]
    return apply(p.written[a:b], shifted)


def _spellings(words: Sequence[str]) -> list[tuple[str, ...]]:
    """The words as they are scored: bare of punctuation, which transcripts use as they please
    (the festvox texts put commas at every breath), so that only the words are compared; with a
    number, also with it spelled out, as either may be how the model expects it."""
    bare = tuple(core for core in (_parts(w)[1] for w in words) if core)
    if not any(ch.isdigit() for w in bare for ch in w):
        return [bare]
    spelled = tuple(token for w in bare for token in (normalize_word(w) if _DIGIT.search(w) else (w,)))
    return [bare, spelled]


def sounds(text: str) -> str:
    """A text's letters as they sound, roughly: Russian reduces unstressed vowels (о as а, е, я and
    э as и), devoices and assimilates consonants (б/п, в/ф, г/к, д/т, ж/ш, з/с), and does not say
    ъ, ь or a doubled letter twice. «колодезь» and «колодись», «без приданого» and «беспреданного»
    sound alike; the ASR writes such pairs either way."""
    folded = letters(text).translate(_SOUNDS)
    return "".join(ch for k, ch in enumerate(folded) if k == 0 or ch != folded[k - 1])


def _similarity(written: str, heard: str) -> float:
    """How alike two texts sound, 0..1; two numbers are alike only when they are the same number
    («20» and «двадцать»), however alike they sound («двадцать» and «тридцать»)."""
    x, y = number(written), number(heard)
    if x is not None and y is not None:
        return float(x == y)
    a, b = sounds(written), sounds(heard)
    if not a or not b:
        return 0.0
    return SequenceMatcher(None, a, b, autojunk=False).ratio()


def number(text: str) -> int | None:
    """The value of a text that is a cardinal number in digits or Russian words, else ``None``."""
    tokens = [t for w in text.split() for t in normalize_word(w)]
    values = [_cardinals().get(t) for t in tokens]
    if not values or any(v is None for v in values):
        return None
    return sum(v for v in values if v is not None)


@lru_cache(maxsize=1)
def _cardinals() -> dict[str, int]:
    """Russian cardinal number words and their values (the genders of one and two too)."""
    from num2words import num2words

    out = {"одна": 1, "одно": 1, "две": 2}
    for n in [*range(20), *range(20, 100, 10), *range(100, 1000, 100)]:
        words = num2words(n, lang="ru").replace("ё", "е").split()
        if len(words) == 1:
            out[words[0]] = n
    return out


def _squeezed(al: AlignedLine, pace: float) -> bool:
    if al.start is None or al.end is None or pace <= 0:
        return True
    return len(letters(al.line.ru)) / max(al.end - al.start, 0.01) > PACE_LIMIT * pace


# ---------------------------------------------------------------- the change


def _edits(
    written: Sequence[str], first: int, last: int, said: Sequence[Word], previous: Word | None
) -> tuple[Edit, ...]:
    """The written words ``first..last`` against the heard ones, word by word: heard words close to
    a written one are that word misspelt and change nothing; the rest make the edits."""
    pairs = _pair(written[first:last], [w.text for w in said])
    edits: list[Edit] = []
    run_start: int | None = None
    run_words: list[str] = []
    at = first
    for ref, hyp in [*pairs, (None, None)]:
        same = ref is not None and hyp is not None and _near(written[ref + first], said[hyp].text)
        if (ref is None and hyp is None) or same:
            if run_start is not None:
                edits.append(_dress(written, run_start, at, run_words, previous))
                run_start, run_words = None, []
            if ref is not None:
                at = ref + first + 1
            continue
        if run_start is None:
            run_start = at
        if ref is not None:
            at = ref + first + 1
        if hyp is not None:
            run_words.append(said[hyp].text)
    return tuple(e for e in edits if _changes(written, e))


def _pair(ref: Sequence[str], hyp: Sequence[str]) -> list[tuple[int | None, int | None]]:
    """Levenshtein alignment of two word lists where a near miss costs less than a substitution."""
    n, m = len(ref), len(hyp)
    cost = [[0.0] * (m + 1) for _ in range(n + 1)]
    for i in range(1, n + 1):
        cost[i][0] = float(i)
    for j in range(1, m + 1):
        cost[0][j] = float(j)
    for i in range(1, n + 1):
        for j in range(1, m + 1):
            swap = 1.0 - _word_similarity(ref[i - 1], hyp[j - 1])
            cost[i][j] = min(cost[i - 1][j - 1] + swap, cost[i - 1][j] + 1.0, cost[i][j - 1] + 1.0)
    out: list[tuple[int | None, int | None]] = []
    i, j = n, m
    while i or j:
        if i and j and cost[i][j] == cost[i - 1][j - 1] + 1.0 - _word_similarity(ref[i - 1], hyp[j - 1]):
            out.append((i - 1, j - 1))
            i, j = i - 1, j - 1
        elif i and cost[i][j] == cost[i - 1][j] + 1.0:
            out.append((i - 1, None))
            i -= 1
        else:
            out.append((None, j - 1))
            j -= 1
    return out[::-1]


def _word_similarity(a: str, b: str) -> float:
    return _similarity(a, b)


def _near(written: str, heard: str) -> bool:
    return _word_similarity(written, heard) >= NEAR_MISS


def _changes(written: Sequence[str], edit: Edit) -> bool:
    """An edit that changes the words, not only their punctuation."""
    return letters(" ".join(written[edit.start : edit.end])) != letters(" ".join(edit.words))


def _parts(word: str) -> tuple[str, str, str]:
    match = _PUNCT.match(word)
    assert match is not None
    lead, core, trail = match.groups()
    return lead, core, trail


def _dress(written: Sequence[str], start: int, end: int, heard: Sequence[str], previous: Word | None) -> Edit:
    """The heard words in the written words' punctuation and case.

    Punctuation belongs to the phrase, not to a word: dropping a line's last
    word leaves its full stop on the word before, and a word said after «в.»
    goes before the full stop (unless the ASR, too, heard a break there).
    """
    cores = [c for c in (_parts(h)[1] for h in heard) if c]
    if start < end:
        lead, first_core, _ = _parts(written[start])
        trail = _parts(written[end - 1])[2]
        if cores:
            cores[0] = lead + _case_like(cores[0], first_core)
            cores[-1] += trail
            return Edit(start, end, tuple(cores))
        before = written[start - 1] if start > 0 else ""
        if trail.strip() and before and not _parts(before)[2]:
            return Edit(start - 1, end, (before + trail,))
        return Edit(start, end, ())
    if start == 0:
        if written and _parts(written[0])[1][:1].isupper():
            cores[0] = cores[0][:1].upper() + cores[0][1:]
        return Edit(start, end, tuple(cores))
    before = written[start - 1]
    heard_break = previous is not None and bool(_parts(previous.text)[2].strip())
    if (
        previous is not None
        and previous.text.rstrip().endswith(_SENTENCE_END)
        and not before.endswith(_SENTENCE_END)
    ):
        cores[0] = _case_like(cores[0], "a")  # Whisper's sentence start, not the transcript's
    lead, core, trail = _parts(before)
    if trail.strip() and not heard_break:
        return Edit(start - 1, end, (lead + core, *cores[:-1], cores[-1] + trail))
    return Edit(start, end, tuple(cores))


def _case_like(word: str, model: str) -> str:
    if model[:1].isupper():
        return word[:1].upper() + word[1:]
    if model[:1].islower() and word[:1].isupper() and not word.isupper():
        return word[:1].lower() + word[1:]
    return word


def _stretch(
    al: AlignedLine, written: Sequence[str], first: int, last: int, said: Sequence[Word], duration: float
) -> tuple[float, float, tuple[int, int]]:
    """The audio to score and the line's words to score over it: the whole line, over the time the
    aligner gave it (with the heard words), or for a line longer than Whisper reads, the words
    placed within reach of the difference. Words scored in context are judged far better than
    words scored with four words either side (recall on the changed lines 0.93 against 0.89)."""
    n = len(written)
    start = al.start if al.start is not None else 0.0
    end = al.end if al.end is not None else start
    a, b = 0, n
    if end - start > MAX_SECONDS - 2 * PAD - 2 * EDGE_REACH and n > 0 and len(al.words) == n:
        centre = (al.words[min(first, n - 1)].start + al.words[max(first, last - 1)].end) / 2
        reach = MAX_SECONDS / 2 - PAD - EDGE_REACH
        inside = [k for k, w in enumerate(al.words) if abs(w.start - centre) < reach > abs(w.end - centre)]
        a, b = min([*inside, first]), max([*inside, last - 1]) + 1
        start, end = al.words[a].start, al.words[b - 1].end
    if said:
        start, end = min(start, said[0].start), max(end, said[-1].end)
    if not said and first == 0:
        start -= EDGE_REACH
    if not said and last == n:
        end += EDGE_REACH
    start = max(0.0, start - PAD)
    return start, min(duration, end + PAD, start + MAX_SECONDS), (a, b)
