"""Decoding text files whose encoding nobody stated: subtitle files and transcripts.

A byte-order mark decides first (UTF-8, UTF-16, UTF-32). NUL bytes in step
with one byte order mean UTF-16 or UTF-32 without a mark. Then UTF-8: strict,
or with a few foreign bytes replaced when nearly every non-ASCII sequence is
UTF-8 (files pasted together from two sources). Otherwise every legacy code
page that decodes the bytes is scored by how its reading looks as text:

* a word is a run of letters; a word that mixes alphabets ("ЙVЙNEMENTS",
  French read as Windows-1251), switches from lower to upper case
  ("пРИВЕТ", Windows-1251 read as KOI8-R) or is mostly accented Latin
  letters ("Ïðèâåò", Russian read as Windows-1252) is mojibake, and so is a
  stray symbol (box drawing, "¹", "÷");
* the letters are scored by their frequency in the languages the page serves
  (Windows-1252: French, German, Spanish, ...; Windows-1250: Czech, Polish,
  Croatian, Hungarian, ...), which tells "è" from "č" and "à" from "ŕ". ASCII
  letters read the same under every page and count as one class (their share
  differs by language: 97 % of Spanish letters, 88 % of Hungarian ones).

The best reading wins; ties go to the page listed first in ``_PAGES``. On
translated UI strings of 24 languages, each in its legacy page, samples of
1,000 characters were read right 479 times in 479, of 300 characters 470 in
475, of 100 characters 441 in 464 (``python -m bench.encodings``).
"""

from __future__ import annotations

import codecs
import math
import re
import unicodedata
from dataclasses import dataclass
from pathlib import Path

from pipeline.alphabet import alphabet, cjk
from pipeline.errors import SubpipeError

