from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pipeline.cues import DEFAULT, Profile, break_rows, build_cues, check_cues
from pipeline.types import AlignedLine, Cue, Line, LineStatus, Word

SEED_RU = "всем привет это завершающий эпизод нашего сезона как вы помните мы говорили о правах человека в"
SEED_EN = (
    "Hello everyone, this is the final episode of our season. "
    "As you remember, we talked about human rights in..."
)
PREPOSITIONS = {"в", "во", "на", "с", "к", "по", "о", "от", "до", "из", "за", "для", "и", "а", "но"}
PREPOSITIONS |= {"and", "but", "or", "to", "in", "on", "at", "of", "for", "with", "from", "by", "the"}


def spoken(
    index: int,
    ru: str,
    en: str,
    start: float,
    *,
    word_s: float = 0.35,
    pause_s: float = 0.05,
    pauses: dict[str, float] | None = None,
) -> AlignedLine:
    """An aligned line whose Russian words are read at a steady pace from ``start``."""
    words, t = [], start
    for token in ru.split():
        words.append(Word(token, round(t, 3), round(t + word_s, 3)))
        t += word_s + (pauses or {}).get(token, pause_s)
    return AlignedLine(
        Line(index, ru, en), LineStatus.ALIGNED, words[0].start, words[-1].end, 0.9, tuple(words)
    )


def joined(cues: list[Cue], lang: str) -> str:
    return " ".join(row for cue in cues for row in (cue.ru if lang == "ru" else cue.en))


# --- break_rows ------------------------------------------------------------------


def test_short_text_stays_on_one_row() -> None:
    assert break_rows("Рад, что такая возможность появилась.", 39) == (
        "Рад, что такая возможность появилась.",
    )
    assert break_rows("  Hello   there  ", 42) == ("Hello there",)
    assert break_rows("", 42) == ()


@pytest.mark.parametrize(
    ("text", "limit"),
    [
        ("Что происходит в 2021 году с цифровыми правами в Казахстане?", 39),
        ("цифровые права реализуются в казахстане наш специальный гость Арсен Обакиров", 39),
        ("Hello everyone, this is the final episode of our season.", 42),
        ("Digital rights are being implemented in Kazakhstan, and our guest", 42),
        ("the generations of human rights defenders as well as the expert group", 42),
    ],
)
def test_two_rows_fit_and_keep_function_words_with_their_word(text: str, limit: int) -> None:
    rows = break_rows(text, limit)
    assert len(rows) == 2
    assert all(len(r) <= limit for r in rows)
    assert " ".join(rows) == text
    assert rows[0].split()[-1].lower() not in PREPOSITIONS


def test_prefers_punctuation() -> None:
    assert break_rows("Hello everyone, this is the final episode of our season.", 42) == (
        "Hello everyone,",
        "this is the final episode of our season.",
    )
    rows = break_rows("Добрый день, Арсен, мы очень рады вас видеть в студии.", 39)
    assert rows == ("Добрый день, Арсен,", "мы очень рады вас видеть в студии.")


def test_balanced_and_bottom_heavy() -> None:
    rows = break_rows("один два три четыре пять шесть семь восемь девять десять", 39)
    assert abs(len(rows[0]) - len(rows[1])) <= 12
    assert len(rows[0]) <= len(rows[1])


def test_number_stays_with_unit_and_names_stay_together() -> None:
    rows = break_rows("в этом году было 2021 года события с участием", 39)
    assert not rows[0].endswith("2021")
    rows = break_rows("наш специальный гость сегодня Арсен Обакиров в студии", 39)
    assert all(not r.endswith("Арсен") for r in rows)


def test_returns_more_rows_only_when_it_cannot_fit() -> None:
    text = " ".join(["слово"] * 20)
    rows = break_rows(text, 39)
    assert len(rows) > 2 and all(len(r) <= 39 for r in rows)
    assert " ".join(rows) == text


# --- build_cues -------------------------------------------------------------------


