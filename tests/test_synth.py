"""The synthetic-episode builder: truth must describe the audio exactly.

Most tests replace Festival with a fake synthesizer so they run anywhere;
the ones marked slow use the real voice and skip where it is not installed.
"""

from __future__ import annotations

import itertools
import json
import shutil
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pytest

from bench import festival, synth
from bench.synth import (
    SAMPLE_RATE,
    FestToken,
    LineAudio,
    PlanItem,
    Silence,
    SpokenLine,
    TimedWord,
    Unscripted,
    UnspokenLine,
    build_episode,
    format_bilingual,
    map_words,
    read_bilingual,
    reference_words,
)

ROOT = Path(__file__).resolve().parent.parent
SAMPLES = ROOT / "audio_samples"

needs_festival = pytest.mark.skipif(
    shutil.which("text2wave") is None, reason="Festival (text2wave) is not installed"
)


def fake_synth(texts: Sequence[str]) -> list[LineAudio]:
    """Noise bursts 0.3 s per word, words back to back: known, Festival-free speech."""
    out: list[LineAudio] = []
    for text in texts:
        words = reference_words(text)
        per_word = 0.3
        n = round(per_word * len(words) * SAMPLE_RATE)
        seed = sum(map(ord, text))
        samples = (np.random.default_rng(seed).uniform(-0.3, 0.3, n)).astype(np.float32)
        timed = tuple(TimedWord(w, k * per_word, (k + 1) * per_word, w) for k, w in enumerate(words))
        out.append(LineAudio(text, samples, timed, False))
    return out


def plan() -> list[PlanItem]:
    return [
        SpokenLine(0, "Добрый день, Арсен.", "Good afternoon, Arsen."),
        UnspokenLine(1, "Этой строки нет в записи.", "This line is not in the recording."),
        Unscripted("Реклама нашего партнёра."),
        SpokenLine(2, "Мы очень рады вас видеть.", "We are very glad to see you."),
        Silence(3.5),
        SpokenLine(3, "", "For example.", said="Например."),
        SpokenLine(4, "Это было в прошлом году.", "That was last year.", said="Это было в позапрошлом году."),
    ]


def test_truth_describes_the_audio() -> None:
    audio, truth = build_episode(plan(), seed=7, synth=fake_synth)
    duration = len(audio) / SAMPLE_RATE
    assert truth["duration"] == pytest.approx(duration, abs=1e-3)
    assert [ln["index"] for ln in truth["lines"]] == [0, 1, 2, 3, 4]

    unspoken = truth["lines"][1]
    assert unspoken["spoken"] is False
    assert unspoken["start"] is None and unspoken["end"] is None and unspoken["words"] == []

    spoken = [ln for ln in truth["lines"] if ln["spoken"]]
    spans = sorted(
        [(ln["start"], ln["end"]) for ln in spoken]
        + [(u["start"], u["end"]) for u in truth["unscripted"] if "line" not in u]
    )
    for (_, prev_end), (start, _) in itertools.pairwise(spans):
        assert start - prev_end >= 0.25 - 1e-3  # a pause (or the silence) separates speech
    assert spans[0][0] > 0 and spans[-1][1] < duration
    for ln in spoken:
        for w in ln["words"]:
            assert ln["start"] <= w["start"] <= w["end"] <= ln["end"]
        # Speech is where the truth says, and the pauses are silent.
        a, b = round(ln["start"] * SAMPLE_RATE), round(ln["end"] * SAMPLE_RATE)
        assert np.abs(audio[a:b]).max() > 0.1
    line2, line3 = truth["lines"][2], truth["lines"][3]
    assert line3["start"] - line2["end"] >= 3.5 - 1e-3
    # Truth is rounded to the millisecond: keep clear of the edges by more than that.
    gap = audio[round(line2["end"] * SAMPLE_RATE) + 20 : round(line3["start"] * SAMPLE_RATE) - 20]
    assert np.abs(gap).max() == 0.0


def test_english_only_line_is_timed_by_unscripted_russian() -> None:
    _, truth = build_episode(plan(), seed=7, synth=fake_synth)
    line = truth["lines"][3]
    assert line["ru"] == "" and line["said_ru"] == "Например."
    assert line["spoken"] and line["words"] == []
    match = [u for u in truth["unscripted"] if u.get("line") == 3]
    assert len(match) == 1 and (match[0]["start"], match[0]["end"]) == (line["start"], line["end"])
    assert any(u["text"] == "Реклама нашего партнёра." for u in truth["unscripted"])


