"""The aligner's decisions, with synthetic speech and a fake cross-attention: no model here.

See :mod:`tests.fake_speech` for how the speech, the ASR words and the fake attention are made.
"""

from __future__ import annotations

import itertools
from dataclasses import replace

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from pipeline.align import Names, Options, Reference, Speech, align
from pipeline.align import windows as window_plan
from pipeline.align.evidence import weigh
from pipeline.align.timing import MIN_WORD, estimate_spans, line_onset, refine_line, tighten, uncram
from pipeline.audio import SAMPLE_RATE
from pipeline.audio.chunks import Chunk
from pipeline.errors import AlignmentError
from pipeline.normalize import normalize_word
from pipeline.types import LineStatus, Word
from pipeline.whisper.attention import Placement
from tests.fake_speech import FakeAttention, as_lines, asr, audio, buzz, noise, say, speech

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


def test_a_stray_edge_word_the_decoder_rules_out_joins_its_line() -> None:
    said = say(["Ещё раз", "И вот представь себе"], start=1.0, pause=2.5)
    sound = Speech.of(audio(said, said[-1].end + 1.0))
    line = said[2:]
    # The first word was put 2 s early, on the line before's speech, at a probability near nil.
    stray = Word(line[0].text, said[1].start, said[1].end, 0.003)
    placed = [stray, *(Word(w.text, w.start, w.end, 0.9) for w in line[1:])]

    words = refine_line(sound, placed, said[1].end, said[-1].end + 1.0)

    assert words[0].start == pytest.approx(line[0].start, abs=0.05)
    assert [w.start for w in words] == sorted(w.start for w in words)
    # The same word placed there with a probability worth believing stays: a pause after it is real.
    kept = refine_line(sound, [Word(stray.text, stray.start, stray.end, 0.6), *placed[1:]], 0.0, 99.0)
    assert kept[0].end == pytest.approx(said[1].end, abs=0.05) and kept[0].end < line[0].start - 2.0


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


# --- the ASR's silence is not evidence of absence -----------------------------------


def _words_of(said, lines, index):
    """Positions in ``said`` of line ``index``'s words (every line said once, in order)."""
    first = sum(len(ln.ru.split()) for ln in lines[:index])
    return range(first, first + len(lines[index].ru.split()))


def test_a_line_the_asr_skipped_is_found_in_the_speech_between_its_neighbours() -> None:
    lines = as_lines(*TEXTS)
    said = say(TEXTS)
    truth = _said_lines(said, lines)

    result, fake = _run(lines, said, asr(said, drop=_words_of(said, lines, 2)), said[-1].end + 1.0)

    assert [al.status for al in result.lines] == [LineStatus.ALIGNED] * len(lines)
    for al, (start, end) in zip(result.lines, truth):  # its speech went to no neighbour
        assert al.start == pytest.approx(start, abs=0.05) and al.end == pytest.approx(end, abs=0.05)
    # One look, between the neighbours the ASR did hear.
    (window,) = fake.windows
    assert truth[1][1] - 0.3 <= window.start and window.end <= truth[3][0] + 0.3
    assert window.words == tuple(TEXTS[2].split())


def test_a_line_with_no_speech_left_between_its_neighbours_is_unspoken_without_a_look() -> None:
    lines = as_lines(*TEXTS)
    said = say([t for k, t in enumerate(TEXTS) if k != 2])

    result, fake = _run(lines, said, asr(said), said[-1].end + 1.0)

    assert result.lines[2].status is LineStatus.UNSPOKEN
    assert not fake.windows


def test_a_deleted_line_with_other_speech_in_its_place_is_unspoken_and_the_speech_unscripted() -> None:
    lines = as_lines(*TEXTS)
    other = "Реклама: покупайте наши замечательные пылесосы со скидкой прямо сейчас."
    said = say([TEXTS[0], TEXTS[1], other, TEXTS[3], TEXTS[4]])
    truth = _said_lines(said, as_lines(TEXTS[0], TEXTS[1], other, TEXTS[3], TEXTS[4]))

    result, fake = _run(lines, said, asr(said), said[-1].end + 1.0)

    assert result.lines[2].status is LineStatus.UNSPOKEN  # the attention found its text unlikely there
    assert any(TEXTS[2].split()[0] in w.words for w in fake.windows)
    (span,) = result.unscripted
    assert span.start == pytest.approx(truth[2][0], abs=0.05) and span.end == pytest.approx(
        truth[2][1], abs=0.05
    )
    assert result.lines[1].end <= span.start + 0.05 and result.lines[3].start >= span.end - 0.05


