"""``<stem>.qa.patch``: the likely corrections as a unified diff against the transcript as given.

One hunk per corrected line (neighbouring rows share one), the heard words in
place of the written ones in the Russian text only: the English, the
layout, the encoding and every line ending stay as they are, because only the
bytes of the corrected rows change and they are written back in the file's
own encoding. ``git apply`` and ``patch -p1`` apply it in the transcript's
folder. Files a line-based diff cannot describe get no patch, and the
summary says why: subtitle files (a cue's Russian may run over several rows),
UTF-16/32 (not line-based bytes), old Mac line ends (a lone CR is no line
break to diff tools), and rows holding bytes no encoding could read.
"""

from __future__ import annotations

import codecs
import re
from collections.abc import Sequence
from dataclasses import dataclass

from pipeline.qa.findings import Finding
from pipeline.qa.verdict import Edit
from pipeline.transcript import Source
from pipeline.types import Line

CONTEXT = 1  # rows of context either side of a corrected row: few, so each correction is its own hunk
_ROW = re.compile(rb"[^\r\n]*(?:\r\n|\n|\r)|[^\r\n]+$")
_WORD = re.compile(r"\S+")


@dataclass(frozen=True, slots=True)
class Patch:
    """The patch's bytes (``None`` when there is nothing to write) and what to tell the user."""

    data: bytes | None
    corrections: int  # lines corrected
    note: str  # why there is no patch, or which corrections it leaves out


NO_PATCH = Patch(None, 0, "")


def corrections(findings: Sequence[Finding], lines: Sequence[Line]) -> dict[int, tuple[Edit, ...]]:
    """The likely findings' edits per line index, in order, overlapping ones dropped."""
    by_line: dict[int, list[Edit]] = {}
    for f in findings:
        if f.likely and f.line is not None and f.verdict is not None:
            by_line.setdefault(f.line, []).extend(f.verdict.edits)
    out: dict[int, tuple[Edit, ...]] = {}
    for index, edits in by_line.items():
        kept: list[Edit] = []
        for edit in sorted(edits, key=lambda e: (e.start, e.end)):
            if not kept or (edit.start >= kept[-1].end and edit != kept[-1]):
                kept.append(edit)
        if kept and lines[index].ru:
            out[index] = tuple(kept)
    return out


def make_patch(source: Source, findings: Sequence[Finding], name: str) -> Patch:
    """The patch of the likely corrections in ``findings`` against ``source``, named ``name`` in it."""
    fixes = corrections(findings, source.lines)
    if not fixes:
        return NO_PATCH
    why = _unpatchable(source)
    if why:
        return Patch(None, 0, why)
    codec = "utf-8" if codecs.lookup(source.encoding).name == "utf-8-sig" else source.encoding
    rows = _ROW.findall(source.data)
    changed: dict[int, bytes] = {}
    skipped = 0
    for index, edits in sorted(fixes.items()):
        line = source.lines[index]
        number = line.source_line - 1
        new = _corrected_row(rows[number], line.ru, edits, codec) if 0 <= number < len(rows) else None
        if new is None:
            skipped += 1
        elif new != rows[number]:
            changed[number] = new
    note = f"{skipped} correction(s) could not be placed in the file" if skipped else ""
    if not changed:
        return Patch(None, 0, note or "the corrections change nothing in the file")
    return Patch(_unified(rows, changed, name), len(changed), note)


def _unpatchable(source: Source) -> str:
    if source.subtitles:
        return "no patch for a subtitle transcript"
    if "\n".encode(source.encoding, "replace") != b"\n":
        return f"no patch for a {source.encoding.upper()} transcript"
    if b"\r" in source.data.replace(b"\r\n", b""):
        return "no patch for a transcript with old Mac line ends (CR)"
    return ""


def _corrected_row(row: bytes, ru: str, edits: Sequence[Edit], codec: str) -> bytes | None:
    """The row with its Russian text corrected, in the file's encoding; ``None`` when it cannot be."""
    body = row.rstrip(b"\r\n")
    ending = row[len(body) :]
    try:
        text = body.decode(codec)
    except UnicodeDecodeError:
        return None
    at = text.find(ru)
    if not ru or at < 0 or "\ufffd" in text:
        return None
    fixed = apply_to_text(ru, edits)
    try:
        return (text[:at] + fixed + text[at + len(ru) :]).encode(codec) + ending
    except UnicodeEncodeError:
        return None


def apply_to_text(text: str, edits: Sequence[Edit]) -> str:
    """``text`` with ``edits`` (word indices of ``text.split()``) made, its other spacing kept."""
    spans = [(m.start(), m.end()) for m in _WORD.finditer(text)]
    for edit in sorted(edits, key=lambda e: e.start, reverse=True):
        said = " ".join(edit.words)
        if edit.start < edit.end:
            lo, hi = spans[edit.start][0], spans[edit.end - 1][1]
            if not said:  # a dropped word takes one space with it
                if hi < len(text) and text[hi] == " ":
                    hi += 1
                elif lo > 0 and text[lo - 1] == " ":
                    lo -= 1
            text = text[:lo] + said + text[hi:]
        elif edit.start < len(spans):
            at = spans[edit.start][0]
            text = text[:at] + said + " " + text[at:]
        else:
            text = text + " " + said
    return text


def _unified(rows: Sequence[bytes], changed: dict[int, bytes], name: str) -> bytes:
    out = [f"--- {_header('a', name)}\n".encode(), f"+++ {_header('b', name)}\n".encode()]
    groups: list[list[int]] = []
    for number in sorted(changed):
        if groups and number - CONTEXT <= groups[-1][-1] + CONTEXT:
            groups[-1].append(number)
        else:
            groups.append([number])
    for group in groups:
        first, last = max(0, group[0] - CONTEXT), min(len(rows) - 1, group[-1] + CONTEXT)
        body: list[bytes] = []
        for number in range(first, last + 1):
            row = rows[number]
            if number in changed:
                body += [b"-" + _ended(row), b"+" + _ended(changed[number])]
            else:
                body.append(b" " + _ended(row))
        count = last - first + 1
        out.append(f"@@ -{first + 1},{count} +{first + 1},{count} @@\n".encode())
        out += body
    return b"".join(out)


def _ended(row: bytes) -> bytes:
    """A diff line ends with a newline; a last row without one says so as diff does."""
    return row if row.endswith((b"\n", b"\r")) else row + b"\n\\ No newline at end of file\n"


def _header(side: str, name: str) -> str:
    """``a/NAME`` as git writes it in a patch: C-quoted when the name is not plain printable ASCII."""
    path = f"{side}/{name}"
    if all(32 < ord(ch) < 127 and ch not in '"\\' for ch in path):
        return path
    escaped = "".join(
        {'"': '\\"', "\\": "\\\\"}.get(ch, ch)
        if 32 <= ord(ch) < 127
        else "".join(f"\\{b:03o}" for b in ch.encode("utf-8"))
        for ch in path
    )
    return f'"{escaped}"'