def test_changed_word_is_recorded() -> None:
    _, truth = build_episode(plan(), seed=7, synth=fake_synth)
    assert truth["changed_words"] == [
        {"line": 4, "position": 3, "spoken": "позапрошлом", "written": "прошлом"}
    ]
    line = truth["lines"][4]
    assert line["said_ru"] == "Это было в позапрошлом году."
    assert [w["text"] for w in line["words"]] == ["Это", "было", "в", "прошлом", "году"]
    assert all(w["start"] is not None for w in line["words"])


def test_same_seed_same_episode() -> None:
    a1, t1 = build_episode(plan(), seed=3, synth=fake_synth)
    a2, t2 = build_episode(plan(), seed=3, synth=fake_synth)
    _a3, t3 = build_episode(plan(), seed=4, synth=fake_synth)
    assert np.array_equal(a1, a2) and t1 == t2
    assert t1["lines"][0]["start"] != t3["lines"][0]["start"]


def test_noise_has_the_requested_snr_and_moves_nothing() -> None:
    clean, t_clean = build_episode(plan(), seed=5, synth=fake_synth)
    noisy, t_noisy = build_episode(plan(), seed=5, noise_snr_db=15.0, synth=fake_synth)
    assert t_noisy["lines"] == t_clean["lines"] and t_noisy["noise_snr_db"] == 15.0
    assert np.abs(clean).max() < 0.98  # no peak rescaling, so noisy - clean is the noise
    speech = np.concatenate(
        [
            clean[round(s["start"] * SAMPLE_RATE) : round(s["end"] * SAMPLE_RATE)]
            for s in [*(ln for ln in t_clean["lines"] if ln["spoken"]), *t_clean["unscripted"]]
            if "line" not in s
        ]
    )
    noise = noisy - clean
    snr = 10 * np.log10(np.mean(speech.astype(np.float64) ** 2) / np.mean(noise.astype(np.float64) ** 2))
    assert snr == pytest.approx(15.0, abs=0.5)


def test_plan_lines_must_be_numbered_in_order() -> None:
    with pytest.raises(ValueError, match="indices"):
        build_episode([SpokenLine(1, "Привет.", "Hi.")], seed=0, synth=fake_synth)


def test_transcript_layout_round_trips(tmp_path: Path) -> None:
    pairs = [("Добрый день.", "Good afternoon."), ("", "For example."), ("Потому что...", "")]
    path = tmp_path / "t.ru-en.txt"
    path.write_text(format_bilingual(pairs), encoding="utf-8")
    assert [(ln.ru, ln.en) for ln in read_bilingual(path)] == pairs
    try:
        from pipeline.transcript import read
    except ImportError:
        return
    assert [(ln.ru, ln.en) for ln in read(path)] == pairs


def test_number_keeps_the_span_of_its_spoken_words() -> None:
    tokens = [
        FestToken("в", ("в",), 0.0, 0.1),
        FestToken("2021", ("две", "тысячи", "двадцать", "один"), 0.1, 1.6),
        FestToken("году", ("году",), 1.6, 2.0),
    ]
    words = map_words("в 2021 году.", "в 2021 году.", tokens, strict=False)
    assert [(w.text, w.start, w.end) for w in words] == [
        ("в", 0.0, 0.1),
        ("2021", 0.1, 1.6),
        ("году", 1.6, 2.0),
    ]
    assert words[1].said == "две тысячи двадцать один"


def test_unmatched_festival_tokens_leave_words_untimed() -> None:
    # Festival split "Санкт-Петербург" in two: those words cannot be trusted, the rest can.
    tokens = [
        FestToken("в", ("в",), 0.0, 0.1),
        FestToken("Санкт", ("санкт",), 0.1, 0.5),
        FestToken("Петербург", ("петербург",), 0.5, 1.0),
        FestToken("летом", ("летом",), 1.0, 1.4),
    ]
    words = map_words("в Санкт-Петербург летом", "в Санкт-Петербург летом", tokens, strict=False)
    assert [(w.text, w.start) for w in words] == [("в", 0.0), ("Санкт-Петербург", None), ("летом", 1.0)]


