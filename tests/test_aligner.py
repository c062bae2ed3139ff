"""The aligner's decisions, with synthetic speech and a fake cross-attention: no model here.

See :mod:`tests.fake_speech` for how the speech, the ASR words and the fake attention are made.
"""

from __future__ import annotations

from dataclasses import replace

import pytest

from pipeline.align import Names, Options, Reference, Speech, align
from pipeline.align import windows as window_plan
from pipeline.align.evidence import weigh
from pipeline.align.timing import estimate_spans, line_onset, refine_line
from pipeline.audio.chunks import Chunk
from pipeline.errors import AlignmentError
from pipeline.types import LineStatus, Word
from tests.fake_speech import FakeAttention, as_lines, asr, audio, say, speech

TEXTS = (
    "Сегодня мы поговорим о защите персональных данных.",
    "Закон приняли весной прошлого года.",
    "Многие компании до сих пор его не выполняют.",
    "Штрафы за нарушения выросли в несколько раз.",
    "Об этом расскажет наш гость из Петербурга.",
)


def _said_lines(said, lines):
    """(start, end) of each line's words in ``said`` (lines said in order, every word once)."""
    out, k = [], 0
    for line in lines:
        n = len(line.ru.split())
        out.append((said[k].start, said[k + n - 1].end))
        k += n
    return out


def _run(lines, said, words, duration, chunks=(), options=None):
    fake = FakeAttention(said)
    options = options or Options()
    result = align(lines, speech(said, duration, chunks), words, fake, Names("a.wav", "a.txt"), options)
    return result, fake


def test_lines_the_asr_heard_take_its_word_times_without_the_attention() -> None:
    lines = as_lines(*TEXTS)
    said = say(TEXTS)
    truth = _said_lines(said, lines)

    result, fake = _run(lines, said, asr(said), said[-1].end + 1.0)

    assert not fake.windows  # nothing left for the attention to place
    assert [al.status for al in result.lines] == [LineStatus.ALIGNED] * len(lines)
    for al, (start, end) in zip(result.lines, truth):
        assert al.start == pytest.approx(start, abs=0.04) and al.end == pytest.approx(end, abs=0.04)
    assert result.unscripted == ()


def test_a_line_not_said_is_unspoken_and_its_neighbours_keep_their_times() -> None:
    lines = as_lines(*TEXTS)
    said = say([t for k, t in enumerate(TEXTS) if k != 2])
    truth = _said_lines(said, [ln for ln in lines if ln.index != 2])

    result, _ = _run(lines, said, asr(said), said[-1].end + 1.0)

    assert result.lines[2].status is LineStatus.UNSPOKEN and result.lines[2].start is None
    timed = [al for al in result.lines if al.status is LineStatus.ALIGNED]
    for al, (start, end) in zip(timed, truth):
        assert al.start == pytest.approx(start, abs=0.04) and al.end == pytest.approx(end, abs=0.04)


def test_a_line_said_but_misheard_beyond_recognition_is_placed_by_the_attention() -> None:
    lines = as_lines(*TEXTS)
    said = say(TEXTS)
    first = sum(len(t.split()) for t in TEXTS[:2])  # line 2's words in ``said``
    garbled = {first + k: w for k, w in enumerate(["мого", "кампа", "досе", "пор", "ево", "невыпол", "ниют"])}
    truth = _said_lines(said, lines)

    result, fake = _run(lines, said, asr(said, heard_as=garbled), said[-1].end + 1.0)

    assert result.lines[2].status is LineStatus.ALIGNED
    assert [w for window in fake.windows for w in window.words] == TEXTS[2].split()
    assert result.lines[2].start == pytest.approx(truth[2][0], abs=0.05)
    assert result.lines[2].end == pytest.approx(truth[2][1], abs=0.05)
    assert result.unscripted == ()


def test_speech_matching_no_line_is_unscripted_and_no_line_takes_it() -> None:
    lines = as_lines(*TEXTS)
    extra = "Реклама: покупайте наши замечательные пылесосы со скидкой прямо сейчас."
    said = say([*TEXTS[:2], extra, *TEXTS[2:]])
    truth = _said_lines(said, as_lines(*TEXTS[:2], extra, *TEXTS[2:]))

    result, _ = _run(lines, said, asr(said), said[-1].end + 1.0)

    assert [al.status for al in result.lines] == [LineStatus.ALIGNED] * len(lines)
    (span,) = result.unscripted
    assert span.start == pytest.approx(truth[2][0], abs=0.05)
    assert span.end == pytest.approx(truth[2][1], abs=0.05)
    assert result.lines[1].end <= span.start and result.lines[2].start >= span.end


