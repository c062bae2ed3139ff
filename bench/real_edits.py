"""Transcript lines that differ from what the reader said, the way real transcripts do.

One change a line, of one of five kinds: a word replaced by another
(``substitution``), a word said but left out (``deletion``), a word written
but never said (``insertion``), a name replaced by another name (``name``)
and a number word replaced by another (``number``). Every change is returned
with what was said and what is written, so the truth can record it.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from bench.seed_text import _EDGE_PUNCT

KINDS = ("substitution", "deletion", "insertion", "name", "number")
_LETTERS = re.compile(r"[А-Яа-яЁё]+")
_SENTENCE_END = (".", "!", "?", "…", ":", "-", "—", "«", '"')
# Number words by grammatical shape, so a changed number still reads as Russian.
NUMBER_GROUPS = (
    ("два", "три", "четыре"),
    ("пять", "шесть", "семь", "восемь", "девять", "десять"),
    ("двадцать", "тридцать", "сорок", "пятьдесят"),
    ("сто", "двести", "триста"),
    ("один", "одно", "одна"),
    ("первый", "второй", "третий"),
    ("одной", "двух"),
    ("тысяч", "миллионов"),
)
_NUMBER_OF = {w: g for g in NUMBER_GROUPS for w in g}
# Short words a transcriber adds without noticing: they do not change the sense much,
# which is what makes them hard to hear as missing.
INSERTABLE = ("очень", "тогда", "снова", "теперь", "совсем", "потом", "только", "всегда", "вдруг", "опять")


@dataclass(frozen=True, slots=True)
class Vocabulary:
    words: tuple[str, ...]  # lower-case content words of four letters or more
    names: tuple[str, ...]  # words only ever seen capitalised mid-sentence


def vocabulary(texts: Sequence[str]) -> Vocabulary:
    words: set[str] = set()
    capitalised: set[str] = set()
    lowered: set[str] = set()
    for text in texts:
        tokens = text.split()
        for k, tok in enumerate(tokens):
            core = _EDGE_PUNCT.sub("", tok)
            if not _LETTERS.fullmatch(core):
                continue
            after_break = k == 0 or tokens[k - 1].endswith(_SENTENCE_END) or tokens[k - 1] in ("-", "—")
            if core[0].isupper():
                if not after_break:
                    capitalised.add(core)
            else:
                lowered.add(core)
                if len(core) >= 4:
                    words.add(core)
    names = {w for w in capitalised if w.lower() not in lowered and len(w) >= 3}
    return Vocabulary(tuple(sorted(words)), tuple(sorted(names)))


def _word_slots(tokens: Sequence[str]) -> list[int]:
    return [k for k, t in enumerate(tokens) if _LETTERS.fullmatch(_EDGE_PUNCT.sub("", t))]


def _replace(tokens: list[str], k: int, new: str) -> str:
    core = _EDGE_PUNCT.sub("", tokens[k])
    old = tokens[k]
    tokens[k] = old.replace(core, new, 1)
    return core


def _record(kind: str, said: str | None, written: str | None, position: int) -> dict[str, Any]:
    return {"kind": kind, "said_word": said, "written_word": written, "position": position}


def edit(
    text: str, kind: str, vocab: Vocabulary, rng: np.random.Generator
) -> tuple[str, dict[str, Any]] | None:
    """``text`` with one change of ``kind``, and the change; None where the line offers none."""
    tokens = text.split()
    slots = _word_slots(tokens)
    if not slots:
        return None
    if kind == "number":
        found = [k for k in slots if _EDGE_PUNCT.sub("", tokens[k]).lower() in _NUMBER_OF]
        if not found:
            return None
        k = int(rng.choice(found))
        core = _EDGE_PUNCT.sub("", tokens[k])
        options = [w for w in _NUMBER_OF[core.lower()] if w != core.lower()]
        new = str(rng.choice(options))
        new = new.capitalize() if core[0].isupper() else new
        _replace(tokens, k, new)
        return " ".join(tokens), _record(kind, core, new, slots.index(k))
    if kind == "name":
        found = [k for k in slots if _EDGE_PUNCT.sub("", tokens[k]) in vocab.names]
        if not found:
            return None
        k = int(rng.choice(found))
        core = _EDGE_PUNCT.sub("", tokens[k])
        options = [n for n in vocab.names if n != core and n[:3] != core[:3]]
        new = str(rng.choice(options))
        _replace(tokens, k, new)
        return " ".join(tokens), _record(kind, core, new, slots.index(k))
    if kind == "substitution":
        found = [k for k in slots if len(_EDGE_PUNCT.sub("", tokens[k])) >= 4]
        found = [k for k in found if _EDGE_PUNCT.sub("", tokens[k]) not in vocab.names]
        if not found:
            return None
        k = int(rng.choice(found))
        core = _EDGE_PUNCT.sub("", tokens[k])
        options = [w for w in vocab.words if w != core.lower() and abs(len(w) - len(core)) <= 3]
        new = str(rng.choice(options))
        new = new.capitalize() if core[0].isupper() else new
        _replace(tokens, k, new)
        return " ".join(tokens), _record(kind, core, new, slots.index(k))
    if kind == "deletion":
        found = [k for k in slots if len(_EDGE_PUNCT.sub("", tokens[k])) >= 3 and len(slots) >= 4]
        if not found:
            return None
        k = int(rng.choice(found))
        core = _EDGE_PUNCT.sub("", tokens[k])
        tail = tokens[k][len(tokens[k].rstrip(".,!?:;…")) :]
        del tokens[k]
        if k == 0 and tokens:
            tokens[0] = tokens[0][:1].upper() + tokens[0][1:]
        elif tail and k > 0 and not tokens[k - 1].endswith(tuple(".,!?:;…")):
            tokens[k - 1] += tail
        return " ".join(tokens), _record(kind, core, None, slots.index(k))
    if kind == "insertion":
        k = int(rng.integers(1, len(tokens) + 1))
        new = str(rng.choice(INSERTABLE))
        if k == len(tokens):
            # After the last word: the sentence's closing punctuation moves onto the new word.
            last = tokens[-1]
            tail = last[len(last.rstrip(".,!?:;…")) :]
            tokens[-1] = last[: len(last) - len(tail)]
            tokens.append(new + tail)
        else:
            tokens.insert(k, new)
        position = sum(1 for j in slots if j < k)
        return " ".join(tokens), _record(kind, None, new, position)
    raise ValueError(f"unknown change kind {kind!r}")


def plan_changes(
    texts: Sequence[str], share: float, vocab: Vocabulary, rng: np.random.Generator
) -> dict[int, tuple[str, dict[str, Any]]]:
    """Changes for about ``share`` of ``texts``: names and numbers where lines have them
    (up to a fifth of the changes each), the rest cycling through the other kinds."""
    want = max(1, round(share * len(texts)))
    order = [int(i) for i in rng.permutation(len(texts))]
    out: dict[int, tuple[str, dict[str, Any]]] = {}
    for kind in ("name", "number"):
        for i in order:
            if sum(1 for _, c in out.values() if c["kind"] == kind) >= max(1, want // 5) or len(out) >= want:
                break
            if i not in out and (result := edit(texts[i], kind, vocab, rng)) is not None:
                out[i] = result
    cycle = ("substitution", "deletion", "insertion")
    turn = 0
    for i in order:
        if len(out) >= want:
            break
        if i in out:
            continue
        for step in range(len(cycle)):
            result = edit(texts[i], cycle[(turn + step) % len(cycle)], vocab, rng)
            if result is not None:
                out[i] = result
                turn += 1
                break
    return out