def test_weak_chance_anchors_in_unscripted_speech_do_not_pin_a_deleted_line() -> None:
    lines = as_lines(*TEXTS)
    # Speech in line 2's place shares one long word with it, heard exactly.
    other = "Вчера многие слушатели прислали письма про погоду и цены на хлеб."
    said = say([TEXTS[0], TEXTS[1], other, TEXTS[3], TEXTS[4]])

    result, _ = _run(lines, said, asr(said), said[-1].end + 1.0)

    assert 2 in weigh(Reference.of(lines), asr(said)).doubtful
    assert result.lines[2].status is LineStatus.UNSPOKEN
    assert len(result.unscripted) == 1


def test_a_sentence_said_twice_but_heard_once_gets_both_its_times() -> None:
    texts = (TEXTS[0], TEXTS[1], TEXTS[1], TEXTS[2])
    lines = as_lines(*texts)
    said = say(texts)
    truth = _said_lines(said, lines)
    words = asr(said, drop=_words_of(said, lines, 2))  # the repeat went unheard

    result, _ = _run(lines, said, words, said[-1].end + 1.0)

    assert 1 in weigh(Reference.of(lines), words).doubtful and 2 in weigh(Reference.of(lines), words).doubtful
    for al, (start, end) in zip(result.lines, truth):
        assert al.status is LineStatus.ALIGNED
        assert al.start == pytest.approx(start, abs=0.05) and al.end == pytest.approx(end, abs=0.05)


def test_a_word_whisper_stretched_over_skipped_speech_is_cut_back_beside_its_neighbour() -> None:
    said = say(["Первая фраза здесь.", "Пропущенная фраза тут.", "Мы построим город."])
    env = Speech.of(audio(said, said[-1].end + 1.0)).env
    skipped_start = said[3].start
    # Whisper heard nothing of the middle line and gave its time to «Мы».
    stretched = [
        Word("здесь", said[2].start, skipped_start - 0.2, 0.9),
        Word("мы", skipped_start - 0.2, said[7].start, 0.9),
        Word("построим", said[7].start, said[7].end, 0.9),
    ]

    tightened = tighten(env, stretched)

    assert tightened[1].end <= said[7].start + 0.01
    assert tightened[1].start >= said[5].end - 0.05  # out of the skipped line's speech
    assert tightened[0].end == pytest.approx(said[2].end, abs=0.03)


# --- breath is not speech -----------------------------------------------------------


def _breathy(gap: float, breath: float = 0.3, level: float = 0.05) -> tuple[Speech, float, float]:
    """A voiced phrase at 1.5 s, with a breath (unvoiced noise) ending ``gap`` before it."""
    rng = np.random.default_rng(3)
    samples = rng.normal(0.0, 0.0005, 4 * SAMPLE_RATE).astype(np.float32)
    voice = int(1.5 * SAMPLE_RATE)
    samples[voice : voice + SAMPLE_RATE] += buzz(SAMPLE_RATE, rng)
    b0 = int((1.5 - gap - breath) * SAMPLE_RATE)
    samples[b0 : b0 + int(breath * SAMPLE_RATE)] += noise(int(breath * SAMPLE_RATE), rng, level)
    return Speech.of(samples), 1.5 - gap - breath, 1.5


def test_a_breath_before_a_phrase_does_not_start_it() -> None:
    # Set apart by a pause, or by a dip too short for the envelope to call a pause.
    for gap in (0.25, 0.03):
        sound, breath, voice = _breathy(gap)
        first = Word("раз", breath - 0.3, voice + 0.4, 0.8)  # the attention's first word, early

        assert line_onset(sound, first, floor=0.0) == pytest.approx(voice, abs=0.04), gap


def test_an_unvoiced_first_sound_of_the_line_itself_is_kept() -> None:
    # «с» before a vowel: 0.2 s of noise straight into the voice is the line's own.
    rng = np.random.default_rng(4)
    samples = rng.normal(0.0, 0.0005, 4 * SAMPLE_RATE).astype(np.float32)
    s0, voice = int(1.3 * SAMPLE_RATE), int(1.5 * SAMPLE_RATE)
    samples[s0:voice] += noise(voice - s0, rng, 0.05)
    samples[voice : voice + SAMPLE_RATE] += buzz(SAMPLE_RATE, rng)

    assert line_onset(Speech.of(samples), Word("сад", 1.0, 1.9, 0.8), 0.0) == pytest.approx(1.3, abs=0.04)


