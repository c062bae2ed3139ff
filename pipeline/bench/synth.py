"""Synthetic Russian episodes whose true line and word timings are known.

Festival's Russian voice (``voice_msu_ru_nsh_clunits``) reads transcript lines;
Festival itself reports when each word starts and ends, so an episode built
from those lines comes with exact truth to score the aligner against.

Usage::

    python -m pipeline.bench.synth sample SEED OUTDIR    # the committed demo sample
    python -m pipeline.bench.synth clean|mismatched|long SEED

Each synthesized line is cached under ``.cache/festival/`` so that rebuilding
episodes (and resuming the hour-long one) costs almost nothing.
"""

from __future__ import annotations

import argparse
import difflib
import hashlib
import io
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import wave
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any, NamedTuple, TypeAlias

import numpy as np

from pipeline.fileio import atomic_write_bytes, atomic_write_text
from pipeline.types import Line

SAMPLE_RATE = 16000
VOICE = "voice_msu_ru_nsh_clunits"
REPO_ROOT = Path(__file__).resolve().parents[2]
CACHE_ROOT = REPO_ROOT / ".cache"
FESTIVAL_CACHE = CACHE_ROOT / "festival"
BENCH_ROOT = CACHE_ROOT / "bench"

# Part of every cache key: bump it when trimming or the Festival script changes,
# so stale entries are not reused.
CACHE_VERSION = "1"
WORKERS = 2
# Lines per Festival process: loading the voice costs about half a second, a
# line about a tenth, so batches amortise the start-up while keeping the work
# lost to an interruption small.
CHUNK = 24
# A frame is speech when its RMS is within this many dB of the line's loudest
# frame; Festival's pauses sit about 60 dB down, quiet consonants above -40.
TRIM_DB = -45.0
TRIM_FRAME = 80  # 5 ms

# What the speaker says for transcript lines that only have English: the
# aligner should give such a line the time of this unscripted Russian speech.
SAID_FOR_ENGLISH = {
    "for example": "Например.",
    "thank you": "Спасибо.",
    "there is": "Есть такое.",
    "by the deputies": "депутатами,",
}
SAID_FOR_ENGLISH_DEFAULT = "Вот так."

ADS = (
    "Этот выпуск выходит при поддержке нашего партнёра, сервиса защищённой почты.",
    "Подписывайтесь на наш подкаст и делитесь им с друзьями и коллегами.",
    "Если вам нравится то, что мы делаем, поддержите нас на нашем сайте.",
)

_CYRILLIC = re.compile(r"[А-Яа-яЁё]")
_LATIN = re.compile(r"[A-Za-z]")
_EDGE_PUNCT = re.compile(r"^[^\w]+|[^\w]+$")
# Festival's Russian letter-to-sound rules abort the whole utterance on any
# character they do not know (dashes, guillemets, %, №, "т.е." ...), so only
# these reach it.
_SPEAKABLE = re.compile(r"[^0-9A-Za-zА-Яа-яЁё'-]")
_SPOKEN_SYMBOLS = {"%": " процентов ", "№": " номер ", "&": " и ", "+": " плюс ", "$": " долларов "}


# ---------------------------------------------------------------- transcript


def _is_russian(text: str) -> bool:
    return len(_CYRILLIC.findall(text)) > len(_LATIN.findall(text))


def read_bilingual(path: Path) -> list[Line]:
    """Read the seed's bilingual layout: a Russian line, then its English line.

    Blank lines carry no meaning here; a Cyrillic-majority line followed by a
    Latin-majority line is a pair, and a line of either script without its
    partner stands alone with the other side empty.
    """
    rows = [
        (no, raw.strip())
        for no, raw in enumerate(Path(path).read_text(encoding="utf-8").splitlines(), 1)
        if raw.strip()
    ]
    lines: list[Line] = []
    i = 0
    while i < len(rows):
        no, text = rows[i]
        if _is_russian(text):
            if i + 1 < len(rows) and not _is_russian(rows[i + 1][1]):
                lines.append(Line(len(lines), text, rows[i + 1][1], no))
                i += 2
                continue
            lines.append(Line(len(lines), text, "", no))
        else:
            lines.append(Line(len(lines), "", text, no))
        i += 1
    return lines


