"""Fixtures of the browser tests: the example apps, started as ``scripts/demo.sh`` starts
them (see browser_helpers), and Debian's chromium, driven by Playwright headless with a
fresh profile and the flags that keep it off the network (``scripts/_browser.sh`` installs it).
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from browser_helpers import CHROMIUM_ARGS, OUTPUT, Example, start, stop


def running(name: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Example]:
    example, process = start(name, tmp_path_factory.mktemp(f"{name}-state"))
    try:
        yield example
    finally:
        stop(process)


@pytest.fixture(scope="session")
def flask_example(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Example]:
    """The Flask example, running on its embedded default in a fresh state directory."""
    yield from running("flask", tmp_path_factory)


@pytest.fixture(scope="session")
def django_example(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Example]:
    """The Django example, migrated and seeded, running on its embedded default."""
    yield from running("django", tmp_path_factory)


@pytest.fixture(scope="module")
def playwright_driver() -> Iterator:
    """Playwright's sync driver, for one test module at a time: while it runs, its event
    loop is the main thread's, and later tests calling asyncio.run() must not find it."""
    chromium = shutil.which("chromium")
    if chromium is None:
        pytest.fail("Debian's chromium is not installed: scripts/test.sh installs it (scripts/_browser.sh)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as driver:
        yield driver, chromium


@pytest.fixture
def page(playwright_driver, tmp_path: Path, request: pytest.FixtureRequest) -> Iterator:
    """A page of a fresh headless chromium profile; a screenshot of it is saved at the end."""
    driver, chromium = playwright_driver
    context = driver.chromium.launch_persistent_context(
        str(tmp_path / "profile"),
        executable_path=chromium,
        headless=True,
        args=CHROMIUM_ARGS,
        accept_downloads=True,
        viewport={"width": 1280, "height": 900},
    )
    page = context.pages[0] if context.pages else context.new_page()
    page.set_default_timeout(30_000)
    try:
        yield page
    finally:
        OUTPUT.mkdir(parents=True, exist_ok=True)
        try:
            name = f"{request.node.path.stem}.{request.node.name}.png"
            page.screenshot(path=str(OUTPUT / name), full_page=True)
        finally:
            context.close()
