"""Tests for pipeline.transcript: the seed transcript, encodings, layouts, properties."""

from __future__ import annotations

import itertools
import random
import re
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pipeline import transcript
from pipeline.errors import InputNotFound, TranscriptError
from pipeline.transcript import compose, decode, parse, read
from pipeline.types import Line

SEED = Path(__file__).resolve().parent.parent / "audio_samples" / "digital-rights-2021.ru-en.txt"
# Letters that certainly count for the parser (it knows a few more).
LETTER = re.compile("[A-Za-z\u0400-\u0481\u048a-\u04ff]")

# The five title rows at the top, then two Russian lines left untranslated.
SEED_RU_ONLY = [
    (1, "Сообщество по цифровым правам: повестк\u0061 2021 года"),
    (3, "Центр Исследования Правовой Политики"),
    (5, "Право на право"),
    (7, "Сообщество по цифровым правам: повестк\u0061 2021 года"),
    (9, "Право на право"),
    (518, "Потому что..."),
    (2585, "Потому что"),
]
SEED_EN_ONLY = [
    (324, "For example."),
    (3331, "there is"),
    (3546, "by the deputies,"),
    (4311, "Thank you."),
]


@pytest.fixture(scope="module")
def seed_text() -> str:
    return SEED.read_text(encoding="utf-8")


@pytest.fixture(scope="module")
def seed_lines() -> list[Line]:
    return read(SEED)


def _nonempty_rows(text: str) -> list[str]:
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    return [row.strip() for row in text.split("\n") if row.strip()]


def _fields(lines: list[Line]) -> list[str]:
    return [field for line in lines for field in (line.ru, line.en) if field]


# ---------------------------------------------------------------- the seed


def test_seed_counts(seed_lines: list[Line], seed_text: str) -> None:
    assert len(_nonempty_rows(seed_text)) == 2139
    assert len(seed_lines) == 1075
    assert sum(1 for line in seed_lines if line.ru and line.en) == 1064
    assert [(line.source_line, line.ru) for line in seed_lines if not line.en] == SEED_RU_ONLY
    assert [(line.source_line, line.en) for line in seed_lines if not line.ru] == SEED_EN_ONLY
    assert [line.index for line in seed_lines] == list(range(1075))


def test_seed_keeps_every_line_in_order(seed_lines: list[Line], seed_text: str) -> None:
    assert _fields(seed_lines) == _nonempty_rows(seed_text)


def test_seed_source_lines_point_at_the_file(seed_lines: list[Line], seed_text: str) -> None:
    rows = seed_text.split("\n")
    for line in seed_lines:
        assert rows[line.source_line - 1].strip() == (line.ru or line.en)
        if line.ru and line.en:
            # The translation is the next non-empty row after the Russian one.
            following = [row.strip() for row in rows[line.source_line :] if row.strip()]
            assert following[0] == line.en


def test_seed_homoglyph_kept_verbatim(seed_lines: list[Line]) -> None:
    title = seed_lines[0].ru
    assert title.endswith("повестк\u0061 2021 года")  # Latin "a", not Cyrillic "а"
    assert "повестк\u0430" not in title
    assert seed_lines[0].en == ""


def test_seed_mixed_english_line_is_paired(seed_lines: list[Line]) -> None:
    (line,) = [line for line in seed_lines if line.ru == "этого просто нет. И все."]
    assert line.en == "It просто не существует. That's all."
    assert line.source_line == 3487


@pytest.mark.parametrize(
    ("ru", "en"),
    [
        (
            "Арсен директор общественного фонда Human Rights Consulting Group и координатор коалиции нового",
            "Arsen is the director of the public fund Human Rights Consulting Group "
            "and the coordinator of the new coalition.",
        ),
        ("наше государственное общество, GDPR,", "our public society, GDPR,"),
        (
            "Смотреть наши социальные сети, Facebook, Instagram,",
            "Check our social networks, Facebook, Instagram.",
        ),
    ],
)
def test_seed_russian_lines_with_latin_words_stay_russian(seed_lines: list[Line], ru: str, en: str) -> None:
    assert [line.en for line in seed_lines if line.ru == ru] == [en]


# ---------------------------------------------------------------- encodings


