from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pipeline.subtitles.cues import DEFAULT, Profile, break_rows, build_cues, check_cues
from pipeline.subtitles.formats import compose_srt, compose_vtt, parse_srt, parse_vtt
from pipeline.subtitles.profiles import load as load_profile
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


def test_determiners_stay_with_their_noun() -> None:
    rows = break_rows("to explain how important these amendments are, what norms are there?", 42)
    assert rows == ("to explain how important these amendments", "are, what norms are there?")


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


def test_merged_lines_ending_mid_phrase_are_rebroken() -> None:
    a = spoken(1, "И банки, которые работают с", "And banks that work with", 1.0)
    b = spoken(2, "данными.", "data.", 3.0)
    cues = build_cues([a, b])
    assert cues[0].lines == (1, 2)
    assert cues[0].ru == ("И банки, которые работают с данными.",)
    assert cues[0].en == ("And banks that work with data.",)


def test_lines_far_apart_are_not_merged() -> None:
    a = spoken(1, "Добрый день.", "Good afternoon.", 1.0)
    b = spoken(2, "Рады вас видеть.", "Glad to see you.", 4.0)
    assert len(build_cues([a, b])) == 2


def test_min_duration_extends_into_the_gap_beyond_max_extend() -> None:
    short = AlignedLine(Line(1, "Да.", "Yes."), LineStatus.ALIGNED, 1.0, 1.3, 1.0)
    later = AlignedLine(Line(2, "Конечно нет.", "Of course not."), LineStatus.ALIGNED, 5.0, 6.5, 1.0)
    cues = build_cues([short, later])
    # 0.3 s of speech; reading needs 0.2 s more, the minimum duration 0.53 s more
    assert cues[0].start == 1.0
    assert cues[0].end == pytest.approx(1.0 + 5 / 6, abs=0.001)
    tight = replace_times(later, 1.7, 3.2)
    cues = build_cues([short, tight], Profile(merge_below=0.0))
    assert cues[1].start - cues[0].end == pytest.approx(DEFAULT.min_gap, abs=0.001)
    assert check_cues(cues) == []


FULL_RU = "Первая длинная реплика почти на строку, и вторая строка текста до самого конца."  # two full rows
FULL_EN = "A first long line that fills a whole row, and then a second row."


def test_too_short_before_the_next_line_starts_early_then_holds_the_next() -> None:
    before = AlignedLine(Line(1, FULL_RU, FULL_EN), LineStatus.ALIGNED, 0.0, 2.5, 1.0)
    short = AlignedLine(Line(2, "Да.", "Yes."), LineStatus.ALIGNED, 4.0, 4.2, 1.0)
    after = AlignedLine(Line(3, FULL_RU, FULL_EN), LineStatus.ALIGNED, 4.5, 8.0, 1.0)
    cues = build_cues([before, short, after])
    assert [c.lines for c in cues] == [(1,), (2,), (3,)], "full rows leave no room to merge"
    # room before: "Да." starts up to max_extend early instead of flashing for 0.4 s
    assert cues[1].start == pytest.approx(4.5 - DEFAULT.min_gap - 5 / 6, abs=0.001)
    assert cues[1].start >= 4.0 - DEFAULT.max_extend
    assert cues[2].start == 4.5
    # no room before: the next cue waits, still within its speech
    crowded = replace_times(before, 0.0, 3.95)
    cues = build_cues([crowded, short, after])
    assert cues[0].end == pytest.approx(4.0 - DEFAULT.min_gap, abs=0.001)
    assert cues[1].start == 4.0
    assert cues[1].end - cues[1].start == pytest.approx(5 / 6, abs=0.001)
    assert cues[2].start == pytest.approx(cues[1].end + DEFAULT.min_gap, abs=0.001)
    assert cues[2].start < 8.0
    assert [v for v in check_cues(cues) if not v.rule.startswith("reading")] == []


def test_a_short_line_with_no_room_merges_even_when_merging_is_off() -> None:
    before = AlignedLine(Line(1, "Первая реплика.", "First."), LineStatus.ALIGNED, 0.0, 2.95, 1.0)
    short = AlignedLine(Line(2, "Да.", "Yes."), LineStatus.ALIGNED, 3.0, 3.2, 1.0)
    after = AlignedLine(Line(3, "Вторая.", "Second."), LineStatus.ALIGNED, 3.5, 6.0, 1.0)
    cues = build_cues([before, short, after], Profile(merge_below=0.0))
    assert [c.lines for c in cues] == [(1, 2), (3,)]
    assert cues[0].ru == ("Первая реплика.", "Да.")
    assert check_cues(cues, Profile(merge_below=0.0)) == []


