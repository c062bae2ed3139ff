"""Festival's Russian voice: synthesized lines with word timings, trimmed and cached.

Festival (``voice_msu_ru_nsh_clunits``) reports when each word starts and ends;
those times are tied back to the transcript's words, leading and trailing
silence is trimmed, and each line is cached under ``.cache/festival/`` so that
rebuilding episodes (and resuming the hour-long one) costs almost nothing.
"""

from __future__ import annotations

import difflib
import hashlib
import io
import json
import re
import shutil
import subprocess
import sys
import tempfile
import wave
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import NamedTuple

import numpy as np

from bench.seed_text import _EDGE_PUNCT, reference_words
from pipeline.fileio import atomic_write_bytes

SAMPLE_RATE = 16000
VOICE = "voice_msu_ru_nsh_clunits"
REPO_ROOT = Path(__file__).resolve().parents[1]
CACHE_ROOT = REPO_ROOT / ".cache"
FESTIVAL_CACHE = CACHE_ROOT / "festival"

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

# Festival's Russian letter-to-sound rules abort the whole utterance on any
# character they do not know (dashes, guillemets, %, №, "т.е." ...), so only
# these reach it.
_SPEAKABLE = re.compile(r"[^0-9A-Za-zА-Яа-яЁё'-]")
_SPOKEN_SYMBOLS = {"%": " процентов ", "№": " номер ", "&": " и ", "+": " плюс ", "$": " долларов "}


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


def run_batch(script: Path, timeout: float) -> subprocess.CompletedProcess[str]:
    """Run a Scheme script in Festival; its output as text."""
    # -b (batch) rather than --script: only batch mode loads Festival's init
    # files, without which the voice function is unbound.
    return subprocess.run(
        ["festival", "-b", str(script)],
        capture_output=True,
        text=True,
        encoding="utf-8",
        errors="replace",
        timeout=timeout,
        check=False,
    )


def scheme_string(text: str) -> str:
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
        lines.append(f"(subpipe-synth {scheme_string(job_id)} {scheme_string(text)} {scheme_string(wav)})")
    script = workdir / f"batch-{jobs[0][0]}.scm"
    script.write_text("\n".join(lines) + "\n", encoding="utf-8")
    result: dict[str, list[FestToken] | None] = {}
    pending: dict[str, list[FestToken]] = {}
    for row in run_batch(script, 60 + 10 * len(jobs)).stdout.splitlines():
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


def read_wav(path: Path) -> np.ndarray:
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
    raw = read_wav(wav)
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
