"""The shapes production Whisper models come in, on tiny random-weight models of those shapes.

Random weights transcribe garbage, so these tests check what a model's shape
decides, not what it hears: the mel count of the features (128 for large-v3,
turbo and distil-large-v3, even when ``preprocessor_config.json`` is missing),
that the encoder takes them, that decoding stops at the token budget, that
word timing uses the alignment heads the model's own config names (a
distilled model's two decoder layers have their own), that a whole run either
writes well-formed files or refuses with one line, and that an English-only
model is refused for Russian. See ``tests/tiny_models.py`` for the shapes.
"""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import srt

from pipeline.audio import SAMPLE_RATE, envelope
from pipeline.audio import chunks as speech_chunks
from pipeline.cli import main
from pipeline.errors import ModelError
from pipeline.whisper import asr
from pipeline.whisper.attention import align_tokens
from pipeline.whisper.encoder import EncodedAudio, encode_audio, frame_count
from pipeline.whisper.features import LogMel
from pipeline.whisper.model import english_only_problem
from tests import tiny_models
from tests.clips import cut_clip
from tests.conftest import ROOT, SAMPLE_AUDIO

LARGE = ("large-v3", "turbo", "distil")


@pytest.fixture(scope="module")
def tiny(tmp_path_factory) -> dict[str, Path]:
    folder = tmp_path_factory.mktemp("tiny-models")
    built = {name: tiny_models.build(folder / name, shape) for name, shape in tiny_models.SHAPES.items()}
    bare = tiny_models.Shape("large-v3-bare", n_mels=128, languages=100, preprocessor_config=False)
    built[bare.name] = tiny_models.build(folder / bare.name, bare)
    return built


@pytest.fixture(scope="module")
def clip(tmp_path_factory, sample_samples, sample_truth) -> tuple[Path, Path, np.ndarray]:
    folder = tmp_path_factory.mktemp("shape-clip")
    audio, text, _ = cut_clip(sample_samples, sample_truth, 0, 2, folder)
    from pipeline.audio import decode

    return audio, text, decode(audio)


def test_features_match_faster_whisper_and_do_not_depend_on_blas_threads(sample_samples) -> None:
    from faster_whisper.feature_extractor import FeatureExtractor

    piece = sample_samples[: 20 * SAMPLE_RATE]
    ours, theirs = LogMel(80)(piece), FeatureExtractor()(piece)
    assert ours.shape == theirs.shape and float(np.abs(ours - theirs).max()) < 1e-5
    assert LogMel(128)(piece).shape == (128, theirs.shape[1])

    # The same features with one BLAS thread and with two (a Ray worker's share against a whole machine).
    script = (
        "import hashlib, sys\n"
        "from pipeline.audio import decode\n"
        "from pipeline.whisper.features import LogMel\n"
        f"x = decode({str(SAMPLE_AUDIO)!r})[: 20 * 16000]\n"
        "print(hashlib.sha256(LogMel(80)(x).tobytes()).hexdigest())\n"
    )
    digests = set()
    for threads in ("1", "2"):
        env = {**os.environ, "OMP_NUM_THREADS": threads, "OPENBLAS_NUM_THREADS": threads}
        command = [sys.executable, "-c", script]
        done = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True)
        assert done.returncode == 0, done.stderr
        digests.add(done.stdout.strip())
    assert digests == {hashlib.sha256(ours.tobytes()).hexdigest()}


@pytest.mark.parametrize("name", [*LARGE, "large-v3-bare"])
def test_128_bin_models_get_128_bin_features_and_encode(tiny, clip, name) -> None:
    engine = asr.load(str(tiny[name]), "cpu")
    _, _, samples = clip

    assert engine.mel is not None and engine.mel.n_mels == engine.whisper.model.n_mels == 128
    encoded = np.asarray(encode_audio(engine, [samples]))
    assert encoded.shape == (1, 1500, tiny_models.SHAPES.get(name, tiny_models.SHAPES["large-v3"]).width)
    assert np.isfinite(encoded).all()
    if name == "large-v3-bare":
        # faster-whisper's own extractor falls back to 80 bins without preprocessor_config.json,
        # and the model refuses those.
        import ctranslate2

        fallback = engine.whisper.feature_extractor(samples)
        assert fallback.shape[0] == 80
        padded = np.pad(fallback, ((0, 0), (0, 3000 - fallback.shape[1])))[None].astype(np.float32)
        with pytest.raises(ValueError, match="128"):
            engine.whisper.model.encode(ctranslate2.StorageView.from_array(padded))


