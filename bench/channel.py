"""What happens to a recording on its way to the listener: a telephone line, a music bed.

Both keep time: the telephone copy is shifted back by the delay its codec
adds (measured, not assumed), so an episode's truth holds for it unchanged.
"""

from __future__ import annotations

import io
from dataclasses import dataclass

import numpy as np

from bench.festival import SAMPLE_RATE

PHONE_RATE = 8000
# The telephone band (ITU-T G.712): 300-3400 Hz, with gentle skirts.
PHONE_BAND = (300.0, 3400.0)
PHONE_SKIRT = 150.0
AMR_BITRATE = 12200  # AMR-NB's highest mode, the one a mobile call uses on a good connection
MAX_CODEC_DELAY = 0.05


def _pcm(samples: np.ndarray) -> np.ndarray:
    return np.clip(np.round(samples * 32767.0), -32768, 32767).astype(np.int16)


def resample(samples: np.ndarray, rate_in: int, rate_out: int) -> np.ndarray:
    """Band-limited resampling by libswresample (PyAV)."""
    import av

    resampler = av.AudioResampler(format="s16", layout="mono", rate=rate_out)
    frame = av.AudioFrame.from_ndarray(_pcm(samples)[None, :], format="s16", layout="mono")
    frame.sample_rate = rate_in
    out = [f.to_ndarray().reshape(-1) for f in resampler.resample(frame)]
    out += [f.to_ndarray().reshape(-1) for f in resampler.resample(None)]
    return np.concatenate(out).astype(np.float32) / 32768.0 if out else np.zeros(0, np.float32)


def band_pass(
    samples: np.ndarray, low: float, high: float, skirt: float, rate: int = SAMPLE_RATE
) -> np.ndarray:
    """Zero-phase band-pass in the frequency domain, raised-cosine skirts ``skirt`` Hz wide."""
    spectrum = np.fft.rfft(samples.astype(np.float64))
    freqs = np.fft.rfftfreq(len(samples), 1.0 / rate)
    gain = np.ones_like(freqs)
    rise = np.clip((freqs - (low - skirt)) / skirt, 0.0, 1.0)
    fall = np.clip(((high + skirt) - freqs) / skirt, 0.0, 1.0)
    gain *= 0.5 - 0.5 * np.cos(np.pi * rise)
    gain *= 0.5 - 0.5 * np.cos(np.pi * fall)
    return np.fft.irfft(spectrum * gain, n=len(samples)).astype(np.float32)


def amr_round_trip(samples8k: np.ndarray, bitrate: int = AMR_BITRATE) -> np.ndarray:
    """Encode 8 kHz speech as AMR-NB and decode it again (in memory)."""
    import av

    buf = io.BytesIO()
    with av.open(buf, "w", format="amr") as out:
        stream = out.add_stream("libopencore_amrnb", rate=PHONE_RATE)
        stream.layout = "mono"
        stream.bit_rate = bitrate
        frame = av.AudioFrame.from_ndarray(_pcm(samples8k)[None, :], format="s16", layout="mono")
        frame.sample_rate = PHONE_RATE
        for packet in stream.encode(frame):
            out.mux(packet)
        for packet in stream.encode(None):
            out.mux(packet)
    buf.seek(0)
    with av.open(buf, "r") as inp:
        stream = inp.streams.audio[0]
        frames = [f.to_ndarray().reshape(-1) for f in inp.decode(stream)]
    decoded = np.concatenate(frames)
    if decoded.dtype == np.int16:
        return decoded.astype(np.float32) / 32768.0
    return decoded.astype(np.float32)


def delay(reference: np.ndarray, copy: np.ndarray, rate: int, limit: float = MAX_CODEC_DELAY) -> int:
    """Samples by which ``copy`` lags ``reference`` (cross-correlation over the first minute)."""
    n = min(len(reference), len(copy), 60 * rate)
    span = round(limit * rate)
    a = reference[:n].astype(np.float64)
    b = copy[:n].astype(np.float64)
    size = 1 << int(np.ceil(np.log2(2 * n)))
    corr = np.fft.irfft(np.fft.rfft(b, size) * np.conj(np.fft.rfft(a, size)), size)
    lags = np.concatenate([corr[: span + 1], corr[-span:]])  # lags 0..span, then -span..-1
    best = int(np.argmax(lags))
    return best if best <= span else best - len(lags)


@dataclass(frozen=True, slots=True)
class Telephone:
    """What :func:`telephone` did, for the truth file."""

    codec: str
    bitrate: int
    band_hz: tuple[float, float]
    delay_s: float


