"""Command line: the only place errors become messages and exit codes."""

from __future__ import annotations

import argparse
import os
import signal
import sys
import threading
import traceback
from collections import Counter
from collections.abc import Callable, Sequence
from pathlib import Path
from types import FrameType
from typing import TYPE_CHECKING

from pipeline.errors import InputNotFound, SubpipeError, SubtitleError

if TYPE_CHECKING:
    from pipeline.cache import StageCache
    from pipeline.episode import Settings

# The codes a SubpipeError carries are its class's exit_code (pipeline.errors);
# these are the others. docs/exit-codes.md lists them all.
EXIT_ERROR = 1  # a problem with no class of its own (out of memory, an I/O error)
EXIT_USAGE = 2  # argparse: unknown option or missing argument
EXIT_VIOLATIONS = 10  # subpipe lint: the file was read but breaks the profile
EXIT_INTERNAL = 70  # a bug (BSD's EX_SOFTWARE)
EXIT_INTERRUPTED = 130
EXIT_BROKEN_PIPE = 141  # stdout's reader went away (`| head`): 128 + SIGPIPE, as Unix tools end


def _model_options() -> argparse.ArgumentParser:
    """Options that choose and run the Whisper model: run, qa and batch take them alike."""
    options = argparse.ArgumentParser(add_help=False)
    group = options.add_argument_group("model")
    group.add_argument(
        "--model",
        default=None,
        help="faster-whisper model name or local CTranslate2 folder (default: the bundled base model)",
    )
    group.add_argument(
        "--device",
        choices=["auto", "cpu", "cuda"],
        default="auto",
        help="where the model runs (default: auto, the GPU when CTranslate2 sees one)",
    )
    group.add_argument(
        "--compute-type",
        default=None,
        help="CTranslate2 compute type (default: int8 on the CPU, float16 on a GPU)",
    )
    group.add_argument(
        "--batch-size",
        type=int,
        default=None,
        help="speech chunks per decoding batch (default: 3 on the CPU, from free memory on a GPU)",
    )
    group.add_argument("--language", default="ru", help="language of the speech and transcript (default: ru)")
    return options


def _style_options(vtt_layout: bool = True) -> argparse.ArgumentParser:
    """Options that shape the subtitles."""
    options = argparse.ArgumentParser(add_help=False)
    group = options.add_argument_group("subtitles")
    if vtt_layout:
        group.add_argument(
            "--vtt-layout",
            choices=["spans", "stacked"],
            default="spans",
            help="dual WebVTT: one cue with <c.ru>/<c.en> spans (default), or two cues, top and bottom",
        )
    group.add_argument(
        "--profile",
        default="netflix",
        help="style profile: netflix (default), bbc, relaxed, or a profile .toml file",
    )
    return options


def _episode_options() -> argparse.ArgumentParser:
    """The inputs, output folder, cache and locking of one episode (run and qa)."""
    options = argparse.ArgumentParser(add_help=False)
    options.add_argument("audio", type=Path, help="the episode's audio: any file ffmpeg reads")
    options.add_argument(
        "transcript",
        type=Path,
        help="the transcript: Russian lines paired with English, TSV, plain text, or subtitles (.srt, .vtt) "
        "to re-time",
    )
    options.add_argument(
        "--en",
        dest="english",
        default=None,
        metavar="FILE",
        help="English subtitles (.srt, .vtt) paired by time with a Russian subtitle TRANSCRIPT",
    )
    options.add_argument("--out", type=Path, default=Path("out"), help="output folder (default: out)")
    options.add_argument(
        "--cache", type=Path, default=None, help="stage cache folder (default: OUT/.subpipe-cache)"
    )
    options.add_argument("--no-cache", action="store_true", help="recompute every stage")
    options.add_argument("--wait", type=float, default=5.0, help=_WAIT_HELP)
    options.add_argument("--no-progress", action="store_true", help="no progress bars on stderr")
    return options


_WAIT_HELP = "seconds to wait while another subpipe run or batch writes to the output folder (default: 5)"


