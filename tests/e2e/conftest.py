"""Fixtures for the browser tests: Chromium, a home, ``mamori serve`` with a test mail server.

Without Chromium on the machine these tests are skipped, and said so at the
end of the run (and in each skip's reason); with ``MAMORI_REQUIRE_BROWSER``
set, as CI does, a missing browser fails them instead. Each test module gets
its own server on a free loopback port over its own copy of a home built once
per test process, so ``pytest -n 2`` runs modules side by side safely.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Playwright, sync_playwright

from tests.e2e.browser import chromium_path, launch, wanted_chromium
from tests.e2e.server import Home, Server, build_home, serving
from tests.e2e.summary import MISSING, pytest_terminal_summary

__all__ = ["pytest_terminal_summary"]


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Mark every test here as slow; without a browser, skip them (or fail them in CI)."""
    here = Path(__file__).parent
    ours = [item for item in items if here in item.path.parents]
    for item in ours:
        item.add_marker(pytest.mark.slow)
    if ours and chromium_path() is None and not os.environ.get("MAMORI_REQUIRE_BROWSER"):
        missing = pytest.mark.skip(reason=MISSING.format(path=wanted_chromium()))
        for item in ours:
            item.add_marker(missing)


@pytest.fixture(scope="session")
def chromium() -> str:
    path = chromium_path()
    if path is None:  # only reached under MAMORI_REQUIRE_BROWSER
        pytest.fail(
            f"MAMORI_REQUIRE_BROWSER is set but there is no Chromium at {wanted_chromium()}"
        )
    return path


@pytest.fixture(scope="session")
def playwright_() -> Iterator[Playwright]:
    with sync_playwright() as playwright:
        yield playwright


@pytest.fixture(scope="session")
def browser(playwright_: Playwright, chromium: str) -> Iterator[Browser]:
    browser = launch(playwright_, chromium)
    yield browser
    browser.close()


@pytest.fixture(scope="session")
def template_home(tmp_path_factory: pytest.TempPathFactory) -> Home:
    """A home set up with the ``mamori`` command, once per test process."""
    return build_home(tmp_path_factory.mktemp("e2e-template") / "home")


@pytest.fixture(scope="module")
def server(template_home: Home, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """``mamori serve`` over a fresh copy of the home, for this module's tests."""
    with serving(template_home, tmp_path_factory.mktemp("e2e-server")) as running:
        yield running
