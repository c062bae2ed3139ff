"""``<stem>.qa.html``: one self-contained page, readable offline and safe to mail around.

Styles, the timeline SVG, a few lines of script and the audio clips are all
inline, and a Content-Security-Policy forbids any fetch, so the page can
never reach the network. Clips exist only for the stretches findings point
at, most important first and capped, to keep an hour's page small.
"""

from __future__ import annotations

from collections.abc import Sequence
from html import escape

from pipeline.qa.build import Report
from pipeline.qa.clips import Clip
from pipeline.qa.diff import NORMALISATION, differing_words
from pipeline.qa.findings import Finding, Kind, place
from pipeline.qa.fmt import clock, percent
from pipeline.qa.report_text import finding_counts, tier_counts
from pipeline.qa.scores import SegmentScore
from pipeline.qa.timeline import COLOURS, KIND_COLOURS, render
from pipeline.qa.verdict import LIKELY, POSSIBLE
from pipeline.types import AlignedLine, LineStatus, Word

DOUBTFUL = 0.5  # ASR word probability under which a heard word is shown as doubtful

# Nothing may be fetched: clips are data: URIs, styles and script are inline.
CSP = (
    "default-src 'none'; style-src 'unsafe-inline'; script-src 'unsafe-inline'; "
    "media-src data:; img-src data:"
)

STYLE = """
body{font:14px/1.45 system-ui,sans-serif;margin:0 auto;max-width:1200px;padding:16px 24px;color:#1d2329}
h1{font-size:22px;margin:0 0 4px}h2{font-size:17px;margin:28px 0 8px}
.meta,.note{color:#5b6670}.note{font-size:12px}
.cards{display:flex;gap:12px;flex-wrap:wrap;margin:14px 0}
.card{border:1px solid #d9dee3;border-radius:8px;padding:8px 14px;min-width:110px}
.card b{display:block;font-size:22px}
.timeline{width:100%;height:auto;border:1px solid #e3e7eb;border-radius:6px;background:#fbfcfd}
.timeline .track{font-size:11px;fill:#5b6670}.timeline .tick{font-size:10px;fill:#5b6670;text-anchor:middle}
.timeline .axis{stroke:#9aa5af;stroke-width:1}
.legend span{display:inline-block;margin-right:14px;font-size:12px}
.legend i{display:inline-block;width:12px;height:12px;border-radius:2px;margin-right:4px;vertical-align:-2px}
table{border-collapse:collapse;width:100%}
th,td{padding:5px 6px;border-bottom:1px solid #eceff2;vertical-align:top}
th{text-align:left;font-size:12px;color:#5b6670;position:sticky;top:0;background:#fff}
td.n{text-align:right;white-space:nowrap;font-variant-numeric:tabular-nums}td.t{white-space:nowrap}
.kind{font-size:12px;padding:1px 6px;border-radius:9px;color:#fff;white-space:nowrap}
.bar{display:inline-block;height:6px;background:#d64545;border-radius:3px;vertical-align:middle;margin-right:4px}
.d{background:#fde2e2;color:#9b1c1c;text-decoration:line-through;text-decoration-color:#c9a0a0}
.i{background:#fff1c2;color:#6b4d00}.doubt{border-bottom:1px dotted #6b4d00}
tr.unspoken td.ref{color:#9b1c1c}tr.run td{background:#fff7ef}
button.play{border:1px solid #c5ccd3;background:#fff;border-radius:14px;width:28px;height:24px;cursor:pointer}
button.play.playing{background:#1d2329;color:#fff}
body.only-diff tr.same{display:none}
details#possible summary{cursor:pointer;margin:28px 0 8px}details#possible summary h2{display:inline;margin:0}
#likely td.ref{white-space:nowrap}
"""

SCRIPT = """
document.addEventListener('click', function (event) {
  var button = event.target.closest('button.play');
  if (!button) return;
  var audio = document.getElementById(button.dataset.clip);
  document.querySelectorAll('audio').forEach(function (other) { if (other !== audio) other.pause(); });
  if (audio.paused) { audio.currentTime = 0; audio.play(); } else { audio.pause(); }
});
document.querySelectorAll('audio').forEach(function (audio) {
  function mark(on) {
    document.querySelectorAll('button.play[data-clip="' + audio.id + '"]').forEach(function (b) {
      b.classList.toggle('playing', on); b.textContent = on ? '\\u25A0' : '\\u25B6';
    });
  }
  audio.addEventListener('play', function () { mark(true); });
  audio.addEventListener('pause', function () { mark(false); });
  audio.addEventListener('ended', function () { mark(false); });
});
document.getElementById('only-diff').addEventListener('change', function (event) {
  document.body.classList.toggle('only-diff', event.target.checked);
});
"""