def _parser() -> argparse.ArgumentParser:
    from importlib.metadata import PackageNotFoundError, version

    try:
        release = version("subpipe")
    except PackageNotFoundError:  # run from a source tree that was never installed
        release = "unknown"
    parser = argparse.ArgumentParser(
        prog="subpipe", description="Dual-language subtitles from audio and a transcript."
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {release}")
    parser.add_argument("--verbose", action="store_true", help="show tracebacks")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND", help="what to do")
    model, episode = _model_options(), _episode_options()

    run = commands.add_parser(
        "run",
        parents=[episode, model, _style_options()],
        help="transcribe, align and write subtitles for one episode",
        description="Transcribe the audio, align the transcript to it, and write subtitles and a QA report.",
    )
    run.add_argument(
        "--no-asr",
        action="store_true",
        help="trusted transcript: align without transcribing (faster; no QA report)",
    )
    commands.add_parser(
        "qa",
        parents=[episode, model, _style_options(vtt_layout=False)],
        help="write the QA report (<stem>.qa.html, .qa.json, .qa.md), reusing cached ASR and alignment",
        description="Rebuild only the QA report; use the same --out/--cache and model options as the run.",
    )
    _add_lint_parser(commands)
    _add_batch_parser(commands, [model, _style_options()])
    return parser


def _run(args: argparse.Namespace) -> int:
    from pipeline.fileio import output_lock, staged

    bar = None if args.no_progress else _ProgressBar()
    try:
        # Locked before the slow imports and stages, so a busy or read-only OUT
        # fails at once; staged, so a run that fails or is interrupted replaces
        # none of the earlier outputs.
        with output_lock(args.out, args.wait), staged(args.out):
            from pipeline.episode import run

            settings = _settings(args, asr=not args.no_asr)
            result = run(args.audio, args.transcript, args.out, settings, progress=bar, cache=_cache(args))
    finally:
        if bar:
            bar.close()
    stages = ", ".join(f"{stage} {seconds:.1f}s" for stage, seconds in result.stage_seconds.items())
    print(f"{args.audio.stem}: model {result.engine}; stages: {stages}")
    print(f"{args.audio.stem}: {result.summary()} -> {args.out}/")
    return 0


def _settings(args: argparse.Namespace, **extra: object) -> Settings:
    """The settings ``run``, ``qa`` and ``batch`` share; options a command lacks keep their defaults."""
    from pipeline.episode import Settings

    shared = ("model", "device", "compute_type", "batch_size", "language", "vtt_layout", "profile", "english")
    return Settings(**{name: getattr(args, name) for name in shared if hasattr(args, name)}, **extra)


def _cache(args: argparse.Namespace) -> StageCache:
    from pipeline.cache import StageCache

    return StageCache(None if args.no_cache else (args.cache or args.out / ".subpipe-cache"))


class _ProgressBar:
    """One tqdm bar per stage, in seconds of audio, on stderr."""

    def __init__(self) -> None:
        self._bar = None
        self._stage = ""

    def __call__(self, stage: str, done: float, total: float) -> None:
        from tqdm import tqdm

        if stage != self._stage:
            self.close()
            self._stage = stage
            self._bar = tqdm(
                total=round(total, 1),
                desc=stage,
                unit="s",
                file=sys.stderr,
                leave=False,
                bar_format="{desc}: {percentage:3.0f}%|{bar}| {n:.0f}/{total:.0f} s audio [{elapsed}]",
            )
        if self._bar is not None:
            self._bar.update(round(done, 1) - self._bar.n)

    def close(self) -> None:
        if self._bar is not None:
            self._bar.close()
            self._bar = None


def _add_lint_parser(commands: argparse._SubParsersAction) -> None:
    lint = commands.add_parser(
        "lint",
        parents=[_style_options(vtt_layout=False)],
        help=f"check subtitle files against a style profile (exit {EXIT_VIOLATIONS} when rules are broken)",
        description=(
            "Check SRT and WebVTT files against a style profile. Every file is checked; the exit code is "
            f"the worst that happened: {_LINT_ORDER}."
        ),
    )
    lint.add_argument("files", type=Path, nargs="+", metavar="FILE", help=".srt or .vtt file")
    lint.add_argument(
        "--lang",
        choices=["auto", "ru", "en"],
        default="auto",
        help="language of the whole file (default: auto, each row by its alphabet; dual files as subpipe "
        "writes them)",
    )
    lint.add_argument(
        "--encoding",
        default=None,
        type=_encoding,
        help="the files' text encoding, e.g. cp1251 or utf-16 (default: detected, and named when not UTF-8)",
    )


def _encoding(name: str) -> str:
    import codecs

    try:
        codecs.lookup(name)
    except LookupError:
        known = "e.g. utf-8, cp1251, cp1252, koi8-r"
        raise argparse.ArgumentTypeError(f"unknown encoding {name!r} ({known})") from None
    return name


# The worst first: a file that could not be read, one that is missing, one that breaks the profile.
_LINT_RANK = {SubtitleError.exit_code: 3, InputNotFound.exit_code: 2, EXIT_VIOLATIONS: 1, 0: 0}
_LINT_ORDER = ", then ".join(
    f"{code} ({what})"
    for code, what in zip(
        _LINT_RANK, ("a file could not be read", "a file is missing", "a profile rule is broken", "clean")
    )
)


def _lint(args: argparse.Namespace) -> int:
    from pipeline.subtitles import lint, profiles

    profile = profiles.load(args.profile)
    outcomes: list[int] = []
    violations = 0
    for path in args.files:
        try:
            report = lint.lint(path, profile, lang=args.lang, encoding=args.encoding)
        except (InputNotFound, SubtitleError) as exc:
            # Reported, counted, and the next file checked.
            print(f"subpipe: error: {exc.message}", file=sys.stderr, flush=True)
            outcomes.append(exc.exit_code)
            continue
        for line in lint.describe(report):
            print(line)
        print(lint.summary(report))
        outcomes.append(0 if report.clean else EXIT_VIOLATIONS)
        violations += len(report.violations)
    if len(args.files) > 1:
        tally = Counter(outcomes)
        parts = [
            f"{tally[code]} {what}"
            for code, what in (
                (0, "clean"),
                (EXIT_VIOLATIONS, "breaking the profile"),
                (SubtitleError.exit_code, "unreadable"),
                (InputNotFound.exit_code, "not found"),
            )
            if tally[code] or code == 0
        ]
        total = lint.count(violations, "violation")
        print(f"subpipe lint: {len(outcomes)} files: {', '.join(parts)}; {total}")
    return max(outcomes, key=_LINT_RANK.__getitem__)


def _add_batch_parser(commands: argparse._SubParsersAction, parents: list[argparse.ArgumentParser]) -> None:
    batch = commands.add_parser(
        "batch",
        parents=parents,
        help="bring every episode of a folder (ep01.mp3 + ep01.txt, ...) up to date in OUT/<stem>/",
    )
    batch.add_argument("input", type=Path, metavar="IN", help="folder of audio files and transcripts")
    batch.add_argument(
        "out", type=Path, metavar="OUT", nargs="?", default=Path("out"), help="output folder (default: out)"
    )
    batch.add_argument(
        "--jobs", "-j", type=int, default=None, help="episodes in flight (default: 1 on CPU, 2 on GPU)"
    )
    batch.add_argument("--force", action="store_true", help="redo up-to-date episodes (stage cache kept)")
    batch.add_argument("--wait", type=float, default=5.0, help="seconds to wait for another batch on OUT")
    batch.add_argument("--no-progress", action="store_true", help="one line per episode instead of bars")
    cluster = batch.add_argument_group("Ray cluster (pip install 'subpipe[ray]')")
    cluster.add_argument(
        "--ray",
        metavar="ADDRESS",
        default=None,
        help="run the episodes on a Ray cluster: auto (the running one), local (start Ray here) or "
        "HOST:PORT; this machine keeps the manifest and OUT; --jobs counts episodes per worker",
    )
    cluster.add_argument(
        "--ray-cpus",
        type=int,
        default=None,
        metavar="N",
        help="CPU cores per model worker on CPU nodes (default: 4; a smaller node gets one worker); "
        "on GPU nodes there is one worker per GPU",
    )
    cluster.add_argument(
        "--shared-out",
        action="store_true",
        help="OUT is at the same path on every node (a shared filesystem): workers write there "
        "directly instead of sending their files back",
    )


def _batch(args: argparse.Namespace) -> int:
    from pipeline import batch
    from pipeline.batch.progress import BarsView

    problem = _ray_usage(args)
    if problem:
        return _fail(args, problem, EXIT_USAGE)
    settings = _settings(args)
    view = BarsView(bars=not args.no_progress, verbose=args.verbose)
    ray = None
    if args.ray is not None:
        from pipeline.batch.cluster import CPUS_PER_WORKER, RayOptions

        ray = RayOptions(args.ray, args.ray_cpus or CPUS_PER_WORKER, args.shared_out)
    try:
        summary = batch.run(
            args.input, args.out, settings, args.jobs, args.force, args.wait, view=view, ray=ray
        )
    except KeyboardInterrupt:
        # Episode threads may still be running; every file is written atomically and the
        # manifest marks them interrupted, so quit now rather than wait (exit would join them).
        print("subpipe: batch interrupted; run it again to resume", file=sys.stderr, flush=True)
        sys.stdout.flush()
        os._exit(EXIT_INTERRUPTED)
    print(summary.line())
    summary.check()
    return 0


def _ray_usage(args: argparse.Namespace) -> str | None:
    """What is wrong with batch's cluster options, if anything (Ray itself is imported only for --ray)."""
    if args.ray is None and (args.shared_out or args.ray_cpus is not None):
        return "--shared-out and --ray-cpus need --ray ADDRESS"
    if args.ray_cpus is not None and args.ray_cpus < 1:
        return f"--ray-cpus {args.ray_cpus}: give one core or more"
    return None


def _qa(args: argparse.Namespace) -> int:
    from pipeline.fileio import output_lock, staged

    bar = None if args.no_progress else _ProgressBar()
    try:
        with output_lock(args.out, args.wait), staged(args.out):  # as for run
            from pipeline.episode import run

            result = run(
                args.audio,
                args.transcript,
                args.out,
                _settings(args),
                progress=bar,
                cache=_cache(args),
                subtitles=False,
            )
    finally:
        if bar:
            bar.close()
    assert result.qa_report is not None
    reused = f" (reused: {', '.join(result.cache_hits)})" if result.cache_hits else ""
    print(f"{args.audio.stem}: {result.qa_report.summary()}{reused} -> {result.qa_report.paths[0]}")
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    parser = _parser()
    args = parser.parse_args(argv)
    handlers = {"run": _run, "lint": _lint, "batch": _batch, "qa": _qa}
    restore = _stop_on_sigterm()
    try:
        return handlers[args.command](args)
    except SubpipeError as exc:
        return _fail(args, exc.message, exc.exit_code)
    except KeyboardInterrupt:
        print("subpipe: interrupted; no partial output was written", file=sys.stderr)
        return EXIT_INTERRUPTED
    except BrokenPipeError:
        return EXIT_BROKEN_PIPE  # `subpipe lint … | head`: the reader has all it wanted
    except MemoryError:
        return _fail(args, "out of memory; close other programs, or split the audio into parts", EXIT_ERROR)
    except OSError as exc:
        where = f"{exc.filename}: " if exc.filename else ""
        return _fail(args, f"{where}{exc.strerror or exc}; check the file and its disk", EXIT_ERROR)
    except Exception as exc:
        first = str(exc).strip().splitlines()[0][:200] if str(exc).strip() else ""
        problem = f"internal error ({type(exc).__name__}{': ' + first if first else ''}); this is a bug: "
        return _fail(args, problem + "run again with --verbose and report the traceback", EXIT_INTERNAL)
    finally:
        restore()


def _fail(args: argparse.Namespace, message: str, code: int) -> int:
    """One line on stderr (after the traceback, with --verbose) and the exit code."""
    if args.verbose:
        traceback.print_exc()
    print(f"subpipe: error: {message}", file=sys.stderr)
    return code


def _stop_on_sigterm() -> Callable[[], None]:
    """Make SIGTERM (a scheduler, `kill`) stop a run as Ctrl-C does: temp files removed, one line.

    Returns what puts the previous handler back; signals can only be set from the main thread.
    """
    if threading.current_thread() is not threading.main_thread():
        return lambda: None

    def interrupt(signum: int, frame: FrameType | None) -> None:
        raise KeyboardInterrupt

    previous = signal.signal(signal.SIGTERM, interrupt)

    def restore() -> None:
        # None: the handler was not set from Python; the default is what it was.
        signal.signal(signal.SIGTERM, previous if previous is not None else signal.SIG_DFL)

    return restore


def console_main() -> None:
    """The ``subpipe`` program: ``main`` with its exit code.

    An interrupted run has removed its temp files and released OUT by the time
    ``main`` returns, but threads may still be busy (the model loading in the
    background, model workers finishing a batch). A normal exit would wait for
    them, and a second Ctrl-C meanwhile would end the process by the signal
    rather than with exit code 130, so the process ends at once.
    """
    code = main()
    try:
        sys.stdout.flush()
    except BrokenPipeError:
        code = EXIT_BROKEN_PIPE
    if code == EXIT_BROKEN_PIPE:
        # Python would flush stdout again on the way out and complain; point it at nothing.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
    if code == EXIT_INTERRUPTED:
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(code)
    sys.exit(code)


if __name__ == "__main__":
    console_main()