def test_long_seed_line_is_split_in_step() -> None:
    line = spoken(1, SEED_RU, SEED_EN, 10.0, word_s=0.45, pauses={"сезона": 0.6})
    cues = build_cues([line])
    assert len(cues) >= 2
    for cue in cues:
        assert cue.ru and cue.en, "every piece keeps both languages"
        assert len(cue.ru) <= 2 and all(len(r) <= 39 for r in cue.ru)
        assert len(cue.en) <= 2 and all(len(r) <= 42 for r in cue.en)
        assert cue.end - cue.start <= 7.0 + 1e-9
        assert cue.lines == (1,)
    assert joined(cues, "ru") == SEED_RU
    assert joined(cues, "en") == SEED_EN
    # the pause and the full stop both sit after "сезона"/"season."
    assert cues[0].ru[-1].endswith("сезона") and cues[0].en[-1].endswith("season.")
    assert [w.text for c in cues for w in c.words] == SEED_RU.split()
    assert not [v for v in check_cues(cues) if v.rule in ("line_length", "line_count", "gap", "overlap")]


def test_long_line_without_words_is_split_by_characters() -> None:
    line = AlignedLine(Line(1, SEED_RU, SEED_EN), LineStatus.ALIGNED, 0.0, 9.0, 0.5)
    cues = build_cues([line])
    assert len(cues) >= 2
    assert all(c.ru and c.en for c in cues)
    assert joined(cues, "ru") == SEED_RU and joined(cues, "en") == SEED_EN
    assert all(c.end - c.start <= 7.0 for c in cues)


def test_line_longer_than_max_duration_is_split() -> None:
    line = spoken(1, "раз два три четыре пять", "one two three four five", 0.0, word_s=1.5, pause_s=0.4)
    cues = build_cues([line])
    assert len(cues) >= 2 and all(c.end - c.start <= 7.0 for c in cues)


def test_short_lines_are_merged() -> None:
    a = spoken(1, "Добрый день.", "Good afternoon.", 1.0)
    b = spoken(2, "Рады вас видеть.", "Glad to see you.", 2.1)
    cues = build_cues([a, b])
    assert len(cues) == 1
    assert cues[0].ru == ("Добрый день.", "Рады вас видеть.")
    assert cues[0].en == ("Good afternoon.", "Glad to see you.")
    assert cues[0].lines == (1, 2)


def test_lines_far_apart_are_not_merged() -> None:
    a = spoken(1, "Добрый день.", "Good afternoon.", 1.0)
    b = spoken(2, "Рады вас видеть.", "Glad to see you.", 4.0)
    assert len(build_cues([a, b])) == 2


def test_min_duration_extends_into_the_gap_up_to_max_extend() -> None:
    short = AlignedLine(Line(1, "Да.", "Yes."), LineStatus.ALIGNED, 1.0, 1.3, 1.0)
    later = AlignedLine(Line(2, "Конечно нет.", "Of course not."), LineStatus.ALIGNED, 5.0, 6.5, 1.0)
    cues = build_cues([short, later])
    assert cues[0].end == pytest.approx(1.8)  # 0.3 s of speech + 0.5 s at most
    tight = replace_times(later, 1.7, 3.2)
    cues = build_cues([short, tight], Profile(merge_below=0.0))
    assert cues[1].start - cues[0].end == pytest.approx(DEFAULT.min_gap, abs=0.001)


def replace_times(al: AlignedLine, start: float, end: float) -> AlignedLine:
    return AlignedLine(al.line, al.status, start, end, al.confidence)


def test_short_gaps_are_chained_and_overlaps_trimmed() -> None:
    a = AlignedLine(
        Line(1, "Первая длинная реплика здесь.", "First long line here."), LineStatus.ALIGNED, 0, 3, 1
    )
    b = AlignedLine(Line(2, "Вторая реплика тоже.", "The second one too."), LineStatus.ALIGNED, 3.3, 6, 1)
    c = AlignedLine(Line(3, "Третья налезает.", "The third overlaps."), LineStatus.ALIGNED, 5.8, 9, 1)
    cues = build_cues([a, b, c], Profile(merge_below=0.0))
    assert len(cues) == 3
    assert cues[0].end == pytest.approx(3.3 - DEFAULT.min_gap, abs=0.001)
    assert cues[1].end == pytest.approx(5.8 - DEFAULT.min_gap, abs=0.001)
    assert check_cues(cues) == []


