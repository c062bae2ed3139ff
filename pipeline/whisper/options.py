"""What the model options may be, checked before anything is loaded (the CLI checks them as it parses).

Light on purpose: the command line imports it; CTranslate2 is imported only
to ask about a device.
"""

from __future__ import annotations

# CTranslate2's compute types ("default" keeps the model's own, "auto" the fastest the device has).
COMPUTE_TYPES = (
    "default",
    "auto",
    "int8",
    "int8_float32",
    "int8_float16",
    "int8_bfloat16",
    "int16",
    "float16",
    "bfloat16",
    "float32",
)
# Whisper's codes for the languages written in Cyrillic: the transcript's spoken
# lines are told from its English ones by their alphabet, so only these can be aligned.
LANGUAGES = ("ru", "uk", "be", "bg", "mk", "sr", "kk", "tt", "ba", "tg", "mn")


def language_problem(language: str) -> str | None:
    """Why ``language`` cannot be used, in words, or None."""
    if language in LANGUAGES:
        return None
    return (
        f"{language!r} is not a language subpipe can align (it reads the transcript's spoken lines "
        f"by their Cyrillic letters); use one of {', '.join(LANGUAGES)}"
    )


def device_problem(device: str, compute_type: str | None) -> str | None:
    """Why the model cannot run on ``device`` with ``compute_type``, in words, or None.

    Asks CTranslate2 (imported here) which devices and compute types this
    machine has; the question is cheap, loading the model to find out is not.
    """
    import ctranslate2

    gpus = ctranslate2.get_cuda_device_count()
    if device == "cuda" and gpus == 0:
        return "no CUDA device found; use --device cpu"
    if compute_type in (None, "default", "auto"):
        return None
    if compute_type not in COMPUTE_TYPES:
        return f"unknown compute type {compute_type!r}; use one of {', '.join(COMPUTE_TYPES)}"
    on_gpu = device == "cuda" or (device == "auto" and gpus > 0)
    supported = sorted(ctranslate2.get_supported_compute_types("cuda" if on_gpu else "cpu"))
    if compute_type in supported:
        return None
    where = "the GPU" if on_gpu else "the CPU"
    return (
        f"{compute_type} is not supported on {where} of this machine; "
        f"use one of {', '.join(supported)}, or leave out --compute-type"
    )
