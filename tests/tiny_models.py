"""Tiny random-weight CTranslate2 Whisper models in the shapes production models come in.

No large model can be downloaded here, so the code paths that depend on a
model's shape are tested on models of the same *shape* with a few thousand
random weights per layer, written with CTranslate2's own spec API (no torch):

* ``large-v3``: 128 mel bins, 100 languages (``<|yue|>`` shifts every special token after
  the languages by one: the tokenizer's layout, not fixed ids, must be used);
* ``turbo``: large-v3's layout with 4 decoder layers (large-v3-turbo);
* ``distil``: 128 mel bins, 2 decoder layers and alignment heads of its own;
* ``tiny.en``: English-only (51,864 tokens, so CTranslate2 reports it as not multilingual).

The vocabulary and ``tokenizer.json`` are the bundled base model's, re-laid
for the shape; ``preprocessor_config.json`` carries ``feature_size``, as a
faster-whisper conversion does. Random weights transcribe garbage, so what
the tests can check is the shape-dependent machinery, not what is heard.
"""

from __future__ import annotations

import json
import shutil
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from pipeline.whisper.model import DEFAULT_MODEL_DIR

_SPECIALS_AFTER_LANGUAGES = "<|translate|>"


@dataclass(frozen=True)
class Shape:
    name: str
    n_mels: int = 80
    encoder_layers: int = 2
    decoder_layers: int = 2
    heads: int = 2
    width: int = 32
    languages: int = 99  # 100 for the v3 layout; 0 for an English-only model
    alignment_heads: tuple[tuple[int, int], ...] | None = None  # (layer, head); None: the converter's default
    preprocessor_config: bool = True  # False: a conversion without preprocessor_config.json


SHAPES = {
    "large-v3": Shape("large-v3", n_mels=128, languages=100),
    "turbo": Shape("turbo", n_mels=128, decoder_layers=4, languages=100, alignment_heads=((2, 0), (3, 1))),
    "distil": Shape("distil", n_mels=128, heads=4, languages=100, alignment_heads=((1, 2), (1, 3))),
    "tiny.en": Shape("tiny.en", languages=0),
}


def _base_vocabulary() -> list[str]:
    return (DEFAULT_MODEL_DIR / "vocabulary.txt").read_text(encoding="utf-8").split("\n")[:51865]


def _layout(shape: Shape) -> tuple[list[str], dict]:
    """The shape's vocabulary and tokenizer.json, from the base model's (99 languages)."""
    vocabulary = _base_vocabulary()
    tokenizer = json.loads((DEFAULT_MODEL_DIR / "tokenizer.json").read_text(encoding="utf-8"))
    if shape.languages == 100:
        at = vocabulary.index(_SPECIALS_AFTER_LANGUAGES)
        vocabulary.insert(at, "<|yue|>")
        vocabulary[vocabulary.index("<|nocaptions|>")] = "<|nospeech|>"
        added = []
        for token in tokenizer["added_tokens"]:
            if token["id"] >= at:
                token = {**token, "id": token["id"] + 1}
            if token["content"] == "<|nocaptions|>":
                token = {**token, "content": "<|nospeech|>"}
            added.append(token)
        yue = {**tokenizer["added_tokens"][-1], "id": at, "content": "<|yue|>"}
        tokenizer["added_tokens"] = sorted([*added, yue], key=lambda t: t["id"])
    elif shape.languages == 0:
        # CTranslate2 tells an English-only model by its vocabulary size (51,864); the tokenizer
        # is never reached, since subpipe refuses such a model for Russian as it loads.
        del vocabulary[vocabulary.index("<|endoftext|>") - 1]
    return vocabulary, tokenizer


