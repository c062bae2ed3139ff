"""Command line: the only place errors become messages and exit codes."""

from __future__ import annotations

import argparse
import sys
import traceback
from collections.abc import Sequence
from pathlib import Path

from pipeline.errors import SubpipeError

EXIT_USAGE = 2
EXIT_INTERRUPTED = 130


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="subpipe", description="Dual-language subtitles from audio and a transcript."
    )
    parser.add_argument("--verbose", action="store_true", help="show tracebacks")
    commands = parser.add_subparsers(dest="command", required=True)

    run = commands.add_parser("run", help="transcribe, align and write subtitles for one episode")
    run.add_argument("audio", type=Path)
    run.add_argument("transcript", type=Path)
    run.add_argument("--out", type=Path, default=Path("out"), help="output folder (default: out)")
    run.add_argument(
        "--model", default=None, help="faster-whisper model name or local folder (default: bundled base)"
    )
    run.add_argument("--device", choices=["auto", "cpu", "cuda"], default="auto")
    run.add_argument(
        "--compute-type", default=None, help="CTranslate2 compute type (default: int8 on CPU, float16 on GPU)"
    )
    run.add_argument("--batch-size", type=int, default=None)
    run.add_argument("--language", default="ru")
    run.add_argument(
        "--cache", type=Path, default=None, help="stage cache folder (default: OUT/.subpipe-cache)"
    )
    run.add_argument("--no-cache", action="store_true", help="recompute every stage")
    run.add_argument("--no-progress", action="store_true")
    return parser


def _run(args: argparse.Namespace) -> int:
    from pipeline.cache import StageCache
    from pipeline.episode import Settings, run

    settings = Settings(args.model, args.device, args.compute_type, args.batch_size, args.language)
    bar = None if args.no_progress else _ProgressBar()
    cache = StageCache(None if args.no_cache else (args.cache or args.out / ".subpipe-cache"))
    result = run(args.audio, args.transcript, args.out, settings, progress=bar, cache=cache)
    if bar:
        bar.close()
    print(f"{args.audio.stem}: {result.summary()} -> {args.out}/")
    return 0


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


def main(argv: Sequence[str] | None = None) -> int:
    parser = _parser()
    args = parser.parse_args(argv)
    handlers = {"run": _run}
    try:
        return handlers[args.command](args)
    except SubpipeError as exc:
        if args.verbose:
            traceback.print_exc()
        print(f"subpipe: error: {exc.message}", file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt:
        print("subpipe: interrupted; no partial output was written", file=sys.stderr)
        return EXIT_INTERRUPTED


if __name__ == "__main__":
    sys.exit(main())
