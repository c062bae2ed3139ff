"""Speech chunks: the audio cut into contiguous stretches of at most 30 s, each encoded once.

The energy envelope the aligner uses anyway (:func:`pipeline.audio.envelope`,
adaptive thresholds with hysteresis) finds speech; neighbouring speech is packed
into chunks that Whisper encodes once and every later stage reuses. (Silero
VAD would cost ~120 MB of memory and a pass over the audio for the same cuts
on podcast speech; Whisper's no-speech gate and the loop guards in
:mod:`pipeline.whisper.asr` catch what energy alone lets through.) Chunks are
contiguous audio (silences inside them kept), so a time inside a chunk is its
start plus the offset.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from pipeline.audio.decoder import SAMPLE_RATE
from pipeline.audio.energy import CLOSED_GAP, HOP, WINDOW, Envelope, decide, frame_db, levels, thresholds

if TYPE_CHECKING:
    from pipeline.audio.feed import Feed

MAX_CHUNK = 30.0
# --no-asr: chunks are not padded to 30 s, and shorter ones encode cheaper per
# second (the encoder's attention is quadratic). On the bench episodes 20 s
# chunks aligned as well as 30 s ones, in ~15% less time; 10-15 s ones lost accuracy.
READ_ALONG_CHUNK = 20.0
PAD = 0.2  # speech padding, so Whisper hears each word's first and last sound
MIN_PAUSE = 0.3  # shorter pauses do not split speech


@dataclass(frozen=True, slots=True)
class Chunk:
    start: float
    end: float

    @property
    def duration(self) -> float:
        return self.end - self.start


def plan(env: Envelope, duration: float, max_chunk: float = MAX_CHUNK) -> list[Chunk]:
    """Chunks over the speech the energy envelope finds, split at pauses of ``MIN_PAUSE`` or more."""
    if env.onsets.size == 0:
        return []
    pauses = (env.onsets[1:] - env.offsets[:-1]) * env.hop
    splits = np.flatnonzero(pauses >= MIN_PAUSE)
    starts = np.concatenate([env.onsets[:1], env.onsets[splits + 1]]) * env.hop
    ends = np.concatenate([env.offsets[splits], env.offsets[-1:]]) * env.hop
    return pack(list(zip(starts.tolist(), ends.tolist())), duration, max_chunk)


def pack(speech: list[tuple[float, float]], duration: float, max_chunk: float = MAX_CHUNK) -> list[Chunk]:
    """Greedily pack speech stretches into chunks no longer than ``max_chunk``, in order."""
    chunks: list[Chunk] = []
    start = end = None
    for seg_start, seg_end in speech:
        seg_start, seg_end = max(0.0, seg_start - PAD), min(duration, seg_end + PAD)
        if start is not None and end is not None and seg_end - start <= max_chunk:
            end = seg_end
            continue
        if start is not None and end is not None:
            chunks.append(Chunk(start, end))
        seg_start = max(seg_start, chunks[-1].end if chunks else 0.0)
        # Speech with no pause for longer than a chunk (a music bed heard as speech) is cut
        # in chunk-long pieces, after the chunk before it (once, they came before it).
        while seg_end - seg_start > max_chunk:
            chunks.append(Chunk(seg_start, seg_start + max_chunk))
            seg_start += max_chunk
        start, end = seg_start, seg_end
    if start is not None and end is not None:
        chunks.append(Chunk(start, end))
    return [c for c in chunks if c.duration > 0.1]


# Chunks planned while the audio decodes take their speech and noise levels from this much
# of it (or all of it, when shorter): an episode of up to 10 minutes is cut exactly as
# when decoded first, and the model of a longer one waits for 10 minutes' decoding at
# most (0.7 s for FLAC, 3 s for a 44.1 kHz stereo MP3 on the 2-core test machine).
LEVEL_SECONDS = 600.0
# Seconds of audio decoded between two looks at what is final: at least ARRIVAL_STEP[0],
# and ARRIVAL_STEP[1] of what is decoded so far (each look plans it all again: an hour of
# 30 s steps took 1.3 s of planning, 0.3 s this way).
ARRIVAL_STEP = (30.0, 0.1)


def arriving(
    feed: Feed, max_chunk: float = MAX_CHUNK, level_seconds: float | None = None
) -> Iterator[list[Chunk]]:
    """The chunks of the audio ``feed`` decodes, in order, each batch as soon as it is final.

    The speech/noise levels come from the first ``level_seconds`` (see
    :data:`LEVEL_SECONDS`); then a chunk is final once no speech still to be
    decoded could join it: it starts more than ``max_chunk`` before where the
    speech decoded last might still go on. What is yielded is, chunk for
    chunk, :func:`plan` over the whole audio with those levels.
    """
    level_seconds = LEVEL_SECONDS if level_seconds is None else level_seconds
    hop_n, win_n = int(HOP * SAMPLE_RATE), int(WINDOW * SAMPLE_RATE)
    db = np.zeros(0)  # frame energies in dB, as decoded
    level: tuple[float, float] | None = None
    given = 0
    while True:
        seconds = feed.wait(len(db) * HOP * (1 + ARRIVAL_STEP[1]) + ARRIVAL_STEP[0])
        done = feed.done and feed.seconds <= seconds
        size = int(seconds * SAMPLE_RATE)
        # Frames whose window the decoded samples cover (at the end all of them, as envelope() counts).
        last = max(1, 1 + (size - win_n) // hop_n) if done else max(0, (size - win_n) // hop_n + 1)
        if last > len(db):
            db = np.concatenate([db, frame_db(feed[len(db) * hop_n : (last - 1) * hop_n + win_n])])
        if level is None and (done or len(db) * HOP >= level_seconds):
            level = levels(db[: round(level_seconds / HOP)])
        if level is not None:
            planned = plan(decide(db, level), seconds if done else len(db) * HOP, max_chunk)
            final = len(planned) if done else _final(planned, db, level, max_chunk)
            if final > given:
                yield planned[given:final]
                given = final
        if done:
            return


def _final(planned: list[Chunk], db: np.ndarray, level: tuple[float, float], max_chunk: float) -> int:
    """How many of the chunks planned over the decoded audio no speech decoded later can change."""
    _, low = thresholds(level)
    above = db > low
    # A run above the low threshold that reaches the end of what is decoded may still turn out
    # to be speech (or go on); the pauses closed inside speech reach a few frames further back.
    open_from = len(db)
    if above.size and above[-1]:
        quiet = np.flatnonzero(~above)
        open_from = int(quiet[-1]) + 1 if quiet.size else 0
    unsettled = (open_from - CLOSED_GAP - 1) * HOP - PAD
    count = 0
    for chunk in planned:
        if chunk.start + max_chunk + PAD >= unsettled:
            break
        count += 1
    return count
