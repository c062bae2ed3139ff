"""Text normalisation shared by the aligner and the QA scores.

Matching ignores case, punctuation, ё/е and Latin look-alike letters inside
Cyrillic words, and spells digits out as Russian words, so that "2021" in one
text matches "две тысячи двадцать один" in the other. Originals are never
changed: callers keep the mapping from tokens back to the words they came from.
"""

from __future__ import annotations

import re
from functools import lru_cache

from num2words import num2words

# Latin letters that look like Cyrillic ones; they creep into Cyrillic words.
_HOMOGLYPHS = str.maketrans("aceopxyABCEHKMOPTXY", "асеорхуАВСЕНКМОРТХУ")
_CYRILLIC = re.compile(r"[а-яёА-ЯЁ]")
_LATIN = re.compile(r"[a-zA-Z]")
_NUMBER = re.compile(r"\d+(?:[.,]\d+)?")
_NON_WORD = re.compile(r"[^\w]+")


@lru_cache(maxsize=65536)
def normalize_word(word: str) -> tuple[str, ...]:
    """Normalised tokens of one whitespace-separated word (none for bare punctuation)."""
    if _CYRILLIC.search(word) and _LATIN.search(word):
        word = word.translate(_HOMOGLYPHS)
    word = word.lower().replace("ё", "е")
    tokens: list[str] = []
    for piece in _split_numbers(word):
        if piece and piece[0].isdigit():
            tokens.extend(_spell_number(piece))
        else:
            tokens.extend(t for t in _NON_WORD.split(piece.replace("_", " ")) if t)
    return tuple(tokens)


def _split_numbers(word: str) -> list[str]:
    parts: list[str] = []
    last = 0
    for match in _NUMBER.finditer(word):
        parts.append(word[last : match.start()])
        parts.append(match.group(0))
        last = match.end()
    parts.append(word[last:])
    return [p for p in parts if p]


def _spell_number(number: str) -> list[str]:
    try:
        value = float(number.replace(",", ".")) if ("," in number or "." in number) else int(number)
        spelled = num2words(value, lang="ru")
    except (ValueError, OverflowError, NotImplementedError):
        return list(number)
    return [t for t in _NON_WORD.split(spelled.lower().replace("ё", "е")) if t]


def normalize_text(text: str) -> list[str]:
    """All normalised tokens of a text, in order."""
    return [token for word in text.split() for token in normalize_word(word)]