def test_bom_crlf_and_cr_give_identical_lines(seed_text: str) -> None:
    text = seed_text[:6000]
    expected = parse(text)
    assert len(expected) > 20
    data = text.encode("utf-8")
    assert parse(decode(b"\xef\xbb\xbf" + data)) == expected
    assert parse(decode(data.replace(b"\n", b"\r\n"))) == expected
    assert parse(decode(data.replace(b"\n", b"\r"))) == expected
    assert decode(b"\xef\xbb\xbf" + data.replace(b"\n", b"\r\n")) == text


def test_cp1251_round_trip_of_the_seed(seed_lines: list[Line], seed_text: str, tmp_path: Path) -> None:
    path = tmp_path / "seed.cp1251.txt"
    path.write_bytes(seed_text.encode("cp1251"))
    assert read(path) == seed_lines


def test_read_crlf_file(seed_lines: list[Line], seed_text: str, tmp_path: Path) -> None:
    path = tmp_path / "seed.crlf.txt"
    path.write_bytes(b"\xef\xbb\xbf" + seed_text.replace("\n", "\r\n").encode("utf-8"))
    assert read(path) == seed_lines


def _random_bytes(seed: int, size: int) -> bytes:
    return random.Random(seed).randbytes(size)


# Read in their own encoding, told from the bytes (pipeline.encoding).
ACCEPTED = {
    "utf16-bom": ("Привет, мир.\n\nHello, world.\n", "utf-16"),
    "utf16le-no-bom": ("Привет, мир.\n\nHello, world.\n", "utf-16-le"),
    "utf16be-no-bom": ("Hello, world. Привет.\n", "utf-16-be"),
    "utf32-bom": ("Привет, мир.\n", "utf-32"),
    "utf32le-no-bom": ("Привет, мир.\n", "utf-32-le"),
    "cp1252": ("Café au lait, s'il vous plaît. Müller straße.\n", "cp1252"),
}


@pytest.mark.parametrize("name", sorted(ACCEPTED))
def test_other_encodings_are_read(name: str, tmp_path: Path) -> None:
    text, codec = ACCEPTED[name]
    path = tmp_path / f"{name}.txt"
    path.write_bytes(text.encode(codec))
    # Decoded and parsed as read() does (read() also refuses a text without Russian, as cp1252's is).
    assert parse(decode(path.read_bytes(), path)) == parse(text)


REJECTED = {
    "binary": (_random_bytes(0, 4096), "binary"),
    "binary-small": (_random_bytes(1, 64).replace(b"\x00", b"\x01"), "binary"),
    "binary-controls": (bytes(range(1, 32)) * 20 + "Привет".encode(), "binary"),
    "undefined-in-most-pages": (b"Hello \x98\x90\x81 world\n" * 3, "Windows-1251"),
    "empty": (b"", "empty"),
    "bom-only": (b"\xef\xbb\xbf", "empty"),
    "blank-lines": (b"\n  \n\t\r\n\r\n   \n", "empty"),
    "no-letters": (b"12:30\n\n...\n\n2021 - 2022\n", "no letters"),
}


@pytest.mark.parametrize("name", sorted(REJECTED))
def test_bad_files_raise_with_path(name: str, tmp_path: Path) -> None:
    data, needle = REJECTED[name]
    path = tmp_path / f"{name}.txt"
    path.write_bytes(data)
    with pytest.raises(TranscriptError) as caught:
        read(path)
    assert str(path) in str(caught.value)
    assert needle in caught.value.problem
    assert "\n" not in caught.value.message
    assert caught.value.exit_code == 4


def test_koi8r_is_read_as_koi8r(seed_text: str, tmp_path: Path) -> None:
    # KOI8-R has no en dash or curly apostrophe; they become "?" here.
    data = seed_text[:20000].encode("koi8-r", errors="replace")
    path = tmp_path / "koi8.txt"
    path.write_bytes(data)
    assert read(path) == parse(data.decode("koi8-r"))
    # and the same text in Windows-1251 as Windows-1251
    assert parse(decode(seed_text[:20000].encode("cp1251"))) == parse(seed_text[:20000])


