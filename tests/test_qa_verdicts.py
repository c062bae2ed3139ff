"""Transcript-error verdicts and the patch, on hand-made inputs with a stand-in for the audio.

The stand-in scores a text by which of its words were "said": what the real
scorer (Whisper's decoder forced through the text) measures, without a model.
The real scorer runs in tests/test_qa_recovery.py.
"""

from __future__ import annotations

import json
import shutil
import subprocess
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pytest

from pipeline.batch.qa_index import write_batch_summary
from pipeline.batch.report import Summary
from pipeline.normalize import normalize_text
from pipeline.qa import build, headline, write_reports
from pipeline.qa.findings import Kind
from pipeline.qa.patch import apply_to_text
from pipeline.qa.report_text import to_json, to_markdown
from pipeline.qa.verdict import LIKELY, MARGIN, POSSIBLE, SHORT_MARGIN, Edit, sounds
from pipeline.transcript import read_source
from pipeline.types import AlignedLine, Alignment, Line, LineStatus, Word
from pipeline.whisper.forced import Passage, Remembered, TextScore

SAID, UNSAID = 6.0, -6.0  # log-probability a word adds when the audio holds it, and when it does not


class Audio:
    """Scores texts by the words said: each said word in the text adds ``SAID``, each other word in
    it ``UNSAID``, and each said word missing from it ``UNSAID`` too (speech left unexplained)."""

    def __init__(self, *said: str) -> None:
        self.said = {token for text in said for token in normalize_text(text)}
        self.asked: list[Passage] = []

    def __call__(self, passages: Sequence[Passage]) -> list[TextScore]:
        self.asked.extend(passages)
        out = []
        for p in passages:
            tokens = normalize_text(" ".join(p.words))
            found = sum(SAID if t in self.said else UNSAID for t in tokens)
            out.append(TextScore(found + UNSAID * len(self.said - set(tokens)), len(tokens) + 1))
        return out


def timed(index: int, ru: str, start: float, en: str = "en", source_line: int = 0) -> AlignedLine:
    words = ru.split()
    step = 0.4
    placed = tuple(Word(w, start + k * step, start + (k + 1) * step - 0.05) for k, w in enumerate(words))
    line = Line(index, ru, en, source_line)
    return AlignedLine(line, LineStatus.ALIGNED, start, start + len(words) * step - 0.05, 0.95, placed)


def heard(text: str, start: float, p: float = 0.95) -> list[Word]:
    return [Word(w, start + k * 0.4, start + (k + 1) * 0.4 - 0.05, p) for k, w in enumerate(text.split())]


def report_of(lines: list[AlignedLine], words: list[Word], audio: Audio | None):
    alignment = Alignment("ep.wav", 30.0, "whisper-base", tuple(lines))
    return build(alignment, words, [], [], audio)


def errors(report) -> dict[int, list]:
    out: dict[int, list] = {}
    for f in report.findings:
        if f.kind is Kind.TRANSCRIPT_ERROR:
            out.setdefault(f.line, []).append(f)
    return out


def test_the_audio_decides_a_changed_word_is_likely_and_a_slip_possible() -> None:
    lines = [timed(0, "Мы поехали в Москву вчера.", 0.0), timed(1, "она читала книгу весь вечер", 4.0)]
    # The speaker said «Казань» where the transcript has «Москву»; the ASR misheard «книгу».
    words = heard("Мы поехали в Казань вчера.", 0.0) + heard("она читала Кирилл весь вечер", 4.0)
    audio = Audio("мы поехали в казань вчера", "она читала книгу весь вечер")

    found = errors(report_of(lines, words, audio))

    changed, slip = found[0][0], found[1][0]
    assert changed.verdict.verdict == LIKELY and changed.likely and changed.score >= 0.6
    assert changed.verdict.margin == pytest.approx(SAID - 2 * UNSAID)  # one word for another
    assert changed.corrected == "Мы поехали в Казань вчера."
    assert slip.verdict.verdict == POSSIBLE and slip.score < 0.5 and slip.verdict.margin < 0
    assert "written words as well or better" in slip.detail


