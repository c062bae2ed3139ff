"""The package's shape: stages import one way, no module imports in a cycle, bench stays outside."""

from __future__ import annotations

import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parent.parent / "pipeline"

# Lower layers never import higher ones. A stage is a folder (or one small module).
LAYERS = [
    ("pipeline.types", "pipeline.errors"),
    ("pipeline.alphabet", "pipeline.encoding"),
    ("pipeline.normalize", "pipeline.pace"),
    ("pipeline.fileio",),
    ("pipeline.cache",),
    ("pipeline.audio",),
    ("pipeline.subtitles",),
    ("pipeline.transcript",),  # reads SRT and WebVTT transcripts with the subtitle readers
    ("pipeline.whisper",),
    ("pipeline.align",),
    ("pipeline.qa",),
    ("pipeline.episode",),
    ("pipeline.batch",),
    ("pipeline.cli", "pipeline.__main__"),
]


def _modules() -> dict[str, Path]:
    found = {}
    for path in PACKAGE.rglob("*.py"):
        parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
        name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
        found[name] = path
    return found


def _imports(path: Path, modules: dict[str, Path]) -> set[str]:
    """Every module ``path`` imports, at any depth of its code (lazy imports count too)."""
    out = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom) and node.module:
            for alias in node.names:
                sub = f"{node.module}.{alias.name}"
                out.add(sub if sub in modules else node.module)
        elif isinstance(node, ast.Import):
            out.update(alias.name for alias in node.names)
    return out


def _layer(module: str) -> int | None:
    for rank, prefixes in enumerate(LAYERS):
        if any(module == p or module.startswith(p + ".") for p in prefixes):
            return rank
    return None


def _graph() -> dict[str, set[str]]:
    modules = _modules()
    return {name: {m for m in _imports(path, modules) if m in modules} for name, path in modules.items()}


def test_every_module_belongs_to_a_layer() -> None:
    assert [m for m in _modules() if m != "pipeline" and _layer(m) is None] == []


def test_stages_import_one_way() -> None:
    wrong = [
        f"{name} imports {target}"
        for name, targets in _graph().items()
        if name != "pipeline"  # the package's lazy public API re-exports from every layer
        for target in targets
        if target != "pipeline" and _layer(target) > _layer(name)  # type: ignore[operator]
    ]
    assert wrong == []


def test_no_import_cycle() -> None:
    graph = _graph()
    state: dict[str, int] = {}
    cycles: list[list[str]] = []

    def visit(node: str, path: list[str]) -> None:
        state[node] = 1
        for nxt in sorted(graph[node]):
            if state.get(nxt) == 1:
                cycles.append([*path[path.index(nxt) :], nxt])
            elif nxt not in state:
                visit(nxt, [*path, nxt])
        state[node] = 2

    for node in sorted(graph):
        if node not in state:
            visit(node, [node])
    assert cycles == []


def test_the_package_never_imports_the_benchmarks() -> None:
    modules = _modules()
    users = [
        n for n, p in modules.items() for m in _imports(p, modules) if m == "bench" or m.startswith("bench.")
    ]
    assert users == []


def test_the_wheel_holds_the_package_and_its_profiles_but_no_benchmarks(tmp_path: Path) -> None:
    import subprocess
    import sys
    import zipfile

    root = PACKAGE.parent
    build = subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            "--no-deps",
            "-q",
            "-w",
            str(tmp_path),
            str(root),
        ],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert build.returncode == 0, build.stderr
    (wheel,) = tmp_path.glob("subpipe-*.whl")
    names = zipfile.ZipFile(wheel).namelist()
    assert not [n for n in names if n.split("/")[0] in ("bench", "tests")]
    assert "pipeline/episode.py" in names and "pipeline/subtitles/profiles/netflix.toml" in names
