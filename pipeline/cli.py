"""Command line: the only place errors become messages and exit codes."""

from __future__ import annotations

import argparse
import contextlib
import os
import sys
import threading
import traceback
from collections import Counter
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from pipeline import interrupts
from pipeline.errors import InputNotFound, SubpipeError, SubtitleError
from pipeline.whisper.options import COMPUTE_TYPES, LANGUAGES, language_problem

if TYPE_CHECKING:
    from pipeline.cache import StageCache
    from pipeline.episode import Settings

# The codes a SubpipeError carries are its class's exit_code (pipeline.errors);
# these are the others. docs/exit-codes.md lists them all.
EXIT_ERROR = 1  # a problem with no class of its own (out of memory, an I/O error)
EXIT_USAGE = 2  # argparse: unknown option or missing argument
EXIT_VIOLATIONS = 10  # subpipe lint: the file was read but breaks the profile
EXIT_INTERNAL = 70  # a bug (BSD's EX_SOFTWARE)
EXIT_INTERRUPTED = interrupts.EXIT_SIGINT  # 130: Ctrl-C
EXIT_BROKEN_PIPE = 141  # stdout's reader went away (`| head`): 128 + SIGPIPE, as Unix tools end
EXIT_TERMINATED = interrupts.EXIT_SIGTERM  # 143: SIGTERM (a scheduler, `kill`)
INTERRUPTED = "subpipe: interrupted; no partial output was written"
BATCH_INTERRUPTED = "subpipe: batch interrupted; run it again to resume"


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
        choices=COMPUTE_TYPES,
        default=None,
        metavar="TYPE",
        help="CTranslate2 compute type: int8, float16, float32, ... (default: int8 on CPU, float16 on GPU)",
    )
    group.add_argument(
        "--batch-size",
        type=_positive,
        default=None,
        help="speech chunks per decoding batch (default: 3 on the CPU, from free memory on a GPU)",
    )
    group.add_argument(
        "--language",
        type=_language,
        default="ru",
        help=f"language of the speech and transcript, one written in Cyrillic: {', '.join(LANGUAGES)} "
        "(default: ru)",
    )
    return options


# Types that check an option's value as it is parsed: argparse turns their
# errors into its own one-line usage error (exit 2), naming the option.


def _positive(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"{value} is less than 1; give 1 or more")
    return value


def _seconds(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number of seconds") from None
    if not value >= 0 or value == float("inf"):  # NaN fails the comparison
        raise argparse.ArgumentTypeError(f"{text} is not a number of seconds, 0 or more")
    return value


def _language(text: str) -> str:
    problem = language_problem(text)
    if problem:
        raise argparse.ArgumentTypeError(problem)
    return text


def _folder(text: str) -> Path:
    """A folder that exists or can be made: not a file, nor inside one."""
    path = Path(text)
    for part in (path, *path.parents):
        if part.exists():
            if not part.is_dir():
                where = "is a file" if part == path else f"is inside {part}, which is a file"
                raise argparse.ArgumentTypeError(f"{text} {where}; give a folder (it is made if missing)")
            break
    return path


def _check_values(parser: argparse.ArgumentParser, args: argparse.Namespace) -> None:
    """What no one option's type can see: a usage error (exit 2) before any work.

    --device cuda without a GPU, a compute type the device lacks, batch's
    cluster options without --ray.
    """
    if args.command == "batch":
        problem = _ray_usage(args)
        if problem:
            parser.error(problem)
    if getattr(args, "device", "auto") == "cuda" or getattr(args, "compute_type", None):
        from pipeline.whisper.options import device_problem

        problem = device_problem(args.device, args.compute_type)
        if problem:
            option = "--device" if problem.startswith("no CUDA") else "--compute-type"
            parser.error(f"argument {option}: {problem}")


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
    options.add_argument("--out", type=_folder, default=Path("out"), help="output folder (default: out)")
    options.add_argument(
        "--cache", type=_folder, default=None, help="stage cache folder (default: OUT/.subpipe-cache)"
    )
    options.add_argument("--no-cache", action="store_true", help="recompute every stage")
    options.add_argument("--wait", type=_seconds, default=5.0, help=_WAIT_HELP)
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


def commands(parser: argparse.ArgumentParser) -> dict[str, argparse.ArgumentParser]:
    """The parser of each subcommand, by name."""
    action = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    return dict(action.choices)


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
        "out",
        type=_folder,
        metavar="OUT",
        nargs="?",
        default=Path("out"),
        help="output folder (default: out)",
    )
    batch.add_argument(
        "--jobs", "-j", type=_positive, default=None, help="episodes in flight (default: 1 on CPU, 2 on GPU)"
    )
    batch.add_argument("--force", action="store_true", help="redo up-to-date episodes (stage cache kept)")
    batch.add_argument("--wait", type=_seconds, default=5.0, help="seconds to wait for another batch on OUT")
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
        type=_positive,
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

    settings = _settings(args)
    view = BarsView(bars=not args.no_progress, verbose=args.verbose)
    ray = None
    patience: contextlib.AbstractContextManager[None] = contextlib.nullcontext()
    if args.ray is not None:
        from pipeline.batch.cluster import CPUS_PER_WORKER, RayOptions
        from pipeline.batch.dispatch import CANCEL_GRACE_S

        ray = RayOptions(args.ray, args.ray_cpus or CPUS_PER_WORKER, args.shared_out)
        # On Ctrl-C the cluster's workers are asked to stop where no file is half written,
        # then ended, and Ray left: that is waited for, not cut off after a second.
        patience = interrupts.grace(CANCEL_GRACE_S + _RAY_STOP_S)
    try:
        with patience:
            summary = batch.run(
                args.input, args.out, settings, args.jobs, args.force, args.wait, view=view, ray=ray
            )
    except KeyboardInterrupt:
        # Episode threads may still be running; every file is written atomically and the
        # manifest marks them interrupted, so quit now rather than wait (exit would join them).
        interrupts.end(BATCH_INTERRUPTED)
    print(summary.line())
    summary.check()
    return 0