def test_a_cramped_piece_of_a_split_line_merges_with_its_neighbour() -> None:
    long_ru = "цифровые права реализуются в казахстане и наш специальный гость Арсен Обакиров расскажет"
    long_en = "digital rights in Kazakhstan, and our special guest Arsen Obakirov will tell us"
    line = spoken(1, long_ru, long_en, 0.0, word_s=0.3)
    tail = spoken(2, "Да.", "Yes.", line.end + 0.1, word_s=0.1)
    after = spoken(3, "Хорошо, начнём.", "Good, let us start.", tail.end + 0.15)
    cues = build_cues([line, tail, after])
    assert check_cues(cues) == [] or all(v.rule.startswith("reading") for v in check_cues(cues))
    merged = next(c for c in cues if 2 in c.lines)
    assert len(merged.lines) > 1, "the 0.1 s line joined a neighbour rather than flash"


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


def test_chaining_flags_open_short_gaps_only() -> None:
    def rules(gap: float, profile: Profile = DEFAULT) -> set[str]:
        cues = [Cue(0.0, 2.0, ("а",), ()), Cue(2.0 + gap, 4.0, ("б",), ())]
        return {v.rule for v in check_cues(cues, profile)}

    assert rules(0.3) == {"chaining"}
    assert rules(0.083) == rules(0.6) == set()
    assert rules(0.05) == {"gap"}
    # two frames at 24 fps is closed for a 25 fps profile too; three frames at 25 is still closed
    bbc = load_profile("bbc")
    assert rules(0.083, bbc) == rules(0.12, bbc) == set()
    assert rules(0.2, bbc) == {"chaining"}


# --- property ---------------------------------------------------------------------

TOKEN = st.text(alphabet="абвгдежзиклмнопрстуфхцчшщыэюя", min_size=1, max_size=12)
EN_TOKEN = st.text(alphabet="abcdefghijklmnopqrstuvwxyz,.", min_size=1, max_size=10).filter(
    lambda t: t[0].isalpha()
)
UNIT = st.tuples(TOKEN, st.lists(EN_TOKEN, max_size=2), st.floats(0.02, 0.8), st.floats(0.0, 1.5))
# (units, gap before the line, whether the aligner gave word times, whether the line has Russian)
LINE = st.tuples(
    st.lists(UNIT, min_size=1, max_size=30), st.floats(0.0, 3.0), st.booleans(), st.integers(0, 5)
)
# Every rule but reading speed, which short speech cannot always meet, holds for any input.
HARD_RULES = ("line_length", "line_count", "gap", "chaining", "overlap", "min_duration", "max_duration")
PROFILES = st.sampled_from([DEFAULT, load_profile("bbc"), load_profile("relaxed")])


def make_lines(spec: list[tuple[list, float, bool, int]], overlap: float = 0.0) -> list[AlignedLine]:
    """Aligned lines from the drawn spec; ``overlap`` pulls each line that far into the one before."""
    lines, t = [], 0.0
    for index, (units, gap, has_words, kind) in enumerate(spec, start=1):
        t = max(0.0, t + gap - overlap)
        words, start = [], t
        for ru, _en, dur, pause in units:
            words.append(Word(ru, t, t + dur))
            t += dur + pause
        ru = " ".join(u[0] for u in units)
        en = " ".join(e for u in units for e in u[1])
        if kind == 0:  # now and then a line with English only, timed like the aligner's guesses
            line = AlignedLine(Line(index, "", en or "yes"), LineStatus.NO_TEXT, start, words[-1].end, 0.0)
        else:
            timed = tuple(words) if has_words else ()
            line = AlignedLine(Line(index, ru, en), LineStatus.ALIGNED, start, words[-1].end, 1.0, timed)
        lines.append(line)
        t = words[-1].end
    return lines


