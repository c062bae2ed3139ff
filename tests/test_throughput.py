"""The batched core: worker batches, reuse of the ASR's word times, and the --no-asr path."""

from __future__ import annotations

import json
import threading
import time
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from pipeline.align.evidence import weigh
from pipeline.align.placement import from_anchors
from pipeline.align.reference import Reference
from pipeline.types import Line, Word
from pipeline.whisper.engine import Engine


def _engine(batch_size: int, workers: int) -> Engine:
    return Engine(None, "test", "cpu", "int8", batch_size, "ru", workers)


@given(count=st.integers(0, 200), batch=st.integers(1, 16), workers=st.integers(1, 4))
def test_groups_cover_every_window_once_in_balanced_batches(count: int, batch: int, workers: int) -> None:
    groups = _engine(batch, workers).groups(count)

    assert [i for group in groups for i in group] == list(range(count))
    assert all(0 < len(group) <= batch for group in groups)
    if len(groups) > 1:
        sizes = [len(group) for group in groups]
        assert max(sizes) - min(sizes) <= 1
    assert len(groups) == count or len(groups) % workers == 0  # no worker idle while another decodes


def test_six_windows_make_one_batch_per_worker() -> None:
    assert _engine(4, 2).groups(6) == [[0, 1, 2], [3, 4, 5]]
    assert _engine(6, 2).groups(6) == [[0, 1, 2], [3, 4, 5]]  # not one batch of six, a worker idle
    assert _engine(6, 2).groups(1) == [[0]]


def test_map_keeps_order_and_bounds_work_in_flight() -> None:
    engine = _engine(3, 2)
    running, most = 0, 0
    lock = threading.Lock()

    def work(item: int) -> int:
        nonlocal running, most
        with lock:
            running += 1
            most = max(most, running)
        time.sleep(0.01 * (item % 3))
        with lock:
            running -= 1
        return item * item

    consumed = []
    for result in engine.map(work, range(12)):
        consumed.append(result)
    assert consumed == [i * i for i in range(12)]
    assert most == 2


def _heard(lines: list[Line], asr: list[Word]):
    ref = Reference.of(lines)
    return ref, weigh(ref, asr).anchors


def test_heard_line_takes_the_asr_word_times() -> None:
    lines = [Line(0, "Закон о персональных данных принят.", "")]
    asr = [
        Word("закон", 1.0, 1.4, 0.9),
        Word("о", 1.4, 1.5, 0.8),
        Word("персональных", 1.5, 2.3, 0.9),
        Word("данных", 2.3, 2.7, 0.9),
        Word("принят", 2.8, 3.3, 0.7),
    ]
    ref, anchors = _heard(lines, asr)

    placed = from_anchors([0], ref, anchors, asr)

    assert [(w.text, w.start, w.end) for w in placed[0]] == [
        ("Закон", 1.0, 1.4),
        ("о", 1.4, 1.5),
        ("персональных", 1.5, 2.3),
        ("данных", 2.3, 2.7),
        ("принят.", 2.8, 3.3),
    ]


def test_misheard_middle_word_shares_the_time_between_its_neighbours() -> None:
    lines = [Line(0, "Закон ааа ббббб принят", "")]
    asr = [Word("закон", 1.0, 1.4, 0.9), Word("что-то", 1.5, 2.3, 0.4), Word("принят", 2.4, 3.0, 0.9)]
    ref, anchors = _heard(lines, asr)

    words = from_anchors([0], ref, anchors, asr)[0]

    middle = words[1:3]
    assert middle[0].start == pytest.approx(1.4) and middle[-1].end == pytest.approx(2.4)
    first, second = (w.end - w.start for w in middle)
    assert second == pytest.approx(5 / 3 * first, abs=0.01)  # «ббббб» has 5 letters to «ааа»'s 3
    assert all(w.probability < 0.5 for w in middle)


