"""The ``.align.json`` contract: the aligner's result in plain JSON types.

Times are rounded to milliseconds. Only the contract's fields travel: word
probabilities and the raw ASR words are not kept.
"""

from __future__ import annotations

from typing import Any

from pipeline.types import AlignedLine, Alignment, Line, LineStatus, Span, Word


def _t(seconds: float | None) -> float | None:
    return None if seconds is None else round(float(seconds), 3)


def alignment_to_dict(alignment: Alignment) -> dict[str, Any]:
    return {
        "audio": alignment.audio,
        "duration": _t(alignment.duration),
        "model": alignment.model,
        "lines": [
            {
                "index": al.line.index,
                "source_line": al.line.source_line,
                "ru": al.line.ru,
                "en": al.line.en,
                "status": al.status.value,
                "start": _t(al.start),
                "end": _t(al.end),
                "confidence": round(min(max(float(al.confidence), 0.0), 1.0), 3),
                "words": [{"text": w.text, "start": _t(w.start), "end": _t(w.end)} for w in al.words],
            }
            for al in alignment.lines
        ],
        "unscripted": [
            {"start": _t(span.start), "end": _t(span.end), "text": span.text} for span in alignment.unscripted
        ],
    }


def alignment_from_dict(data: dict[str, Any]) -> Alignment:
    """The inverse of :func:`alignment_to_dict`; raises ``ValueError`` on a malformed dict."""
    try:
        lines = tuple(
            AlignedLine(
                line=Line(
                    index=int(d["index"]),
                    ru=str(d["ru"]),
                    en=str(d["en"]),
                    source_line=int(d.get("source_line", 0)),  # absent from files before it was added
                ),
                status=LineStatus(d["status"]),
                start=_opt_float(d["start"]),
                end=_opt_float(d["end"]),
                confidence=float(d["confidence"]),
                words=tuple(Word(str(w["text"]), float(w["start"]), float(w["end"])) for w in d["words"]),
            )
            for d in data["lines"]
        )
        return Alignment(
            audio=str(data["audio"]),
            duration=float(data["duration"]),
            model=str(data["model"]),
            lines=lines,
            unscripted=tuple(
                Span(float(s["start"]), float(s["end"]), str(s["text"])) for s in data["unscripted"]
            ),
        )
    except (KeyError, TypeError, ValueError) as exc:
        raise ValueError(f"not an alignment dict: {exc!r}") from exc


def _opt_float(value: Any) -> float | None:
    return None if value is None else float(value)