def telephone(samples: np.ndarray) -> tuple[np.ndarray, Telephone]:
    """A telephone call's copy of 16 kHz speech, back at 16 kHz and in time with the original.

    The line's band-pass, 8 kHz sampling, then AMR-NB at 12.2 kbit/s there and back.
    """
    low, high = PHONE_BAND
    narrow = band_pass(samples, low, high, PHONE_SKIRT)
    decoded = amr_round_trip(resample(narrow, SAMPLE_RATE, PHONE_RATE))
    wide = resample(decoded, PHONE_RATE, SAMPLE_RATE)
    lag = delay(narrow, wide, SAMPLE_RATE)
    aligned = wide[lag:] if lag >= 0 else np.concatenate([np.zeros(-lag, np.float32), wide])
    out = np.zeros(len(samples), np.float32)
    out[: min(len(out), len(aligned))] = aligned[: len(out)]
    return out, Telephone("AMR-NB", AMR_BITRATE, PHONE_BAND, round(lag / SAMPLE_RATE, 5))


# ---------------------------------------------------------------- music bed


def _note(freq: float, seconds: float, decay: float, partials: int) -> np.ndarray:
    t = np.arange(round(seconds * SAMPLE_RATE)) / SAMPLE_RATE
    tone = sum(np.sin(2 * np.pi * freq * k * t) / k**1.3 for k in range(1, partials + 1))
    attack = np.minimum(1.0, t / 0.01)
    return (tone * attack * np.exp(-t / decay)).astype(np.float32)


def music_bed(n: int, seed: int) -> np.ndarray:
    """A synthesized music-like bed: pad chords, a plucked bass, an arpeggio and hi-hats.

    At 96 bpm, a four-chord loop in a key drawn from ``seed``; pitched and
    rhythmic like the beds under podcast speech (no music files exist here).
    Returns ``n`` samples at unit RMS.
    """
    rng = np.random.default_rng([seed, 7])
    beat = 60.0 / 96.0
    key = 220.0 * 2 ** (int(rng.integers(0, 12)) / 12)
    loop = [(0, 4, 7), (9, 12, 16), (5, 9, 12), (7, 11, 14)]  # I vi IV V, semitones over the key
    bed = np.zeros(n + 4 * SAMPLE_RATE, np.float32)

    def put(at: float, sound: np.ndarray, gain: float) -> None:
        i = round(at * SAMPLE_RATE)
        if i < n:
            bed[i : i + len(sound)] += gain * sound[: len(bed) - i]

    bar = 4 * beat
    t, k = 0.0, 0
    while t < n / SAMPLE_RATE:
        chord = loop[k % len(loop)]
        for semis in chord:  # pad: the chord held for two bars, slow decay
            put(t, _note(key * 2 ** (semis / 12), 2 * bar, 2.5, 4), 0.18)
        for b in range(8):  # bass on every beat, arpeggio on the eighths, hats off the beat
            at = t + b * beat
            put(at, _note(key / 2 * 2 ** (chord[0] / 12), beat, 0.25, 6), 0.35)
            for half in (0.0, 0.5):
                semis = chord[int(rng.integers(0, 3))] + 12
                put(at + half * beat, _note(key * 2 ** (semis / 12), beat, 0.12, 3), 0.12)
            hat = rng.normal(0.0, 1.0, round(0.04 * SAMPLE_RATE)).astype(np.float32)
            hat = np.diff(hat, prepend=0.0).astype(np.float32) * np.exp(-np.arange(len(hat)) / 120.0)
            put(at + 0.5 * beat, hat, 0.05)
        t += 2 * bar
        k += 1
    bed = bed[:n]
    rms = float(np.sqrt(np.mean(bed.astype(np.float64) ** 2))) if n else 1.0
    return (bed / rms).astype(np.float32) if rms > 0 else bed


def speech_power(samples: np.ndarray, spans: list[tuple[int, int]]) -> float:
    """Mean power of the samples inside the speech spans (sample indices)."""
    return float(np.mean(np.concatenate([samples[a:b] for a, b in spans]).astype(np.float64) ** 2))


def mix_bed(samples: np.ndarray, spans: list[tuple[int, int]], snr_db: float, seed: int) -> np.ndarray:
    """``samples`` with a music bed ``snr_db`` below the speech's mean power (over ``spans``)."""
    bed = music_bed(len(samples), seed)
    gain = np.sqrt(speech_power(samples, spans) / 10 ** (snr_db / 10))
    return (samples + gain * bed).astype(np.float32)