def test_unspeakable_characters_never_reach_festival() -> None:
    said = " ".join(t for t, _ in festival._synth_tokens("Итак — «каких-то» 15% т.е. всё…"))
    assert said == "Итак каких-то 15 процентов т е. всё."
    # Punctuation-only tokens are not words; each word keeps its reference index.
    refs = [i for _, i in festival._synth_tokens("Итак — «каких-то» 15% т.е. всё…")]
    assert refs == [0, 1, 2, 2, 3, 3, 4]
    assert reference_words("Итак — «каких-то» 15% т.е. всё…") == ["Итак", "каких-то", "15", "т.е", "всё"]


@pytest.mark.parametrize("suffix", [".ogg", ".flac"])
def test_encoded_audio_keeps_length_and_timing(tmp_path: Path, suffix: str) -> None:
    av = pytest.importorskip("av")
    rng = np.random.default_rng(0)
    samples = np.zeros(SAMPLE_RATE * 3, dtype=np.float32)
    samples[SAMPLE_RATE : SAMPLE_RATE * 2] = rng.uniform(-0.3, 0.3, SAMPLE_RATE)
    path = tmp_path / f"x{suffix}"
    synth.encode_audio(samples, path)
    with av.open(str(path)) as f:
        resampler = av.AudioResampler(format="flt", layout="mono", rate=SAMPLE_RATE)
        decoded = np.concatenate(
            [fr.to_ndarray()[0] for p in f.decode(audio=0) for fr in resampler.resample(p)]
        )
    assert abs(len(decoded) - len(samples)) < SAMPLE_RATE * 0.01
    loud = np.flatnonzero(np.abs(decoded) > 0.05)
    assert loud[0] / SAMPLE_RATE == pytest.approx(1.0, abs=0.01)
    assert loud[-1] / SAMPLE_RATE == pytest.approx(2.0, abs=0.01)


def test_committed_sample_matches_its_truth() -> None:
    truth_path = SAMPLES / "sample.truth.json"
    if not truth_path.exists():
        pytest.skip("no committed sample")
    truth = json.loads(truth_path.read_text(encoding="utf-8"))
    audio = SAMPLES / truth["audio"]
    assert audio.exists() and audio.stat().st_size < 1_500_000
    assert 120 <= truth["duration"] <= 240
    lines = synth.read_seed(SAMPLES / "sample.ru-en.txt")
    assert [(ln.ru, ln.en) for ln in lines] == [(t["ru"], t["en"]) for t in truth["lines"]]
    assert [t["index"] for t in truth["lines"]] == list(range(len(lines)))
    ends = [(t["start"], t["end"]) for t in truth["lines"] if t["spoken"]]
    assert all(a < b <= c for (a, b), (c, _) in itertools.pairwise(ends))


@pytest.mark.slow
@needs_festival
def test_festival_gives_trimmed_audio_and_word_times(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(festival, "FESTIVAL_CACHE", tmp_path)
    text = "В 2021 году — «каких-то» 3-4 версии, т.е. поправки."
    samples, words = synth.synthesize(text)
    duration = len(samples) / SAMPLE_RATE
    assert samples.dtype == np.float32 and 2.0 < duration < 15.0
    assert [w.text for w in words] == reference_words(text)
    assert all(w.start is not None and w.end is not None for w in words)
    times = [t for w in words for t in (w.start, w.end) if t is not None]
    assert times == sorted(times)
    # Trimmed: speech runs from the first sample to the last.
    assert times[0] < 0.05 and times[-1] > duration - 0.1
    assert np.abs(samples[:160]).max() > 0.001 and np.abs(samples[-160:]).max() > 0.001
    assert len(list(tmp_path.glob("*.npz"))) == 1
    again, words_again = synth.synthesize(text)  # served from the cache
    assert np.array_equal(again, samples) and words_again == words


@pytest.mark.slow
@needs_festival
def test_festival_episode_from_real_lines(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(festival, "FESTIVAL_CACHE", tmp_path / "festival")
    items: list[PlanItem] = [
        SpokenLine(0, "Добрый день, Арсен.", "Good afternoon, Arsen."),
        SpokenLine(1, "", "For example.", said="Например."),
        SpokenLine(2, "Мы очень рады вас видеть.", "We are very glad to see you."),
    ]
    files = synth.write_episode(items, tmp_path, "ep", seed=1, audio_suffix=".ogg")
    truth = json.loads(files.truth.read_text(encoding="utf-8"))
    assert [ln["spoken"] for ln in truth["lines"]] == [True, True, True]
    assert truth["lines"][1]["said_ru"] == "Например."
    assert [(ln.ru, ln.en) for ln in read_bilingual(files.transcript)] == [(it.ru, it.en) for it in items]
    assert files.audio.stat().st_size > 1000
