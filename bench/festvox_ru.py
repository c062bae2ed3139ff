"""Real human speech from Debian's ``festvox-ru``: recordings, text and true times.

The voice was built from one reader's recordings, which the package ships
with phone-level labels (``lab/``) and the read text (``etc/txt.done.data``).
Only utterances ru_0101-ru_0620 may be used (386 of them carry text, 63 min);
ru_0001-ru_0100 and the package's prompt recordings are kept for independent
evaluation, so :func:`utterance_ids` drops every other id as the first thing it
does with a row, and nothing here opens a file by listing a folder.

Truth: a line's speech runs from its first to its last non-``pau`` phone.
Word times come from Festival's own front end: it turns the same text into
words and their phones, which are matched onto the lab's phones (the labels
were made from that front end, so 385 of 386 utterances match phone for phone).
A word whose first or last phone has no exact partner gets no time.
"""

from __future__ import annotations

import difflib
import json
import re
import tempfile
import wave
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import numpy as np

from bench.festival import (
    CACHE_ROOT,
    TimedWord,
    festival_available,
    read_wav,
    run_batch,
    scheme_string,
)
from bench.seed_text import _EDGE_PUNCT, reference_words
from pipeline.fileio import atomic_write_text

VOICE_DIR = Path("/usr/share/festival/voices/russian/msu_ru_nsh_clunits")
FIRST, LAST = 101, 620  # the only utterances benchmarks and tests may touch
PAUSE = "pau"
WORDS_CACHE = CACHE_ROOT / "bench" / "festvox-ru" / "words-v2.json"
# Festival loads the voice in about half a second; the front end takes a few
# milliseconds a sentence, so one process does all of them.
_FRONT_END = """
(voice_msu_ru_nsh_clunits)
(define (subpipe-words id text)
  (let ((u (eval (list 'Utterance 'Text text))))
    (Initialize u) (Text u) (Token_POS u) (Token u) (POS u) (Phrasify u) (Word u) (Pauses u)
    (Intonation u) (PostLex u)
    (mapcar
     (lambda (tok)
       (format t "@@T\\t%s\\t%s" id (item.name tok))
       (mapcar
        (lambda (w)
          (format t "\\t%s\\t" (item.name w))
          (mapcar (lambda (syl) (mapcar (lambda (seg) (format t "%s " (item.name seg))) (item.daughters syl)))
                  (item.daughters (item.relation w 'SylStructure))))
        (item.daughters tok))
       (format t "\\n"))
     (utt.relation.items u 'Token))
    (format t "@@D\\t%s\\n" id)))
"""
_ID = re.compile(r"\(\s*(ru_(\d{4}))\s+\"(.*)\"\s*\)\s*$")


class CorpusError(RuntimeError):
    pass


@dataclass(frozen=True, slots=True)
class Phone:
    name: str
    start: float
    end: float


@dataclass(frozen=True, slots=True)
class Utterance:
    """One recording: its text as read (``+`` marks stress) and its labels.

    Times are seconds from the start of the recording; ``words`` follow
    :func:`shown_text`'s words, ``start``/``end`` None where the phones did
    not tie a word down.
    """

    id: str
    marked_text: str
    phones: tuple[Phone, ...]
    words: tuple[TimedWord, ...]

    @property
    def text(self) -> str:
        return shown_text(self.marked_text)

    @property
    def speech_start(self) -> float:
        return speech_span(self.id)[0]

    @property
    def speech_end(self) -> float:
        return speech_span(self.id)[1]

    @property
    def words_complete(self) -> bool:
        return all(w.start is not None for w in self.words)

    def samples(self) -> np.ndarray:
        return read_wav(VOICE_DIR / "wav" / f"{self.id}.wav")

    @property
    def seconds(self) -> float:
        """The recording's length, from its header."""
        return _wav_seconds(self.id)


def shown_text(marked: str) -> str:
    """The text as a transcript shows it: no stress marks, no doubled spaces."""
    return " ".join(marked.replace("+", "").split())


def available() -> bool:
    return (VOICE_DIR / "etc" / "txt.done.data").is_file() and festival_available()


def _allowed(number: int) -> bool:
    return FIRST <= number <= LAST


