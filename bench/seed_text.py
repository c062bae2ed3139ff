"""The seed transcript's bilingual layout, and the words of a line as the truth names them.

Shared by the Festival runner (which ties word times back to reference words)
and the episode builder (which writes transcripts in the seed's layout).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from pathlib import Path

from pipeline.types import Line

# What the speaker says for transcript lines that only have English: the
# aligner should give such a line the time of this unscripted Russian speech.
SAID_FOR_ENGLISH = {
    "for example": "Например.",
    "thank you": "Спасибо.",
    "there is": "Есть такое.",
    "by the deputies": "депутатами,",
}
SAID_FOR_ENGLISH_DEFAULT = "Вот так."

_CYRILLIC = re.compile(r"[А-Яа-яЁё]")
_LATIN = re.compile(r"[A-Za-z]")
_EDGE_PUNCT = re.compile(r"^[^\w]+|[^\w]+$")


def _is_russian(text: str) -> bool:
    return len(_CYRILLIC.findall(text)) > len(_LATIN.findall(text))


def read_bilingual(path: Path) -> list[Line]:
    """Read the seed's bilingual layout: a Russian line, then its English line.

    Blank lines carry no meaning here; a Cyrillic-majority line followed by a
    Latin-majority line is a pair, and a line of either script without its
    partner stands alone with the other side empty.
    """
    rows = [
        (no, raw.strip())
        for no, raw in enumerate(Path(path).read_text(encoding="utf-8").splitlines(), 1)
        if raw.strip()
    ]
    lines: list[Line] = []
    i = 0
    while i < len(rows):
        no, text = rows[i]
        if _is_russian(text):
            if i + 1 < len(rows) and not _is_russian(rows[i + 1][1]):
                lines.append(Line(len(lines), text, rows[i + 1][1], no))
                i += 2
                continue
            lines.append(Line(len(lines), text, "", no))
        else:
            lines.append(Line(len(lines), "", text, no))
        i += 1
    return lines


def read_seed(path: Path) -> list[Line]:
    """The seed's lines as the aligner will number them.

    The project's parser decides edge cases (a mixed-script line after a
    Russian one is its translation), and truth indices must match its view;
    the local reader stands in where that module is absent.
    """
    try:
        from pipeline.transcript import read
    except ImportError:
        return read_bilingual(path)
    return list(read(path))


def format_bilingual(lines: Iterable[tuple[str, str]]) -> str:
    """The seed's layout: every entry is a Russian slot and an English slot, each
    followed by a blank line; a missing side leaves its slot empty, as in the seed."""
    return "".join(f"{ru}\n\n{en}\n\n" for ru, en in lines)


def reference_words(text: str) -> list[str]:
    """The words of a line as the truth names them: whitespace tokens without
    edge punctuation; tokens that are only punctuation are not words."""
    return [w for w in (_EDGE_PUNCT.sub("", tok) for tok in text.split()) if w]


def said_for_english(en: str) -> str:
    key = _EDGE_PUNCT.sub("", en.strip().lower())
    return SAID_FOR_ENGLISH.get(key, SAID_FOR_ENGLISH_DEFAULT)
