"""The real-speech benchmark material: episodes from festvox-ru's recordings, and the aeneas peer."""

from __future__ import annotations

import itertools
import json

import numpy as np
import pytest

from bench import aeneas_peer, channel, festvox_ru, real_edits, realspeech
from bench.festival import SAMPLE_RATE
from bench.metrics import score
from bench.real_layout import lay_out, speech_spans, truth
from pipeline.audio import decode
from pipeline.transcript import parse

needs_corpus = pytest.mark.skipif(
    not festvox_ru.available(), reason="needs festvox-ru and Festival (make festival)"
)
TWO = ("ru_0101", "ru_0102")


def _matching_lag(
    episode: np.ndarray, at: int, recording: np.ndarray, rec_at: int, n: int
) -> tuple[int, float]:
    """Lag (samples) where ``recording[rec_at:rec_at+n]`` sits nearest ``episode[at:]``, and the misfit."""
    piece = recording[rec_at : rec_at + n]
    best = (0, float("inf"))
    for lag in range(-32, 33):
        window = episode[at + lag : at + lag + n]
        misfit = float(np.max(np.abs(window - piece)))
        if misfit < best[1]:
            best = (lag, misfit)
    return best


def test_only_the_allowed_utterances_are_reachable():
    with pytest.raises(festvox_ru.CorpusError):
        festvox_ru.phones("ru_0042")
    with pytest.raises(festvox_ru.CorpusError):
        festvox_ru.utterance("ru_0621")


@needs_corpus
def test_corpus_ids_and_text():
    ids = festvox_ru.utterance_ids()
    assert ids[0] >= "ru_0101" and ids[-1] <= "ru_0620"
    assert all(festvox_ru.FIRST <= int(i[3:]) <= festvox_ru.LAST for i in ids)
    marked = festvox_ru.texts()["ru_0102"]
    assert "+" in marked and "+" not in festvox_ru.text_of("ru_0102")


@needs_corpus
def test_clip_truth_lines_up_with_the_recordings(tmp_path):
    files, t = realspeech.clip(tmp_path, TWO, seed=5)
    audio = decode(files.audio)
    assert [ln.ru for ln in parse(files.transcript.read_text(encoding="utf-8"))] == [
        festvox_ru.text_of(u) for u in TWO
    ]
    previous_end = 0.0
    for line, utt_id in zip(t["lines"], TWO, strict=True):
        utt = festvox_ru.utterance(utt_id)
        recording = utt.samples()
        # The recording's speech, sample for sample, sits where the truth says it starts.
        at = round(line["start"] * SAMPLE_RATE)
        lag, misfit = _matching_lag(audio, at, recording, round(utt.speech_start * SAMPLE_RATE), 8000)
        assert abs(lag) <= 8 and misfit < 2e-4, (utt_id, lag, misfit)
        assert line["end"] - line["start"] == pytest.approx(utt.speech_end - utt.speech_start, abs=0.002)
        # Words: the first starts the line, the last ends it, each from the labels.
        words = line["words"]
        assert line["words_complete"] and len(words) == len(utt.words)
        assert words[0]["start"] == line["start"] and words[-1]["end"] == line["end"]
        shift = line["start"] - utt.speech_start
        for got, want in zip(words, utt.words, strict=True):
            assert got["start"] == pytest.approx(want.start + shift, abs=0.002)
        assert line["start"] > previous_end + 0.3  # a pause between the two
        previous_end = line["end"]


@needs_corpus
def test_word_times_follow_the_phone_labels():
    utt = festvox_ru.utterance("ru_0101")
    # «В другой, - вдребезги ...»: the lab file says v d r u g oo j, then a pause.
    first, second = utt.words[0], utt.words[1]
    assert (first.text, second.text) == ("В", "другой")
    labelled = [p for p in utt.phones if p.name != "pau"]
    assert first.start == labelled[0].start and first.end == labelled[0].end
    assert second.start == labelled[1].start and second.end == labelled[6].end