# Letter frequencies, in percent of all letters of a text (from published
# frequency tables, rounded). Only letters outside ASCII matter: ASCII reads
# the same under every page.
_FREQUENCIES = {
    "ru": "о10.97 е8.45 а8.01 и7.35 н6.7 т6.26 с5.47 р4.73 в4.54 л4.4 к3.49 м3.21 д2.98 п2.81 у2.62 "
    "я2.01 ы1.9 ь1.74 г1.7 з1.65 б1.59 ч1.44 й1.21 х.97 ж.94 ш.73 ю.64 ц.48 щ.36 э.32 ф.26 ъ.04 ё.2",
    "uk": "о9.3 а8 н6.8 и6.2 в5.2 і5.6 т5.1 е4.9 р4.8 с4.2 к3.9 у3.9 л3.5 д3.3 м3 я2.8 п2.6 з2.2 "
    "ь1.7 б1.7 г1.6 ч1.6 х1.2 й1.1 ж.9 ї.9 ш.8 ю.8 ц.6 щ.6 є.4 ф.2 ґ.01",
    "fr": "é1.5 à.49 è.27 ê.22 ç.085 ù.058 û.06 â.05 î.045 ô.023 œ.02 ë.008 ï.005",
    "de": "ü1 ä.58 ö.44 ß.31",
    "es": "ó.83 í.73 á.5 é.43 ñ.31 ú.17 ü.01",
    "pt": "ã.73 ç.53 é.34 ê.45 á.12 í.13 ó.3 â.56 ô.64 ú.21 à.07 õ.04",
    "it": "à.64 è.26 ù.17 ì.03 ò.1 é.05",
    "sv": "ä1.8 å1.34 ö1.31",
    "da": "å1.19 ø.94 æ.87 é.02",
    "fi": "ä3.58 ö.44",
    "cs": "í1.64 ě1.22 ý1 á.87 ž.72 š.69 é.63 č.46 ř.38 ů.2 ú.05 ó.02 ď.02 ť.01 ň.01",
    "sk": "á2 í1.6 ý1.6 č1 š.8 é.7 ú.7 ž.7 ť.6 ľ.4 ď.2 ň.2 ó.2 ô.2 ä.1 ĺ.01 ŕ.01",
    "pl": "ł2.11 ó1.14 ę1.04 ś.81 ć.74 ą.7 ż.71 ń.36 ź.08",
    "hu": "é4 á3.4 ö1 ó1 ő.9 í.6 ü.6 ú.3 ű.2",
    "hr": "č1.1 š1 ć.9 ž.8 đ.2",
    "sl": "č1.5 š1 ž.8",
    "ro": "ă4 î1.4 ş1.4 ţ1 â.6",
    "tr": "ı5.1 ü1.9 ş1.8 ç1.2 ğ1.1 ö.8 â.1",
    "el": "α11.6 ο9.8 ι8.4 τ8.5 ε8.2 ν6.6 σ4 ς3.2 η4.3 υ4.2 ρ4.4 π4.1 κ4 μ3.4 λ2.6 ω1.8 δ1.7 γ1.6 "
    "χ1.2 θ1.3 φ.8 β.6 ξ.3 ζ.4 ψ.15 ά1.9 έ1.4 ή1 ί2 ό1.7 ύ1 ώ.5 ϊ.05 ΐ.01",
}
_P = {
    lang: {item[0]: float(item[1:]) / 100 for item in table.split()} for lang, table in _FREQUENCIES.items()
}
# Languages written in another alphabet hold English (ASCII) words too; half the
# letters of a dual Russian/English file are ASCII, a Russian one has few.
_ASCII_IN_OTHER_ALPHABETS = 0.5
_NOT_LATIN = ("ru", "uk", "el")
# A letter is ASCII (the same under every page) with this probability: 1 minus
# the language's share of non-ASCII letters. Leaving it out would favour the
# languages with the most accents (Spanish read as Hungarian, Italian as Czech).
_LOG_ASCII = {
    lang: math.log(_ASCII_IN_OTHER_ALPHABETS if lang in _NOT_LATIN else 1 - sum(table.values()))
    for lang, table in _P.items()
}
_OWN_SHARE = {lang: 1 - _ASCII_IN_OTHER_ALPHABETS if lang in _NOT_LATIN else 1.0 for lang in _P}
_LOG_P = {lang: {c: math.log(p * _OWN_SHARE[lang]) for c, p in t.items()} for lang, t in _P.items()}
_FLOOR = math.log(1e-5)  # a letter the language does not use
_MOJIBAKE = math.log(1e-6)  # per character of a word that cannot be text
# Punctuation that real text holds whatever its language (a space or quote mark,
# not a letter): the same small cost under every page that reads it.
_PUNCTUATION = frozenset(
    "\u00a0«»‹›—–‐‑‒―…‘’‚‛“”„•·°№©®™€£§¿¡´ªº♪♫\u200b\ufeff"
    "、。「」『』（）！？：；，．・ー～【】《》〈〉〔〕＂＇"
)
_PUNCTUATION_COST = math.log(5e-3)
# Chinese, Japanese and Korean are scored by alphabet, not by letter: which
# alphabets each page's languages write, and what a character of each costs
# (a two-byte character against two single-byte letters).
_CJK_COST = {"han": 2 * math.log(0.03), "kana": 2 * math.log(0.06), "hangul": 2 * math.log(0.04)}


@dataclass(frozen=True, slots=True)
class _Page:
    codec: str
    name: str  # what people call it
    languages: tuple[str, ...] = ()  # languages scored by letter frequency
    cjk: frozenset[str] = frozenset()  # CJK alphabets the page's languages write


# Tie order: Western first (an English file whose only non-ASCII bytes are
# curly quotes reads the same under all of them), Cyrillic next.
_PAGES = (
    _Page("cp1252", "Windows-1252 (Western European)", ("fr", "de", "es", "pt", "it", "sv", "da", "fi")),
    _Page("cp1251", "Windows-1251 (Cyrillic)", ("ru", "uk")),
    _Page("cp1250", "Windows-1250 (Central European)", ("cs", "sk", "pl", "hu", "hr", "sl", "ro")),
    _Page("koi8_r", "KOI8-R (Cyrillic)", ("ru",)),
    _Page("cp1253", "Windows-1253 (Greek)", ("el",)),
    _Page("cp1254", "Windows-1254 (Turkish)", ("tr", "de", "fr")),
    _Page("gb18030", "GB18030 (Chinese)", cjk=frozenset({"han"})),
    _Page("big5", "Big5 (Chinese)", cjk=frozenset({"han"})),
    _Page("shift_jis", "Shift JIS (Japanese)", cjk=frozenset({"han", "kana"})),
    # Modern Korean hardly writes hanja; hanja in a Korean reading are GB2312 Chinese.
    _Page("euc_kr", "EUC-KR (Korean)", cjk=frozenset({"hangul"})),
)
PAGE_NAMES = tuple(page.name.split(" (")[0] for page in _PAGES)
_WORDS = re.compile(r"[^\W\d_]+")
_ASCII_LETTERS = re.compile("[A-Za-z]")
# Tab, newline, CR, form feed and vertical tab turn up in genuine text (Word
# writes VT for a soft line break); every other C0/C1 control points to binary.
_CONTROL = re.compile("[\x00-\x08\x0e-\x1f\x7f-\x9f]")
_CONTROL_BYTES = re.compile(rb"[\x00-\x08\x0e-\x1f\x7f]")