def test_a_faint_smack_before_a_phrase_does_not_start_it_even_voiced() -> None:
    rng = np.random.default_rng(5)
    samples = rng.normal(0.0, 0.0001, 4 * SAMPLE_RATE).astype(np.float32)
    samples[int(1.0 * SAMPLE_RATE) : int(1.1 * SAMPLE_RATE)] += buzz(int(0.1 * SAMPLE_RATE), rng, 0.004)
    samples[int(1.5 * SAMPLE_RATE) : int(2.5 * SAMPLE_RATE)] += buzz(SAMPLE_RATE, rng)

    assert line_onset(Speech.of(samples), Word("да", 0.9, 1.8, 0.8), 0.0) == pytest.approx(1.5, abs=0.04)


# --- no crammed words ---------------------------------------------------------------


PIECES = st.lists(
    st.tuples(st.floats(0.0, 1.0), st.floats(0.0, 1.0), st.integers(0, 12)), min_size=1, max_size=30
)


@given(PIECES, st.floats(0.05, 10.0))
def test_no_word_is_left_without_time(spec: list[tuple[float, float, int]], length: float) -> None:
    # Word times as refine_line leaves them: in order, any of them squeezed to nothing.
    bounds = np.cumsum([x for gap, dur, _ in spec for x in (gap, dur)])
    bounds = 5.0 + length * bounds / max(bounds[-1], 1e-9)
    times = [(float(bounds[2 * k]), float(bounds[2 * k + 1])) for k in range(len(spec))]
    times[0] = (5.0, times[0][1])

    out = uncram(times, [n for _, _, n in spec])

    least = min(MIN_WORD, (times[-1][1] - 5.0) / len(times))
    assert all(e - s >= least - 1e-6 for s, e in out)
    assert all(b[0] >= a[1] - 1e-6 for a, b in itertools.pairwise(out))  # in order, none on another
    assert out[0][0] >= 5.0 - 1e-6 and out[-1][1] <= times[-1][1] + 1e-6


def test_every_aligned_word_has_time_of_its_own() -> None:
    lines = as_lines(*TEXTS)
    said = say(TEXTS)
    words = asr(said)
    # Whisper squeezed line 3's last three words into one instant.
    k = _words_of(said, lines, 3)[-3:]
    words = [
        Word(w.text, words[k[0]].start, words[k[0]].start, w.probability) if j in k else w
        for j, w in enumerate(words)
    ]

    result, _ = _run(lines, said, words, said[-1].end + 1.0)

    assert all(w.end - w.start >= MIN_WORD - 0.002 for al in result.lines for w in al.words)


# --- the read-along keeps its place ---------------------------------------------------


class _FakeReading:
    """What ``read_along`` needs of the model, faked: chunks, token ids, and a DTW that places
    the offered words where they were said in the chunk, in order (words not said there get a
    sliver at the current point, very unlikely, as the real attention gives them)."""

    def __init__(self, said, chunks) -> None:
        self.said, self.chunks, self.squeeze = said, list(chunks), 1.0
        self.texts: list[str] = []
        self.engine = self  # engine.map
        self.tokenizer = None

    def map(self, work, items):
        return map(work, items)

    def encode(self, indices):
        return indices[0]

    def word_tokens(self, word: str) -> list[int]:
        self.texts.append(word)
        return [len(self.texts) - 1]

    def align_tokens(self, engine, tokenizer, storage, per_word, frames, offsets, squeeze=1.0):
        return [
            self._place(words, offset, offset + n * 0.01)
            for words, n, offset in zip(per_word, frames, offsets)
        ]

    def _place(self, words, start, end):
        inside = [s for s in self.said if s.start >= start - 0.05 and s.end <= end + 0.05]
        out, k, at = [], 0, start
        for tokens in words:
            key = normalize_word(self.texts[tokens[0]])
            hit = next((n for n in range(k, len(inside)) if normalize_word(inside[n].text) == key), None)
            if hit is None:
                out.append(Placement(at, at + 0.01, 0.02))
                continue
            out.append(Placement(inside[hit].start, inside[hit].end, 0.8))
            k, at = hit + 1, inside[hit].end
        return out


