"""The line at the end of a run that says the browser tests were skipped, and why.

Loaded by ``tests/e2e/conftest.py``; a run of the whole suite under xdist
does not load that conftest in the controlling process, so it can also be
loaded as a plugin (``-p tests.e2e.summary``). It reads the skip reports
themselves, so it speaks in either process, and only once.
"""

from __future__ import annotations

import pytest

MISSING = "browser tests skipped: no Chromium at {path}; install it with apt-get install chromium"
_said: list[str] = []


def _reason(report: object) -> str:
    longrepr = getattr(report, "longrepr", None)
    if isinstance(longrepr, tuple) and len(longrepr) == 3:
        return str(longrepr[2]).removeprefix("Skipped: ")
    return ""


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    opening = MISSING.split("{", 1)[0]
    reasons = [_reason(r) for r in terminalreporter.stats.get("skipped", [])]
    missing = [reason for reason in reasons if reason.startswith(opening)]
    if missing and not _said:
        _said.append(missing[0])
        terminalreporter.write_sep("=", missing[0], yellow=True, bold=True)
