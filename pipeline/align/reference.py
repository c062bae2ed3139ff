"""The reference text as the aligner sees it: its words, their normalised tokens, the line of each."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from pipeline.normalize import normalize_word
from pipeline.types import Line


@dataclass(frozen=True, slots=True)
class RefWord:
    line: int  # position of the line in the transcript
    text: str  # original spelling
    tokens: tuple[str, ...]  # normalised tokens (none for bare punctuation)

    @property
    def letters(self) -> int:
        """Letters the word is said with (its normalised tokens': digits spelt out, no punctuation)."""
        return sum(len(t) for t in self.tokens)


@dataclass(frozen=True, slots=True)
class Reference:
    """The transcript's lines and their words, numbered through the whole text.

    ``words[w]`` is reference word ``w``; ``by_line[i]`` the numbers of line
    ``i``'s words, in order (none for a line without Russian).
    """

    lines: tuple[Line, ...]
    words: tuple[RefWord, ...]
    by_line: tuple[tuple[int, ...], ...]

    @classmethod
    def of(cls, lines: Sequence[Line]) -> Reference:
        words = tuple(
            RefWord(i, w, normalize_word(w)) for i, line in enumerate(lines) for w in line.ru.split()
        )
        own: list[list[int]] = [[] for _ in lines]
        for w, word in enumerate(words):
            own[word.line].append(w)
        return cls(tuple(lines), words, tuple(tuple(o) for o in own))

    def __len__(self) -> int:
        return len(self.words)

    def __getitem__(self, w: int) -> RefWord:
        return self.words[w]

    def texts(self, line: int) -> list[str]:
        """The line's words as written."""
        return [self.words[w].text for w in self.by_line[line]]

    def tokens(self, line: int) -> list[str]:
        """The line's normalised tokens, in order."""
        return [t for w in self.by_line[line] for t in self.words[w].tokens]

    def letters(self, words: Sequence[int]) -> int:
        """Letters said in the given reference words."""
        return sum(self.words[w].letters for w in words)

    def spoken_lines(self) -> list[int]:
        """Lines with Russian to hear."""
        return [i for i, own in enumerate(self.by_line) if own]