def clip_key(finding: Finding) -> str:
    return f"clip-line-{finding.line}" if finding.line is not None else f"clip-at-{finding.start:.2f}"


def clip_stretches(report: Report) -> list[tuple[str, float, float]]:
    """Audio stretches worth a clip, most important first: each finding's line or span."""
    out = []
    for f in report.findings:
        if f.line is not None:
            al = report.alignment.lines[f.line]
            start, end = (
                (al.start, al.end) if al.start is not None and al.end is not None else (f.start, f.end)
            )
        else:
            start, end = f.start, f.end
        if end > start:
            out.append((clip_key(f), start, end))
    return out


def render_page(report: Report, stem: str, clips: dict[str, Clip], patch: str = "") -> str:
    """The page: likely transcript errors first (``patch`` says where their corrections are, or why
    there are none), then each other kind in its own section, and the possible transcript errors
    folded away."""
    segments = report.scores.by_line()
    runs = [(report.words[r[0]].start, report.words[r[-1]].end, r) for r in report.heard.runs]
    svg = render(
        report.alignment.duration,
        report.alignment.lines,
        segments,
        report.words,
        [(a, b) for a, b, _ in runs],
        report.findings,
    )
    body = [
        f"<header><h1>QA report: {escape(stem)}</h1>",
        f'<p class="meta">{escape(report.alignment.audio)} · {clock(report.alignment.duration)} · '
        f"ASR model {escape(report.alignment.model or 'unknown')}</p></header>",
        _cards(report),
        f'<p class="note">WER and CER of the ASR against the Russian of the transcript. '
        f"{escape(NORMALISATION)}</p>",
        "<h2>Timeline</h2>",
        svg,
        _legend(),
        _findings_sections(report.findings, clips, patch),
        '<h2>Lines</h2><label><input type="checkbox" id="only-diff"> only lines that differ</label>',
        _lines_table(report, segments, runs, clips),
        '<div hidden id="clips">',
        *(f'<audio id="{key}" preload="none" src="{clip.uri}"></audio>' for key, clip in clips.items()),
        "</div>",
    ]
    return (
        '<!doctype html><html lang="en"><head><meta charset="utf-8">'
        f'<meta http-equiv="Content-Security-Policy" content="{CSP}">'
        '<meta name="viewport" content="width=device-width,initial-scale=1">'
        f"<title>QA · {escape(stem)}</title><style>{STYLE}</style></head><body>"
        + "\n".join(body)
        + f"<script>{SCRIPT}</script></body></html>\n"
    )


def _cards(report: Report) -> str:
    s = report.scores
    counts = finding_counts(report)
    tiers = tier_counts(report)
    cards = [
        ("Likely transcript errors", str(tiers[LIKELY]), f"{tiers[POSSIBLE]} more possible"),
        (
            "WER",
            percent(s.wer),
            f"{s.words.substitutions} sub · {s.words.deletions} del · {s.words.insertions} ins",
        ),
        (
            "CER",
            percent(s.cer),
            f"{s.chars.substitutions + s.chars.deletions + s.chars.insertions} chars differ",
        ),
        ("Lines", str(len(report.alignment.lines)), f"{counts['unspoken']} not heard"),
        ("Findings", str(len(report.findings)), f"{counts['transcript_error']} transcript errors in all"),
        ("Unscripted", str(counts["unscripted"]), "speech with no line"),
    ]
    items = "".join(
        f'<div class="card">{k}<b>{v}</b><span class="note">{d}</span></div>' for k, v, d in cards
    )
    return f'<div class="cards">{items}</div>'


def _legend() -> str:
    entries = [
        (COLOURS["agree"], "line heard as written"),
        (COLOURS["partly"], "partly different"),
        (COLOURS["disagree"], "mostly different"),
        (KIND_COLOURS[Kind.UNSPOKEN], "line not heard"),
        (COLOURS["english"], "English only"),
        (COLOURS["speech"], "speech"),
        (COLOURS["unscripted"], "speech matching no line"),
    ]
    spans = "".join(f'<span><i style="background:{c}"></i>{escape(t)}</span>' for c, t in entries)
    return f'<p class="legend">{spans}</p>'