def read_seed(path: Path) -> list[Line]:
    """The seed's lines as the aligner will number them.

    The project's parser decides edge cases (a mixed-script line after a
    Russian one is its translation), and truth indices must match its view;
    the local reader stands in where that module is absent.
    """
    try:
        from pipeline.transcript import read
    except ImportError:
        return read_bilingual(path)
    return list(read(path))


def format_bilingual(lines: Iterable[tuple[str, str]]) -> str:
    """The seed's layout: every entry is a Russian slot and an English slot, each
    followed by a blank line; a missing side leaves its slot empty, as in the seed."""
    return "".join(f"{ru}\n\n{en}\n\n" for ru, en in lines)


def reference_words(text: str) -> list[str]:
    """The words of a line as the truth names them: whitespace tokens without
    edge punctuation; tokens that are only punctuation are not words."""
    return [w for w in (_EDGE_PUNCT.sub("", tok) for tok in text.split()) if w]


def said_for_english(en: str) -> str:
    key = _EDGE_PUNCT.sub("", en.strip().lower())
    return SAID_FOR_ENGLISH.get(key, SAID_FOR_ENGLISH_DEFAULT)


# ---------------------------------------------------------------- Festival


@dataclass(frozen=True, slots=True)
class FestToken:
    """One Festival token (roughly a whitespace token) and the words it became."""

    name: str
    words: tuple[str, ...]
    start: float | None
    end: float | None


@dataclass(frozen=True, slots=True)
class TimedWord:
    """A reference word with its true time; ``None`` where Festival's words could
    not be tied to it reliably. ``said`` is what Festival pronounced, e.g.
    "две тысяч двадцать один" for "2021"."""

    text: str
    start: float | None
    end: float | None
    said: str


@dataclass(frozen=True, slots=True)
class LineAudio:
    text: str
    samples: np.ndarray  # float32, SAMPLE_RATE, leading/trailing silence trimmed
    words: tuple[TimedWord, ...]
    fallback: bool  # Festival needed the text stripped to bare letters

    @property
    def duration(self) -> float:
        return len(self.samples) / SAMPLE_RATE

    @property
    def complete(self) -> bool:
        return all(w.start is not None for w in self.words)


class WordTiming(NamedTuple):
    text: str
    start: float | None
    end: float | None


class FestivalError(RuntimeError):
    pass


def festival_available() -> bool:
    return shutil.which("festival") is not None and shutil.which("text2wave") is not None


def _synth_tokens(text: str, strict: bool = False) -> list[tuple[str, int]]:
    """Text for Festival as (token, index of the reference word it speaks).

    Keeping the reference index lets word times come back to the transcript's
    words even when one word becomes several tokens ("15%" -> "15 процентов").
    ``strict`` drops everything but letters and digits, for lines Festival
    rejected anyway.
    """
    out: list[tuple[str, int]] = []
    for ref_i, tok in enumerate(t for t in text.split() if _EDGE_PUNCT.sub("", t)):
        tail = tok[len(tok.rstrip(".,!?:;…")) :]
        if not strict:
            for sym, spoken in _SPOKEN_SYMBOLS.items():
                tok = tok.replace(sym, spoken)
        core = _EDGE_PUNCT.sub("", tok)
        core = _SPEAKABLE.sub(" ", core)
        if strict:
            core = core.replace("-", " ").replace("'", "")
        parts = [p.strip("-'") for p in core.split()]
        parts = [p for p in parts if p]
        if not parts:
            continue
        # Sentence punctuation shapes Festival's phrasing, so the last part keeps it.
        punct = "" if strict else ("." if "…" in tail else tail[:1])
        parts[-1] += punct
        out.extend((p, ref_i) for p in parts)
    return out