def build(folder: Path, shape: Shape, seed: int = 0) -> Path:
    """Write a model of ``shape`` with random weights into ``folder`` (about 7 MB); return it."""
    from ctranslate2.specs import whisper_spec

    rng = np.random.default_rng(seed)
    vocabulary, tokenizer = _layout(shape)
    width, ff = shape.width, 2 * shape.width

    def weights(*dims: int) -> np.ndarray:
        return (rng.standard_normal(dims) * 0.02).astype(np.float32)

    def norm(layer: object) -> None:
        layer.gamma = np.ones(width, np.float32)  # type: ignore[attr-defined]
        layer.beta = np.zeros(width, np.float32)  # type: ignore[attr-defined]

    def linear(layer: object, rows: int, cols: int) -> None:
        layer.weight = weights(rows, cols)  # type: ignore[attr-defined]
        layer.bias = np.zeros(rows, np.float32)  # type: ignore[attr-defined]

    def ffn(layer: object) -> None:
        norm(layer.layer_norm)  # type: ignore[attr-defined]
        linear(layer.linear_0, ff, width)  # type: ignore[attr-defined]
        linear(layer.linear_1, width, ff)  # type: ignore[attr-defined]

    spec = whisper_spec.WhisperSpec(shape.encoder_layers, shape.heads, shape.decoder_layers, shape.heads)
    encoder, decoder = spec.encoder, spec.decoder
    encoder.conv1.weight, encoder.conv1.bias = weights(width, shape.n_mels, 3), np.zeros(width, np.float32)
    encoder.conv2.weight, encoder.conv2.bias = weights(width, width, 3), np.zeros(width, np.float32)
    encoder.position_encodings.encodings = weights(1500, width)  # 3000 mel frames, halved by conv2
    norm(encoder.layer_norm)
    for layer in encoder.layer:
        norm(layer.self_attention.layer_norm)
        linear(layer.self_attention.linear[0], 3 * width, width)
        linear(layer.self_attention.linear[1], width, width)
        ffn(layer.ffn)
    embeddings = weights(len(vocabulary), width)
    decoder.embeddings.weight = embeddings
    decoder.projection.weight = embeddings  # tied, as in Whisper
    decoder.position_encodings.encodings = weights(448, width)
    norm(decoder.layer_norm)
    for layer in decoder.layer:
        norm(layer.self_attention.layer_norm)
        linear(layer.self_attention.linear[0], 3 * width, width)
        linear(layer.self_attention.linear[1], width, width)
        norm(layer.attention.layer_norm)
        linear(layer.attention.linear[0], width, width)
        linear(layer.attention.linear[1], 2 * width, width)
        linear(layer.attention.linear[2], width, width)
        ffn(layer.ffn)

    spec.register_vocabulary(vocabulary)
    config = spec.config
    config.suppress_ids_begin = [vocabulary.index("Ġ"), vocabulary.index("<|endoftext|>")]
    config.suppress_ids = []
    start = vocabulary.index("<|startoftranscript|>") + 1
    config.lang_ids = list(range(start, start + shape.languages))
    if shape.alignment_heads is not None:
        config.alignment_heads = [list(pair) for pair in shape.alignment_heads]
    else:  # what ct2-transformers-converter writes when the model names none: the last half of the layers
        half = range(shape.decoder_layers // 2, shape.decoder_layers)
        config.alignment_heads = [[layer, head] for layer in half for head in range(shape.heads)]
    spec.validate()
    spec.optimize(quantization="float16")
    if folder.exists():
        shutil.rmtree(folder)
    folder.mkdir(parents=True)
    spec.save(str(folder))
    (folder / "tokenizer.json").write_text(json.dumps(tokenizer, ensure_ascii=False), encoding="utf-8")
    if shape.preprocessor_config:
        preprocessor = {"feature_size": shape.n_mels, "sampling_rate": 16000, "hop_length": 160, "n_fft": 400}
        (folder / "preprocessor_config.json").write_text(json.dumps(preprocessor), encoding="utf-8")
    return folder


def with_heads(source: Path, folder: Path, heads: list[list[int]]) -> Path:
    """A copy of the model in ``source`` whose config.json names other alignment heads."""
    if folder.exists():
        shutil.rmtree(folder)
    shutil.copytree(source, folder)
    config = json.loads((folder / "config.json").read_text(encoding="utf-8"))
    config["alignment_heads"] = heads
    (folder / "config.json").write_text(json.dumps(config), encoding="utf-8")
    return folder