def _play(key: str, clips: dict[str, Clip]) -> str:
    clip = clips.get(key)
    if clip is None:
        return ""
    title = f"play {clock(clip.start)}–{clock(clip.end)}"
    return f'<button class="play" data-clip="{key}" title="{title}" aria-label="{title}">\u25b6</button>'


SECTIONS = (
    ("unspoken", "Unspoken lines", {Kind.UNSPOKEN}),
    ("unscripted", "Unscripted speech", {Kind.UNSCRIPTED}),
    ("rules", "Rule violations", {Kind.RULE_VIOLATION}),
    ("other", "Other findings", {Kind.UNCERTAIN_TIMING, Kind.MISSING_TRANSLATION, Kind.MISSING_RUSSIAN}),
)


def _findings_sections(findings: Sequence[Finding], clips: dict[str, Clip], patch: str) -> str:
    """One table per tier and kind; every row keeps ``finding-N``, N its place in ``qa.json``."""
    numbered = list(enumerate(findings))
    likely = [(n, f) for n, f in numbered if f.likely]
    possible = [(n, f) for n, f in numbered if f.kind is Kind.TRANSCRIPT_ERROR and not f.likely]
    out = ['<section id="findings">', f'<h2 id="likely-head">Likely transcript errors ({len(likely)})</h2>']
    if likely:
        out.append(
            '<p class="note">The audio fits what the ASR heard far better than what the transcript says.'
            + (f" Corrections: {escape(patch)}." if patch else "")
            + "</p>"
        )
        out.append(_likely_table(likely, clips))
    else:
        out.append(
            '<p class="note" id="likely-none">None: where the ASR heard other words, the audio does not '
            "decide against the transcript.</p>"
        )
    for key, title, kinds in SECTIONS:
        found = [(n, f) for n, f in numbered if f.kind in kinds]
        if found:
            out += [f"<h2>{title} ({len(found)})</h2>", _findings_table(key, found, clips)]
    if possible:
        out += [
            '<details id="possible"><summary>'
            f"<h2>Possible transcript errors ({len(possible)})</h2> "
            '<span class="note">the ASR heard other words, but the audio does not decide: '
            "most are the ASR's own slips</span></summary>",
            _findings_table("possible-table", possible, clips),
            "</details>",
        ]
    out.append("</section>")
    return "\n".join(out)


def _likely_table(found: Sequence[tuple[int, Finding]], clips: dict[str, Clip]) -> str:
    rows = []
    for n, f in found:
        margin = f.verdict.margin if f.verdict is not None else None
        evidence = f"{margin:+.1f} nats for the heard words" if margin is not None else ""
        rows.append(
            f'<tr id="finding-{n}" data-kind="{f.kind.value}" data-verdict="likely">'
            f'<td class="t">{clock(f.start)}–{clock(f.end)}</td>{_line_cell(f)}'
            f'<td class="ref"><span class="d">{escape(f.reference)}</span></td>'
            f'<td><span class="i">{escape(f.heard)}</span></td><td>{escape(f.corrected)}</td>'
            f'<td class="note" title="{escape(f.detail)}">{escape(evidence)}</td>'
            f"<td>{_play(clip_key(f), clips)}</td></tr>"
        )
    head = "<th>time</th><th>line</th><th>written</th><th>heard</th><th>corrected line</th><th>evidence</th>"
    return (
        f'<table id="likely" class="findings"><thead><tr>{head}<th></th></tr></thead>'
        f"<tbody>{''.join(rows)}</tbody></table>"
    )


def _findings_table(key: str, found: Sequence[tuple[int, Finding]], clips: dict[str, Clip]) -> str:
    rows = []
    for n, f in found:
        colour = KIND_COLOURS[f.kind]
        verdict = f' data-verdict="{f.verdict.verdict}"' if f.verdict is not None else ""
        rows.append(
            f'<tr id="finding-{n}" data-kind="{f.kind.value}"{verdict}>'
            f'<td class="n"><span class="bar" style="width:{round(40 * f.score)}px"></span>{f.score:.2f}</td>'
            f'<td><span class="kind" style="background:{colour}">{f.kind.value.replace("_", " ")}</span></td>'
            f'<td class="t">{clock(f.start)}–{clock(f.end)}</td>{_line_cell(f)}'
            f"<td>{escape(f.reference)}</td><td>{escape(f.heard)}</td><td>{escape(f.detail)}</td>"
            f"<td>{_play(clip_key(f), clips)}</td></tr>"
        )
    head = "<th>score</th><th>kind</th><th>time</th><th>line</th><th>transcript</th><th>heard</th>"
    return (
        f'<table id="{key}" class="findings"><thead><tr>{head}<th>evidence</th><th></th></tr></thead>'
        f"<tbody>{''.join(rows)}</tbody></table>"
    )