def test_the_read_along_finds_its_place_again_after_a_line_not_said(monkeypatch) -> None:
    from pipeline.align import readalong

    texts = [*TEXTS, "Вечером обещают дождь и сильный ветер.", "Завтра станет теплее."]
    lines = as_lines(*texts)
    said = say([t for k, t in enumerate(texts) if k != 3])  # line 3 is not said
    truth = _said_lines(said, [ln for ln in lines if ln.index != 3])
    # Chunks cut at the pauses: the second one opens where line 3 would have been said.
    chunks = [Chunk(0.0, truth[2][1] + 0.3), Chunk(truth[2][1] + 0.3, said[-1].end + 0.5)]
    fake = _FakeReading(said, chunks)
    monkeypatch.setattr(readalong, "align_tokens", fake.align_tokens)
    monkeypatch.setattr(readalong, "select", lambda storage, rows: storage)

    found = readalong.read_along(lines, fake, fake)

    assert found.lost == 1 and found.relocated == 1 and "lost its place in 1 chunk" in found.summary()
    assert not [w for w in found.words if w.text in texts[3].split() and w.probability < 0.5]
    placed = [w for w in found.words if w.probability > 0.5]
    assert [w.text for w in placed] == [s.text for s in said]  # every said word, where it was said
    assert all(w.start == s.start for w, s in zip(placed, said))


def test_the_read_along_leaves_a_chunk_of_speech_it_cannot_place_to_the_aligner(monkeypatch) -> None:
    from pipeline.align import readalong

    lines = as_lines(*TEXTS)
    other = say(["Совсем другая речь звучит здесь и никак не похожа на текст"] * 3)
    said = say(TEXTS, start=other[-1].end + 1.0)
    chunks = [Chunk(0.0, other[-1].end + 0.5), Chunk(other[-1].end + 0.5, said[-1].end + 0.5)]
    fake = _FakeReading([*other, *said], chunks)
    monkeypatch.setattr(readalong, "align_tokens", fake.align_tokens)
    monkeypatch.setattr(readalong, "select", lambda storage, rows: storage)

    found = readalong.read_along(lines, fake, fake)

    assert found.lost >= 1 and found.unread == pytest.approx(chunks[0].duration, abs=0.1)
    placed = [w for w in found.words if w.probability > 0.5]
    assert placed and all(w.start >= said[0].start for w in placed)  # none in the speech before
    assert [w.start for w in placed] == [s.start for s in said[: len(placed)]]


# --- steady noise ---------------------------------------------------------------------


def test_under_steady_noise_a_soft_first_sound_is_found_again() -> None:
    from pipeline.align.denoise import clearer_envelope, noisy

    rng = np.random.default_rng(6)
    n = 12 * SAMPLE_RATE
    rumble = np.convolve(rng.normal(0.0, 1.0, n), np.ones(16) / 16, mode="same").astype(np.float32) * 0.05
    samples = rumble.copy()
    words = []
    for start in (2.0, 6.0, 9.0):  # «с» (soft hiss, high in the spectrum) then the voice
        a, b, c = (int(t * SAMPLE_RATE) for t in (start, start + 0.15, start + 1.2))
        hiss = np.diff(rng.normal(0.0, 0.005, b - a + 1)).astype(np.float32)
        samples[a:b] += hiss
        samples[b:c] += buzz(c - b, rng, 0.3)
        words.append(Word("слово", start, start + 1.2, 0.9))
    raw = Speech.of(samples)
    assert noisy(raw.env)

    clear = replace(raw, env=clearer_envelope(samples, raw.env, words))

    late = line_onset(raw, Word("слово", 5.5, 6.6, 0.9), floor=3.5)
    found = line_onset(clear, Word("слово", 5.5, 6.6, 0.9), floor=3.5)
    assert abs(found - 6.0) <= 0.05 < abs(late - 6.0)


# --- noise that is not steady: the voice model's onsets -------------------------------


def _voice(*runs: tuple[float, float], seconds: float = 20.0):
    """A fake voice model's probabilities: 0.9 over each (start, end) run, 0.05 elsewhere."""
    from pipeline.align.voice import HOP, Voice

    probability = np.full(int(seconds / HOP), 0.05, np.float32)
    for start, end in runs:
        probability[round(start / HOP) : round(end / HOP)] = 0.9
    return Voice.of(probability)


