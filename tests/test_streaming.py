"""Decoding while the model works: the feed, the chunks planned as the audio arrives, the run over them."""

from __future__ import annotations

import json
import time
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pipeline import audio, episode
from pipeline.audio import SAMPLE_RATE, chunks
from pipeline.audio.energy import decide, frame_db, levels
from pipeline.audio.feed import Feed
from pipeline.errors import AudioError
from tests.clips import write_wav
from tests.conftest import ROOT

SAMPLE = ROOT / "audio_samples" / "sample.ogg"


class _Revealing:
    """A stand-in for :class:`Feed` that lets ``step`` more seconds of ``samples`` be decoded per look."""

    def __init__(self, samples: np.ndarray, step: float) -> None:
        self.samples, self.step, self.count = samples, int(step * SAMPLE_RATE), 0

    def wait(self, seconds: float) -> float:
        self.count = min(self.samples.size, self.count + self.step)
        return self.count / SAMPLE_RATE

    @property
    def done(self) -> bool:
        return self.count >= self.samples.size

    @property
    def seconds(self) -> float:
        return self.count / SAMPLE_RATE

    def __getitem__(self, part: slice) -> np.ndarray:
        return self.samples[: self.count][part]


def _whole_plan(samples: np.ndarray, level_seconds: float, longest: float) -> list[chunks.Chunk]:
    db = frame_db(samples)
    return chunks.plan(decide(db, levels(db[: round(level_seconds * 100)])), audio.duration(samples), longest)


def _bursts(draw_lengths: list[tuple[float, float, float]]) -> np.ndarray:
    """Noise-floor audio with bursts of «speech» (noise at a level) after pauses, from (pause, burst, dB)."""
    rng = np.random.default_rng(7)
    pieces = []
    for pause, burst, level in draw_lengths:
        pieces.append(rng.normal(0, 10 ** (-60 / 20), int(pause * SAMPLE_RATE)))
        pieces.append(rng.normal(0, 10 ** (level / 20), int(burst * SAMPLE_RATE)))
    return np.concatenate(pieces).astype(np.float32)


@settings(max_examples=20, deadline=None)
@given(
    st.lists(
        st.tuples(st.floats(0.05, 3.0), st.floats(0.05, 40.0), st.floats(-40.0, -10.0)),
        min_size=1,
        max_size=8,
    ),
    st.floats(2.0, 40.0),
    st.sampled_from([chunks.MAX_CHUNK, chunks.READ_ALONG_CHUNK]),
)
def test_chunks_planned_as_the_audio_arrives_are_the_plan_of_the_whole(stretches, step, longest) -> None:
    samples = _bursts(stretches)
    level_seconds = 5.0
    got: list[chunks.Chunk] = []
    for batch in chunks.arriving(_Revealing(samples, step), longest, level_seconds):  # type: ignore[arg-type]
        assert batch  # only news is handed on
        got += batch
    assert got == _whole_plan(samples, level_seconds, longest)


def test_chunks_of_a_short_episode_are_those_planned_after_decoding() -> None:
    samples = audio.decode(SAMPLE)  # 170 s: under LEVEL_SECONDS, so the levels are the whole's
    arrived = list(chunks.arriving(_Revealing(samples, 7.0)))  # type: ignore[arg-type]
    assert len(arrived) == 1
    assert arrived[0] == chunks.plan(audio.envelope(samples), audio.duration(samples))


def test_chunks_of_a_long_episode_arrive_before_it_is_decoded() -> None:
    samples = audio.decode(SAMPLE)
    feed = _Revealing(samples, 7.0)
    seen = []
    for batch in chunks.arriving(feed, chunks.MAX_CHUNK, level_seconds=20.0):  # type: ignore[arg-type]
        seen.append((feed.seconds, batch))
    assert len(seen) > 2
    # Each chunk came once 30 s past its start had been decoded (no speech after that can join it),
    # and before the end.
    assert all(chunk.start + chunks.MAX_CHUNK <= seconds for seconds, batch in seen[:-1] for chunk in batch)
    assert seen[0][0] < audio.duration(samples) / 2
    assert [c for _, batch in seen for c in batch] == _whole_plan(samples, 20.0, chunks.MAX_CHUNK)


