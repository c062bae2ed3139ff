"""The QA stage's parts on small hand-made inputs: scores, attribution, findings, clips, batch summary."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import jiwer
import numpy as np
import pytest

from pipeline.audio import SAMPLE_RATE
from pipeline.batch.qa_index import write_batch_summary
from pipeline.qa import build
from pipeline.qa.attribution import attribute
from pipeline.qa.clips import encode_opus, make_clips
from pipeline.qa.findings import Kind
from pipeline.qa.report_text import to_json
from pipeline.qa.scores import Segment, cer, score, wer
from pipeline.subtitles.cues import Violation
from pipeline.types import AlignedLine, Alignment, Cue, Line, LineStatus, Word


def aligned(index: int, ru: str, start: float | None, end: float | None, en: str = "en") -> AlignedLine:
    if start is None or end is None:
        return AlignedLine(Line(index, ru, en), LineStatus.UNSPOKEN, None, None, 0.9)
    status = LineStatus.ALIGNED if ru else LineStatus.NO_TEXT
    return AlignedLine(Line(index, ru, en), status, start, end, 0.95)


def spoken(text: str, start: float, step: float = 0.4, p: float = 0.95) -> list[Word]:
    return [Word(w, start + k * step, start + (k + 1) * step - 0.05, p) for k, w in enumerate(text.split())]


def test_scores_use_the_aligners_normalisation_and_add_up() -> None:
    segments = [
        Segment(
            0, ["В", "2021", "году,", "Ёлка"], ["в", "две", "тысячи", "двадцать", "первом", "году", "елка"]
        ),
        Segment(1, ["мы", "хотели", "всего"], ["мы", "хотим"]),
        Segment(None, [], ["реклама", "сервиса"]),
    ]

    scores = score(segments)

    first, second, extra = scores.segments
    assert first.wer == pytest.approx(1 / 7)  # only the case ending of «двадцать первом» differs
    assert (second.words.substitutions, second.words.deletions) == (1, 1)
    assert (extra.line, extra.words.insertions) == (None, 2)
    total = first.words + second.words + extra.words
    assert scores.words == total
    assert wer(segments) == pytest.approx(total.errors / (total.hits + total.substitutions + total.deletions))
    assert cer(segments) == scores.cer > 0
    assert second.wer == pytest.approx(jiwer.wer("мы хотели всего", "мы хотим"))


def test_attribution_gives_a_misheard_edge_word_back_to_its_line() -> None:
    lines = [
        aligned(0, "служба которая кстати раньше", 0.0, 1.6),
        aligned(1, "совсем другая история", 6.0, 7.2),
    ]
    # «среди» was said for «раньше» just past the aligner's end of line 0; «реклама…» belongs to no line.
    words = [*spoken("служба которая кстати", 0.0), Word("среди", 1.75, 2.1, 0.99)]
    words += spoken("реклама нашего спонсора", 3.2) + spoken("совсем другая история", 6.0)

    heard = attribute(lines, words)

    assert [words[j].text for j in heard.lines[0]] == ["служба", "которая", "кстати", "среди"]
    assert [[words[j].text for j in run] for run in heard.runs] == [["реклама", "нашего", "спонсора"]]


def test_attribution_takes_unspoken_lines_back_when_their_place_sounds_like_them() -> None:
    lines = [
        aligned(0, "первая строка", 0.0, 1.0),
        aligned(1, "депутаты немецкого бундестага", None, None),
        aligned(2, "третья строка", 4.0, 5.0),
    ]
    said = [("первая строка", 0.0), ("депутаты немецкого бундестаг", 1.6), ("третья строка", 4.0)]
    words = [w for text, start in said for w in spoken(text, start)]

    heard = attribute(lines, words)

    assert heard.revived == {1} and not heard.runs


def _report(lines: list[AlignedLine], words: list[Word], cues: list[Cue] | None = None, violations=None):
    alignment = Alignment("ep.wav", 12.0, "whisper-base", tuple(lines))
    return build(alignment, words, cues or [], violations if violations is not None else [])


def test_findings_rank_a_confidently_different_word_above_a_misheard_ending() -> None:
    lines = [
        aligned(0, "мы обсуждали новую систему защиты", 0.0, 2.4),
        aligned(1, "было много разных решений", 3.0, 4.6),
    ]
    words = [*spoken("мы обсуждали интерес систему защиты", 0.0), *spoken("было много разных решения", 3.0)]

    findings = [f for f in _report(lines, words).findings if f.kind is Kind.TRANSCRIPT_ERROR]

    assert [(f.line, f.reference, f.heard) for f in findings] == [
        (0, "новую", "интерес"),
        (1, "решений", "решения"),
    ]
    assert findings[0].score > 2 * findings[1].score
    assert findings[0].start == pytest.approx(0.8) and "интерес" in findings[0].detail


def test_findings_of_every_kind_and_the_json_shape() -> None:
    lines = [
        aligned(0, "первая строка текста", 0.0, 1.2),
        aligned(1, "эту строку никто не сказал", None, None),
        aligned(2, "", 2.0, 2.6, en="English only"),
        aligned(3, "строка без перевода", 5.0, 6.2, en=""),
        aligned(4, "очень длинная строка сказанная", 7.0, 7.3),
    ]
    words = [*spoken("первая строка текста", 0.0), Word("например", 2.0, 2.6, 0.9)]
    words += spoken("непонятная речь здесь", 3.3, step=0.5) + spoken("строка без перевода", 5.0)
    words += spoken("очень длинная строка сказанная", 7.0, step=0.075)
    cues = [Cue(7.0, 7.3, ("очень длинная строка сказанная",), ("a very long line",), (4,))]
    broken = [Violation(1, 7.0, 7.3, "reading_speed_ru", "100 characters/s (max 17)")]

    report = _report(lines, words, cues, broken)

    by_kind = {f.kind: f for f in report.findings}
    assert set(by_kind) == set(Kind) - {Kind.TRANSCRIPT_ERROR}
    unspoken = by_kind[Kind.UNSPOKEN]
    assert (unspoken.line, unspoken.start, unspoken.end) == (1, 1.2, 2.0)  # where it belongs
    assert by_kind[Kind.UNSCRIPTED].heard == "непонятная речь здесь" and by_kind[Kind.UNSCRIPTED].line is None
    assert by_kind[Kind.MISSING_RUSSIAN].heard == "например"
    assert by_kind[Kind.MISSING_TRANSLATION].line == 3
    assert "squeezed" in by_kind[Kind.UNCERTAIN_TIMING].detail and by_kind[Kind.UNCERTAIN_TIMING].line == 4
    assert by_kind[Kind.RULE_VIOLATION].line == 4 and "reading speed" in by_kind[Kind.RULE_VIOLATION].detail
    data = json.loads(json.dumps(to_json(report, "ep")))
    assert list(data)[:3] == ["wer", "cer", "findings"]
    assert [f["kind"] for f in data["findings"]] == [f.kind.value for f in report.findings]
    assert data["counts"]["unspoken"] == 1 and data["lines"][1]["status"] == "unspoken"


def test_clips_are_short_opus_that_decode_to_their_length() -> None:
    import av

    tone = (0.3 * np.sin(2 * np.pi * 220 * np.arange(SAMPLE_RATE * 30) / SAMPLE_RATE)).astype(np.float32)

    data = encode_opus(tone[: 2 * SAMPLE_RATE])
    clips = make_clips(tone, [("a", 1.0, 3.0), ("b", 10.0, 28.0), ("c", 20.0, 21.0)], limit=2)

    with av.open(io.BytesIO(data)) as container:
        decoded = sum(frame.samples for frame in container.decode(audio=0)) / container.streams.audio[0].rate
    assert decoded == pytest.approx(2.0, abs=0.05) and len(data) < 6_000  # about 16 kbit/s
    assert list(clips) == ["a", "b"]  # capped, in the order given
    assert clips["a"].start == pytest.approx(0.7) and clips["b"].seconds == pytest.approx(12.0)
    assert clips["a"].uri.startswith("data:audio/ogg;base64,")


def test_batch_summary_lists_episodes_worst_first(tmp_path: Path) -> None:
    def scores(stem: str, wer: float, found: list[float]) -> dict:
        folder = tmp_path / stem
        folder.mkdir()
        (folder / f"{stem}.qa.html").write_text("<html></html>", encoding="utf-8")
        serious = sum(1 for s in found if s >= 0.5)
        counts = {"unspoken": len(found)}
        return {"wer": wer, "cer": wer / 2, "findings": len(found), "serious": serious, "counts": counts}

    def page(stem: str) -> Path:
        return tmp_path / stem / f"{stem}.qa.html"

    episodes = [
        {"stem": "calm", "status": "ok", "scores": scores("calm", 0.3, [0.2]), "qa_html": page("calm")},
        {
            "stem": "messy",
            "status": "ok",
            "scores": scores("messy", 0.1, [0.9, 0.8]),
            "qa_html": page("messy"),
        },
        {"stem": "broken", "status": "failed", "scores": None, "error": "audio: cannot decode\nat all"},
    ]
    episodes[1]["qa_html"] = page("messy")

    written = write_batch_summary(tmp_path, episodes)

    assert written == [tmp_path / "index.html", tmp_path / "summary.csv"]
    rows = list(csv.DictReader(io.StringIO((tmp_path / "summary.csv").read_text(encoding="utf-8"))))
    assert [r["stem"] for r in rows] == ["broken", "messy", "calm"]
    assert rows[0]["error"] == "audio: cannot decode at all" and rows[0]["wer"] == ""
    assert (rows[1]["serious"], rows[1]["unspoken"], rows[1]["report"]) == ("2", "2", "messy/messy.qa.html")
    index = (tmp_path / "index.html").read_text(encoding="utf-8")
    assert index.index("broken") < index.index("messy") < index.index("calm")
    assert 'href="calm/calm.qa.html"' in index and "default-src 'none'" in index