def test_voice_onsets_and_offsets_come_from_the_probability_with_the_pause_before_each() -> None:
    from pipeline.align.voice import HOP, LEAD

    voice = _voice((1.6, 3.2), (3.328, 4.8), (8.0, 9.6))

    assert voice.onsets == pytest.approx([1.6 - LEAD, 3.328 - LEAD, 8.0 - LEAD], abs=HOP)
    assert voice.pause_before == pytest.approx([1.6, 0.128, 3.2], abs=HOP)
    assert voice.offsets == pytest.approx([3.2, 4.8, 9.6], abs=HOP)
    # A breath: two frames of «speech» 0.3 s before the voice is no onset; a soft first sound is.
    assert _voice((1.216, 1.28), (1.6, 3.2)).onsets == pytest.approx([1.6 - LEAD], abs=HOP)
    assert _voice((1.216, 1.28), (1.344, 3.2)).onsets == pytest.approx([1.216 - LEAD, 1.344 - LEAD], abs=HOP)


def test_under_music_a_line_starts_at_the_voice_onset_behind_the_longest_pause_ends_at_an_offset() -> None:
    voice = _voice((1.6, 3.2), (3.328, 4.8), (8.0, 9.6))
    # The envelope (music everywhere) put the line 0.5 s early and its end 0.4 s late.
    words = [Word("Закон", 1.1, 2.3, 0.9), Word("приняли", 2.3, 3.6, 0.9), Word("весной", 3.6, 5.2, 0.9)]

    start = voice.line(words, floor=0.0, ceiling=7.0)

    assert start[0].start == pytest.approx(voice.onsets[0])  # not the dip at 3.2 s inside the line
    assert start[-1].end == pytest.approx(4.8, abs=0.04)
    assert start[1:-1] == tuple(words[1:-1])


def test_the_voice_never_moves_a_line_before_the_previous_one_past_its_first_word_or_beyond_reach() -> None:
    from pipeline.align.voice import REACH

    voice = _voice((1.6, 3.2), (8.0, 9.6))
    words = [Word("Закон", 1.5, 2.3, 0.9), Word("приняли", 2.3, 3.1, 0.9)]

    assert voice.line(words, floor=1.7, ceiling=7.0)[0].start == 1.5  # the previous line ends after the onset
    late = [Word("Закон", 7.0, 7.9, 0.9), Word("приняли", 7.9, 9.0, 0.9)]
    assert voice.line(late, floor=0.0, ceiling=20.0)[0].start == 7.0  # the onset is after the first word
    far = [Word("Закон", 8.0 + REACH + 0.3, 10.5, 0.9), Word("приняли", 10.5, 11.0, 0.9)]
    assert voice.line(far, floor=0.0, ceiling=20.0)[0].start == far[0].start
    assert voice.line(words, floor=0.0, ceiling=3.0)[-1].end == 3.1  # the offset at 3.2 s is past the ceiling


def test_a_clean_recording_is_not_listened_to(monkeypatch: pytest.MonkeyPatch) -> None:
    from pipeline.align import aligner

    def refuse(samples):
        raise AssertionError("the voice model ran on a clean recording")

    monkeypatch.setattr(aligner, "listen", refuse)
    lines = as_lines(*TEXTS[:2])
    said = say(TEXTS[:2])

    result, _ = _run(lines, said, asr(said), said[-1].end + 1.0)

    assert [al.status for al in result.lines] == [LineStatus.ALIGNED] * 2


def test_a_line_in_its_place_that_the_asr_could_not_make_out_is_spoken() -> None:
    lines = as_lines(*TEXTS)
    # Line 2 said so slurred (or changed) that the ASR wrote something unlike it, unsure of
    # every word, and the attention finds the line's text unlikely there.
    slurred = "Вромтис тоглах деле пурва ухтым бежа зюкор."
    said = say([TEXTS[0], TEXTS[1], slurred, TEXTS[3], TEXTS[4]])
    truth = _said_lines(said, as_lines(TEXTS[0], TEXTS[1], slurred, TEXTS[3], TEXTS[4]))
    words = asr(said)
    unsure = {k for k, w in enumerate(words) if truth[2][0] <= w.start < truth[2][1]}
    words = [replace(w, probability=0.35) if k in unsure else w for k, w in enumerate(words)]

    result, _ = _run(lines, said, words, said[-1].end + 1.0)

    assert 2 in weigh(Reference.of(lines), words).guessed
    assert result.lines[2].status is LineStatus.ALIGNED
    assert result.lines[1].end <= result.lines[2].start < result.lines[2].end <= result.lines[3].start
    assert result.unscripted == ()
    # Heard as clearly as the rest, the same words are another line said in its place.
    result, _ = _run(lines, said, asr(said), said[-1].end + 1.0)
    assert result.lines[2].status is LineStatus.UNSPOKEN