@dataclass(frozen=True, slots=True)
class Decoded:
    """A file's text with ``\\n`` line ends and no BOM, and how it was read."""

    text: str
    encoding: str  # the Python codec
    name: str  # what people call it: "UTF-8", "Windows-1251 (Cyrillic)"
    how: str  # "utf-8", "bom", "byte order" (UTF-16/32 without a BOM), "letters" or "given"
    replaced: int = 0  # bytes or NULs that became U+FFFD
    first_replaced: int = 0  # the line of the first of them

    @property
    def note(self) -> str | None:
        """What a person should know about the reading, or ``None`` for plain UTF-8."""
        notes = []
        if self.how == "letters":
            notes.append(f"not UTF-8; read as {self.name}, the code page its letters fit best")
        elif self.how in ("bom", "byte order") and self.encoding != "utf-8":
            mark = "its byte-order mark" if self.how == "bom" else "its NUL bytes (no byte-order mark)"
            notes.append(f"read as {self.name}, as {mark} says")
        if self.replaced:
            what = "NUL or undecodable byte" if self.replaced == 1 else "NUL or undecodable bytes"
            notes.append(f"{self.replaced} {what} replaced by \ufffd (first on line {self.first_replaced})")
        return "; ".join(notes) or None


def decode(
    data: bytes,
    path: str | Path | None,
    error: type[SubpipeError],
    *,
    encoding: str | None = None,
    hint: str = "save it as UTF-8",
    binary_hint: str = "give a text file",
) -> Decoded:
    """The text of ``data``, decoded as the notes above describe, or as ``encoding`` when given.

    Raises ``error`` (naming ``path`` and, where there is one, the line) for
    binary data and for bytes no known encoding reads as text; ``hint`` and
    ``binary_hint`` end those messages.
    """
    if encoding is not None:
        decoded = _given(data, encoding, path, error)
    else:
        decoded = _bom(data) or _byte_order(data)
        if decoded is None:
            _refuse_binary_bytes(data, path, error, binary_hint)
            decoded = _utf8(data) or _legacy(data, path, error, hint)
    _refuse_binary(decoded, path, error, binary_hint)
    return decoded


def _given(data: bytes, encoding: str, path: str | Path | None, error: type[SubpipeError]) -> Decoded:
    try:
        codec = codecs.lookup(encoding).name
    except LookupError:
        known = "utf-8, utf-16, cp1251, koi8-r, cp1252, cp1250"
        raise error(path, f"unknown encoding {encoding!r}; try one of {known}") from None
    # A byte-order mark decodes to U+FEFF, which _finish drops.
    return _finish(*_decode(data, codec), codec, encoding, "given")


_BOMS = (
    (codecs.BOM_UTF32_LE, "utf-32-le", "UTF-32"),  # before UTF-16 LE, whose mark it starts with
    (codecs.BOM_UTF32_BE, "utf-32-be", "UTF-32"),
    (codecs.BOM_UTF8, "utf-8", "UTF-8"),
    (codecs.BOM_UTF16_LE, "utf-16-le", "UTF-16"),
    (codecs.BOM_UTF16_BE, "utf-16-be", "UTF-16"),
)


def _bom(data: bytes) -> Decoded | None:
    for bom, codec, name in _BOMS:
        if data.startswith(bom):
            # A cut-off last character (a truncated download) is replaced, not fatal.
            return _finish(*_decode(data[len(bom) :], codec), codec, name, "bom")
    return None