@needs_corpus
def test_telephone_copy_is_band_limited_and_in_time():
    clean = festvox_ru.utterance("ru_0103").samples()
    phone, line = channel.telephone(clean)

    def share_above(x: np.ndarray, hz: float) -> float:
        power = np.abs(np.fft.rfft(x.astype(np.float64))) ** 2
        freqs = np.fft.rfftfreq(len(x), 1 / SAMPLE_RATE)
        return float(power[freqs > hz].sum() / power.sum())

    assert share_above(clean, 4000) > 1e-3  # the original has energy up there
    assert share_above(phone, 4000) < 1e-5  # the line does not
    assert len(phone) == len(clean) and line.codec == "AMR-NB"
    band = channel.band_pass(clean, *channel.PHONE_BAND, channel.PHONE_SKIRT)
    assert abs(channel.delay(band, phone, SAMPLE_RATE)) <= 1  # the codec's delay was taken out


@needs_corpus
def test_music_bed_is_at_the_asked_snr():
    plan = realspeech.exact_plan(TWO)
    samples, placed = lay_out(plan, seed=2)
    spans = speech_spans(placed)
    mixed = channel.mix_bed(samples, spans, 12.0, seed=2)
    bed = mixed - samples
    snr = 10 * np.log10(channel.speech_power(samples, spans) / np.mean(bed.astype(np.float64) ** 2))
    assert snr == pytest.approx(12.0, abs=0.05)
    # Music-like: pitched (a strong spectral peak), not white.
    spectrum = np.abs(np.fft.rfft(bed[: 4 * SAMPLE_RATE]))
    assert spectrum.max() > 20 * np.median(spectrum)


def test_each_kind_of_edit_changes_one_word():
    vocab = real_edits.Vocabulary(("берег", "стена", "ветер", "дорога"), ("Гусев", "Лось"))
    text = "Вечером Гусев увидел три огня на берегу реки."
    rng = np.random.default_rng(0)
    for kind in real_edits.KINDS:
        written, change = real_edits.edit(text, kind, vocab, rng)
        said_words, written_words = text.split(), written.split()
        assert change["kind"] == kind and written != text
        if kind == "deletion":
            assert len(written_words) == len(said_words) - 1
            assert change["said_word"] not in written and change["written_word"] is None
        elif kind == "insertion":
            assert len(written_words) == len(said_words) + 1
            assert change["written_word"] in real_edits.INSERTABLE
        else:
            assert len(written_words) == len(said_words)
            assert sum(a != b for a, b in zip(said_words, written_words)) == 1
    assert real_edits.edit(text, "name", vocab, rng)[1]["said_word"] == "Гусев"
    assert real_edits.edit(text, "number", vocab, rng)[1]["said_word"] == "три"
    assert real_edits.edit("Тихо было.", "number", vocab, rng) is None


@needs_corpus
def test_edits_are_recorded_in_the_truth():
    plan = realspeech.edits_plan(np.random.default_rng(7), seconds=90.0)
    samples, placed = lay_out(plan, seed=7)
    t = truth(plan, placed, len(samples) / SAMPLE_RATE, seed=7)
    heard_lines = {h.line for h in plan.heard if h.line is not None}
    unspoken = [ln for ln in t["lines"] if not ln["spoken"]]
    assert unspoken and all(ln["index"] not in heard_lines for ln in unspoken)
    changed = {c["line"]: c for c in t["changed_lines"]}
    assert changed
    for ln in t["lines"]:
        if ln["index"] in changed:
            c = changed[ln["index"]]
            assert ln["said_ru"] == c["said"] != c["written"] == ln["ru"]
            assert c["said"] == festvox_ru.text_of(plan.lines[ln["index"]].utt)
        elif ln["spoken"]:
            assert "said_ru" not in ln
    # Unscripted speech: recordings with no line, timed where they were placed.
    extra = [(h, p) for h, p in zip(plan.heard, placed, strict=True) if h.line is None]
    assert len(extra) == len(t["unscripted"]) == realspeech.EDIT_UNSCRIPTED
    for (h, p), u in zip(extra, t["unscripted"], strict=True):
        assert u["recording"] == h.utt not in {ln.utt for ln in plan.lines}
        assert u["start"] == pytest.approx(p.offset + p.utt.speech_start, abs=0.001)


@needs_corpus
def test_repeats_are_lines_of_their_own():
    plan = realspeech.repeats_plan(np.random.default_rng(3), seconds=60.0)
    utts = [ln.utt for ln in plan.lines]
    assert any(a == b for a, b in itertools.pairwise(utts))
    assert [h.line for h in plan.heard] == list(range(len(plan.lines)))