def test_a_feed_gives_what_decode_gives(tmp_path: Path) -> None:
    whole = audio.decode(SAMPLE)
    with Feed(SAMPLE) as feed:
        assert feed.expected is not None and abs(feed.expected - whole.size / SAMPLE_RATE) < 0.1
        seconds = feed.wait(60.0)
        assert seconds >= 60.0 or feed.done
        np.testing.assert_array_equal(feed[16_000:48_000], whole[16_000:48_000])
        np.testing.assert_array_equal(feed.result(), whole)
        assert feed.done and not feed.restarted and feed.seconds == whole.size / SAMPLE_RATE


def test_a_feed_decodes_a_cancelling_stereo_mix_again_and_says_so(tmp_path: Path) -> None:
    import av

    speech = audio.decode(SAMPLE)[: 20 * SAMPLE_RATE]
    path = tmp_path / "reversed.wav"
    pcm = (np.stack([speech, -speech]) * 32767).astype(np.int16)
    with av.open(str(path), "w") as out:
        stream = out.add_stream("pcm_s16le", rate=SAMPLE_RATE, layout="stereo")
        frame = av.AudioFrame.from_ndarray(pcm.T.reshape(1, -1).copy(), format="s16", layout="stereo")
        frame.sample_rate = SAMPLE_RATE
        for packet in [*stream.encode(frame), *stream.encode(None)]:
            out.mux(packet)
    with Feed(path) as feed:
        np.testing.assert_array_equal(feed.result(), audio.decode(path))
        assert feed.restarted


def test_a_feed_raises_the_decoders_error_where_it_is_read(tmp_path: Path) -> None:
    text = tmp_path / "notes.mp3"
    text.write_text("not audio at all\n" * 50, encoding="utf-8")
    with pytest.raises(AudioError) as decoded:
        audio.decode(text)
    with Feed(text) as feed, pytest.raises(AudioError) as fed:
        feed.wait(30.0)
    assert fed.value.message == decoded.value.message


def test_a_closed_feed_stops_decoding() -> None:
    feed = Feed(SAMPLE)
    feed.close()
    assert not feed._thread.is_alive()


@pytest.mark.slow
def test_an_episode_transcribed_as_it_decodes_is_timed_to_the_speech(
    engine, sample_truth, tmp_path: Path, monkeypatch
) -> None:
    clip = audio.decode(SAMPLE)[: 60 * SAMPLE_RATE]
    wav = write_wav(tmp_path / "clip.wav", clip)
    transcript = ROOT / "audio_samples" / "sample.ru-en.txt"
    monkeypatch.setattr(chunks, "LEVEL_SECONDS", 15.0)  # chunks handed to the model from 15 s on
    slow = Feed.add

    def add(feed: Feed, samples: np.ndarray) -> None:  # decoding as slow as a long MP3's, 25x real time
        time.sleep(samples.size / SAMPLE_RATE / 25)
        slow(feed, samples)

    monkeypatch.setattr(Feed, "add", add)
    arrived: list[int] = []
    real = chunks.arriving

    def counted(*args, **kwargs):
        for batch in real(*args, **kwargs):
            arrived.append(len(batch))
            yield batch

    monkeypatch.setattr(chunks, "arriving", counted)
    streamed = episode.run(wav, transcript, tmp_path / "streamed", engine=engine)
    assert len(arrived) > 1
    truth = [line for line in sample_truth["lines"] if line["spoken"] and line["ru"] and line["end"] < 58]
    starts = {line.line.ru: line.start for line in streamed.alignment.lines if line.start is not None}
    errors = [abs(starts[line["ru"]] - line["start"]) for line in truth if line["ru"] in starts]
    assert len(errors) == len(truth) and np.mean(np.array(errors) <= 0.125) >= 0.9
    json.loads((tmp_path / "streamed" / "clip.align.json").read_text(encoding="utf-8"))