def _byte_order(data: bytes) -> Decoded | None:
    """UTF-32 or UTF-16 without a byte-order mark, told by where the NUL bytes fall.

    ASCII characters (timestamps, spaces, digits) have NUL high bytes: in
    UTF-16 every other byte, on one side. A few stray NULs in a UTF-8 file
    (which WebVTT reads as U+FFFD) fall anywhere and are far fewer.
    """
    nuls = [data[offset::4].count(0) for offset in range(4)]
    if sum(nuls) < 4:
        return None
    quarter = len(data) / 4
    for codec, high in (("utf-32-le", (2, 3)), ("utf-32-be", (0, 1))):
        if len(data) % 4 == 0 and all(nuls[k] >= 0.9 * quarter for k in high):
            decoded = _strict(data, codec, "UTF-32")
            if decoded is not None:
                return decoded
    even, odd = nuls[0] + nuls[2], nuls[1] + nuls[3]
    half = len(data) / 2
    for codec, high, low in (("utf-16-le", odd, even), ("utf-16-be", even, odd)):
        if high >= 0.1 * half and low <= 0.1 * high:
            decoded = _strict(data[: len(data) // 2 * 2], codec, "UTF-16")
            # Its ASCII characters are what put the NULs there.
            if decoded is not None and sum(c < "\x80" for c in decoded.text) * 10 >= len(decoded.text):
                return decoded
    return None


def _strict(data: bytes, codec: str, name: str) -> Decoded | None:
    try:
        text = data.decode(codec)
    except UnicodeDecodeError:
        return None
    if len(_CONTROL.findall(text)) * 100 > len(text):
        return None
    return _finish(text, 0, codec, name, "byte order")


def _decode(data: bytes, codec: str) -> tuple[str, int]:
    """``data`` decoded, and how many undecodable bytes became U+FFFD."""
    try:
        return data.decode(codec), 0
    except UnicodeDecodeError:
        text = data.decode(codec, errors="replace")
    genuine = data.count("\ufffd".encode()) if codec == "utf-8" else 0
    return text, max(text.count("\ufffd") - genuine, 1)


def _utf8(data: bytes) -> Decoded | None:
    text, bad = _decode(data, "utf-8")
    if not bad:
        return _finish(text, bad, "utf-8", "UTF-8", "utf-8")
    good = len(text.encode("utf-8", errors="replace")) - len(text) - 2 * text.count("\ufffd")
    # All UTF-8 but a line pasted in from a file in another encoding. Legacy
    # text almost never forms valid UTF-8 sequences (a Russian Windows-1251
    # file would need a capital letter before a "«" or an "ё").
    if good >= 10 * bad:
        return _finish(text, bad, "utf-8", "UTF-8", "utf-8")
    return None


def _legacy(data: bytes, path: str | Path | None, error: type[SubpipeError], hint: str) -> Decoded:
    best: tuple[float, _Page, str] | None = None
    for page in _PAGES:
        # A byte the page leaves undefined (0x98 in Windows-1251) becomes U+FFFD and
        # counts as mojibake: one stray byte does not hand a Russian file to KOI8-R.
        text = data.decode(page.codec, errors="replace")
        if best is not None and text == best[2]:
            continue  # reads the same as a page before it (German under 1252 and 1250)
        score, mojibake, scored = _score(text, page)
        # A reading that is more than a third mojibake is no reading.
        if mojibake * 3 > scored:
            continue
        if best is None or score > best[0] + 1e-9:
            best = (score, page, text)
    if best is None:
        names = ", ".join(PAGE_NAMES)
        problem = f"unknown text encoding: not UTF-8, and not readable as {names}; {hint}"
        raise error(path, problem, _first_high_line(data))
    _, page, text = best
    return _finish(text, text.count("\ufffd"), page.codec, page.name, "letters")


def _score(text: str, page: _Page) -> tuple[float, int, int]:
    """How much ``text`` looks like text in ``page``'s languages: a log-likelihood of its non-ASCII part.

    Also how many of the non-ASCII characters are mojibake, and how many there are.
    """
    mojibake = scored = 0
    rest = 0.0
    by_language = dict.fromkeys(page.languages, 0.0)
    for token in text.split():
        if token.isascii():
            continue
        for word in _WORDS.findall(token):
            if word.isascii():
                continue
            if not _coherent(word, page):
                mojibake += sum(1 for c in word if c > "\x7f")
                continue
            for char in word:
                if char <= "\x7f":
                    continue
                kind = cjk(char)
                if kind is not None:
                    if _common_cjk(char, page.codec):
                        rest += _CJK_COST[kind]
                    else:
                        mojibake += 1
                    continue
                lower = char.lower()[:1]
                for lang in by_language:
                    by_language[lang] += _LOG_P[lang].get(lower, _FLOOR)
        for char in token:
            if char > "\x7f":
                scored += 1
                if char.isalpha():
                    continue
                if char in _PUNCTUATION or char.isdigit() or unicodedata.category(char).startswith("M"):
                    rest += _PUNCTUATION_COST
                else:
                    mojibake += 1
    ascii_letters = len(_ASCII_LETTERS.findall(text))
    letters = max(
        (ll + ascii_letters * _LOG_ASCII[lang] for lang, ll in by_language.items()),
        default=ascii_letters * math.log(_ASCII_IN_OTHER_ALPHABETS),  # Chinese, Japanese, Korean
    )
    return letters + rest + mojibake * _MOJIBAKE, mojibake, scored


def _common_cjk(char: str, codec: str) -> bool:
    """Whether a Chinese, Japanese or Korean character is one of the page's common ones.

    Each of these encodings keeps its everyday characters in one block: GB2312
    inside GB18030 (3,755 frequent hanzi and 3,008 more), Big5's frequent
    hanzi (lead bytes A4-C6), Shift JIS's kana and level-1 kanji, EUC-KR's
    2,350 hangul. A reading that lands in the rest (random bytes read as
    Chinese, or Big5 read as GB18030) is mojibake.
    """
    if cjk(char) == "kana":
        return codec == "shift_jis"
    try:
        if codec == "gb18030":
            return len(char.encode("gb2312")) == 2
        encoded = char.encode(codec)
    except UnicodeEncodeError:
        return False
    if codec == "big5":
        return 0xA4 <= encoded[0] <= 0xC6
    if codec == "shift_jis":
        return encoded[0] < 0x98 or (encoded[0] == 0x98 and encoded[1] <= 0x72)
    return True


def _coherent(word: str, page: _Page) -> bool:
    """Whether a run of letters can be a word: one alphabet, sensible case, not mostly accents."""
    alphabets = {alphabet(c) for c in word}
    if len(alphabets) > 1 or "other" in alphabets:
        return False
    if alphabets == {"cjk"}:
        return all(cjk(c) in page.cjk for c in word)
    if page.cjk:
        return False  # Latin or Cyrillic letters out of a Chinese or Japanese reading
    if alphabets == {"latin"}:
        # "Ïðèâåò" is Russian read as Windows-1252; Czech "příští" has 4 accents in 6.
        accented = sum(1 for c in word if c > "\x7f")
        if accented >= 3 and accented * 4 > len(word) * 3:
            return False
    lowered = False
    for char in word:
        if char.islower():
            lowered = True
        elif lowered and char.isupper():
            return False
    return True


def _finish(text: str, replaced: int, codec: str, name: str, how: str) -> Decoded:
    """Line ends as ``\\n``, the BOM gone, NULs replaced (as WebVTT's parser does)."""
    text = text.removeprefix("\ufeff").replace("\r\n", "\n").replace("\r", "\n")
    nuls = text.count("\x00")
    first = 0
    if nuls or replaced:
        text = text.replace("\x00", "\ufffd")
        first = text.count("\n", 0, max(text.find("\ufffd"), 0)) + 1
    return Decoded(text, codec, name, how, nuls + replaced, first)


def _refuse_binary_bytes(data: bytes, path: str | Path | None, error: type[SubpipeError], hint: str) -> None:
    """Binary data (images, audio, archives) is full of control bytes; text has hardly any."""
    controls = len(_CONTROL_BYTES.findall(data))
    if controls * 20 > len(data):
        found = _CONTROL_BYTES.search(data)
        at = found.start() if found else 0
        raise error(path, f"is a binary file, not text; {hint}", data.count(b"\n", 0, at) + 1)


def _refuse_binary(decoded: Decoded, path: str | Path | None, error: type[SubpipeError], hint: str) -> None:
    text = decoded.text
    if _CONTROL.search(text) is None and not decoded.replaced:
        return
    controls = len(_CONTROL.findall(text)) + text.count("\ufffd")
    # A stray NUL or control character survives copy-and-paste (WebVTT even
    # says what a NUL means); a tenth of them is no text at all.
    if controls * 10 > len(text):
        found = _CONTROL.search(text) or re.search("\ufffd", text)
        line_no = text.count("\n", 0, found.start()) + 1 if found else None
        raise error(path, f"is a binary file, not text; {hint}", line_no)


def _first_high_line(data: bytes) -> int:
    found = re.search(rb"[\x80-\xff]", data)
    return data.count(b"\n", 0, found.start() if found else 0) + 1