def test_line_heard_only_in_part_is_left_to_the_attention_pass() -> None:
    lines = [Line(0, "Совершенно другое начало, закон принят", "")]
    asr = [Word("закон", 1.0, 1.4, 0.9), Word("принят", 1.5, 2.0, 0.9)]
    ref, anchors = _heard(lines, asr)

    assert from_anchors([0], ref, anchors, asr) == {}


@given(
    frames=st.integers(2, 400),
    squeeze=st.floats(1.0, 3.0),
    slope=st.floats(-2.0, 2.0),
    level=st.floats(-1.0, 1.0),
)
def test_squeezed_frames_are_the_same_speech_sampled_faster(
    frames: int, squeeze: float, slope: float, level: float
) -> None:
    from pipeline.whisper.encoder import frame_count, squeeze_time

    # A level that changes linearly in time stays linear, read at the squeezed times.
    times = np.arange(frames, dtype=np.float32)
    mel = np.stack([level + slope * times / frames, np.full(frames, level, dtype=np.float32)])

    squeezed = squeeze_time(mel.astype(np.float32), squeeze)

    assert squeezed.flags.c_contiguous and squeezed.dtype == np.float32
    assert squeezed.shape == (2, int(np.ceil(frames / squeeze)))
    at = np.minimum(np.arange(squeezed.shape[1]) * squeeze, frames - 1)
    assert np.allclose(squeezed[0], level + slope * at / frames, atol=1e-4)
    assert np.allclose(squeezed[1], level, atol=1e-6)
    heard = frame_count(frames / 100)  # the alignment is told as many frames as were encoded
    assert frame_count(frames / 100, squeeze) == squeeze_time(np.zeros((1, heard)), squeeze).shape[1]


def test_no_squeeze_leaves_the_frames_alone() -> None:
    from pipeline.whisper.encoder import squeeze_time

    mel = np.random.default_rng(1).normal(size=(80, 123)).astype(np.float32)
    assert squeeze_time(mel, 1.0) is mel
    assert np.array_equal(squeeze_time(mel, 2.0), mel[:, ::2])


@pytest.mark.slow
def test_unpadded_encoding_is_as_long_as_its_audio(engine) -> None:
    from pipeline.whisper.encoder import encode_audio

    piece = np.zeros(5 * 16000, dtype=np.float32)
    unpadded = np.asarray(encode_audio(engine, [piece], pad=False)).shape
    assert unpadded[0] == 1 and 250 <= unpadded[1] <= 251  # 20 ms per position, plus the STFT's edge frame
    assert np.asarray(encode_audio(engine, [piece])).shape == (1, 1500, 512)
    squeezed = np.asarray(encode_audio(engine, [piece], pad=False, squeeze=1.5)).shape
    assert 166 <= squeezed[1] <= 168  # two thirds of the frames: the speech heard 1.5x faster


@pytest.mark.slow
def test_no_asr_aligns_a_trusted_transcript_and_finds_an_unspoken_line(
    tmp_path: Path, sample_samples, sample_truth, capsys
) -> None:
    from pipeline.cli import main
    from tests.clips import cut_clip

    audio, transcript, truth = cut_clip(sample_samples, sample_truth, first=10, count=8, folder=tmp_path)
    missing = "Этой фразы в записи нет, её никто не произносил вслух."
    text = transcript.read_text(encoding="utf-8")
    transcript.write_text(text.replace(truth[3]["ru"], f"{missing}\n\nNobody said this.\n\n{truth[3]['ru']}"))
    out = tmp_path / "out"

    assert main(["run", str(audio), str(transcript), "--out", str(out), "--no-asr", "--no-progress"]) == 0

    said = capsys.readouterr().out
    assert "read_along" in said and "transcribe" not in said
    assert not list(out.glob("*.qa.*"))  # no transcription, nothing to set the transcript against
    lines = json.loads((out / "clip.align.json").read_text(encoding="utf-8"))["lines"]
    assert next(line for line in lines if line["ru"] == missing)["status"] == "unspoken"
    timed = [line for line in lines if line["ru"] != missing]
    errors = [abs(got["start"] - want["start"]) for got, want in zip(timed, truth)]
    assert sum(e <= 0.25 for e in errors) / len(errors) >= 0.85, errors