def test_spellings_of_one_sound_are_not_put_to_the_audio() -> None:
    lines = [
        timed(0, "она вышла замуж без приданого", 0.0),
        timed(1, "у колодезь стоял", 4.0),
        timed(2, "было это в 2020 году", 8.0),
    ]
    words = heard("она вышла замуж беспреданного", 0.0) + heard("у колодись стоял", 4.0)
    words += heard("было это в двадцатом году", 8.0)  # «2020» spelled is «две тысячи двадцать»: it differs
    audio = Audio("она вышла замуж без приданого", "у колодезь стоял", "было это в 2020 году")

    found = errors(report_of(lines, words, audio))

    for f in found[0] + found[1]:
        assert f.verdict.verdict == POSSIBLE and "sounds the same" in f.verdict.reason
    asked = {w for p in audio.asked for w in p.words}
    assert not asked & {"беспреданного", "колодись", "приданого", "колодезь"}
    assert sounds("без приданого") == sounds("беспреданного") and sounds("колодезь") == sounds("колодись")


def test_numbers_are_scored_as_written_and_spelled_out() -> None:
    lines = [timed(0, "ударили два раза", 0.0)]
    words = heard("ударили 4 раза", 0.0)
    audio = Audio("ударили четыре раза")

    found = errors(report_of(lines, words, audio))[0][0]

    assert found.verdict.verdict == LIKELY
    assert {p.words for p in audio.asked} >= {("ударили", "4", "раза"), ("ударили", "четыре", "раза")}


def test_the_words_around_a_difference_are_scored_with_it_bare_of_punctuation() -> None:
    lines = [timed(0, "Значит, есть, же, на земле блаженство!", 0.0)]
    words = heard("Значит есть же на небе блаженство", 0.0)
    audio = Audio("значит есть же на небе блаженство")

    report_of(lines, words, audio)

    written, said = audio.asked
    assert written.words == ("Значит", "есть", "же", "на", "земле", "блаженство")
    assert said.words == ("Значит", "есть", "же", "на", "небе", "блаженство")
    assert (written.start, written.end) == (said.start, said.end)
    assert written.start == pytest.approx(0.0) and written.end == pytest.approx(2.35 + 0.3)


def test_a_short_word_needs_a_wider_margin() -> None:
    lines = [timed(0, "он пришёл домой поздно", 0.0), timed(1, "она сидела у окна", 4.0)]
    words = heard("и он пришёл домой поздно", 0.0) + heard("она сидела всегда у окна", 4.0)
    audio = Audio("и он пришёл домой поздно", "она сидела всегда у окна")

    found = errors(report_of(lines, words, audio))

    margin = SAID - UNSAID  # an inserted word: said, where without it its speech is unexplained
    assert MARGIN <= margin < SHORT_MARGIN
    assert any("и" in p.words for p in audio.asked)  # put to the audio, but not won by enough
    assert not [f for f in found.get(0, []) if f.likely] and found[1][0].verdict.verdict == LIKELY
    assert found[1][0].corrected == "она сидела всегда у окна"


def test_a_stretch_the_asr_did_not_hear_is_not_judged() -> None:
    lines = [timed(0, "он сказал что придёт завтра утром рано", 0.0)]
    words = heard("он сказал", 0.0)
    audio = Audio("он сказал что придёт завтра утром рано")

    found = errors(report_of(lines, words, audio))

    assert all(f.verdict.verdict == POSSIBLE for f in found.get(0, []))
    assert not audio.asked


def test_without_a_scorer_nothing_is_likely() -> None:
    report = report_of([timed(0, "мы поехали в Москву", 0.0)], heard("мы поехали в Казань", 0.0), None)

    (found,) = errors(report)[0]

    assert found.verdict.verdict == POSSIBLE and "not checked" in found.verdict.reason


