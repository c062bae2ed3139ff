"""Every subtitle file subpipe writes reads back as the cues it was written from.

By subpipe's own readers (from disk, through encoding detection and format
sniffing) and, for SRT, by the `srt` library: SRT, WebVTT in both layouts,
the single-language files and the karaoke WebVTT.
"""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest
import srt
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pipeline.errors import SubtitleError
from pipeline.subtitles.formats import read_subtitles, write_outputs
from pipeline.subtitles.formats._common import clean_rows
from pipeline.types import Alignment, Cue

CYRILLIC = "абвгдеёжзийклмнопрстуфхцчшщъыьэюяАБВГДЕЁЖЗИЙКЛМНОПРСТУФХЦЧШЩЭЮЯ"
LATIN = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
PUNCTUATION = ".,!?'\"-—:;()«»…%№0123456789"


def _row(letters: str) -> st.SearchStrategy[str]:
    word = st.text(letters, min_size=1, max_size=9)
    decorated = st.tuples(word, st.text(PUNCTUATION, max_size=2)).map("".join)
    return st.lists(decorated, min_size=1, max_size=6).map(" ".join)


@st.composite
def episodes(draw: st.DrawFn) -> list[Cue]:
    """Cues as the cue builder makes them: in time order, apart, one or two rows per language."""
    cues, t = [], draw(st.integers(0, 3_600_000))
    for _ in range(draw(st.integers(1, 12))):
        shown = draw(st.sampled_from(["ru", "en", "both"]))
        ru = tuple(draw(st.lists(_row(CYRILLIC), min_size=shown != "en", max_size=2 * (shown != "en"))))
        en = tuple(draw(st.lists(_row(LATIN), min_size=shown != "ru", max_size=2 * (shown != "ru"))))
        start = t + draw(st.integers(1, 5000))
        end = start + draw(st.integers(1, 9000))
        cues.append(Cue(start / 1000, end / 1000, ru, en))
        t = end
    return cues


def _plain(cues: list[Cue]) -> list[tuple[float, float, tuple[str, ...], tuple[str, ...]]]:
    return [(c.start, c.end, c.ru, c.en) for c in cues]


def _only(cues: list[Cue], lang: str) -> list[tuple[float, float, tuple[str, ...], tuple[str, ...]]]:
    keep = [c for c in cues if (c.ru if lang == "ru" else c.en)]
    return [(c.start, c.end, c.ru if lang == "ru" else (), c.en if lang == "en" else ()) for c in keep]


def _read(path: Path, languages: tuple[str, ...] | None) -> list[tuple]:
    read = read_subtitles(path, languages)
    assert read.warnings == (), path.name
    return _plain(list(read.cues))


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(episodes(), st.sampled_from(["spans", "stacked"]))
def test_every_file_subpipe_writes_reads_back_identically(
    tmp_path_factory, cues: list[Cue], layout: str
) -> None:
    out = tmp_path_factory.mktemp("out")
    write_outputs(out, "ep", Alignment("ep.ogg", 0.0, "m", ()), cues, vtt_layout=layout)
    dual = _plain(cues)
    for name in ("ep.ru-en.srt", "ep.ru-en.vtt"):
        assert _read(out / name, ("ru", "en")) == dual, name
    # WebVTT's classes say each row's language outright
    assert _read(out / "ep.ru-en.vtt", None) == dual
    for lang in ("ru", "en"):
        for suffix in ("srt", "vtt"):
            if _only(cues, lang):
                assert _read(out / f"ep.{lang}.{suffix}", (lang,)) == _only(cues, lang)
            else:  # nothing in that language: a file without cues, which readers refuse
                with pytest.raises(SubtitleError, match="no cues"):
                    read_subtitles(out / f"ep.{lang}.{suffix}")
    karaoke = [(c.start, c.end, tuple(clean_rows(c.ru)), ()) for c in cues if c.ru]
    if karaoke:
        assert _read(out / "ep.ru.karaoke.vtt", ("ru",)) == karaoke
    # and the srt library reads the SRT files as they were written
    for name, rows in (
        ("ep.ru-en.srt", lambda c: [*c.ru, *(f"<i>{r}</i>" for r in c.en)]),
        ("ep.ru.srt", lambda c: list(c.ru)),
        ("ep.en.srt", lambda c: list(c.en)),
    ):
        theirs = list(srt.parse((out / name).read_text(encoding="utf-8")))
        ours = [c for c in cues if rows(c)]
        assert [(s.start, s.end, s.content) for s in theirs] == [
            (timedelta(seconds=c.start), timedelta(seconds=c.end), "\n".join(rows(c))) for c in ours
        ], name


def test_dual_files_read_back_with_languages_told_from_the_file(tmp_path: Path) -> None:
    cues = [
        Cue(1.0, 2.5, ("Всем привет,", "это эпизод."), ("Hello everyone,", "this is the episode.")),
        Cue(3.0, 4.0, ("GDPR и Facebook",), ("GDPR and Facebook",)),  # a Russian row mostly Latin
        Cue(5.0, 6.0, (), ("Only English here.",)),
        Cue(7.0, 8.0, ("Только русский.",), ()),
    ]
    write_outputs(tmp_path, "ep", Alignment("ep.ogg", 0.0, "m", ()), cues)
    for name in ("ep.ru-en.srt", "ep.ru-en.vtt"):
        assert _read(tmp_path / name, None) == _plain(cues), name
    for lang in ("ru", "en"):
        assert _read(tmp_path / f"ep.{lang}.srt", None) == _only(cues, lang)