def test_syncmap_parser_reads_aeneas_json(tmp_path):
    lines = parse("Первая строка.\nВторая строка.\nТретья строка.\n")
    text, rows = aeneas_peer.plain_text(lines)
    assert text == "Первая строка.\nВторая строка.\nТретья строка.\n" and rows == [0, 1, 2]
    syncmap = {
        "fragments": [
            {"begin": "0.480", "end": "2.120", "id": "f000001", "lines": ["Первая строка."], "children": []},
            {"begin": "2.800", "end": "4.000", "id": "f000003", "lines": ["Третья строка."], "children": []},
        ]
    }
    path = tmp_path / "map.json"
    path.write_text(json.dumps(syncmap, ensure_ascii=False), encoding="utf-8")
    out = aeneas_peer.parse_syncmap(json.loads(path.read_text(encoding="utf-8")), lines, rows)
    assert [(o["status"], o["start"], o["end"]) for o in out] == [
        ("aligned", 0.48, 2.12),
        ("unspoken", None, None),  # a fragment missing from the map leaves its line untimed
        ("aligned", 2.8, 4.0),
    ]


def test_syncmap_rows_skip_lines_without_russian():
    lines = parse(
        "Первая строка.\n\nFirst line.\n\n\n\nOnly English here.\n\nВторая строка.\n\nSecond line.\n"
    )
    text, rows = aeneas_peer.plain_text(lines)
    assert text.splitlines() == ["Первая строка.", "Вторая строка."]
    assert rows == [lines[0].index, lines[2].index]
    syncmap = {"fragments": [{"begin": "0", "end": "1", "id": "f000002", "lines": ["Вторая строка."]}]}
    out = aeneas_peer.parse_syncmap(syncmap, lines, rows)
    assert [o["status"] for o in out] == ["unspoken", "no_text", "aligned"]


@pytest.mark.slow
@needs_corpus
@pytest.mark.skipif(not aeneas_peer.available(), reason="aeneas is not built (make aeneas)")
def test_aeneas_aligns_a_real_clip(tmp_path):
    files, t = realspeech.clip(tmp_path, ("ru_0104", "ru_0105", "ru_0106"), seed=1)
    result = aeneas_peer.align(files.audio, files.transcript)
    figures = score(t, result)
    assert [ln["status"] for ln in result["lines"]] == ["aligned"] * 3
    # aeneas gives its first line the leading silence; the others start near the speech.
    for got, want in zip(result["lines"][1:], t["lines"][1:], strict=True):
        assert abs(got["start"] - want["start"]) < 0.5
    assert figures.lines == 3


def test_qa_figures_count_changed_lines_and_split_by_verdict():
    from bench.qa import transcript_figures, verdict_tiers

    truth = {"duration": 1800.0, "changed_lines": [{"line": 2}, {"line": 5}, {"line": 9}]}

    def finding(line: int, verdict: str | None = None) -> dict:
        f = {"kind": "transcript_error", "line": line, "start": 0.0, "end": 1.0, "reference": "", "heard": ""}
        return f | ({"verdict": verdict} if verdict else {})

    plain = {"findings": [finding(2), finding(2), finding(7), {"kind": "unspoken", "line": 5}]}
    assert verdict_tiers(plain) == [None]
    every = transcript_figures(truth, plain)
    assert (every.findings, every.false_alarms, every.per_hour) == (3, 1, 2.0)
    assert (every.changed_found, every.changed, every.recall, every.precision) == (1, 3, 1 / 3, 2 / 3)

    tiered = {
        "findings": [
            finding(2, "likely"),
            finding(5, "possible"),
            finding(7, "possible"),
            finding(9, "likely"),
        ]
    }
    assert verdict_tiers(tiered) == [None, "likely", "possible"]
    likely = transcript_figures(truth, tiered, "likely")
    possible = transcript_figures(truth, tiered, "possible")
    assert (likely.findings, likely.false_alarms, likely.changed_found, likely.precision) == (2, 0, 2, 1.0)
    assert (possible.findings, possible.false_alarms, possible.changed_found) == (2, 1, 1)