def test_a_stray_control_character_is_tolerated(seed_text: str) -> None:
    text = seed_text[:3000]
    assert decode(text.replace("Hello", "Hello\x07", 1).encode("utf-8")).count("\x07") == 1


def test_missing_file_raises_input_not_found(tmp_path: Path) -> None:
    path = tmp_path / "nope.txt"
    with pytest.raises(InputNotFound) as caught:
        read(path)
    assert str(path) in str(caught.value)
    assert caught.value.exit_code == 3


def test_directory_raises(tmp_path: Path) -> None:
    with pytest.raises(TranscriptError, match="directory"):
        read(tmp_path)


def test_oversized_file_is_refused(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "big.txt"
    path.write_text("Привет\n" * 100, encoding="utf-8")
    monkeypatch.setattr(transcript, "MAX_BYTES", 100)
    with pytest.raises(TranscriptError, match="right file") as caught:
        read(path)
    assert str(path) in str(caught.value)


def test_decode_error_without_path_is_just_the_problem() -> None:
    with pytest.raises(TranscriptError) as caught:
        decode(bytes(range(32)) * 4)
    assert str(caught.value) == "is a binary file, not text; give the transcript's .txt or .tsv file"


# ---------------------------------------------------------------- layouts


def test_tsv_layout() -> None:
    text = "Привет\tHello\n\n\tThank you.\nПока\t\nДа\tYes\t\t\n   \t  \nGDPR\n"
    assert parse(text) == [
        Line(0, "Привет", "Hello", 1),
        Line(1, "", "Thank you.", 3),
        Line(2, "Пока", "", 4),
        Line(3, "Да", "Yes", 5),  # trailing empty spreadsheet columns are ignored
        Line(4, "", "GDPR", 7),  # a row without a TAB goes to the side its script says
    ]


def test_english_lines_indented_with_tabs_are_not_tsv() -> None:
    # Three of five rows start with a TAB, but only as indentation.
    text = "Раз\n\tOne\nДва\n\tTwo\n\tThank you.\n"
    assert parse(text) == [Line(0, "Раз", "One", 1), Line(1, "Два", "Two", 3), Line(2, "", "Thank you.", 5)]


def test_tsv_with_three_fields_names_the_line() -> None:
    with pytest.raises(TranscriptError) as caught:
        parse("Привет\tHello\nПока\tBye\textra\n", "t.tsv")
    assert caught.value.line_no == 2
    assert caught.value.message.startswith("t.tsv:2: has 3 tab-separated fields")


def test_plain_layout_keeps_latin_words_and_mixed_lines_russian() -> None:
    # Latin words at most half of each line: no line reads as English alone.
    text = "Привет всем.\n\nFacebook заблокировал доступ.\n2021\nНаш GDPR и Instagram запрещены\n"
    assert parse(text) == [
        Line(0, "Привет всем.", "", 1),
        Line(1, "Facebook заблокировал доступ.", "", 3),
        Line(2, "2021", "", 4),
        Line(3, "Наш GDPR и Instagram запрещены", "", 5),
    ]


def test_one_mostly_latin_line_makes_the_file_bilingual() -> None:
    text = "Привет всем.\n\nНаш GDPR, Instagram и Facebook\n"
    assert parse(text) == [Line(0, "Привет всем.", "Наш GDPR, Instagram и Facebook", 1)]


def test_bilingual_blank_line_runs_and_trailing_whitespace_do_not_matter() -> None:
    tight = "Раз\nOne\nДва\nTwo\n"
    loose = "\n\n  Раз   \n \n\n\n\n\nOne\t\n\n\n  \nДва\n\n\n\n\n\n\n\nTwo  \n\n\n"
    expected = [("Раз", "One"), ("Два", "Two")]
    assert [(line.ru, line.en) for line in parse(tight)] == expected
    assert [(line.ru, line.en) for line in parse(loose)] == expected
    assert [line.source_line for line in parse(loose)] == [3, 13]


def test_bilingual_position_rules() -> None:
    text = "\n".join(
        [
            "Вступление",  # Russian with no translation: the next line is Russian too
            "Это 2021 год.",
            "It is 2021.",
            "Thank you.",  # English with no Russian before it
            "Он сказал:",
            "Facebook всё знает.",  # mixed, starts with a Latin word, after open Russian
            "Запрет",
            "2022",  # no letters, after open Russian: it is the translation
            "...",  # no letters, nothing open: an entry of its own, on the Russian side
            "Пауза",
            "Закон о GDPR принят сегодня вечером",  # 1 Latin word in 6: Russian
            "The law «О данных» was signed.",  # mixed, Latin majority, nothing open: English
        ]
    )
    assert [(line.ru, line.en) for line in parse(text)] == [
        ("Вступление", ""),
        ("Это 2021 год.", "It is 2021."),
        ("", "Thank you."),
        ("Он сказал:", "Facebook всё знает."),
        ("Запрет", "2022"),
        ("...", ""),
        ("Пауза", ""),
        ("Закон о GDPR принят сегодня вечером", "The law «О данных» was signed."),
    ]


# ---------------------------------------------------------------- compose


LINES = [Line(0, "Привет", "Hello", 1), Line(1, "Пока", "", 3), Line(2, "Да", "Yes", 4)]


def test_compose_layouts() -> None:
    assert compose(LINES) == "Привет\n\nHello\n\nПока\n\nДа\n\nYes\n"
    assert compose(LINES, "tsv") == "Привет\tHello\nПока\t\nДа\tYes\n"
    assert compose(LINES, "plain") == "Привет\nПока\nДа\n"
    assert compose([]) == ""


def test_compose_refuses_what_cannot_read_back() -> None:
    with pytest.raises(ValueError, match="layout"):
        compose(LINES, "srt")
    with pytest.raises(ValueError):
        compose([Line(0, "При\nвет", "Hello")])
    with pytest.raises(ValueError):
        compose([Line(0, "При\tвет", "Hello")], "tsv")
    with pytest.raises(ValueError, match="tsv"):
        compose([Line(0, "Пока", ""), Line(1, "", "Thank you.")])


# ---------------------------------------------------------------- properties

CYRILLIC = "абвгдеёжзийклмнопрстуфхцчшщъыьэюяАБВГДЕЁЖЗИЙКЛМНОПРСТУФХЦЧШЩЪЫЬЭЮЯ"
LATIN = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"

cyrillic_words = st.text(CYRILLIC, min_size=1, max_size=9)
latin_words = st.text(LATIN, min_size=1, max_size=9)
numbers = st.integers(0, 3000).map(str)
punctuation = st.sampled_from(["", ",", ".", "!", "?", "...", ":"])


@st.composite
def russian(draw: st.DrawFn) -> str:
    """Cyrillic words and numbers; from four Cyrillic words on, maybe one Latin brand inside."""
    words = draw(st.lists(cyrillic_words, min_size=1, max_size=8))
    if len(words) >= 4 and draw(st.booleans()):
        words.insert(draw(st.integers(1, len(words))), draw(latin_words))
    if draw(st.booleans()):
        words.insert(draw(st.integers(1, len(words))), draw(numbers))
    return " ".join(words) + draw(punctuation)


@st.composite
def english(draw: st.DrawFn) -> str:
    """Latin words and numbers; from two Latin words on, maybe one Russian word inside."""
    words = draw(st.lists(latin_words, min_size=1, max_size=8))
    if len(words) >= 2 and draw(st.booleans()):
        words.insert(draw(st.integers(1, len(words))), draw(cyrillic_words))
    if draw(st.booleans()):
        words.insert(draw(st.integers(0, len(words))), draw(numbers))
    return " ".join(words) + draw(punctuation)


@st.composite
def entries(draw: st.DrawFn, ru: st.SearchStrategy[str], en: st.SearchStrategy[str]) -> list[Line]:
    shapes = st.sampled_from(["both", "both", "ru", "en"])
    result = []
    for index in range(draw(st.integers(1, 12))):
        shape = draw(shapes)
        result.append(
            Line(index, draw(ru) if shape != "en" else "", draw(en) if shape != "ru" else "", index + 1)
        )
    return result


def _pairs(lines: list[Line]) -> list[tuple[str, str]]:
    return [(line.ru, line.en) for line in lines]


def _ru_only_then_en_only(lines: list[Line]) -> bool:
    return any(a.ru and not a.en and b.en and not b.ru for a, b in itertools.pairwise(lines))


FAST = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@FAST
@given(entries(russian(), english()))
def test_bilingual_round_trip(lines: list[Line]) -> None:
    if _ru_only_then_en_only(lines):
        with pytest.raises(ValueError):
            compose(lines)
        return
    parsed = parse(compose(lines))
    assert _pairs(parsed) == _pairs(lines)
    assert [line.index for line in parsed] == list(range(len(lines)))


# TSV fields may be any text at all that holds no TAB or line break.
tsv_field = st.one_of(
    russian(),
    english(),
    st.text(st.characters(exclude_characters="\t\n\r\ufeff", exclude_categories=("Cs",)), max_size=20).map(
        str.strip
    ),
)


@FAST
@given(st.lists(st.tuples(tsv_field, tsv_field), min_size=1, max_size=12))
def test_tsv_round_trip(pairs: list[tuple[str, str]]) -> None:
    lines = [Line(index, ru, en) for index, (ru, en) in enumerate(pairs) if ru or en]
    text = compose(lines, "tsv")
    try:
        parsed = parse(text)
    except TranscriptError as exc:
        assert "no letters" in exc.problem or "empty" in exc.problem
        assert not any(LETTER.search(ru + en) for ru, en in pairs)
        return
    assert _pairs(parsed) == _pairs(lines)
    assert [line.source_line for line in parsed] == list(range(1, len(lines) + 1))


@st.composite
def plain_russian(draw: st.DrawFn) -> str:
    """Cyrillic and Latin words in any order, Latin words at most half of them."""
    words = draw(st.lists(cyrillic_words, min_size=1, max_size=6))
    for latin in draw(st.lists(latin_words, max_size=len(words))):
        words.insert(draw(st.integers(0, len(words))), latin)
    if draw(st.booleans()):
        words.insert(draw(st.integers(0, len(words))), draw(numbers))
    return " ".join(words) + draw(punctuation)


@FAST
@given(st.lists(plain_russian(), min_size=1, max_size=12))
def test_plain_round_trip(rows: list[str]) -> None:
    lines = [Line(index, ru, "") for index, ru in enumerate(rows)]
    parsed = parse(compose(lines, "plain"))
    assert _pairs(parsed) == _pairs(lines)
    assert [line.source_line for line in parsed] == list(range(1, len(rows) + 1))


def _check_well_formed(lines: list[Line], text: str) -> None:
    rows = text.removeprefix("\ufeff").replace("\r\n", "\n").replace("\r", "\n").split("\n")
    assert [line.index for line in lines] == list(range(len(lines)))
    for line in lines:
        assert line.ru or line.en
        assert line.ru == line.ru.strip() and line.en == line.en.strip()
        assert 1 <= line.source_line <= len(rows)
    assert [line.source_line for line in lines] == sorted({line.source_line for line in lines})


@FAST
@given(st.text())
def test_parse_never_crashes(text: str) -> None:
    try:
        lines = parse(text)
    except TranscriptError as exc:
        assert exc.problem
        return
    _check_well_formed(lines, text)


# Rows that exercise every branch of the classifier, joined by line breaks of
# all kinds and blank-line runs with stray whitespace.
row = st.one_of(
    russian(),
    english(),
    plain_russian(),
    numbers,
    st.sampled_from(["...", "—", "2021 год", "", "   ", " \t "]),
    st.text(st.characters(exclude_characters="\t\n\r", exclude_categories=("Cs",)), max_size=15),
)
separator = st.sampled_from(["\n", "\n\n", "\r\n", "\r", "\n \n", "\n\n\n\n\n\n", "\n\t\n  \n"])


@FAST
@given(st.lists(st.tuples(row, separator), min_size=1, max_size=20))
def test_parse_never_drops_a_line(parts: list[tuple[str, str]]) -> None:
    text = "".join(r + sep for r, sep in parts)
    try:
        lines = parse(text)
    except TranscriptError:
        assert not any(LETTER.search(r) for r, _ in parts)
        return
    _check_well_formed(lines, text)
    # Every non-empty row lands in exactly one field, in the order written.
    assert _fields(lines) == _nonempty_rows(text.removeprefix("\ufeff"))