_RAY_STOP_S = 10.0  # ending the actors and leaving Ray, beyond the workers' own stop


def _ray_usage(args: argparse.Namespace) -> str | None:
    """What is wrong with batch's cluster options, if anything (Ray itself is imported only for --ray)."""
    if args.ray is None and (args.shared_out or args.ray_cpus is not None):
        return "--shared-out and --ray-cpus need --ray ADDRESS"
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
    _check_values(commands(parser)[args.command], args)
    handlers = {"run": _run, "lint": _lint, "batch": _batch, "qa": _qa}
    with interrupts.handling(BATCH_INTERRUPTED if args.command == "batch" else INTERRUPTED):
        return _dispatch(handlers[args.command], args)


def _dispatch(handler: Callable[[argparse.Namespace], int], args: argparse.Namespace) -> int:
    try:
        return handler(args)
    except SubpipeError as exc:
        return _fail(args, exc.message, exc.exit_code)
    except KeyboardInterrupt:
        if not interrupts.claim():  # the watcher is ending the process: one line, from it
            threading.Event().wait()
        print(INTERRUPTED, file=sys.stderr)
        return interrupts.exit_code()
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


def _fail(args: argparse.Namespace, message: str, code: int) -> int:
    """One line on stderr (after the traceback, with --verbose) and the exit code."""
    if args.verbose:
        traceback.print_exc()
    print(f"subpipe: error: {message}", file=sys.stderr)
    return code


def console_main() -> None:
    """The ``subpipe`` program: ``main`` with its exit code.

    An interrupted run has removed its temp files and released OUT by the time
    ``main`` returns, but threads may still be busy (the model loading in the
    background, model workers finishing a batch). A normal exit would wait for
    them, and a second Ctrl-C meanwhile would end the process by the signal
    rather than with exit code 130 (143 for SIGTERM), so the process ends at once.
    """
    try:
        code = main()
    except KeyboardInterrupt:  # before main set its handlers, or after it put them back
        if not interrupts.claim():
            threading.Event().wait()  # the watcher is ending the process, with the line
        print(INTERRUPTED, file=sys.stderr)
        code = interrupts.exit_code()
    try:
        sys.stdout.flush()
    except BrokenPipeError:
        code = EXIT_BROKEN_PIPE
    if code == EXIT_BROKEN_PIPE:
        # Python would flush stdout again on the way out and complain; point it at nothing.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
    if code in (EXIT_INTERRUPTED, EXIT_TERMINATED):
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(code)
    sys.exit(code)


if __name__ == "__main__":
    console_main()
