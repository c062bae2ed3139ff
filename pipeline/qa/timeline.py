"""The whole episode at a glance, as an inline SVG: where text and audio agree and where not.

Three tracks over one time axis: the transcript's lines coloured by how well
the ASR heard them (unspoken lines as red marks where they belong), the
speech the ASR found (speech that matches no line in orange), and the
findings. Every mark carries a tooltip and links to its row in the page.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from html import escape

from pipeline.qa.findings import Finding, Kind, place
from pipeline.qa.fmt import clock
from pipeline.qa.scores import SegmentScore
from pipeline.types import AlignedLine, LineStatus, Word

WIDTH = 1000
LEFT = 92  # room for the track labels
TRACKS = {"Transcript": 10, "Speech": 38, "Findings": 66}
HEIGHT = 18
AXIS_Y = 96
COLOURS = {
    "agree": "#3a9d5d",
    "partly": "#e0a526",
    "disagree": "#d64545",
    "english": "#8e6bbf",
    "speech": "#b9c2cc",
    "unscripted": "#f07f1d",
}
KIND_COLOURS = {
    Kind.TRANSCRIPT_ERROR: "#d64545",
    Kind.UNSPOKEN: "#a01d1d",
    Kind.UNSCRIPTED: "#f07f1d",
    Kind.UNCERTAIN_TIMING: "#2f6fb5",
    Kind.RULE_VIOLATION: "#7a7a7a",
    Kind.MISSING_TRANSLATION: "#8e6bbf",
    Kind.MISSING_RUSSIAN: "#8e6bbf",
}
POSSIBLE_COLOUR = "#eeb4b4"  # a transcript error the audio did not decide: faded
AGREE_WER = 0.15
PARTLY_WER = 0.4
SPEECH_JOIN = 0.5  # ASR words closer than this are drawn as one stretch of speech


def line_colour(al: AlignedLine, seg: SegmentScore | None) -> str:
    if al.status is LineStatus.NO_TEXT:
        return COLOURS["english"]
    rate = seg.wer if seg is not None else 1.0
    return COLOURS["agree" if rate <= AGREE_WER else "partly" if rate <= PARTLY_WER else "disagree"]


def render(
    duration: float,
    lines: Sequence[AlignedLine],
    segments: dict[int, SegmentScore],
    words: Sequence[Word],
    unscripted: Sequence[tuple[float, float]],
    findings: Sequence[Finding],
) -> str:
    scale = (WIDTH - LEFT - 8) / max(duration, 1.0)

    def x(t: float) -> float:
        return round(LEFT + t * scale, 1)

    def w(a: float, b: float) -> float:
        return round(max((b - a) * scale, 1.0), 1)

    parts = [
        f'<svg class="timeline" viewBox="0 0 {WIDTH} {AXIS_Y + 18}" xmlns="http://www.w3.org/2000/svg" '
        'role="img" aria-label="Episode timeline">'
    ]
    for label, y in TRACKS.items():
        parts.append(f'<text x="4" y="{y + 13}" class="track">{label}</text>')
    y = TRACKS["Transcript"]
    for al in lines:
        if al.status is LineStatus.UNSPOKEN:
            a, b = place(lines, al.line.index)
            mid = x((a + b) / 2)
            tip = f"line {al.line.index}: not heard ({clock(a)}–{clock(b)})"
            parts.append(
                f'<a href="#line-{al.line.index}"><path d="M{mid - 4},{y} h8 l-4,{HEIGHT} z" '
                f'fill="{KIND_COLOURS[Kind.UNSPOKEN]}"><title>{escape(tip)}</title></path></a>'
            )
        elif al.start is not None and al.end is not None:
            seg = segments.get(al.line.index)
            rate = f", WER {seg.wer:.2f}" if seg is not None and al.line.ru else ""
            tip = f"line {al.line.index}: {clock(al.start)}–{clock(al.end)}{rate}"
            parts.append(
                f'<a href="#line-{al.line.index}">'
                f'<rect x="{x(al.start)}" y="{y}" width="{w(al.start, al.end)}" height="{HEIGHT}" '
                f'fill="{line_colour(al, seg)}"><title>{escape(tip)}</title></rect></a>'
            )
    y = TRACKS["Speech"]
    for a, b in _stretches(words):
        parts.append(
            f'<rect x="{x(a)}" y="{y}" width="{w(a, b)}" height="{HEIGHT}" fill="{COLOURS["speech"]}"/>'
        )
    for a, b in unscripted:
        tip = f"speech matching no line: {clock(a)}–{clock(b)}"
        parts.append(
            f'<rect x="{x(a)}" y="{y}" width="{w(a, b)}" height="{HEIGHT}" fill="{COLOURS["unscripted"]}">'
            f"<title>{escape(tip)}</title></rect>"
        )
    y = TRACKS["Findings"]
    for n, f in enumerate(findings):
        what = f"{f.tier()} transcript error" if f.verdict is not None else f.kind.value
        tip = f"{what} at {clock(f.start)} (score {f.score:.2f}): {f.detail}"
        colour = POSSIBLE_COLOUR if f.verdict is not None and not f.likely else KIND_COLOURS[f.kind]
        parts.append(
            f'<a href="#finding-{n}"><rect x="{x(f.start)}" y="{y + round((1 - f.score) * 8)}" '
            f'width="{max(w(f.start, f.end), 2.0)}" height="{HEIGHT - round((1 - f.score) * 8)}" '
            f'fill="{colour}" opacity="0.85"><title>{escape(tip)}</title></rect></a>'
        )
    parts.extend(_axis(duration, x))
    parts.append("</svg>")
    return "".join(parts)


def _stretches(words: Sequence[Word]) -> list[tuple[float, float]]:
    out: list[tuple[float, float]] = []
    for word in sorted(words, key=lambda w: w.start):
        if out and word.start - out[-1][1] <= SPEECH_JOIN:
            out[-1] = (out[-1][0], max(out[-1][1], word.end))
        else:
            out.append((word.start, word.end))
    return out


def _axis(duration: float, x: Callable[[float], float]) -> list[str]:
    step = next((s for s in (10, 30, 60, 120, 300, 600, 900) if duration / s <= 12), 1800)
    parts = [f'<line x1="{LEFT}" y1="{AXIS_Y}" x2="{WIDTH - 8}" y2="{AXIS_Y}" class="axis"/>']
    t = 0.0
    while t <= duration:
        pos = x(t)
        parts.append(f'<line x1="{pos}" y1="{AXIS_Y}" x2="{pos}" y2="{AXIS_Y + 4}" class="axis"/>')
        parts.append(f'<text x="{pos}" y="{AXIS_Y + 14}" class="tick">{clock(t).split(".")[0]}</text>')
        t += step
    return parts
