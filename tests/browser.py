"""Headless Chromium (Debian's /usr/bin/chromium) driven by Playwright, for page tests."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

CHROMIUM = Path("/usr/bin/chromium")
ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-quic",
    "--autoplay-policy=no-user-gesture-required",
]
ARTIFACTS = Path(__file__).resolve().parent.parent / "test-artifacts"


# Each test module that imports the fixture registers its own session fixture, but
# Playwright's sync API allows one instance per thread: the modules share one browser,
# closed when the last of them is done.
_shared: dict[str, object] = {}
_users: list[None] = []


@pytest.fixture(scope="session")
def browser() -> Iterator[object]:
    if not CHROMIUM.exists():
        pytest.fail("Chromium is missing: run `make browser` (make test does)")
    from playwright.sync_api import sync_playwright

    if not _users:
        manager = sync_playwright()
        playwright = manager.start()
        _shared.update(
            manager=manager,
            browser=playwright.chromium.launch(executable_path=str(CHROMIUM), args=ARGS),
        )
    _users.append(None)
    try:
        yield _shared["browser"]
    finally:
        _users.pop()
        if not _users:
            _shared.pop("browser").close()
            _shared.pop("manager").__exit__(None, None, None)