def test_remembered_scores_each_passage_once() -> None:
    made: list[int] = []
    audio = Audio("раз два")

    def make():
        made.append(1)
        return audio

    passages = [Passage(0.0, 1.0, ("раз",)), Passage(0.0, 1.0, ("три",)), Passage(0.0, 1.0, ("раз",))]
    first = Remembered(make)
    scores = first(passages)
    again = Remembered(make, json.loads(json.dumps(first.known)))(passages)

    assert scores == again and len(made) == 1 and len(audio.asked) == 2 and first.added == 2


def test_reports_lead_with_what_is_likely(tmp_path: Path) -> None:
    lines = [
        timed(0, "мы поехали в Москву", 0.0),
        timed(1, "она читала книгу", 4.0),
        AlignedLine(
            Line(2, "эту строку никто не сказал", "nobody said this"), LineStatus.UNSPOKEN, None, None, 0.9
        ),
    ]
    words = heard("мы поехали в Казань", 0.0) + heard("она читала Кирилл", 4.0)
    audio = Audio("мы поехали в казань", "она читала книгу")
    report = report_of(lines, words, audio)

    data = json.loads(json.dumps(to_json(report, "ep")))
    markdown = to_markdown(report, "ep")
    written = write_reports(tmp_path, "ep", report, np.zeros(16000 * 30, np.float32))

    first = data["findings"][0]
    assert (first["kind"], first["verdict"], first["line"]) == ("transcript_error", "likely", 0)
    assert first["corrected"] == "мы поехали в Казань" and first["evidence"]["margin"] == SAID - 2 * UNSAID
    assert {"logprob_written", "logprob_heard", "similarity", "reason"} <= set(first["evidence"])
    errors_ = [f for f in data["findings"] if f["kind"] == "transcript_error"]
    assert [f["verdict"] for f in errors_] == ["likely", "possible"]
    assert all("verdict" not in f for f in data["findings"] if f["kind"] != "transcript_error")
    assert (data["likely"], data["possible"]) == (1, 1)
    assert markdown.index("## Likely transcript errors (1)") < markdown.index("## Unspoken lines (1)")
    assert markdown.index("## Unspoken lines") < markdown.index(
        "<details><summary>Possible transcript errors (1)"
    )
    assert written.summary().split("; ", 1)[1].startswith("1 likely transcript error, 1 possible; 1 unspoken")
    assert headline(report)["likely"] == 1 and headline(report)["possible"] == 1
    page = (tmp_path / "ep.qa.html").read_text(encoding="utf-8")
    assert page.index('id="likely"') < page.index("Unspoken lines") < page.index('<details id="possible">')


@pytest.mark.parametrize(
    ("text", "edits", "expected"),
    [
        ("мы  поехали в Москву, вчера", [Edit(3, 4, ("Казань,",))], "мы  поехали в Казань, вчера"),
        ("под, развёрзлась земля", [Edit(0, 1, ("под", "ней,"))], "под ней, развёрзлась земля"),
        ("сидела снова у окна", [Edit(1, 2, ())], "сидела у окна"),
        ("у окна снова", [Edit(1, 3, ("окна",))], "у окна"),
        (
            "сидела у окна",
            [Edit(1, 1, ("всегда",)), Edit(3, 3, ("вечером",))],
            "сидела всегда у окна вечером",
        ),
    ],
)
def test_corrections_keep_the_lines_own_spacing(text: str, edits: list[Edit], expected: str) -> None:
    assert apply_to_text(text, edits) == expected