def test_a_misheard_first_word_still_starts_its_line() -> None:
    lines = as_lines(*TEXTS)
    said = say(TEXTS)
    first = sum(len(t.split()) for t in TEXTS[:3])  # «Штрафы», line 3's first word
    truth = _said_lines(said, lines)

    result, _ = _run(lines, said, asr(said, heard_as={first: "страх"}), said[-1].end + 1.0)

    evidence = weigh(Reference.of(lines), asr(said, heard_as={first: "страх"}))
    assert 3 in evidence.edges  # the unmatched word is taken as line 3's own edge word
    assert result.lines[3].start == pytest.approx(truth[3][0], abs=0.04)


def test_a_transcript_the_audio_does_not_speak_is_refused() -> None:
    lines = as_lines(*TEXTS)
    other = say(["Совсем другая речь звучит здесь и никак не похожа на текст"] * 4)

    with pytest.raises(AlignmentError, match=r"does not match a\.wav"):
        _run(lines, other, asr(other), other[-1].end + 1.0)


def test_rechecked_lines_the_attention_finds_unlikely_are_unspoken() -> None:
    lines = as_lines(*TEXTS)
    said = say([t for k, t in enumerate(TEXTS) if k != 3])
    # A read-along's pseudo-ASR words: line 3 placed (wrongly) crammed before line 4.
    words = asr(said)
    line4 = sum(len(t.split()) for t in TEXTS[:3])
    t0 = said[line4].start
    crammed = [(t0 - 0.3 + 0.01 * k, t0 - 0.29 + 0.01 * k) for k in range(len(TEXTS[3].split()))]
    fake_line3 = [Word(w, s, e, 0.3) for w, (s, e) in zip(TEXTS[3].split(), crammed)]
    words = words[:line4] + fake_line3 + words[line4:]

    result, fake = _run(lines, said, words, said[-1].end + 1.0, options=Options(frozenset({3}), 0.12))

    assert any(TEXTS[3].split()[0] in window.words for window in fake.windows)
    assert result.lines[3].status is LineStatus.UNSPOKEN


def test_windows_reuse_a_chunk_that_holds_whole_lines_and_never_span_unscripted_speech() -> None:
    lines = as_lines(*TEXTS)
    said = say(TEXTS)
    bounds = _said_lines(said, lines)
    ref = Reference.of(lines)
    spans = dict(enumerate(bounds))
    chunks = (Chunk(0.0, bounds[1][1] + 0.3), Chunk(bounds[1][1] + 0.3, said[-1].end + 0.5))
    sound = Speech.of(audio(said, said[-1].end + 1.0), chunks)
    fake = FakeAttention(said)

    planned = window_plan.plan(ref, spans, {0, 1, 3}, [], sound, fake.token_count)

    assert [(group, window.chunk) for group, window in planned] == [([0, 1], 0), ([3], None)]
    own = planned[1][1]
    assert bounds[2][1] - 0.1 <= own.start and own.end <= bounds[4][0] + 0.1  # bounded by its neighbours

    # Unscripted speech between lines 3 and 4 keeps them in separate windows.
    gap = (bounds[3][1] + bounds[4][0]) / 2
    planned = window_plan.plan(ref, spans, {3, 4}, [gap], sound, fake.token_count)
    assert [group for group, _ in planned] == [[3], [4]]


def test_line_edges_land_on_the_speech_onset_behind_the_longest_pause() -> None:
    said = say(["Раз два", "три"], start=1.0, pause=0.6)
    sound = Speech.of(audio(said, 4.0))
    first = said[0]
    # Attention hands the leading silence to the first word: it starts 0.6 s early.
    early = Word(first.text, first.start - 0.6, first.end, 0.8)

    assert line_onset(sound, early, floor=0.0) == pytest.approx(first.start, abs=0.03)
    # The ceiling is the next line's start: the line ends on the offset before the longest
    # pause, not 0.3 s into it where the attention put it.
    late = Word("два", said[1].start, said[1].end + 0.3, 0.8)
    words = refine_line(sound, [early, late], 0.0, said[2].start)
    assert words[0].start == pytest.approx(first.start, abs=0.03)
    assert words[-1].end == pytest.approx(said[1].end, abs=0.03)


def test_spoken_lines_without_anchors_share_the_time_between_their_neighbours_by_letters() -> None:
    lines = as_lines(*TEXTS)
    said = say(TEXTS)
    bounds = _said_lines(said, lines)
    ref = Reference.of(lines)
    first, last = len(TEXTS[0].split()), sum(len(t.split()) for t in TEXTS[:3])
    words = asr(said, drop=range(first, last))  # lines 1 and 2 unheard, yet taken as spoken
    evidence = weigh(ref, words)
    evidence = replace(evidence, spoken=evidence.spoken | {1, 2})

    spans = estimate_spans(ref, words, evidence, said[-1].end + 1.0)

    assert spans[1][0] == pytest.approx(bounds[0][1], abs=0.01)
    assert spans[2][1] == pytest.approx(bounds[3][0], abs=0.01)
    share = (spans[1][1] - spans[1][0]) / (spans[2][1] - spans[1][0])
    letters = [ref.letters(ref.by_line[i]) for i in (1, 2)]
    assert share == pytest.approx(letters[0] / sum(letters))