def assert_reported(cues: list[Cue], profile: Profile) -> None:
    """Whatever a cue breaks is listed, checked here independently of check_cues."""
    rules = {(v.cue_index, v.rule) for v in check_cues(cues, profile)}
    for n, cue in enumerate(cues, start=1):
        assert cue.start < cue.end
        assert cue.ru or cue.en
        if cue.end - cue.start < profile.min_duration - 0.001:
            assert (n, "min_duration") in rules
        for lang, rows in (("ru", cue.ru), ("en", cue.en)):
            if sum(map(len, rows)) / (cue.end - cue.start) > profile.max_cps(lang) + 1e-6:
                assert (n, f"reading_speed_{lang}") in rules
            if any(len(r) > profile.max_chars(lang) for r in rows):
                assert (n, "line_length") in rules


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(LINE, min_size=1, max_size=8), PROFILES)
def test_property_cues_keep_the_rules(spec: list[tuple[list, float, bool, int]], profile: Profile) -> None:
    lines = make_lines(spec)
    cues = build_cues(lines, profile)
    violations = check_cues(cues, profile)
    assert [v for v in violations if v.rule in HARD_RULES] == []
    assert_reported(cues, profile)
    # the written file tells lint exactly what the run listed
    for compose, parse in ((compose_srt, parse_srt), (compose_vtt, parse_vtt)):
        assert check_cues(parse(compose(cues)), profile) == violations
    # nothing is lost, duplicated or reordered
    assert joined(cues, "ru") == " ".join(
        al.line.ru for al in lines if al.line.ru and al.status.value == "aligned"
    )
    assert joined(cues, "en") == " ".join(e for al in lines for e in al.line.en.split())
    # the word times travel with their words, for the karaoke file
    assert [w.text for c in cues for w in c.words] == [w.text for al in lines for w in al.words]
    # and every cue stays on its speech: shown at most max_extend before it starts or after it ends
    timed = {al.line.index for al in lines if al.words}
    for cue in cues:
        if cue.words and set(cue.lines) <= timed:
            assert cue.words[0].start - profile.max_extend - 0.002 <= cue.start
            assert cue.start <= cue.words[-1].end + profile.max_extend + 0.002


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(LINE, min_size=2, max_size=8), st.floats(0.0, 2.0))
def test_property_overlapping_speech_keeps_order_and_rules(
    spec: list[tuple[list, float, bool, int]], overlap: float
) -> None:
    lines = make_lines(spec, overlap)
    cues = build_cues(lines)
    assert [v for v in check_cues(cues) if v.rule in HARD_RULES] == []
    assert_reported(cues, DEFAULT)
    assert joined(cues, "en") == " ".join(e for al in lines for e in al.line.en.split())


# Any alignment at all: words crammed into a millisecond or into nothing, lines inside or
# before the one before, whole lines of no duration (what an aligner that lost its place emits).
WILD_WORD = st.tuples(TOKEN, st.sampled_from([0.0, 0.0, 0.001, 0.01, 0.05, 0.3, 1.0]), st.floats(-0.5, 1.0))
WILD_LINE = st.tuples(st.lists(WILD_WORD, min_size=1, max_size=25), st.floats(-3.0, 3.0), st.booleans())


def wild_lines(spec: list[tuple[list, float, bool]]) -> list[AlignedLine]:
    lines, t = [], 1.0
    for index, (units, shift, has_words) in enumerate(spec, start=1):
        t = max(0.0, t + shift)
        words = []
        for ru, dur, pause in units:
            words.append(Word(ru, round(t, 3), round(t + dur, 3)))
            t = max(words[-1].start, t + dur + pause)
        start, end = words[0].start, max(w.end for w in words)
        timed = tuple(words) if has_words else ()
        ru = " ".join(u[0] for u in units)
        line = Line(index, ru, f"line {index}")
        lines.append(AlignedLine(line, LineStatus.ALIGNED, start, end, 0.5, timed))
    return lines


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(WILD_LINE, min_size=1, max_size=8), PROFILES)
def test_property_no_cue_is_ever_shorter_than_the_minimum(spec: list, profile: Profile) -> None:
    cues = build_cues(wild_lines(spec), profile)

    assert cues
    for before, cue in zip([None, *cues], cues):
        assert cue.end - cue.start >= profile.min_duration - 0.001, cue
        if before is not None:
            assert cue.start >= before.end  # in order, never on top of each other