TRANSCRIPTS = {
    # name: (encoding, newline, layout rows), each layout's Russian rows holding «Москву» to correct
    "bilingual-utf8-lf.txt": ("utf-8", "\n", "bilingual"),
    "tsv-cp1251-crlf.tsv": ("cp1251", "\r\n", "tsv"),
    "plain-bom-lf.txt": ("utf-8-sig", "\n", "plain"),
    "bilingual-koi8-crlf-no-final-newline.txt": ("koi8-r", "\r\n", "bilingual"),
}
RU = [
    "Мы поехали в Москву вчера.",
    "Она читала книгу.",
    "Было тихо.",
    "Шёл дождь.",
    "Мы снова в Москву поехали.",
]
EN = [
    "We went to Moscow yesterday.",
    "She read a book.",
    "It was quiet.",
    "It rained.",
    "We went to Moscow again.",
]


def _transcript(folder: Path, name: str) -> Path:
    codec, newline, layout = TRANSCRIPTS[name]
    if layout == "tsv":
        rows = [f"{ru}\t{en}" for ru, en in zip(RU, EN)]
    elif layout == "plain":
        rows = list(RU)
    else:
        rows = [row for ru, en in zip(RU, EN) for row in (ru, en, "")][:-1]
    text = newline.join(rows) + ("" if "no-final" in name else newline)
    path = folder / name
    path.write_bytes(text.encode(codec))
    return path


def _run_qa(transcript: Path, out: Path):
    source = read_source(transcript)
    said = [ru.replace("Москву", "Казань") for ru in RU]
    lines = [timed(ln.index, ln.ru, 5.0 * k, ln.en, ln.source_line) for k, ln in enumerate(source.lines)]
    words = [w for k, text in enumerate(said) for w in heard(text, 5.0 * k)]
    report = report_of(lines, words, Audio(*said))
    return write_reports(out, "ep", report, np.zeros(16000 * 30, np.float32), source)


@pytest.mark.parametrize("name", sorted(TRANSCRIPTS))
@pytest.mark.parametrize("tool", ["git", "patch"])
def test_the_patch_applies_to_the_file_as_given_and_leaves_nothing_likely(
    tmp_path: Path, name: str, tool: str
) -> None:
    if shutil.which(tool) is None:
        pytest.skip(f"{tool} is not installed")
    folder = tmp_path / "work"
    folder.mkdir()
    transcript = _transcript(folder, name)
    original = transcript.read_bytes()

    first = _run_qa(transcript, tmp_path / "out")
    patch = tmp_path / "out" / "ep.qa.patch"
    command = ["git", "apply", str(patch)] if tool == "git" else ["patch", "-p1", "-i", str(patch)]
    done = subprocess.run(command, cwd=folder, capture_output=True, text=True, check=False)
    again = _run_qa(transcript, tmp_path / "out2")

    assert first.patch_path == patch and first.patch.corrections == 2 and "ep.qa.patch" in first.summary()
    assert patch.read_bytes().count(b"\n@@ ") + patch.read_bytes().startswith(b"@@ ") == 2  # a hunk each
    assert done.returncode == 0, done.stderr + done.stdout
    codec = TRANSCRIPTS[name][0].replace("-sig", "")
    expected = original.replace("Москву".encode(codec), "Казань".encode(codec))
    assert transcript.read_bytes() == expected  # the English, the encoding and every line end as they were
    assert not [f for f in again.report.findings if f.likely]
    assert not (tmp_path / "out2" / "ep.qa.patch").exists() and "likely" not in again.patch_note()


def test_no_patch_for_subtitles_or_utf16_and_the_summary_says_so(tmp_path: Path) -> None:
    srt = tmp_path / "ep.srt"
    srt.write_text(
        "1\n00:00:00,000 --> 00:00:02,000\nМы поехали в Москву вчера.\n\n"
        "2\n00:00:05,000 --> 00:00:07,000\nОна читала книгу.\n\n",
        encoding="utf-8",
    )
    utf16 = tmp_path / "ep16.txt"
    utf16.write_text("\n".join(RU) + "\n", encoding="utf-16")

    for transcript, why in ((srt, "subtitle transcript"), (utf16, "UTF-16")):
        out = _run_qa(transcript, tmp_path / transcript.stem)
        assert out.patch_path is None and why in out.summary()
        assert not list((tmp_path / transcript.stem).glob("*.patch"))
        assert any(f.likely for f in out.report.findings)


