"""Advanced SubStation Alpha (.ass) with a style per language, for burned-in subtitles.

Both languages sit at the bottom centre: English on the bottom margin and
Russian above it, raised by the height of that cue's English rows, so the two
never overlap whatever the renderer's collision handling.
"""

from __future__ import annotations

from collections.abc import Sequence

from pipeline.subtitles.formats._common import clean_rows
from pipeline.types import Cue

WIDTH, HEIGHT = 1920, 1080
RU_SIZE, EN_SIZE = 60, 52
MARGIN_V = 50
_ROW_HEIGHT = round(EN_SIZE * 1.25)  # a row of the English style, with its line spacing
_GAP = 10


def _style(name: str, size: int, colour: str, *, italic: bool, charset: int) -> str:
    """A bottom-centre style: white or pale-yellow text, 3 px black outline, soft shadow."""
    fields = [name, "Arial", size, colour, "&H000000FF", "&H00000000", "&H80000000", 0, -1 if italic else 0]
    fields += [0, 0, 100, 100, 0, 0, 1, 3, 1, 2, 80, 80, MARGIN_V, charset]
    return "Style: " + ",".join(str(f) for f in fields)


_HEADER = f"""[Script Info]
; Written by subpipe
Title: {{title}}
ScriptType: v4.00+
WrapStyle: 2
ScaledBorderAndShadow: yes
PlayResX: {WIDTH}
PlayResY: {HEIGHT}

[V4+ Styles]
Format: Name, Fontname, Fontsize, PrimaryColour, SecondaryColour, OutlineColour, BackColour, \
Bold, Italic, Underline, StrikeOut, ScaleX, ScaleY, Spacing, Angle, BorderStyle, Outline, Shadow, \
Alignment, MarginL, MarginR, MarginV, Encoding
{_style("RU", RU_SIZE, "&H00FFFFFF", italic=False, charset=204)}
{_style("EN", EN_SIZE, "&H00A8E9FF", italic=True, charset=1)}

[Events]
Format: Layer, Start, End, Style, Name, MarginL, MarginR, MarginV, Effect, Text"""


def compose_ass(cues: Sequence[Cue], title: str = "subpipe") -> str:
    """An ASS script with one ``RU`` and one ``EN`` event per cue (where it has that language)."""
    events = []
    for cue in cues:
        ru, en = clean_rows(cue.ru), clean_rows(cue.en)
        times = f"{_time(cue.start)},{_time(cue.end)}"
        if en:
            events.append(f"Dialogue: 0,{times},EN,,0,0,0,,{_text(en)}")
        if ru:
            # WrapStyle 2 never wraps, so each English row is exactly one row high.
            lift = MARGIN_V + len(en) * _ROW_HEIGHT + _GAP if en else 0
            events.append(f"Dialogue: 0,{times},RU,,0,0,{lift},,{_text(ru)}")
    header = _HEADER.replace("{title}", " ".join(title.split()) or "subpipe")
    return "\n".join([header, *events]) + "\n"


def _text(rows: Sequence[str]) -> str:
    # Braces open override blocks and a backslash starts \N or \h, so text may carry neither.
    safe = (r.replace("{", "(").replace("}", ")").replace("\\", "/") for r in rows)
    return r"\N".join(safe)


def _time(seconds: float) -> str:
    total = round(seconds * 100)
    hours, rest = divmod(total, 360_000)
    minutes, rest = divmod(rest, 6_000)
    return f"{hours}:{minutes:02d}:{rest // 100:02d}.{rest % 100:02d}"