def test_unspoken_and_untimed_lines_are_skipped_no_text_keeps_english() -> None:
    lines = [
        AlignedLine(Line(1, "не прозвучало", "not heard"), LineStatus.UNSPOKEN, None, None, 0.0),
        AlignedLine(Line(2, "тоже нет", "neither"), LineStatus.UNSPOKEN, 2.0, 3.0, 0.1),
        AlignedLine(Line(3, "", "Only English here."), LineStatus.NO_TEXT, 5.0, 7.0, 0.0),
        AlignedLine(Line(4, "", "Never placed."), LineStatus.NO_TEXT, None, None, 0.0),
    ]
    cues = build_cues(lines)
    assert [(c.ru, c.en, c.lines) for c in cues] == [((), ("Only English here.",), (3,))]


def test_check_cues_reports_each_rule() -> None:
    cues = [
        Cue(0.0, 0.5, ("x" * 40, "b", "c"), ("y" * 43,)),
        Cue(0.52, 8.0, ("а",), ("b",)),
        Cue(7.9, 8.5, ("слово " * 4,), ()),
    ]
    rules = {(v.cue_index, v.rule) for v in check_cues(cues)}
    assert {(1, "line_length"), (1, "line_count"), (1, "min_duration"), (1, "gap")} <= rules
    assert {(1, "reading_speed_ru"), (1, "reading_speed_en"), (2, "max_duration"), (2, "overlap")} <= rules
    assert (3, "reading_speed_ru") in rules


# --- property ---------------------------------------------------------------------

TOKEN = st.text(alphabet="абвгдежзиклмнопрстуфхцчшщыэюя", min_size=1, max_size=12)
EN_TOKEN = st.text(alphabet="abcdefghijklmnopqrstuvwxyz,.", min_size=1, max_size=10).filter(
    lambda t: t[0].isalpha()
)
UNIT = st.tuples(TOKEN, st.lists(EN_TOKEN, max_size=2), st.floats(0.05, 0.8), st.floats(0.0, 1.5))
# (units, gap before the line, whether the aligner gave word times, whether the line has Russian)
LINE = st.tuples(
    st.lists(UNIT, min_size=1, max_size=30), st.floats(0.0, 3.0), st.booleans(), st.integers(0, 5)
)
HARD_RULES = ("line_length", "line_count", "gap", "overlap", "max_duration")


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(LINE, min_size=1, max_size=8))
def test_property_cues_keep_the_rules(spec: list[tuple[list, float, bool, int]]) -> None:
    lines, t = [], 0.0
    for index, (units, gap, has_words, kind) in enumerate(spec, start=1):
        t += gap
        words, start = [], t
        for ru, _en, dur, pause in units:
            words.append(Word(ru, t, t + dur))
            t += dur + pause
        ru = " ".join(u[0] for u in units)
        en = " ".join(e for u in units for e in u[1])
        if kind == 0:  # now and then a line with English only
            line = AlignedLine(Line(index, "", en or "yes"), LineStatus.NO_TEXT, start, t, 0.0)
        else:
            timed = tuple(words) if has_words else ()
            line = AlignedLine(Line(index, ru, en), LineStatus.ALIGNED, start, words[-1].end, 1.0, timed)
        lines.append(line)
        t = words[-1].end
    cues = build_cues(lines)
    violations = check_cues(cues)
    assert [v for v in violations if v.rule in HARD_RULES] == []
    # nothing is lost, duplicated or reordered
    assert joined(cues, "ru") == " ".join(al.line.ru for al in lines if al.line.ru)
    assert joined(cues, "en") == " ".join(e for al in lines for e in al.line.en.split())
    rules = {(v.cue_index, v.rule) for v in violations}
    for n, cue in enumerate(cues, start=1):
        assert cue.start < cue.end
        assert cue.ru or cue.en
        # checked independently of check_cues: whatever is broken is reported
        if cue.end - cue.start < DEFAULT.min_duration - 0.001:
            assert (n, "min_duration") in rules
        if sum(map(len, cue.en)) / (cue.end - cue.start) > DEFAULT.en_max_cps + 1e-6:
            assert (n, "reading_speed_en") in rules
