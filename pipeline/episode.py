"""One episode through every stage: the function the CLI and batch runs call.

Stage results (ASR words, alignment) are cached by content when a cache is
given, so a corrected transcript re-runs alignment onward but not the ASR.
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import AbstractContextManager, ExitStack, contextmanager, nullcontext
from dataclasses import dataclass, field
from pathlib import Path

from pipeline import audio, qa, transcript
from pipeline.align import Names, Options, Speech, align
from pipeline.align.readalong import READ_ALONG_SQUEEZE, UNLIKELY, ReadAlong, read_along
from pipeline.align.timing import tighten
from pipeline.audio import chunks, envelope
from pipeline.cache import StageCache, code_version, file_digest, make_key
from pipeline.errors import AlignmentError, AudioError
from pipeline.subtitles import profiles
from pipeline.subtitles.cues import Violation, build_cues, check_cues
from pipeline.subtitles.formats import LAYOUTS, alignment_from_dict, alignment_to_dict, write_outputs
from pipeline.types import Alignment, Cue, LineStatus, Word
from pipeline.whisper import asr, forced
from pipeline.whisper.attention import Attention
from pipeline.whisper.belongs import likelihood_ratio
from pipeline.whisper.encoder import EncodedAudio

Progress = Callable[[str, float, float], None]  # stage, done, total (seconds of audio)

# A stage's cached results are valid for the code that made them.
ASR_VERSION = code_version("pipeline.whisper.asr", "pipeline.audio", "pipeline.align.timing")
ALIGN_VERSION = code_version("pipeline.align", "pipeline.transcript", "pipeline.audio")
VERDICT_VERSION = code_version("pipeline.whisper.forced")  # the QA's scores of texts over the audio


@dataclass(frozen=True)
class Settings:
    """What a run is asked for: the model and where it runs, the language, and the subtitles' look.

    ``model`` is a faster-whisper model name or a local CTranslate2 folder
    (``None``: the bundled base model); ``device`` "auto", "cpu" or "cuda";
    ``compute_type`` and ``batch_size`` default by device. ``asr=False``
    aligns a trusted transcript without transcribing it (no QA report).
    """

    model: str | None = None
    device: str = "auto"
    compute_type: str | None = None
    batch_size: int | None = None
    language: str = "ru"
    vtt_layout: str = "spans"  # dual WebVTT: "spans" (one cue, classed rows) or "stacked" (two cues)
    profile: str = "netflix"  # style profile: a shipped name or a profile file's path
    asr: bool = True  # False: read the trusted transcript along the audio, no transcription
    english: str | None = None  # --en: an English subtitle file paired by time with a subtitle transcript

    def asr_identity(self) -> tuple[object, ...]:
        device = asr.pick_device(self.device)
        compute = self.compute_type or ("float16" if device == "cuda" else "int8")
        return (self.model or "whisper-base", self.language, compute)


@dataclass
class Result:
    """What a run made: the alignment, the cues, the files written, stage times and the QA report."""

    alignment: Alignment
    cues: list[Cue]
    outputs: list[Path]
    asr_words: list[Word] = field(default_factory=list)
    stage_seconds: dict[str, float] = field(default_factory=dict)
    cache_hits: list[str] = field(default_factory=list)
    violations: list[Violation] = field(default_factory=list)  # what the timing fixes could not mend
    qa_report: qa.QAOutput | None = None  # the QA report built from this run
    engine: str = "not loaded (every stage cached)"  # model, device, compute type, batch size
    notes: list[str] = field(default_factory=list)  # what a stage says of itself (read-along losses)

    def summary(self) -> str:
        counts = {status: 0 for status in LineStatus}
        for line in self.alignment.lines:
            counts[line.status] += 1
        wall = sum(self.stage_seconds.values())
        speed = self.alignment.duration / wall if wall else 0.0
        return (
            f"{len(self.alignment.lines)} lines: {counts[LineStatus.ALIGNED]} aligned, "
            f"{counts[LineStatus.UNSPOKEN]} unspoken, {counts[LineStatus.NO_TEXT]} without Russian; "
            f"{len(self.alignment.unscripted)} unscripted stretches; {len(self.cues)} cues; "
            f"{self.alignment.duration:.0f} s of audio in {wall:.1f} s ({speed:.1f}x real time)"
            f"{''.join('; ' + note for note in self.notes)}{self._violations_summary()}{self._qa_summary()}"
        )

    def _qa_summary(self) -> str:
        if self.qa_report is None:
            return ""
        return f"; QA: {qa.listed(self.qa_report.report)}{self.qa_report.patch_note()}"

    def _violations_summary(self) -> str:
        if not self.violations:
            return ""
        counts = Counter(v.rule for v in self.violations)
        return "; profile not met: " + ", ".join(f"{rule} {n}" for rule, n in sorted(counts.items()))


class _LazyEngine:
    """Loads the model only when a stage really needs it (a fully cached run does not).

    ``prefetch`` loads it in the background while the audio decodes: CTranslate2
    reads the weights without holding the GIL, so the two overlap.
    """

    def __init__(self, settings: Settings, engine: asr.Engine | None, clock: dict[str, float]) -> None:
        self.settings, self._engine, self._clock = settings, engine, clock
        self._loading: Future[asr.Engine] | None = None

    @property
    def loaded(self) -> asr.Engine | None:
        return self._engine

    def prefetch(self) -> None:
        if self._engine is None and self._loading is None:
            s = self.settings
            pool = ThreadPoolExecutor(1, thread_name_prefix="subpipe-load")
            self._loading = pool.submit(asr.load, s.model, s.device, s.compute_type, s.batch_size, s.language)
            pool.shutdown(wait=False)

    @property
    def engine(self) -> asr.Engine:
        if self._engine is None:
            self.prefetch()
            assert self._loading is not None
            with _timed(self._clock, "load_model"):
                self._engine = self._loading.result()
        return self._engine


def _words_from_json(rows: list[list[object]]) -> list[Word]:
    return [Word(str(text), float(start), float(end), float(p)) for text, start, end, p in rows]  # type: ignore[arg-type]


def _no_speech(audio_path: Path) -> AudioError:
    # Empty subtitles would replace good ones: say what is wrong instead.
    return AudioError(audio_path, "no speech found in the audio; check that it is the episode's recording")


# Read along the audio (--no-asr), a transcript's own words must be this many times
# likelier in their chunks than another part's words are: at least 3.0 for the audio's
# own transcript, at most 1.09 for another recording's (whisper/belongs.py).
BELONGS = 2.0


# Read along the audio (--no-asr), a transcript none of whose text finds a place in
# this share of the speech is not the audio's either: another part of the same talk
# (same voice, same topic) loses its place in every chunk and is found nowhere.
# As for the ratio, one chunk is no evidence either way.
UNREAD = 0.5


def _check_belongs(
    found: ReadAlong, ratio: float | None, transcript_path: Path, audio_path: Path, speech: float
) -> None:
    """Raise ``AlignmentError`` (exit 7, as the full pipeline) for a transcript the audio does not speak."""
    if ratio is not None and ratio < BELONGS:
        why = f"its words are no likelier where they fall than another part's: {ratio:.1f}x"
    elif ratio is None and found.lost - found.relocated >= 2 and found.unread >= UNREAD * speech:
        why = f"no place for its text was found in {found.unread:.0f} of {speech:.0f} s of speech"
    else:
        return
    raise AlignmentError(
        transcript_path,
        f"does not match {audio_path.name} (read along it, {why}); "
        "check that it is this episode's transcript",
    )


# Seconds between the last line heard and the audio's end within which the
# speech is taken to run on to the end: the cut sample's last line ends 0.02 s
# before it; an episode that ends properly has its closing words and a pause.
_CUT_TAIL = 3.0


def _check_not_cut_short(alignment: Alignment, audio_path: Path) -> None:
    """Raise ``AudioError`` if most of the transcript goes unheard after speech that runs to the audio's end.

    Only for a file that states no length of its own (Ogg, MP3 or AAC without
    a length header): the decoder tells a cut one by a last page or frame that
    breaks off, but a cut that falls exactly between two frames leaves no
    trace in the file, only this one in the alignment. A file whose length
    was checked is whole: a transcript running on past it is a longer
    recording's, and its lines are reported unspoken.
    """
    russian = [line for line in alignment.lines if line.status != LineStatus.NO_TEXT]
    heard = [k for k, line in enumerate(russian) if line.status == LineStatus.ALIGNED]
    if not heard:
        return  # nothing matches at all: the aligner's own error says so
    after = len(russian) - 1 - heard[-1]
    last_end = russian[heard[-1]].end or 0.0
    mid_speech = alignment.duration - last_end < _CUT_TAIL
    if after * 2 > len(russian) and mid_speech and not audio.states_its_length(audio_path):
        raise AudioError(
            audio_path,
            f"ends at {alignment.duration:.1f} s in mid-speech, and the last {after} of the transcript's "
            f"{len(russian)} lines are not in it: the audio is cut short, or the transcript is a longer "
            "recording's; copy or export the audio again, or give its own transcript",
        )


def _transcribe(
    engine: asr.Engine,
    encoded: EncodedAudio,
    feed: audio.Feed,
    arriving: Iterator[list[chunks.Chunk]],
    progress: Progress | None,
) -> list[Word]:
    """The ASR's words over ``encoded``'s chunks and those still ``arriving`` as ``feed`` decodes."""
    if progress is None:
        return list(asr.transcribe(engine, encoded, arriving=arriving))
    return list(
        asr.transcribe(
            engine,
            encoded,
            lambda done: progress("transcribe", done, feed.expected or feed.seconds),
            arriving,
        )
    )


@contextmanager
def _timed(clock: dict[str, float], stage: str) -> Iterator[None]:
    started = time.perf_counter()
    try:
        yield
    finally:
        clock[stage] = clock.get(stage, 0.0) + time.perf_counter() - started


def _kept(stack: ExitStack, encoded: EncodedAudio) -> AbstractContextManager[EncodedAudio]:
    """Keep the chunk encodings until the QA report has used them (``stack`` closes them)."""
    return nullcontext(stack.enter_context(encoded))


def cache_keys(audio_path: Path, transcript_path: Path, settings: Settings) -> dict[str, str]:
    """The stage cache's key for each cached stage of an episode (``asr``, ``align``, ``verdict``).

    A batch on a cluster reads them to send a worker the entries its episode can reuse.
    """
    audio_key = make_key(file_digest(audio_path), *settings.asr_identity(), ASR_VERSION)
    texts = [transcript_path, *([Path(settings.english)] if settings.english else [])]
    align_key = make_key(audio_key, *map(file_digest, texts), ALIGN_VERSION)
    if not settings.asr:
        align_key = make_key(align_key, "read-along")
    return {"asr": audio_key, "align": align_key, "verdict": make_key(audio_key, VERDICT_VERSION)}


def run(
    audio_path: str | Path,
    transcript_path: str | Path,
    out_dir: str | Path,
    settings: Settings = Settings(),
    engine: asr.Engine | None = None,
    progress: Progress | None = None,
    cache: StageCache | None = None,
    subtitles: bool = True,
) -> Result:
    """One episode through every stage: the subtitles, the alignment JSON and the QA report in ``out_dir``.

    Args:
        audio_path: the episode's audio, any file ffmpeg reads.
        transcript_path: the transcript (see :func:`pipeline.transcript.read`).
        out_dir: where the files go (``<stem>.ru-en.srt``, ``.vtt``, ``.ass``,
            ``.align.json``, ``.qa.html``, ... with the audio's stem); each is
            written atomically.
        settings: model, device, language, subtitle layout and style profile;
            ``Settings(asr=False)`` reads a trusted transcript along the audio
            without transcribing (faster, no QA report).
        engine: a model already loaded with :func:`pipeline.whisper.asr.load`
            (a batch shares one); by default one is loaded when needed.
        progress: called with (stage, seconds done, seconds in all).
        cache: a :class:`~pipeline.cache.StageCache`; a warm one skips the
            transcription (and the alignment, for an unchanged transcript).
        subtitles: ``False`` writes only the QA report (``subpipe qa``).

    Returns the :class:`Result`: the alignment, cues, files written, stage
    times and the QA report.

    Raises a :class:`~pipeline.errors.SubpipeError` subclass for anything the
    user can fix (``InputNotFound``, ``TranscriptError``, ``AudioError``,
    ``ModelError``, ``AlignmentError``, ``OutputError``); each carries its
    ``exit_code`` and a one-line ``message``.
    """
    with ExitStack() as stack:
        return _run(stack, audio_path, transcript_path, out_dir, settings, engine, progress, cache, subtitles)


def _run(
    stack: ExitStack,
    audio_path: str | Path,
    transcript_path: str | Path,
    out_dir: str | Path,
    settings: Settings,
    engine: asr.Engine | None,
    progress: Progress | None,
    cache: StageCache | None,
    subtitles: bool,
) -> Result:
    audio_path, transcript_path, out_dir = Path(audio_path), Path(transcript_path), Path(out_dir)
    cache = cache or StageCache(None)
    profile = profiles.load(settings.profile)  # before the slow stages, so a typo fails at once
    if settings.vtt_layout not in LAYOUTS:
        raise ValueError(f"vtt_layout must be one of {LAYOUTS}, got {settings.vtt_layout!r}")
    clock: dict[str, float] = {}
    with _timed(clock, "parse"):
        source = transcript.read_source(transcript_path, settings.english)
        lines = list(source.lines)
    audio.check_file(audio_path)
    lazy = _LazyEngine(settings, engine, clock)
    keys = cache_keys(audio_path, transcript_path, settings) if cache.root else {}
    audio_key, align_key = keys.get("asr", ""), keys.get("align", "")
    words = cache.get("asr", audio_key, _words_from_json) if settings.asr else None
    alignment = cache.get("align", align_key, alignment_from_dict)
    if (words is None and settings.asr) or alignment is None:
        lazy.prefetch()
    # The model transcribes the chunks planned over what is decoded while the rest decodes.
    streaming = words is None and settings.asr
    feed = stack.enter_context(audio.Feed(audio_path))
    if not streaming:
        with _timed(clock, "decode"):
            samples = feed.result()
    notes: list[str] = []  # what the stages run here say of themselves, for the summary line
    if words is not None and not words and settings.asr:
        raise _no_speech(audio_path)
    encoded: EncodedAudio | None = None
    if words is None or alignment is None:
        if streaming:
            with _timed(clock, "decode"):  # until the first chunks are planned
                arriving = chunks.arriving(feed)
                speech = next(arriving, [])
        else:
            with _timed(clock, "vad"):
                env = envelope(samples)
                longest = chunks.MAX_CHUNK if settings.asr else chunks.READ_ALONG_CHUNK
                speech = chunks.plan(env, audio.duration(samples), longest)
        # Read-along only aligns known text, which needs no padding to 30 s.
        recheck: frozenset[int] = frozenset()  # lines whose pseudo-ASR times need a second look
        squeeze = 1.0 if settings.asr else READ_ALONG_SQUEEZE
        heard_from = feed if streaming else samples
        with _kept(
            stack, EncodedAudio(lazy.engine, heard_from, speech, pad=settings.asr, squeeze=squeeze)
        ) as encoded:
            attention = Attention(lazy.engine, encoded)
            if streaming:
                with _timed(clock, "transcribe"):
                    words = _transcribe(lazy.engine, encoded, feed, arriving, progress)
                samples = encoded.samples = feed.result()
                if feed.restarted:  # decoded again (a stereo mix that cancels): what was heard is void
                    with _timed(clock, "transcribe"):
                        encoded.clear()
                        words = _transcribe(lazy.engine, encoded, feed, chunks.arriving(feed), progress)
                speech = list(encoded.chunks)
                with _timed(clock, "vad"):
                    env = envelope(samples)
                    words = tighten(env, words)  # the report shows the pauses too
                if not words:
                    raise _no_speech(audio_path)
                cache.put("asr", audio_key, [[w.text, w.start, w.end, w.probability] for w in words])
            elif words is None:
                with _timed(clock, "read_along"):
                    found = read_along(lines, encoded, attention)
                    ratio = likelihood_ratio(attention, encoded, found.by_chunk)
                    heard = sum(chunk.duration for chunk in encoded.chunks)
                    _check_belongs(found, ratio, transcript_path, audio_path, heard)
                words, recheck = found.words, found.recheck
                notes += [found.summary()] if found.lost else []
            if alignment is None:
                with _timed(clock, "align"):
                    alignment = align(
                        lines,
                        Speech(samples, env, tuple(speech)),
                        words,
                        attention,
                        Names(audio_path.name, str(transcript_path), lazy.engine.name),
                        Options(recheck, UNLIKELY),
                    )
                cache.put("align", align_key, alignment_to_dict(alignment))

    _check_not_cut_short(alignment, audio_path)
    with _timed(clock, "write"):
        cues = build_cues(alignment.lines, profile)
        outputs: list[Path] = []
        if subtitles:
            outputs = write_outputs(out_dir, audio_path.stem, alignment, cues, settings.vtt_layout)
    violations = check_cues(cues, profile)
    result = Result(alignment, cues, outputs, words, clock, list(cache.hits), violations)
    result.notes = notes
    if lazy.loaded is not None:
        result.engine = lazy.loaded.describe()
    if settings.asr:  # the report sets the ASR against the transcript: nothing to set without one
        with _timed(clock, "qa"):
            verdict_key = keys.get("verdict", "")
            scorer = forced.Remembered(
                lambda: forced.ForcedScorer(lazy.engine, samples, encoded),
                cache.get("verdict", verdict_key, dict),
            )
            report = qa.build(alignment, words, cues, violations, scorer)
            if scorer.added:
                cache.put("verdict", verdict_key, scorer.known)
            result.qa_report = qa.write_reports(out_dir, audio_path.stem, report, samples, source)
        result.outputs += result.qa_report.paths
        result.cache_hits = list(cache.hits)  # the QA's verdicts may come from the cache too
        if lazy.loaded is not None:
            result.engine = lazy.loaded.describe()
    return result
