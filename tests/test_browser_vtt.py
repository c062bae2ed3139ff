"""Our WebVTT in a real browser: Chromium parses the tracks as we meant them and renders both languages.

A page served from loopback holds a <video> (a few seconds of a solid colour,
encoded here with PyAV) with our files as <track>s; the cues come back
through the TextTrack API, and a screenshot of a rendered dual cue is kept in
test-artifacts/.
"""

from __future__ import annotations

import functools
import http.server
import io
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import ClassVar

import av
import numpy as np
import pytest

from pipeline.subtitles.cues import build_cues
from pipeline.subtitles.formats import compose_karaoke, compose_vtt
from pipeline.types import AlignedLine, Cue, Line, LineStatus, Word
from tests.browser import ARTIFACTS, browser  # noqa: F401  (the fixture)

pytestmark = pytest.mark.slow

BACKGROUND = (16, 24, 64)
SECONDS = 8
LINES = [
    (
        "Всем привет, это завершающий эпизод нашего сезона.",
        "Hello everyone, this is the final episode of our season.",
    ),
    ("Сегодня у нас в гостях Арсен Обакиров.", "Today our guest is Arsen Obakirov."),
    ("Да.", "Yes."),
]


def _spoken(index: int, ru: str, en: str, start: float) -> AlignedLine:
    words, t = [], start
    for token in ru.split():
        words.append(Word(token, round(t, 3), round(t + 0.28, 3)))
        t += 0.33
    return AlignedLine(
        Line(index, ru, en), LineStatus.ALIGNED, words[0].start, words[-1].end, 0.9, tuple(words)
    )


@pytest.fixture(scope="module")
def cues() -> list[Cue]:
    lines = [_spoken(i, ru, en, start) for i, ((ru, en), start) in enumerate(zip(LINES, (0.4, 3.6, 6.9)))]
    built = build_cues(lines)
    assert len(built) == 3 and built[-1].end < SECONDS
    return built


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory, cues: list[Cue]) -> Iterator[str]:
    root = tmp_path_factory.mktemp("site")
    _video(root / "clip.webm")
    (root / "spans.vtt").write_text(compose_vtt(cues), encoding="utf-8")
    (root / "stacked.vtt").write_text(compose_vtt(cues, layout="stacked"), encoding="utf-8")
    (root / "karaoke.vtt").write_text(compose_karaoke(cues), encoding="utf-8")
    for name in ("spans", "stacked", "karaoke"):
        # Tracks load only from the page's own origin, so the page is served beside them.
        (root / f"{name}.html").write_text(PAGE.format(track=f"{name}.vtt"), encoding="utf-8")
    handler = functools.partial(_QuietHandler, directory=str(root))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    extensions_map: ClassVar[dict[str, str]] = {
        **http.server.SimpleHTTPRequestHandler.extensions_map,
        ".vtt": "text/vtt",
        ".webm": "video/webm",
    }

    def log_message(self, format: str, *args: object) -> None:
        pass


def _video(path: Path) -> None:
    """A tiny VP8 clip of one colour; the page scales it up, and the captions with it."""
    with av.open(str(path), "w", format="webm") as out:
        stream = out.add_stream("libvpx", rate=2, options={"deadline": "realtime", "cpu-used": "8"})
        stream.width, stream.height, stream.pix_fmt = 160, 90, "yuv420p"
        image = np.empty((90, 160, 3), np.uint8)
        image[:] = BACKGROUND
        for i in range(SECONDS * 2):
            frame = av.VideoFrame.from_ndarray(image, format="rgb24")
            frame.pts = i
            out.mux(stream.encode(frame))
        out.mux(stream.encode())


# Python's http.server ignores Range requests, without which Chromium cannot seek a served
# video; from a blob the whole clip is in memory and seekable.
PAGE = """<!doctype html><html><body style="margin:0;background:#000">
<video id="v" muted preload="auto" style="width:640px;height:360px;display:block">
<track kind="subtitles" srclang="ru" label="ru-en" src="{track}" default>
</video>
<script>
fetch('clip.webm').then(r => r.blob())
  .then(b => {{ document.getElementById('v').src = URL.createObjectURL(b); }});
</script></body></html>"""

READ_CUES = """async () => {
  const v = document.getElementById('v');
  const track = v.querySelector('track');
  if (track.readyState !== 2) {
    await new Promise((ok, bad) => { track.onload = ok; track.onerror = () => bad('track failed to load'); });
  }
  return Array.from(v.textTracks[0].cues).map(c => {
    const html = c.getCueAsHTML();
    const spans = lang => Array.from(html.querySelectorAll('span.' + lang)).map(s => s.textContent);
    return {id: c.id, start: c.startTime, end: c.endTime, text: c.text, line: c.line,
            ru: spans('ru'), en: spans('en'), plain: html.textContent};
  });
}"""

