"""The QA page in headless Chromium: offline, error-free, the right findings, clips that play."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from pipeline.normalize import normalize_text
from pipeline.qa import build, write_reports
from pipeline.subtitles.cues import build_cues, check_cues
from pipeline.types import AlignedLine, Alignment, Line, LineStatus, Word
from pipeline.whisper.forced import TextScore
from tests.browser import ARTIFACTS, browser  # noqa: F401

FIRST, LAST = 0, 12  # sample lines the page is built from
UNSPOKEN = 4  # its text stays, its words are not heard
UNSCRIPTED = 6  # its words are heard, its text is left out of the transcript
CHANGED = (8, "поправок", "законов")  # line, what was said, what the transcript says
MISHEARD = (11, "профильным", "правильным")  # line, what was said (and written), what the ASR heard


class Audio:
    """Stands in for the decoder forced through a text: a word said costs 0.5 nats, one not said 15."""

    def __init__(self, said: set[str]) -> None:
        self.said = said

    def __call__(self, passages):
        out = []
        for p in passages:
            tokens = normalize_text(" ".join(p.words))
            out.append(TextScore(sum(-0.5 if t in self.said else -15.0 for t in tokens), len(tokens)))
        return out


def sample_report(folder: Path, samples: np.ndarray, truth: dict) -> Path:
    """A report as if the ASR and aligner were perfect on the sample, with three known problems, and
    one word the ASR misheard; the audio (a stand-in) says the changed word is likely, the misheard
    one possible."""
    lines: list[AlignedLine] = []
    words: list[Word] = []
    said: set[str] = set()
    for source in truth["lines"][FIRST:LAST]:
        heard = [Word(w["text"], w["start"], w["end"], 0.95) for w in source["words"]]
        if source["index"] != UNSPOKEN:
            said.update(normalize_text(source["ru"]))
        if source["index"] == MISHEARD[0]:
            heard = [Word(w.text.replace(MISHEARD[1], MISHEARD[2]), w.start, w.end, 0.6) for w in heard]
        if source["index"] != UNSPOKEN:
            words.extend(heard)
        if source["index"] == UNSCRIPTED:
            continue
        ru = source["ru"]
        if source["index"] == CHANGED[0]:
            ru = ru.replace(CHANGED[1], CHANGED[2])
        line = Line(len(lines), ru, source["en"])
        if source["index"] == UNSPOKEN:
            lines.append(AlignedLine(line, LineStatus.UNSPOKEN, None, None, 0.9))
        else:
            lines.append(
                AlignedLine(line, LineStatus.ALIGNED, source["start"], source["end"], 0.9, tuple(heard))
            )
    alignment = Alignment("sample.ogg", truth["duration"], "whisper-base", tuple(lines))
    cues = build_cues(alignment.lines)
    report = build(alignment, words, cues, check_cues(cues), Audio(said))
    return write_reports(folder, "sample", report, samples).paths[0]


def test_page_loads_offline_lists_the_findings_and_plays_a_clip(
    browser,  # noqa: F811
    tmp_path: Path,
    sample_samples,
    sample_truth,
) -> None:
    html = sample_report(tmp_path, sample_samples, sample_truth)
    findings = json.loads(html.with_name("sample.qa.json").read_text(encoding="utf-8"))["findings"]
    page = browser.new_page(viewport={"width": 1200, "height": 900})
    errors: list[str] = []
    requests: list[str] = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.on("request", lambda r: requests.append(r.url))

    page.goto(html.as_uri())
    page.wait_for_load_state("load")

    rows = page.locator("#findings tbody tr")
    assert rows.count() == len(findings)
    shown = {
        r.get_attribute("id"): (r.get_attribute("data-kind"), r.get_attribute("data-verdict"))
        for r in rows.all()
    }
    assert shown == {f"finding-{n}": (f["kind"], f.get("verdict")) for n, f in enumerate(findings)}
    changed_line = CHANGED[0] - 1  # the unscripted line before it is not in the transcript
    misheard_line = MISHEARD[0] - 1
    kinds = {(f["kind"], f["line"], f.get("verdict")) for f in findings}
    assert {("unspoken", UNSPOKEN, None), ("unscripted", None, None)} <= kinds
    assert {
        ("transcript_error", changed_line, "likely"),
        ("transcript_error", misheard_line, "possible"),
    } <= kinds
    assert findings[0]["verdict"] == "likely"  # the likely one leads qa.json as it leads the page
    # The page leads with what is likely; the possible ones wait, folded, below the other kinds.
    assert page.locator(".card").first.inner_text().startswith("Likely transcript errors\n1")
    likely_rows = page.locator("#likely tbody tr")
    assert likely_rows.count() == 1
    error_row = likely_rows.first
    assert CHANGED[1] in error_row.inner_text() and CHANGED[2] in error_row.inner_text()
    heads = page.locator("#findings h2").all_inner_texts()
    assert heads[0] == "Likely transcript errors (1)" and heads[-1] == "Possible transcript errors (1)"
    assert heads.index("Unspoken lines (1)") < heads.index("Unscripted speech (1)") < len(heads) - 1
    possible_row = page.locator("#possible tbody tr").first
    assert not possible_row.is_visible()
    page.locator("#possible summary").click()
    assert possible_row.is_visible() and MISHEARD[2] in possible_row.inner_text()
    assert page.locator(f"#line-{changed_line} .d").inner_text().strip(".,") == CHANGED[2]

    button = error_row.locator("button.play")
    clip = button.get_attribute("data-clip")
    button.click()
    page.wait_for_function("id => document.getElementById(id).currentTime > 0.2", arg=clip, timeout=10_000)
    duration = page.evaluate("id => document.getElementById(id).duration", clip)
    source = next(s for s in sample_truth["lines"] if s["index"] == CHANGED[0])
    assert abs(duration - (source["end"] - source["start"] + 0.6)) < 0.15  # the line and its padding
    assert button.inner_text() == "\u25a0"  # shows it is playing

    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "qa-report.png"))
    page.close()
    assert not errors, errors
    assert all(url.startswith(("file:", "data:")) for url in requests), requests
    assert html.stat().st_size < 1_000_000