@pytest.mark.slow
def test_no_asr_times_the_whole_sample_as_well_as_the_full_pipeline(
    engine, sample_truth, tmp_path: Path
) -> None:
    from bench.metrics import score
    from pipeline.episode import Settings, run
    from pipeline.subtitles.formats import alignment_to_dict
    from tests.conftest import SAMPLE_AUDIO, SAMPLE_TRANSCRIPT

    result = run(SAMPLE_AUDIO, SAMPLE_TRANSCRIPT, tmp_path, Settings(asr=False), engine=engine)

    figures = score(sample_truth, alignment_to_dict(result.alignment))
    # Ten read-along windows, nine hand-overs: a line squeezed into the wrong window shows here.
    assert figures.starts_125 >= 0.95, figures
    assert figures.unspoken_precision == 1.0 and figures.unspoken_recall == 1.0, figures


@pytest.mark.slow
def test_no_asr_times_a_paragraph_longer_than_a_window(engine, sample_truth, tmp_path: Path) -> None:
    from pipeline.episode import Settings, run
    from pipeline.transcript import compose
    from pipeline.types import Line
    from tests.conftest import SAMPLE_AUDIO

    truth = [line for line in sample_truth["lines"] if line["ru"]]
    first, last = 2, 13  # twelve lines said over 40 s: one paragraph, two read-along windows and more
    assert all(line["spoken"] for line in truth[first : last + 1])
    paragraph = Line(first, " ".join(line["ru"] for line in truth[first : last + 1]), "A paragraph.")
    lines = [Line(k, line["ru"], line["en"]) for k, line in enumerate(truth[:first])]
    lines += [paragraph] + [
        Line(first + 1 + k, line["ru"], line["en"]) for k, line in enumerate(truth[last + 1 :])
    ]
    transcript = tmp_path / "paragraph.ru-en.txt"
    transcript.write_text(compose(lines), encoding="utf-8")

    result = run(SAMPLE_AUDIO, transcript, tmp_path / "out", Settings(asr=False), engine=engine)

    timed = result.alignment.lines[first]
    assert timed.line.ru == paragraph.ru and timed.start is not None and timed.end is not None
    assert abs(timed.start - truth[first]["start"]) <= 0.25, timed.start
    assert abs(timed.end - truth[last]["end"]) <= 0.25, timed.end  # not cut to a 30 s window
    after = result.alignment.lines[first + 1]
    assert after.start is not None and abs(after.start - truth[last + 1]["start"]) <= 0.25


def test_map_stopped_early_drops_the_work_not_yet_begun() -> None:
    engine = _engine(1, 2)
    begun: list[int] = []

    def work(item: int) -> int:
        begun.append(item)
        time.sleep(0.05)
        return item

    results = engine.map(work, range(50))
    assert next(results) == 0
    results.close()  # as a reader that breaks out of its loop

    assert len(begun) <= 4  # the first, the ones running, the one queued


def test_read_along_drops_unlikely_lines_and_doubts_crammed_ones() -> None:
    from pipeline.align.readalong import _judge
    from pipeline.whisper.attention import Placement

    placed = [
        (0, "первая", Placement(0.0, 0.6, 0.9)),
        (0, "строка", Placement(0.6, 1.2, 0.9)),
        (1, "сжатая", Placement(1.2, 1.22, 0.6)),  # 12 letters in 0.05 s: no speech of its own
        (1, "строка", Placement(1.22, 1.25, 0.6)),
        (2, "невероятная", Placement(1.25, 2.4, 0.05)),
    ]

    words, doubtful = _judge(placed, letters_per_second=10.0)

    assert doubtful == {1}  # placed again in a window of its own, where it is judged
    assert [w.text for w in words] == ["первая", "строка", "сжатая", "строка"]


