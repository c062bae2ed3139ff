"""Which alphabet text is written in: Cyrillic for Russian, Latin for English, and the others.

The transcript reader, the subtitle readers, ``subpipe lint`` and the
encoding detector all ask this, so the letter ranges live here once.
"""

from __future__ import annotations

import re

# Letters of the Cyrillic and Latin alphabets, as regular-expression ranges.
CYRILLIC = "\u0400-\u0481\u048a-\u052f\u1c80-\u1c88\u2de0-\u2dff\ua640-\ua69f"
LATIN = "A-Za-z\u00c0-\u00d6\u00d8-\u00f6\u00f8-\u024f\u1e00-\u1eff"
_CYRILLIC_RE = re.compile(f"[{CYRILLIC}]")
_LATIN_RE = re.compile(f"[{LATIN}]")
_WORD_RE = re.compile(r"\S+")


def alphabet(char: str) -> str | None:
    """The alphabet of one letter: "latin", "cyrillic", "greek", "cjk" or "other"; ``None`` for a non-letter.

    Han, kana and hangul share "cjk": Japanese mixes kanji and kana in one
    word, and an encoding that reads a file as Chinese or Japanese is judged
    by the alphabets it expects (:mod:`pipeline.encoding`).
    """
    if not char.isalpha():
        return None
    code = ord(char)
    if code < 0x250 or 0x1E00 <= code < 0x1F00:
        return "latin"
    if 0x400 <= code < 0x530 or 0x1C80 <= code < 0x1C90 or 0x2DE0 <= code < 0x2E00 or 0xA640 <= code < 0xA6A0:
        return "cyrillic"
    if 0x370 <= code < 0x400 or 0x1F00 <= code < 0x2000:
        return "greek"
    if cjk(char) is not None:
        return "cjk"
    return "other"


def cjk(char: str) -> str | None:
    """ "han", "kana" or "hangul" for a letter of those scripts, else ``None``."""
    code = ord(char)
    if 0x4E00 <= code < 0xA000 or 0x3400 <= code < 0x4DC0 or 0xF900 <= code < 0xFB00 or code == 0x3007:
        return "han"
    if 0x3040 <= code < 0x3100 or 0x31F0 <= code < 0x3200 or 0xFF66 <= code < 0xFF9E:
        return "kana"
    if 0xAC00 <= code < 0xD7B0 or 0x1100 <= code < 0x1200 or 0x3130 <= code < 0x3190:
        return "hangul"
    return None


def word_counts(text: str) -> tuple[int, int]:
    """How many words of ``text`` are mostly Cyrillic and how many mostly Latin (by their letters)."""
    cyrillic = latin = 0
    for word in _WORD_RE.findall(text):
        n_cyrillic = len(_CYRILLIC_RE.findall(word))
        n_latin = len(_LATIN_RE.findall(word))
        if n_cyrillic or n_latin:
            # A homoglyph ("повесткa" with a Latin "a") does not make a word Latin.
            cyrillic += n_cyrillic >= n_latin
            latin += n_latin > n_cyrillic
    return cyrillic, latin


def has_cyrillic(text: str) -> bool:
    return _CYRILLIC_RE.search(text) is not None


def has_latin(text: str) -> bool:
    return _LATIN_RE.search(text) is not None
