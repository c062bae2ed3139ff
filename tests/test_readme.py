"""The README's Python example runs as written and prints what it promises."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import ROOT, SAMPLES


def _python_example() -> str:
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    (example,) = re.findall(r"```python\n(.*?)```", text, flags=re.S)
    return example


@pytest.mark.slow
def test_the_readme_python_example_runs(tmp_path: Path) -> None:
    (tmp_path / "audio_samples").symlink_to(SAMPLES)
    done = subprocess.run(
        [sys.executable, "-c", _python_example()],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=600,
        env={"PYTHONPATH": str(ROOT), "PATH": "/usr/bin:/bin"},
    )
    assert done.returncode == 0, done.stderr
    summary, *lines = done.stdout.splitlines()
    assert re.match(r"\d+ lines: \d+ aligned", summary)
    assert len(lines) == 3 and all(" | " in line for line in lines)
    assert (tmp_path / "out" / "sample.ru-en.srt").is_file()
