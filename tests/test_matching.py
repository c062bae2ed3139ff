"""Order-preserving token matching: seeds chained across the episode, repeated passages kept apart."""

from __future__ import annotations

import itertools
import json
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pipeline.align.matching import _chain, _runs, match_tokens

tokens = st.lists(st.sampled_from(["а", "бы", "вот", "где", "дом", "ещё"]), max_size=40)


def _best_chain_brute_force(runs: list[tuple[int, int, int]]) -> int:
    runs = sorted(runs)
    best = [0] * len(runs)
    for a, (i, j, n) in enumerate(runs):
        before = [best[b] for b, (i2, j2, n2) in enumerate(runs[:a]) if i2 + n2 <= i and j2 + n2 <= j]
        best[a] = n + max(before, default=0)
    return max(best, default=0)


@settings(max_examples=300)
@given(ref=tokens, hyp=tokens)
def test_chain_is_the_heaviest_order_preserving_path(ref: list[str], hyp: list[str]) -> None:
    runs = _runs(ref, hyp)
    chain = _chain(runs)

    assert sum(n for _, _, n in chain) == _best_chain_brute_force(runs)
    assert all(i + n <= i2 and j + n <= j2 for (i, j, n), (i2, j2, _) in itertools.pairwise(chain))


@settings(max_examples=300)
@given(ref=tokens, hyp=tokens, cut=st.integers(0, 40))
def test_pairs_increase_in_both_sequences_and_exact_pairs_are_equal(
    ref: list[str], hyp: list[str], cut: int
) -> None:
    hyp = ref[:cut] + hyp + ref  # plenty of shared runs, some of them repeated
    pairs = match_tokens(ref, hyp)

    assert all(a < c and b < d for (a, b, _), (c, d, _) in itertools.pairwise(pairs))
    assert all(ref[a] == hyp[b] for a, b, sim in pairs if sim == 1.0)


def test_a_passage_read_twice_is_matched_to_each_hearing_in_turn() -> None:
    ad = ["этот", "выпуск", "поддерживает", "сервис", "доставки", "еды", "по", "всему", "городу"]
    talk = ["сегодня", "мы", "говорим", "о", "персональных", "данных", "и", "законе", "о", "них"]
    ref = ad + talk + ad
    heard = ad + talk[:4] + ["шум"] + talk[5:] + ad

    pairs = match_tokens(ref, heard)

    first, last = pairs[0], pairs[-1]
    assert (first[0], first[1]) == (0, 0) and (last[0], last[1]) == (len(ref) - 1, len(heard) - 1)
    assert len(pairs) >= len(ref) - 1


@pytest.mark.slow
def test_an_episode_whose_audio_repeats_aligns_both_readings(
    tmp_path: Path, sample_samples, sample_truth
) -> None:
    from bench.synth import encode_audio
    from pipeline import transcript
    from pipeline.audio import decode, duration
    from pipeline.cli import main
    from tests.clips import cut_clip

    clip, text, truth = cut_clip(sample_samples, sample_truth, first=0, count=6, folder=tmp_path)
    samples = decode(clip)
    encode_audio(np.tile(samples, 2), tmp_path / "twice.flac")
    (tmp_path / "twice.tsv").write_text(transcript.compose(transcript.read(text) * 2, "tsv"), "utf-8")
    out = tmp_path / "out"

    assert main(["run", str(tmp_path / "twice.flac"), str(tmp_path / "twice.tsv"), "--out", str(out)]) == 0

    lines = json.loads((out / "twice.align.json").read_text(encoding="utf-8"))["lines"]
    assert all(line["status"] == "aligned" for line in lines)
    shift = duration(samples)
    expected = [t["start"] for t in truth] + [t["start"] + shift for t in truth]
    errors = [abs(line["start"] - want) for line, want in zip(lines, expected)]
    assert sum(e <= 0.25 for e in errors) / len(errors) >= 0.9, errors
