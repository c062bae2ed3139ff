"""Short audio clips for the report, compressed and inlined as ``data:`` URIs.

Opus at 16 kbit/s keeps speech intelligible at about 2 kB a second, so the
capped set of clips keeps an hour-long episode's page to a few megabytes.
PyAV's bundled ffmpeg encodes, so no system ffmpeg is needed.
"""

from __future__ import annotations

import base64
import io
from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np

from pipeline.audio import SAMPLE_RATE

BITRATE = 16_000
PAD = 0.3  # seconds of context either side, so the first syllable is not clipped
MAX_SECONDS = 12.0  # a longer stretch is cut to its start; the page states the time range
MAX_CLIPS = 60
MIME = "audio/ogg"


@dataclass(frozen=True, slots=True)
class Clip:
    start: float
    end: float
    uri: str

    @property
    def seconds(self) -> float:
        return self.end - self.start


def cut(samples: np.ndarray, start: float, end: float) -> tuple[float, float, np.ndarray]:
    """The padded, capped stretch ``start..end`` and its samples."""
    total = samples.size / SAMPLE_RATE
    lo = max(0.0, start - PAD)
    hi = min(total, max(end, start) + PAD, lo + MAX_SECONDS)
    return lo, hi, samples[int(lo * SAMPLE_RATE) : int(hi * SAMPLE_RATE)]


def encode_opus(samples: np.ndarray, bitrate: int = BITRATE) -> bytes:
    """Mono 16 kHz float samples as Ogg/Opus bytes."""
    import av

    pcm = np.clip(np.round(samples * 32767.0), -32768, 32767).astype(np.int16)
    buffer = io.BytesIO()
    # bitexact: a random Ogg serial number would make every report differ byte for byte.
    with av.open(buffer, "w", format="ogg", options={"fflags": "+bitexact"}) as out:
        # The cheapest encoder setting is four times faster and, for speech at this rate, sounds the same.
        stream = out.add_stream("libopus", rate=SAMPLE_RATE, options={"compression_level": "0"})
        stream.layout = "mono"
        stream.bit_rate = bitrate
        frame = av.AudioFrame.from_ndarray(pcm[None, :], format="s16", layout="mono")
        frame.sample_rate = SAMPLE_RATE
        for packet in stream.encode(frame):
            out.mux(packet)
        for packet in stream.encode(None):
            out.mux(packet)
    return buffer.getvalue()


def make_clip(samples: np.ndarray, start: float, end: float) -> Clip | None:
    lo, hi, piece = cut(samples, start, end)
    if piece.size < SAMPLE_RATE // 10:
        return None
    data = base64.b64encode(encode_opus(piece)).decode("ascii")
    return Clip(lo, hi, f"data:{MIME};base64,{data}")


def make_clips(
    samples: np.ndarray, stretches: Iterable[tuple[str, float, float]], limit: int = MAX_CLIPS
) -> dict[str, Clip]:
    """Clips keyed by the caller's id, for the first ``limit`` stretches (callers pass them ranked)."""
    clips: dict[str, Clip] = {}
    for key, start, end in stretches:
        if len(clips) >= limit:
            break
        if key in clips:
            continue
        clip = make_clip(samples, start, end)
        if clip is not None:
            clips[key] = clip
    return clips