SEEK = """async t => {
  const v = document.getElementById('v');
  if (v.readyState < 1) await new Promise(ok => v.addEventListener('loadedmetadata', ok, {once: true}));
  v.currentTime = t;
  await new Promise(ok => v.addEventListener('seeked', ok, {once: true}));
}"""
# The active cues follow the playhead a moment after the seek ("time marches on").
ACTIVE = "n => document.getElementById('v').textTracks[0].activeCues.length === n"
ACTIVE_IDS = """async () => {
  await new Promise(ok => requestAnimationFrame(() => requestAnimationFrame(ok)));
  return Array.from(document.getElementById('v').textTracks[0].activeCues).map(c => c.id);
}"""


def _show(page, at: float, count: int) -> list[str]:
    """Seek to ``at``, wait until ``count`` cues are active and drawn, and return their ids."""
    page.evaluate(SEEK, at)
    page.wait_for_function(ACTIVE, arg=count, timeout=5000)
    return page.evaluate(ACTIVE_IDS)


def _load(browser, site: str, name: str):  # noqa: F811
    page = browser.new_page(viewport={"width": 640, "height": 360})
    page.goto(f"{site}/{name}.html")
    return page


def _pixels(png: bytes) -> np.ndarray:
    with av.open(io.BytesIO(png), format="png_pipe") as container:
        return next(container.decode(video=0)).to_ndarray(format="rgb24").astype(int)


def _white(image: np.ndarray) -> np.ndarray:
    return (image > 215).all(axis=2)


def _yellow(image: np.ndarray) -> np.ndarray:
    # #ffe9a8, the English colour of our STYLE block
    r, g, b = image[..., 0], image[..., 1], image[..., 2]
    return (r > 225) & (g > 200) & (b > 130) & (b < 200) & (r - b > 50)


def test_spans_track_parses_and_renders_both_languages(browser, site: str, cues: list[Cue]) -> None:  # noqa: F811
    page = _load(browser, site, "spans")
    try:
        got = page.evaluate(READ_CUES)
        assert len(got) == len(cues)
        for read, cue in zip(got, cues):
            assert read["start"] == pytest.approx(cue.start, abs=0.0005)
            assert read["end"] == pytest.approx(cue.end, abs=0.0005)
            assert read["ru"] == list(cue.ru) and read["en"] == list(cue.en)

        target = cues[0]
        assert _show(page, (target.start + target.end) / 2, 1) == ["1"]
        shot = page.locator("#v").screenshot()
        ARTIFACTS.mkdir(exist_ok=True)
        (ARTIFACTS / "browser-vtt-spans.png").write_bytes(shot)
        image = _pixels(shot)
        # Both languages are drawn, each in its STYLE colour, Russian above English.
        white, yellow = _white(image), _yellow(image)
        assert white.sum() > 300, "Russian text (white) is rendered"
        assert yellow.sum() > 300, "English text (pale yellow, italic) is rendered"
        assert np.nonzero(white)[0].mean() < np.nonzero(yellow)[0].mean()
        background = (np.abs(image - np.array(BACKGROUND)).sum(axis=2) < 30).mean()
        assert 0.5 < background < 0.99, "the video frame shows, with captions over part of it"

        assert _show(page, cues[1].end + 0.05, 0) == []  # between cues: nothing is drawn
        blank = _pixels(page.locator("#v").screenshot())
        assert _white(blank).sum() + _yellow(blank).sum() < 20
    finally:
        page.close()


def test_stacked_track_has_two_positioned_cues_per_span(browser, site: str, cues: list[Cue]) -> None:  # noqa: F811
    page = _load(browser, site, "stacked")
    try:
        got = page.evaluate(READ_CUES)
        assert [c["id"] for c in got] == [f"{n}-{lang}" for n in range(1, 4) for lang in ("ru", "en")]
        for n, cue in enumerate(cues):
            ru, en = got[2 * n], got[2 * n + 1]
            assert (ru["line"], en["line"]) == (0, -1)
            assert ru["start"] == en["start"] == pytest.approx(cue.start, abs=0.0005)
            assert ru["end"] == en["end"] == pytest.approx(cue.end, abs=0.0005)
            assert ru["ru"] == list(cue.ru) and en["en"] == list(cue.en)

        target = cues[1]
        assert _show(page, (target.start + target.end) / 2, 2) == ["2-ru", "2-en"]
        shot = page.locator("#v").screenshot()
        ARTIFACTS.mkdir(exist_ok=True)
        (ARTIFACTS / "browser-vtt-stacked.png").write_bytes(shot)
        image = _pixels(shot)
        height = image.shape[0]
        white_rows, yellow_rows = np.nonzero(_white(image))[0], np.nonzero(_yellow(image))[0]
        assert len(white_rows) > 300 and len(yellow_rows) > 300
        assert white_rows.max() < height / 2 < yellow_rows.min(), "Russian at the top, English at the bottom"
    finally:
        page.close()


def test_karaoke_track_keeps_word_timestamps(browser, site: str, cues: list[Cue]) -> None:  # noqa: F811
    page = _load(browser, site, "karaoke")
    try:
        got = page.evaluate(READ_CUES)
        assert [c["plain"] for c in got] == ["\n".join(cue.ru) for cue in cues]
        first = got[0]["text"]
        stamps = [w.start for w in cues[0].words[1:]]
        assert first.count("<00:00:") == len(stamps)
        assert "<00:00:00.730>привет," in first
    finally:
        page.close()
