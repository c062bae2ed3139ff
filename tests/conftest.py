from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parent.parent
SAMPLES = ROOT / "audio_samples"
SEED = SAMPLES / "digital-rights-2021.ru-en.txt"
SAMPLE_AUDIO = next(iter(sorted(SAMPLES.glob("sample.*[!txtjson]"))), SAMPLES / "sample.ogg")
SAMPLE_TRANSCRIPT = SAMPLES / "sample.ru-en.txt"
SAMPLE_TRUTH = SAMPLES / "sample.truth.json"


@pytest.fixture(scope="session")
def sample_truth() -> dict:
    return json.loads(SAMPLE_TRUTH.read_text(encoding="utf-8"))


@pytest.fixture(scope="session")
def sample_samples() -> np.ndarray:
    from pipeline.audio import decode

    return decode(SAMPLE_AUDIO)


@pytest.fixture(scope="session")
def engine():
    from pipeline.whisper import asr

    # SUBPIPE_TEST_DEVICE=auto runs the engine tests on a GPU where there is one
    # (bench/gpu_check.sh tests); the CLI tests use --device auto anyway.
    return asr.load(None, device=os.environ.get("SUBPIPE_TEST_DEVICE", "cpu"))