def test_batch_lists_likely_transcript_errors_first(tmp_path: Path) -> None:
    def episode(stem: str, likely: int, serious: int, wer: float) -> dict:
        scores = {"wer": wer, "cer": wer, "findings": 9, "serious": serious, "likely": likely, "possible": 7}
        return {"stem": stem, "status": "ok", "scores": scores}

    episodes = [episode("noisy", 0, 5, 0.4), episode("edited", 3, 3, 0.1), episode("clean", 0, 0, 0.05)]

    write_batch_summary(tmp_path, episodes)
    summary = Summary(tmp_path, done=["clean", "edited", "noisy"], attempted=3, likely={"edited": 3})

    index = (tmp_path / "index.html").read_text(encoding="utf-8")
    csv_rows = (tmp_path / "summary.csv").read_text(encoding="utf-8").splitlines()
    assert index.index("edited") < index.index("noisy") < index.index(">clean<")
    assert csv_rows[0].startswith("stem,status,wer,cer,likely,possible") and csv_rows[1].startswith("edited,")
    assert "QA: 3 likely transcript errors in 1 episode (edited)" in summary.line()


def test_a_line_whose_audio_holds_neither_text_is_not_judged() -> None:
    lines = [timed(0, "мы поехали в Москву вчера", 0.0)]
    words = heard("мы поехали в Казань вчера", 0.0)
    audio = Audio("совсем другие слова здесь звучат")  # the aligner put the line on other speech

    (found,) = errors(report_of(lines, words, audio))[0]

    assert found.verdict.verdict == POSSIBLE and "holds neither" in found.verdict.reason
    assert found.verdict.margin is not None  # it was scored: the figures stay in the evidence


def test_a_stretch_at_a_chunks_start_or_across_two_is_encoded_from_its_own_samples(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A line well inside a chunk is read from the run's kept encoding; one at a chunk's start
    (where the cut fit a line at -6.7 nats a token against -2.0 alone) or across two chunks is
    encoded alone, unpadded."""
    from types import SimpleNamespace

    from pipeline.whisper import forced

    pieces: list[tuple[np.ndarray, bool]] = []

    def encode(engine: object, given: Sequence[np.ndarray], pad: bool = True) -> str:
        pieces.extend((piece, pad) for piece in given)
        return "encoded"

    rows = np.arange(2 * 1500 * 4, dtype=np.float32).reshape(2, 1500, 4)  # two chunks' outputs
    kept = SimpleNamespace(
        pad=True,
        squeeze=1.0,
        chunks=[SimpleNamespace(start=0.0, end=5.0), SimpleNamespace(start=5.0, end=10.0)],
        kept=lambda k: True,
        load=lambda ks: rows[ks[0] : ks[0] + 1],
    )
    monkeypatch.setattr(forced, "encode_audio", encode)
    samples = np.arange(10 * forced.SAMPLE_RATE, dtype=np.float32)
    engine = SimpleNamespace(tokenizer=lambda: None)
    scorer = forced.ForcedScorer(engine, samples, kept)  # type: ignore[arg-type]

    inside, frames = scorer._encoding(7.0, 8.5)
    assert not pieces and frames == 2 * 75
    assert np.array_equal(np.asarray(inside)[0], rows[1, 100:175])  # 50 outputs a second, from 2.0 s in

    for start, end in [(5.3, 6.5), (4.5, 5.5)]:  # at the second chunk's start; across the two
        pieces.clear()
        encoded, frames = scorer._encoding(start, end)
        ((piece, pad),) = pieces
        assert encoded == "encoded" and not pad and frames == forced.frame_count(end - start)
        lo, hi = int(start * forced.SAMPLE_RATE), int(end * forced.SAMPLE_RATE)
        assert np.array_equal(piece, samples[lo:hi])