@cache
def texts() -> dict[str, str]:
    """id -> marked text of every usable utterance (ru_0101-ru_0620 that have text and labels)."""
    source = VOICE_DIR / "etc" / "txt.done.data"
    if not source.is_file():
        raise CorpusError(f"{source}: not found (run `make festival`, which installs festvox-ru)")
    out: dict[str, str] = {}
    with source.open(encoding="utf-8") as rows:
        for row in rows:
            m = _ID.match(row.strip())
            if not m or not _allowed(int(m.group(2))):
                continue  # reserved ids are dropped before anything else is read from the row
            if (VOICE_DIR / "wav" / f"{m.group(1)}.wav").is_file() and (
                VOICE_DIR / "lab" / f"{m.group(1)}.lab"
            ).is_file():
                out[m.group(1)] = m.group(3)
    return out


def utterance_ids() -> list[str]:
    return sorted(texts())


@cache
def _wav_seconds(utt_id: str) -> float:
    with wave.open(str(VOICE_DIR / "wav" / f"{utt_id}.wav"), "rb") as w:
        return w.getnframes() / w.getframerate()


def read_lab(path: Path) -> tuple[Phone, ...]:
    """Festvox labels: a header up to ``#``, then ``END_TIME COLOUR PHONE`` rows."""
    phones: list[Phone] = []
    previous = 0.0
    body = False
    for row in path.read_text(encoding="utf-8").splitlines():
        if not body:
            body = row.strip() == "#"
            continue
        parts = row.split()
        if len(parts) < 3:
            continue
        end = float(parts[0])
        phones.append(Phone(parts[2], round(previous, 5), round(end, 5)))
        previous = end
    if not any(p.name != PAUSE for p in phones):
        raise CorpusError(f"{path}: no speech phone")
    return tuple(phones)


# ---------------------------------------------------------------- words


FrontEndWords = list[tuple[str, list[tuple[str, list[str]]]]]  # per token: (name, [(word, phones)])


def _run_front_end(items: Sequence[tuple[str, str]]) -> dict[str, FrontEndWords]:
    """Festival's tokens, words and phones for (id, marked text) pairs, in one process."""

    with tempfile.TemporaryDirectory(prefix="subpipe-festvox-") as tmp:
        script = Path(tmp) / "words.scm"
        body = [_FRONT_END] + [f"(subpipe-words {scheme_string(i)} {scheme_string(t)})" for i, t in items]
        script.write_text("\n".join(body) + "\n", encoding="utf-8")
        proc = run_batch(script, 120 + len(items))
    out: dict[str, FrontEndWords] = {}
    pending: dict[str, FrontEndWords] = {}
    for row in proc.stdout.splitlines():
        fields = row.split("\t")
        if fields[0] == "@@T" and len(fields) >= 3:
            pairs = fields[3:]
            words = [(pairs[k], pairs[k + 1].split()) for k in range(0, len(pairs) - 1, 2)]
            pending.setdefault(fields[1], []).append((fields[2], words))
        elif fields[0] == "@@D":
            out[fields[1]] = pending.pop(fields[1], [])
    missing = [i for i, _ in items if i not in out]
    if missing:
        raise CorpusError(
            f"Festival's front end gave no words for {len(missing)} utterances: {proc.stderr[-500:]}"
        )
    return out


def _load_words_cache() -> dict[str, dict]:
    if not WORDS_CACHE.exists():
        return {}
    try:
        return json.loads(WORDS_CACHE.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}  # a damaged cache is rebuilt


def prefetch_words(ids: Sequence[str]) -> None:
    """Ask Festival's front end, in one process, for the words of those ``ids`` not yet cached.

    The cache holds each utterance's words with the text they were made from
    (Festival's rules do not change between runs; a changed text is redone).
    """
    marked = texts()
    cached = _load_words_cache()
    todo = [i for i in dict.fromkeys(ids) if cached.get(i, {}).get("text") != marked[i]]
    if not todo:
        return
    if not festival_available():
        raise CorpusError("Festival is not installed (run `make festival`)")
    words = _run_front_end([(i, marked[i]) for i in todo])
    cached.update({i: {"text": marked[i], "words": words[i]} for i in todo})
    WORDS_CACHE.parent.mkdir(parents=True, exist_ok=True)
    atomic_write_text(WORDS_CACHE, json.dumps(cached, ensure_ascii=False))


