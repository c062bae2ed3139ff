"""Benchmark scenarios built from the seed transcript: the demo sample, clean, mismatched, long.

Each picks seed lines, plans what is heard (and what is not), and writes the
episode under ``.cache/bench/<scenario>/`` (the sample to a chosen folder).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from bench.episode_builder import (
    EpisodeFiles,
    PlanItem,
    Silence,
    SpokenLine,
    Unscripted,
    UnspokenLine,
    write_episode,
)
from bench.festival import CACHE_ROOT, synthesize_many
from bench.seed_text import _EDGE_PUNCT, read_seed, reference_words, said_for_english
from pipeline.types import Line

BENCH_ROOT = CACHE_ROOT / "bench"

ADS = (
    "Этот выпуск выходит при поддержке нашего партнёра, сервиса защищённой почты.",
    "Подписывайтесь на наш подкаст и делитесь им с друзьями и коллегами.",
    "Если вам нравится то, что мы делаем, поддержите нас на нашем сайте.",
)


def _first_content_line(lines: Sequence[Line]) -> int:
    """Index of the first line with both languages: the seed opens with titles."""
    return next((ln.index for ln in lines if ln.ru and ln.en), 0)


def _plan_line(i: int, line: Line) -> SpokenLine:
    said = said_for_english(line.en) if not line.ru else None
    return SpokenLine(i, line.ru, line.en, said)


def _spoken_text(item: SpokenLine) -> str:
    return item.said if item.said is not None else item.ru


def _fit_minutes(
    lines: Sequence[Line], start: int, seconds: float, *, max_lines: int | None = None
) -> list[Line]:
    """Consecutive lines from ``start`` whose speech plus typical pauses fills ``seconds``."""
    picked: list[Line] = []
    total = 0.0
    batch = 40
    i = start
    while total < seconds and i < len(lines) and (max_lines is None or len(picked) < max_lines):
        chunk = list(lines[i : i + batch])
        audios = synthesize_many([_spoken_text(_plan_line(0, ln)) for ln in chunk])
        for ln, audio in zip(chunk, audios, strict=True):
            if total >= seconds or (max_lines is not None and len(picked) >= max_lines):
                break
            picked.append(ln)
            total += audio.duration + 0.625  # mean of the 0.25-1.0 s pauses
        i += batch
    return picked


def pick_sample_stretch(lines: Sequence[Line], window: int = 35) -> int:
    """Start of a stretch of short-to-medium dialogue with translations, past the
    titles, preferring one with an English-only line well inside it."""
    first = _first_content_line(lines)
    best: tuple[float, int] | None = None
    for s in range(first, max(first + 1, len(lines) - window)):
        win = lines[s : s + window]
        penalty = 0.0
        english_only = [k for k, ln in enumerate(win) if not ln.ru and ln.en]
        penalty += 100 * sum(1 for ln in win if ln.ru and not ln.en)
        penalty += 100 * sum(1 for k in english_only if not 5 <= k < window - 5)
        penalty += 5 * sum(1 for ln in win if len(ln.ru) > 70)
        penalty += 0 if english_only else 50
        # A demo that opens mid-sentence sounds cut off.
        penalty += 0 if win[0].ru[:1].isupper() else 20
        penalty += 0.1 * min((abs(k - window / 2) for k in english_only), default=0)
        if best is None or penalty < best[0]:
            best = (penalty, s)
    return best[1] if best else first


def make_sample(seed_path: Path, outdir: Path, seed: int = 2021) -> EpisodeFiles:
    """The committed demo: about three minutes of consecutive seed lines, Opus in Ogg."""
    lines = read_seed(seed_path)
    start = pick_sample_stretch(lines)
    picked = _fit_minutes(lines, start, 170.0, max_lines=60)
    if len(picked) < 35:
        picked = list(lines[start : start + 35])
    # End on a finished sentence where that still leaves enough lines.
    ends = [k for k, ln in enumerate(picked) if k >= 34 and ln.ru.rstrip().endswith((".", "?", "!"))]
    if ends:
        picked = picked[: ends[-1] + 1]
    items = [_plan_line(i, ln) for i, ln in enumerate(picked)]
    return write_episode(items, Path(outdir), "sample", seed, audio_suffix=".ogg")


def scenario_clean(seed_path: Path, minutes: float = 5.0, seed: int = 1) -> EpisodeFiles:
    """A consecutive stretch read exactly as written."""
    lines = read_seed(seed_path)
    rng = np.random.default_rng(seed)
    first = _first_content_line(lines)
    start = int(rng.integers(first, max(first + 1, len(lines) - 200)))
    picked = _fit_minutes(lines, start, minutes * 60)
    items = [_plan_line(i, ln) for i, ln in enumerate(picked)]
    return write_episode(items, BENCH_ROOT / "clean", "episode", seed)


def _change_word(ru: str, vocabulary: Sequence[str], rng: np.random.Generator) -> str | None:
    """``ru`` with one word of four or more letters replaced by another seed word."""
    tokens = ru.split()
    candidates = [k for k, t in enumerate(tokens) if re.fullmatch(r"[А-Яа-яЁё]{4,}", _EDGE_PUNCT.sub("", t))]
    if not candidates:
        return None
    k = int(rng.choice(candidates))
    core = _EDGE_PUNCT.sub("", tokens[k])
    options = [w for w in vocabulary if w.lower() != core.lower() and abs(len(w) - len(core)) <= 3]
    if not options:
        return None
    new = str(rng.choice(options))
    if core[0].isupper():
        new = new[0].upper() + new[1:]
    tokens[k] = tokens[k].replace(core, new, 1)
    return " ".join(tokens)


def scenario_mismatched(
    seed_path: Path, minutes: float = 5.0, seed: int = 2, noise_snr_db: float = 15.0
) -> EpisodeFiles:
    """A stretch whose transcript and audio disagree the way real ones do.

    10% of the lines are never spoken, 10% are spoken with one word changed,
    unscripted speech (ads, lines from elsewhere in the seed) and silences of
    3-8 s sit between lines, and white noise runs under everything.
    """
    lines = read_seed(seed_path)
    rng = np.random.default_rng(seed)
    first = _first_content_line(lines)
    start = int(rng.integers(first, max(first + 1, len(lines) - 250)))
    picked = _fit_minutes(lines, start, minutes * 60 * 0.85)  # room for the inserts
    n = len(picked)
    with_ru = [i for i, ln in enumerate(picked) if ln.ru]
    n_ten = max(1, round(0.1 * n))
    unspoken = {int(i) for i in rng.choice(with_ru, size=min(n_ten, len(with_ru)), replace=False)}
    vocabulary = sorted(
        {w.lower() for ln in lines for w in reference_words(ln.ru) if re.fullmatch(r"[А-Яа-яЁё]{4,}", w)}
    )
    changeable = [i for i in with_ru if i not in unspoken]
    changed: dict[int, str] = {}
    for i in rng.permutation(changeable):
        if len(changed) >= n_ten:
            break
        new = _change_word(picked[int(i)].ru, vocabulary, rng)
        if new is not None:
            changed[int(i)] = new

    # Unscripted speech: the ads, and lines from far outside the stretch.
    outside = [ln.ru for ln in lines[first:] if ln.ru and not start - 50 <= ln.index < start + n + 50]
    extras: list[PlanItem] = [Unscripted(a) for a in ADS[:2]]
    extras += [Unscripted(str(t)) for t in rng.choice(outside, size=2, replace=False)]
    extras += [Silence(round(float(rng.uniform(3.0, 8.0)), 2)) for _ in range(2)]
    gaps = sorted(int(g) for g in rng.choice(np.arange(1, n), size=min(len(extras), n - 1), replace=False))
    order = [int(k) for k in rng.permutation(len(extras))]
    inserts = {g: extras[k] for g, k in zip(gaps, order, strict=False)}

    items: list[PlanItem] = []
    for i, ln in enumerate(picked):
        if i in inserts:
            items.append(inserts[i])
        if i in unspoken:
            items.append(UnspokenLine(i, ln.ru, ln.en))
        elif i in changed:
            items.append(SpokenLine(i, ln.ru, ln.en, changed[i]))
        else:
            items.append(_plan_line(i, ln))
    return write_episode(items, BENCH_ROOT / "mismatched", "episode", seed, noise_snr_db=noise_snr_db)


def scenario_long(seed_path: Path, seed: int = 3) -> EpisodeFiles:
    """The whole seed as one episode (about an hour).

    Synthesis is cached line by line, so an interrupted run resumes where it stopped.
    """
    lines = read_seed(seed_path)
    items = [_plan_line(ln.index, ln) for ln in lines]
    synthesize_many([_spoken_text(it) for it in items], progress=True)
    return write_episode(items, BENCH_ROOT / "long", "episode", seed)