def _scheme_string(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


_SCHEME_PRELUDE = r"""
(define (subpipe-emit id utt)
  ;; Walk the top level only: relation.items would also list each token's words.
  (let ((tok (utt.relation.first utt 'Token)))
    (while tok
      (format t "@@T\t%s\t%s" id (item.name tok))
      (mapcar (lambda (w)
                (format t "\t%s\t%s\t%s" (item.name w) (item.feat w "word_start") (item.feat w "word_end")))
              (item.daughters tok))
      (format t "\n")
      (set! tok (item.next tok)))))
(define (subpipe-synth id text path)
  (let ((u nil))
    ;; One unspeakable line must not take the rest of the batch down with it.
    (unwind-protect (set! u (SynthText text)) (set! u nil))
    (if u
        (begin (utt.save.wave u path 'riff) (subpipe-emit id u) (format t "@@D\t%s\n" id))
        (format t "@@E\t%s\n" id))))
"""


def _run_festival(jobs: Sequence[tuple[str, str]], workdir: Path) -> dict[str, list[FestToken] | None]:
    """Synthesize (id, festival text) pairs in one Festival process.

    Returns id -> tokens for each finished job (the wav is ``workdir/<id>.wav``),
    id -> None for jobs Festival rejected; ids missing from the result were not
    reached because Festival died.
    """
    lines = [f"({VOICE})", _SCHEME_PRELUDE]
    for job_id, text in jobs:
        wav = (workdir / f"{job_id}.wav").as_posix()
        lines.append(f"(subpipe-synth {_scheme_string(job_id)} {_scheme_string(text)} {_scheme_string(wav)})")
    script = workdir / f"batch-{jobs[0][0]}.scm"
    script.write_text("\n".join(lines) + "\n", encoding="utf-8")
    # -b (batch) rather than --script: only batch mode loads Festival's init
    # files, without which the voice function is unbound.
    proc = subprocess.run(
        ["festival", "-b", str(script)],
        capture_output=True,
        text=True,
        encoding="utf-8",
        errors="replace",
        timeout=60 + 10 * len(jobs),
        check=False,
    )
    result: dict[str, list[FestToken] | None] = {}
    pending: dict[str, list[FestToken]] = {}
    for row in proc.stdout.splitlines():
        fields = row.split("\t")
        if fields[0] == "@@T" and len(fields) >= 3:
            triples = fields[3:]
            words = tuple(triples[0::3])
            starts = [float(x) for x in triples[1::3]]
            ends = [float(x) for x in triples[2::3]]
            tok = FestToken(fields[2], words, starts[0] if starts else None, ends[-1] if ends else None)
            pending.setdefault(fields[1], []).append(tok)
        elif fields[0] == "@@D":
            result[fields[1]] = pending.pop(fields[1], [])
        elif fields[0] == "@@E":
            result[fields[1]] = None
    return result


def _read_wav(path: Path) -> np.ndarray:
    with wave.open(str(path), "rb") as w:
        if w.getframerate() != SAMPLE_RATE or w.getnchannels() != 1 or w.getsampwidth() != 2:
            raise FestivalError(f"{path}: expected 16 kHz mono 16-bit, got {w.getparams()}")
        data = w.readframes(w.getnframes())
    return np.frombuffer(data, dtype="<i2").astype(np.float32) / 32768.0


def speech_bounds(samples: np.ndarray) -> tuple[int, int]:
    """First and one-past-last sample of speech by a frame energy threshold."""
    n = len(samples) // TRIM_FRAME
    if n == 0:
        return 0, 0
    frames = samples[: n * TRIM_FRAME].reshape(n, TRIM_FRAME)
    rms = np.sqrt(np.mean(frames.astype(np.float64) ** 2, axis=1))
    if rms.max() <= 0:
        return 0, 0
    loud = np.flatnonzero(rms >= rms.max() * 10 ** (TRIM_DB / 20))
    return int(loud[0]) * TRIM_FRAME, (int(loud[-1]) + 1) * TRIM_FRAME


def _cache_path(text: str) -> Path:
    key = hashlib.sha1(f"{CACHE_VERSION}\n{VOICE}\n{text}".encode()).hexdigest()
    return FESTIVAL_CACHE / f"{key}.npz"


def _save_cached(text: str, samples: np.ndarray, tokens: list[FestToken], festival_text: str) -> None:
    meta = {
        "text": text,
        "festival_text": festival_text,
        "tokens": [[t.name, list(t.words), t.start, t.end] for t in tokens],
    }
    buf = io.BytesIO()
    pcm = np.clip(np.round(samples * 32768.0), -32768, 32767).astype("<i2")
    np.savez_compressed(buf, samples=pcm, meta=np.array(json.dumps(meta, ensure_ascii=False)))
    atomic_write_bytes(_cache_path(text), buf.getvalue())


def _load_cached(text: str) -> LineAudio | None:
    path = _cache_path(text)
    if not path.exists():
        return None
    try:
        with np.load(path, allow_pickle=False) as data:
            samples = data["samples"].astype(np.float32) / 32768.0
            meta = json.loads(str(data["meta"]))
    except (OSError, ValueError, KeyError):
        return None  # a damaged entry is just re-synthesized
    if meta.get("text") != text:
        return None
    tokens = [FestToken(n, tuple(w), s, e) for n, w, s, e in meta["tokens"]]
    festival_text = meta["festival_text"]
    strict = festival_text != _festival_text(text, False)
    try:
        words = map_words(text, festival_text, tokens, strict)
    except ValueError:
        return None  # made by an older cleanup of the text: synthesize afresh
    return LineAudio(text, samples, tuple(words), strict)


def map_words(text: str, festival_text: str, tokens: Sequence[FestToken], strict: bool) -> list[TimedWord]:
    """Tie Festival's tokens back to the reference words of ``text``.

    Festival tokens normally correspond 1:1 to the whitespace tokens we gave
    it, and the words it expands a token into ("2021" -> four words) stay under
    that token. Where its tokenisation differs from ours, only tokens whose
    text matches exactly (after a diff of the two sequences) keep their time;
    the other reference words get ``None``, so no truth is invented.
    """
    refs = reference_words(text)
    sent = _synth_tokens(text, strict)
    if " ".join(t for t, _ in sent) != festival_text:
        raise ValueError("festival_text was not produced from text")

    def norm(s: str) -> str:
        return _EDGE_PUNCT.sub("", s).lower()

    matcher = difflib.SequenceMatcher(
        None, [norm(t) for t, _ in sent], [norm(t.name) for t in tokens], autojunk=False
    )
    spans: dict[int, list[FestToken]] = {}
    broken: set[int] = set()
    for op, a0, a1, b0, _b1 in matcher.get_opcodes():
        for k in range(a0, a1):
            ref_i = sent[k][1]
            if op == "equal":
                spans.setdefault(ref_i, []).append(tokens[b0 + k - a0])
            else:
                broken.add(ref_i)
    out: list[TimedWord] = []
    for i, ref in enumerate(refs):
        toks = spans.get(i, [])
        said = " ".join(w for t in toks for w in t.words)
        timed = [t for t in toks if t.start is not None and t.end is not None]
        if i in broken or not timed:
            out.append(TimedWord(ref, None, None, said))
            continue
        start = min(t.start for t in timed if t.start is not None)
        end = max(t.end for t in timed if t.end is not None)
        out.append(TimedWord(ref, start, end, said))
    return out


def _store(text: str, wav: Path, tokens: Sequence[FestToken], festival_text: str) -> None:
    """Trim the line's silence, move the times with it, and cache the result."""
    raw = _read_wav(wav)
    lo, hi = speech_bounds(raw)
    if hi <= lo:
        raise FestivalError(f"Festival produced silence for {text!r}")
    # After the trim, 0 is the first speech sample and the length the last.
    shift, length = lo / SAMPLE_RATE, (hi - lo) / SAMPLE_RATE

    def move(t: float | None) -> float | None:
        return None if t is None else round(min(max(t - shift, 0.0), length), 4)

    trimmed = [FestToken(t.name, t.words, move(t.start), move(t.end)) for t in tokens]
    _save_cached(text, raw[lo:hi], trimmed, festival_text)


def _festival_text(text: str, strict: bool) -> str:
    return " ".join(t for t, _ in _synth_tokens(text, strict))


def _synthesize_solo(text: str, workdir: Path) -> None:
    for strict in (False, True):
        fest_text = _festival_text(text, strict)
        tokens = _run_festival([("solo", fest_text)], workdir).get("solo")
        if tokens is not None:
            _store(text, workdir / "solo.wav", tokens, fest_text)
            return
    raise FestivalError(f"Festival cannot say {text!r}")


def _synthesize_chunk(texts: Sequence[str]) -> None:
    """Synthesize texts into the cache in one Festival run where possible.

    A line Festival rejects is retried with strict cleanup; a line it dies on
    is run alone, so one bad line cannot stall the batch.
    """
    todo: list[tuple[str, bool]] = [(t, False) for t in texts]
    with tempfile.TemporaryDirectory(prefix="subpipe-festival-") as tmp:
        workdir = Path(tmp)
        attempt = 0
        while todo:
            attempt += 1
            jobs = [
                (f"a{attempt}_{k}", _festival_text(text, strict)) for k, (text, strict) in enumerate(todo)
            ]
            result = _run_festival(jobs, workdir)
            if not result:
                _synthesize_solo(todo[0][0], workdir)
                todo = todo[1:]
                continue
            retry: list[tuple[str, bool]] = []
            for (job_id, fest_text), (text, strict) in zip(jobs, todo, strict=True):
                if job_id not in result:
                    retry.append((text, strict))  # not reached: Festival died earlier
                elif (tokens := result[job_id]) is not None:
                    _store(text, workdir / f"{job_id}.wav", tokens, fest_text)
                elif strict:
                    raise FestivalError(f"Festival cannot say {text!r} even as {fest_text!r}")
                else:
                    retry.append((text, True))
            todo = retry


def synthesize_many(texts: Sequence[str], workers: int = WORKERS, progress: bool = False) -> list[LineAudio]:
    """Synthesize each text (cached), running ``workers`` Festival processes at once."""
    if not all(reference_words(t) for t in texts):
        raise ValueError("every text to synthesize needs at least one word")
    loaded = {t: _load_cached(t) for t in dict.fromkeys(texts)}
    missing = [t for t, audio in loaded.items() if audio is None]
    if missing:
        if not festival_available():
            raise FestivalError("Festival is not installed (needs `festival` and `festvox-ru`)")
        chunks = [missing[i : i + CHUNK] for i in range(0, len(missing), CHUNK)]
        done = 0
        with ThreadPoolExecutor(max_workers=workers) as pool:
            # Threads suffice: the work happens in the Festival child processes.
            for chunk, _ in zip(chunks, pool.map(_synthesize_chunk, chunks), strict=True):
                done += len(chunk)
                if progress:
                    print(f"festival: {done}/{len(missing)} lines synthesized", file=sys.stderr, flush=True)
        loaded.update({t: _load_cached(t) for t in missing})
    out: list[LineAudio] = []
    for text in texts:
        audio = loaded[text]
        if audio is None:
            raise FestivalError(f"no cached synthesis for {text!r} after synthesizing it")
        out.append(audio)
    return out


def synthesize(text: str) -> tuple[np.ndarray, list[WordTiming]]:
    """Speak one line: float32 16 kHz mono samples (silence trimmed) and the
    (text, start, end) of each reference word, start/end None where unknown."""
    audio = synthesize_many([text])[0]
    return audio.samples, [WordTiming(w.text, w.start, w.end) for w in audio.words]


# ---------------------------------------------------------------- episodes


@dataclass(frozen=True, slots=True)
class SpokenLine:
    """A transcript line that is heard. ``said`` is what the speaker actually
    says when it differs from ``ru`` (a changed word, or the Russian phrase
    spoken for an English-only line)."""

    index: int
    ru: str
    en: str
    said: str | None = None


@dataclass(frozen=True, slots=True)
class UnspokenLine:
    """A transcript line that is never heard."""

    index: int
    ru: str
    en: str


@dataclass(frozen=True, slots=True)
class Unscripted:
    """Russian speech that is not in the transcript."""

    text: str


@dataclass(frozen=True, slots=True)
class Silence:
    seconds: float


PlanItem: TypeAlias = SpokenLine | UnspokenLine | Unscripted | Silence
Synth: TypeAlias = Callable[[Sequence[str]], Sequence[LineAudio]]


def _r(x: float) -> float:
    return round(float(x), 3)


def _changed_words(said: str, written: str) -> list[tuple[int, str, str]]:
    """(position in written words, spoken, written) for words replaced one for one."""
    a, b = reference_words(said), reference_words(written)
    out: list[tuple[int, str, str]] = []
    matcher = difflib.SequenceMatcher(None, [w.lower() for w in a], [w.lower() for w in b], autojunk=False)
    for op, a0, a1, b0, b1 in matcher.get_opcodes():
        if op == "replace" and a1 - a0 == b1 - b0:
            out.extend((b0 + k, a[a0 + k], b[b0 + k]) for k in range(a1 - a0))
    return out


def _words_for_written(audio: LineAudio, written: str, offset: float) -> list[dict[str, Any]]:
    """Truth words of the written line, timed from what was actually said.

    Words the speaker said as written, or replaced one for one, take the time
    of the spoken word; written words with no spoken counterpart get None.
    """
    spoken = list(audio.words)
    written_words = reference_words(written)
    times: list[tuple[float | None, float | None, str]] = [(None, None, "")] * len(written_words)
    matcher = difflib.SequenceMatcher(
        None, [w.text.lower() for w in spoken], [w.lower() for w in written_words], autojunk=False
    )
    for op, a0, a1, b0, b1 in matcher.get_opcodes():
        if op == "equal" or (op == "replace" and a1 - a0 == b1 - b0):
            for k in range(a1 - a0):
                w = spoken[a0 + k]
                times[b0 + k] = (w.start, w.end, w.said)
    lo, hi = _r(offset), _r(offset + audio.duration)

    def clamp(t: float) -> float:
        # Rounded separately, a word could poke a millisecond out of its line.
        return min(max(_r(t), lo), hi)

    words: list[dict[str, Any]] = []
    for text, (start, end, said) in zip(written_words, times, strict=True):
        entry: dict[str, Any] = {
            "text": text,
            "start": None if start is None else clamp(offset + start),
            "end": None if end is None else clamp(offset + end),
        }
        if said and said.lower() != text.lower():
            entry["said"] = said
        words.append(entry)
    return words


def build_episode(
    items: Sequence[PlanItem],
    seed: int,
    noise_snr_db: float | None = None,
    audio_name: str = "episode.flac",
    synth: Synth | None = None,
) -> tuple[np.ndarray, dict[str, Any]]:
    """Lay out a plan as one episode; return its samples and its truth.

    The plan's transcript lines (spoken or not) must carry indices 0..n-1 in
    order: the truth has one entry per transcript line. A pause of 0.25-1.0 s
    separates consecutive speech unless a ``Silence`` stands between them.
    Noise, if asked for, is white at ``noise_snr_db`` below the mean power of
    the speech (silences excluded), so pauses are noisy too.
    """
    line_items = [it for it in items if isinstance(it, SpokenLine | UnspokenLine)]
    if [it.index for it in line_items] != list(range(len(line_items))):
        raise ValueError("plan lines must have indices 0..n-1 in transcript order")
    texts: list[str] = []
    for it in items:
        if isinstance(it, SpokenLine):
            spoken_text = it.said if it.said is not None else it.ru
            if not reference_words(spoken_text):
                raise ValueError(f"line {it.index} is spoken but has no Russian to say")
            texts.append(spoken_text)
        elif isinstance(it, Unscripted):
            texts.append(it.text)
    synthesized = iter((synth or synthesize_many)(texts))

    rng = np.random.default_rng(seed)
    pieces: list[np.ndarray] = []
    speech_spans: list[tuple[int, int]] = []
    cursor = 0  # samples so far

    def add(samples: np.ndarray) -> int:
        nonlocal cursor
        start = cursor
        pieces.append(samples.astype(np.float32, copy=False))
        cursor += len(samples)
        return start

    def add_silence(seconds: float) -> None:
        add(np.zeros(round(seconds * SAMPLE_RATE), dtype=np.float32))

    add_silence(rng.uniform(0.5, 1.0))
    lines_truth: list[dict[str, Any]] = []
    unscripted: list[dict[str, Any]] = []
    changed: list[dict[str, Any]] = []
    need_pause = False
    for it in items:
        if isinstance(it, Silence):
            add_silence(it.seconds)
            need_pause = False
            continue
        if isinstance(it, UnspokenLine):
            lines_truth.append(
                {
                    "index": it.index,
                    "ru": it.ru,
                    "en": it.en,
                    "spoken": False,
                    "start": None,
                    "end": None,
                    "words": [],
                }
            )
            continue
        audio = next(synthesized)
        if need_pause:
            add_silence(rng.uniform(0.25, 1.0))
        first = add(audio.samples)
        speech_spans.append((first, cursor))
        need_pause = True
        # The same expression as in _words_for_written, so rounding agrees.
        start = first / SAMPLE_RATE
        end = start + audio.duration
        if isinstance(it, Unscripted):
            unscripted.append({"start": _r(start), "end": _r(end), "text": it.text})
            continue
        entry: dict[str, Any] = {
            "index": it.index,
            "ru": it.ru,
            "en": it.en,
            "spoken": True,
            "start": _r(start),
            "end": _r(end),
        }
        if it.ru:
            entry["words"] = _words_for_written(audio, it.ru, start)
            entry["words_complete"] = all(w["start"] is not None for w in entry["words"])
            if it.said is not None and it.said != it.ru:
                entry["said_ru"] = it.said
                for pos, spoken_w, written_w in _changed_words(it.said, it.ru):
                    changed.append(
                        {"line": it.index, "position": pos, "spoken": spoken_w, "written": written_w}
                    )
        else:
            # English-only line: the Russian heard is absent from the transcript.
            entry["words"] = []
            entry["said_ru"] = audio.text
            unscripted.append({"start": _r(start), "end": _r(end), "text": audio.text, "line": it.index})
        lines_truth.append(entry)
    add_silence(rng.uniform(0.5, 1.0))

    signal = np.concatenate(pieces) if pieces else np.zeros(0, dtype=np.float32)
    truth_noise: float | None = None
    if noise_snr_db is not None and speech_spans:
        speech_power = float(
            np.mean(np.concatenate([signal[a:b] for a, b in speech_spans]).astype(np.float64) ** 2)
        )
        noise_rms = np.sqrt(speech_power / 10 ** (noise_snr_db / 10))
        # A separate stream, so adding noise leaves the pauses (and truth) unchanged.
        noise = np.random.default_rng([seed, 1]).normal(0.0, noise_rms, len(signal))
        signal = (signal + noise).astype(np.float32)
        truth_noise = float(noise_snr_db)
    peak = float(np.max(np.abs(signal))) if len(signal) else 0.0
    if peak > 0.98:
        signal = (signal * (0.98 / peak)).astype(np.float32)

    truth: dict[str, Any] = {
        "audio": audio_name,
        "duration": _r(len(signal) / SAMPLE_RATE),
        "sample_rate": SAMPLE_RATE,
        "seed": seed,
        "noise_snr_db": truth_noise,
        "lines": lines_truth,
        "unscripted": unscripted,
        "changed_words": changed,
    }
    return signal, truth


# ---------------------------------------------------------------- output


_ENCODINGS = {
    ".ogg": ("ogg", "libopus"),
    ".opus": ("ogg", "libopus"),
    ".mp3": ("mp3", "libmp3lame"),
    ".flac": ("flac", "flac"),
    ".wav": ("wav", "pcm_s16le"),
}


def encode_audio(samples: np.ndarray, path: Path, bitrate: int = 32000) -> None:
    """Write mono 16 kHz audio; the container and codec follow the suffix
    (.ogg is Opus at ``bitrate``). Written to a temp file, then renamed."""
    import av  # imported here so that reading truth does not need PyAV

    path = Path(path)
    try:
        container, codec = _ENCODINGS[path.suffix.lower()]
    except KeyError:
        raise ValueError(f"cannot encode {path.suffix!r}; use one of {sorted(_ENCODINGS)}") from None
    pcm = np.clip(np.round(samples * 32767.0), -32768, 32767).astype(np.int16)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    os.close(fd)
    try:
        # bitexact: otherwise the Ogg serial number is random and every rebuild differs.
        with av.open(tmp_name, "w", format=container, options={"fflags": "+bitexact"}) as out:
            stream = out.add_stream(codec, rate=SAMPLE_RATE)
            stream.layout = "mono"
            if codec in ("libopus", "libmp3lame"):
                stream.bit_rate = bitrate
            # One big frame is fine: PyAV re-chunks to the codec's frame size.
            step = SAMPLE_RATE * 60
            for i in range(0, max(len(pcm), 1), step):
                frame = av.AudioFrame.from_ndarray(pcm[None, i : i + step], format="s16", layout="mono")
                frame.sample_rate = SAMPLE_RATE
                for packet in stream.encode(frame):
                    out.mux(packet)
            for packet in stream.encode(None):
                out.mux(packet)
        os.replace(tmp_name, path)
    except BaseException:
        Path(tmp_name).unlink(missing_ok=True)
        raise


class EpisodeFiles(NamedTuple):
    audio: Path
    transcript: Path
    truth: Path


def write_episode(
    items: Sequence[PlanItem],
    outdir: Path,
    stem: str,
    seed: int,
    audio_suffix: str = ".flac",
    noise_snr_db: float | None = None,
    synth: Synth | None = None,
) -> EpisodeFiles:
    """Build the episode and write ``<stem><suffix>``, ``<stem>.ru-en.txt`` and ``<stem>.truth.json``."""
    outdir = Path(outdir)
    audio_path = outdir / f"{stem}{audio_suffix}"
    samples, truth = build_episode(items, seed, noise_snr_db, audio_name=audio_path.name, synth=synth)
    lines = [(it.ru, it.en) for it in items if isinstance(it, SpokenLine | UnspokenLine)]
    transcript_path = outdir / f"{stem}.ru-en.txt"
    truth_path = outdir / f"{stem}.truth.json"
    encode_audio(samples, audio_path)
    atomic_write_text(transcript_path, format_bilingual(lines))
    atomic_write_text(truth_path, json.dumps(truth, ensure_ascii=False, indent=1) + "\n")
    files = EpisodeFiles(audio_path, transcript_path, truth_path)
    for path in files:
        path.chmod(0o644)  # temp files are created private; these are meant to be shared
    return files


# ---------------------------------------------------------------- scenarios


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


# ---------------------------------------------------------------- CLI


def _summary(files: EpisodeFiles) -> str:
    truth = json.loads(files.truth.read_text(encoding="utf-8"))
    spoken = sum(1 for ln in truth["lines"] if ln["spoken"])
    size = files.audio.stat().st_size
    return (
        f"{files.audio} ({truth['duration']:.1f} s, {size / 1e6:.2f} MB), {files.transcript}, {files.truth}: "
        f"{len(truth['lines'])} lines, {spoken} spoken, {len(truth['unscripted'])} unscripted"
    )


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m pipeline.bench.synth", description=__doc__.split("\n")[0]
    )
    sub = parser.add_subparsers(dest="command", required=True)
    p = sub.add_parser("sample", help="write OUTDIR/sample.ogg, sample.ru-en.txt, sample.truth.json")
    p.add_argument("seed_transcript", type=Path)
    p.add_argument("outdir", type=Path)
    p.add_argument("--seed", type=int, default=2021)
    for name in ("clean", "mismatched", "long"):
        q = sub.add_parser(name, help=f"write .cache/bench/{name}/")
        q.add_argument("seed_transcript", type=Path)
        q.add_argument("--seed", type=int, default=None)
        if name != "long":
            q.add_argument("--minutes", type=float, default=5.0)
    args = parser.parse_args(argv)
    if args.command == "sample":
        files = make_sample(args.seed_transcript, args.outdir, args.seed)
    elif args.command == "clean":
        files = scenario_clean(args.seed_transcript, args.minutes, 1 if args.seed is None else args.seed)
    elif args.command == "mismatched":
        files = scenario_mismatched(args.seed_transcript, args.minutes, 2 if args.seed is None else args.seed)
    else:
        files = scenario_long(args.seed_transcript, 3 if args.seed is None else args.seed)
    print(_summary(files))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