def _front_end_words(utt_id: str) -> FrontEndWords:
    prefetch_words([utt_id])
    toks = _load_words_cache()[utt_id]["words"]
    return [(n, [(w, p) for w, p in ws]) for n, ws in toks]


def _norm(token: str) -> str:
    return _EDGE_PUNCT.sub("", token.replace("+", "")).lower()


def time_words(text: str, tokens: FrontEndWords, phones: Sequence[Phone]) -> list[TimedWord]:
    """Times of ``text``'s reference words from front-end phones matched onto the lab's.

    Tokens are tied to reference words by their names (a diff, so a token the
    front end split differently only loses its own words); a word is timed
    from its first phone's start to its last phone's end where both have an
    exact partner among the labelled phones.
    """
    spoken = [p for p in phones if p.name != PAUSE]
    flat: list[tuple[int, str]] = []  # (token index, phone)
    for t, (_name, words) in enumerate(tokens):
        flat.extend((t, ph) for _w, seq in words for ph in seq if ph != PAUSE)
    partner: dict[int, int] = {}  # flat index -> spoken phone index
    matcher = difflib.SequenceMatcher(None, [p for _, p in flat], [p.name for p in spoken], autojunk=False)
    for block in matcher.get_matching_blocks():
        for k in range(block.size):
            partner[block.a + k] = block.b + k
    token_span: dict[int, tuple[int, int]] = {}
    for k, (t, _) in enumerate(flat):
        first, _last = token_span.get(t, (k, k))
        token_span[t] = (first, k)
    refs = reference_words(text)
    named = [(t, _norm(name)) for t, (name, words) in enumerate(tokens) if words and _norm(name)]
    tie = difflib.SequenceMatcher(None, [n for _, n in named], [r.lower() for r in refs], autojunk=False)
    out = [TimedWord(r, None, None, "") for r in refs]
    for op, a0, a1, b0, _b1 in tie.get_opcodes():
        if op != "equal":
            continue
        for k in range(a1 - a0):
            t = named[a0 + k][0]
            said = " ".join(w for w, _ in tokens[t][1])
            span = token_span.get(t)
            if span is None or span[0] not in partner or span[1] not in partner:
                out[b0 + k] = TimedWord(refs[b0 + k], None, None, said)
                continue
            first, last = spoken[partner[span[0]]], spoken[partner[span[1]]]
            out[b0 + k] = TimedWord(refs[b0 + k], first.start, last.end, said)
    return out


@cache
def utterance(utt_id: str) -> Utterance:
    number = int(utt_id.removeprefix("ru_"))
    if not _allowed(number):
        raise CorpusError(f"{utt_id} is reserved for independent evaluation")
    marked = texts()[utt_id]
    words = time_words(shown_text(marked), _front_end_words(utt_id), phones(utt_id))
    return Utterance(utt_id, marked, phones(utt_id), tuple(words))


@cache
def phones(utt_id: str) -> tuple[Phone, ...]:
    if not _allowed(int(utt_id.removeprefix("ru_"))):
        raise CorpusError(f"{utt_id} is reserved for independent evaluation")
    return read_lab(VOICE_DIR / "lab" / f"{utt_id}.lab")


def speech_span(utt_id: str) -> tuple[float, float]:
    """Where the recording's first phone starts and its last ends (labels only, no front end)."""
    spoken = [p for p in phones(utt_id) if p.name != PAUSE]
    return spoken[0].start, spoken[-1].end


def text_of(utt_id: str) -> str:
    return shown_text(texts()[utt_id])


def seconds(utt_id: str) -> float:
    """The recording's length, from its header."""
    return _wav_seconds(utt_id)


def corpus() -> list[Utterance]:
    prefetch_words(utterance_ids())
    return [utterance(i) for i in utterance_ids()]


def main() -> int:
    """Print how well the word times came out: ``python -m bench.festvox_ru``."""
    utts = corpus()
    complete = sum(u.words_complete for u in utts)
    words = sum(len(u.words) for u in utts)
    timed = sum(w.start is not None for u in utts for w in u.words)
    seconds = sum(u.seconds for u in utts)
    print(
        f"{len(utts)} utterances ({utts[0].id}-{utts[-1].id}), {seconds / 60:.1f} min; "
        f"{complete} with every word timed; {timed}/{words} words timed"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