@pytest.mark.slow
def test_decoding_stops_at_the_token_budget(tiny, clip) -> None:
    engine = asr.load(str(tiny["large-v3"]), "cpu")
    _, _, samples = clip
    env = envelope(samples)
    planned = speech_chunks.plan(env, samples.size / SAMPLE_RATE, speech_chunks.MAX_CHUNK)
    tokenizer = engine.tokenizer()
    prompt = [*tokenizer.sot_sequence, tokenizer.no_timestamps]
    assert tokenizer.sot_sequence[1:] == [tokenizer.tokenizer.token_to_id("<|ru|>"), 50360]  # v3's layout

    with EncodedAudio(engine, samples, planned) as encoded:
        storage = encoded.encode(list(range(len(planned))))
        budgets = [len(prompt) + 8 + int(asr.TOKENS_PER_SECOND * c.duration) for c in planned]
        decoded = asr._decode(engine, storage, prompt, budgets, tokenizer)
        words = list(asr.transcribe(engine, encoded))

    assert all(len(tokens) <= budget - len(prompt) for tokens, budget in zip(decoded, budgets))
    assert all(t < len(tokenizer.tokenizer.get_vocab()) for tokens in decoded for t in tokens)
    assert all(0.0 <= w.start <= w.end <= samples.size / SAMPLE_RATE + 0.01 for w in words)
    assert [w.start for w in words] == sorted(w.start for w in words)


@pytest.mark.parametrize("name", ["distil", "turbo"])
def test_word_timing_uses_the_models_own_alignment_heads(tiny, clip, tmp_path, name) -> None:
    _, _, samples = clip
    words = ["Начали", "проводить", "публичные", "мероприятия", "давать", "множество", "интервью"]
    config = json.loads((tiny[name] / "config.json").read_text(encoding="utf-8"))
    own = config["alignment_heads"]
    other = [[0, 0], [0, 1]]

    def placed(model: Path) -> tuple[list[tuple[int, int]], list[tuple[float, float]]]:
        engine = asr.load(str(model), "cpu")
        tokenizer = engine.tokenizer()
        per_word = [tokenizer.encode(" " + w) for w in words]
        encoded = encode_audio(engine, [samples], pad=False)
        seconds = samples.size / SAMPLE_RATE
        places = align_tokens(engine, tokenizer, encoded, [per_word], [frame_count(seconds)], [0.0])[0]
        tokens = [t for word in per_word for t in word]
        raw = engine.whisper.model.align(encoded, tokenizer.sot_sequence, [tokens], [frame_count(seconds)])
        assert len(places) == len(words)
        assert all(0.0 <= p.start <= p.end <= seconds + 0.02 for p in places)
        assert [p.start for p in places] == sorted(p.start for p in places)
        return [tuple(pair) for pair in raw[0].alignments], [(p.start, p.end) for p in places]

    assert own != other and len(own) >= 1
    first = placed(tiny[name])
    assert placed(tiny_models.with_heads(tiny[name], tmp_path / "same", own)) == first
    assert placed(tiny_models.with_heads(tiny[name], tmp_path / "other", other))[0] != first[0]


@pytest.mark.slow
@pytest.mark.parametrize("name", LARGE)
def test_a_large_shape_runs_every_stage(tiny, clip, tmp_path, capsys, name) -> None:
    audio, text, _ = clip
    out = tmp_path / "out"
    run = ["run", str(audio), str(text), "--out", str(out), "--model", str(tiny[name])]

    # Transcribing: every stage up to matching runs; random words match nothing, which is refused.
    code = main([*run, "--no-progress"])
    err = capsys.readouterr().err.strip()
    assert code == 7 and err.startswith("subpipe: error: ") and "does not match" in err and "\n" not in err
    assert not out.exists() or not [p for p in out.iterdir() if not p.name.startswith(".")]

    # Reading along (no transcription): the whole run, every file written and well-formed.
    code = main([*run, "--no-asr"])
    assert code == 0, capsys.readouterr().err
    stem = audio.stem
    alignment = json.loads((out / f"{stem}.align.json").read_text(encoding="utf-8"))
    assert alignment["model"] == str(tiny[name]) and len(alignment["lines"]) == 2
    for line in alignment["lines"]:
        assert line["status"] in ("aligned", "unspoken", "no_text")
        if line["status"] == "aligned":
            assert 0.0 <= line["start"] <= line["end"] <= alignment["duration"]
    list(srt.parse((out / f"{stem}.ru-en.srt").read_text(encoding="utf-8")))
    assert (out / f"{stem}.ru-en.vtt").read_text(encoding="utf-8").startswith("WEBVTT")
    assert "[Events]" in (out / f"{stem}.ru-en.ass").read_text(encoding="utf-8")


def test_an_english_only_model_is_refused_for_russian(tiny, clip, tmp_path, capsys) -> None:
    audio, text, _ = clip
    for model in (str(tiny["tiny.en"]), "base.en"):  # a folder by its vocabulary; a name before any download
        out = tmp_path / model.replace("/", "_")
        code = main(["run", str(audio), str(text), "--out", str(out), "--model", model, "--no-progress"])
        err = capsys.readouterr().err.strip()
        assert code == 6 and "\n" not in err
        assert err == f"subpipe: error: {model}: " + english_only_problem("ru")
        assert "English-only" in err and "Russian" in err
    engine = asr.load(str(tiny["tiny.en"]), "cpu", language="en")
    assert not engine.multilingual and engine.tokenizer().sot_sequence == [engine.tokenizer().sot]


def test_a_conversion_without_alignment_heads_is_refused_as_it_loads(tiny, tmp_path) -> None:
    bare = tiny_models.with_heads(tiny["distil"], tmp_path / "no-heads", [])
    with pytest.raises(ModelError, match="alignment_heads"):
        asr.load(str(bare), "cpu")