def _line_cell(f: Finding) -> str:
    return (
        '<td class="n"></td>'
        if f.line is None
        else f'<td class="n"><a href="#line-{f.line}">{f.line}</a></td>'
    )


def _lines_table(
    report: Report,
    segments: dict[int, SegmentScore],
    runs: Sequence[tuple[float, float, tuple[int, ...]]],
    clips: dict[str, Clip],
) -> str:
    rows: list[str] = []
    pending = sorted(runs)
    for al in report.alignment.lines:
        at = place(report.alignment.lines, al.line.index)[0]
        while pending and pending[0][0] < at:
            rows.append(_run_row(*pending.pop(0), report.words, clips))
        rows.append(_line_row(al, segments.get(al.line.index), report, clips))
    rows.extend(_run_row(*run, report.words, clips) for run in pending)
    head = "<th>line</th><th>time</th><th>conf.</th><th>WER</th><th>transcript</th><th>heard</th><th></th>"
    return f'<table id="lines"><thead><tr>{head}</tr></thead><tbody>{"".join(rows)}</tbody></table>'


def _line_row(al: AlignedLine, seg: SegmentScore | None, report: Report, clips: dict[str, Clip]) -> str:
    index = al.line.index
    heard_words = [report.words[j] for j in report.heard.lines.get(index, ())]
    if seg is not None:
        ref_diff, hyp_diff = differing_words(seg.ops, seg.ref, seg.hyp)
    else:
        ref_diff, hyp_diff = set(range(len(al.line.ru.split()))), set()
    ref_html = " ".join(
        f'<span class="d">{escape(w)}</span>' if k in ref_diff else escape(w)
        for k, w in enumerate(al.line.ru.split())
    )
    hyp_html = " ".join(_heard_word(w, k in hyp_diff) for k, w in enumerate(heard_words))
    if al.status is LineStatus.NO_TEXT:
        ref_html = f'<i class="note">English only:</i> {escape(al.line.en)}'
    time = (
        f"{clock(al.start)}–{clock(al.end)}" if al.start is not None and al.end is not None else "not heard"
    )
    same = seg is not None and not ref_diff and not hyp_diff and al.status is LineStatus.ALIGNED
    classes = ["same" if same else "differs"]
    if al.status is LineStatus.UNSPOKEN and index not in report.heard.revived:
        classes.append("unspoken")
    rate = f"{seg.wer:.2f}" if seg is not None and al.line.ru else ""
    return (
        f'<tr id="line-{index}" class="{" ".join(classes)}">'
        f'<td class="n">{index}</td><td class="t">{time}</td>'
        f'<td class="n">{al.confidence:.2f}</td><td class="n">{rate}</td>'
        f'<td class="ref">{ref_html}</td><td>{hyp_html}</td>'
        f"<td>{_play(f'clip-line-{index}', clips)}</td></tr>"
    )


def _heard_word(word: Word, differs: bool) -> str:
    classes = (["i"] if differs else []) + (["doubt"] if word.probability < DOUBTFUL else [])
    title = f' title="ASR confidence {word.probability:.2f}"'
    attr = f' class="{" ".join(classes)}"' if classes else ""
    return f"<span{attr}{title}>{escape(word.text)}</span>"


def _run_row(
    start: float, end: float, run: tuple[int, ...], words: Sequence[Word], clips: dict[str, Clip]
) -> str:
    heard = " ".join(_heard_word(words[j], True) for j in run)
    return (
        f'<tr class="run differs"><td class="n">–</td><td class="t">{clock(start)}–{clock(end)}</td><td></td>'
        f'<td></td><td class="note">speech matching no line</td><td>{heard}</td>'
        f"<td>{_play(f'clip-at-{start:.2f}', clips)}</td></tr>"
    )
