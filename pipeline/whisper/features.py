"""Whisper's log-mel features, the same on every machine, for models of any mel count.

faster-whisper's ``FeatureExtractor`` takes the mel count from the model
folder's ``preprocessor_config.json`` (80 when the file is missing, which
a 128-bin model such as large-v3 then refuses), and projects the power
spectrum on the filter bank with one BLAS matrix product. That product's
last bits depend on how many threads BLAS uses: on the same machine, one
thread and two gave 234 of 55,680 values of a 7 s clip one ulp apart, and the
int8 model then heard a different word. A batch whose workers get fewer
cores than a local run (a Ray worker's BLAS gets its share) would then
write other subtitles than the same batch run locally.

Here the mel count is the model's own (CTranslate2 reads it off the
encoder's first convolution), and the projection adds each filter's few
non-zero bins (about 390 in all) in a fixed order with plain element-wise
float32 operations, which no thread count changes; on a 30 s chunk it
took 5-7 ms against the BLAS product's 24 ms on this 2-core machine.
"""

from __future__ import annotations

import numpy as np

from pipeline.audio import SAMPLE_RATE

N_FFT = 400
HOP = 160


class LogMel:
    """Log-mel features of 16 kHz audio with ``n_mels`` bins (80, or 128 for large-v3 and its kin)."""

    def __init__(self, n_mels: int) -> None:
        from faster_whisper.feature_extractor import FeatureExtractor

        self.n_mels = n_mels
        self._stft = FeatureExtractor.stft
        filters = FeatureExtractor.get_mel_filters(SAMPLE_RATE, N_FFT, n_mels).astype(np.float32)
        # (mel row, spectrum bin, weight) for every non-zero weight, rows in order, bins ascending
        self._terms = [(i, int(j), filters[i, j]) for i in range(n_mels) for j in np.flatnonzero(filters[i])]
        self._window = np.hanning(N_FFT + 1)[:-1].astype(np.float32)

    def __call__(self, samples: np.ndarray) -> np.ndarray:
        """The features of ``samples``, shape ``(n_mels, frames)``, as Whisper was trained on them."""
        padded = np.pad(samples.astype(np.float32, copy=False), (0, HOP))
        spectrum = self._stft(padded, N_FFT, HOP, window=self._window, return_complex=True)
        power = np.abs(spectrum.astype(np.complex64)[..., :-1]) ** 2
        mel = np.zeros((self.n_mels, power.shape[1]), np.float32)
        term = np.empty(power.shape[1], np.float32)
        for row, column, weight in self._terms:
            np.multiply(power[column], weight, out=term)
            mel[row] += term
        log = np.log10(np.maximum(mel, 1e-10))
        log = np.maximum(log, log.max() - 8.0)
        return (log + 4.0) / 4.0