def _offer(*lines: str) -> list[tuple[int, str]]:
    return [(index, word) for index, line in enumerate(lines) for word in line.split()]


def test_a_window_keeps_whole_lines_and_the_said_part_of_a_line_cut_off() -> None:
    from pipeline.align.readalong import _fitted
    from pipeline.whisper.attention import Placement

    # A 10 s window at 10 letters/s.
    chunk = {"chunk_end": 10.0, "letters_per_second": 10.0}
    offer = _offer("один два", "три четыре", "пять шесть")
    # Line 1 squeezed into the window's last 0.25 s (9 letters take 0.9 s at 10/s): said in the next.
    crammed = [
        Placement(s, e, 0.5) for s, e in [(0, 1), (1, 2), (9.7, 9.85), (9.85, 9.95), (9.95, 9.96), (9.96, 10)]
    ]
    assert _fitted(offer, crammed, **chunk) == 2

    # Line 1 begun in the window and cut off at its end (real speech pauses inside lines): the
    # part said before the cut stays, the rest goes on.
    cut = [Placement(s, e, 0.7) for s, e in [(0, 1), (1, 2), (8, 9), (9, 9.8), (10, 10), (10, 10)]]
    assert _fitted(_offer("один два", "три четыре пять шесть"), cut, **chunk) == 4
    # ... unless that part is not likely there: then the line goes on whole.
    unlikely = [Placement(p.start, p.end, 0.1 if k >= 2 else 0.7) for k, p in enumerate(cut)]
    assert _fitted(_offer("один два", "три четыре пять шесть"), unlikely, **chunk) == 2
    # One word said alone before the pause (a name, a call) is that part too...
    one = [Placement(s, e, 0.7) for s, e in [(0, 1), (1, 2), (9, 9.8), (9.9, 9.95), (10, 10), (10, 10)]]
    assert _fitted(_offer("один два", "три четыре пять шесть"), one, **chunk) == 3
    # ... but not when squeezed into less than half the time its letters take (0.3 s here),
    squeezed = [
        Placement(s, e, 0.7) for s, e in [(0, 1), (1, 2), (9.6, 9.7), (9.9, 9.95), (10, 10), (10, 10)]
    ]
    assert _fitted(_offer("один два", "три четыре пять шесть"), squeezed, **chunk) == 2
    # ... nor a one-letter word: a preposition or conjunction is said with the word after it.
    assert _fitted(_offer("один два", "к четыре пять шесть"), one, **chunk) == 2
    # The window's only line is split where the window ends.
    assert _fitted(_offer("один два три четыре пять шесть"), cut, **chunk) == 4

    # Every line placed with room to spare: all kept.
    roomy = [Placement(s, s + 1, 0.5) for s in range(6)]
    assert _fitted(offer, roomy, **chunk) == 6


def test_a_window_is_offered_whole_lines_unless_that_falls_short_of_its_speech() -> None:
    from pipeline.align.readalong import _offer as offer_to

    words = [(0, "аа"), (0, "бб"), (1, "вв"), (1, "гг"), (1, "дд"), (2, "ее")]
    short = {"paragraph": lambda line: False}
    # 6 letters reach into line 1: it is left out, line 0 (4 letters) holds the 3 expected.
    assert offer_to(words, 0, expected=3, budget=6, **short) == words[:2]
    # Left out, line 1 would leave line 0 short of the 5 letters expected: the offer takes it whole.
    assert offer_to(words, 0, expected=5, budget=6, **short) == words[:5]
    # A paragraph is offered as far as the budget goes.
    assert offer_to(words, 0, expected=5, budget=6, paragraph=lambda line: line == 1) == words[:3]
    # From the cursor on, and never past the text.
    assert offer_to(words, 2, expected=100, budget=100, **short) == words[2:]
