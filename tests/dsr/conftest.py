"""Fixtures for data-subject requests: a real SMTP server whose mail tests can read."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace

import pytest

from mamori.runtime import Runtime
from tests.api.conftest import cheap_argon2, client, staff_session, token_for
from tests.dsr.smtp import Mailbox, running_smtp

__all__ = ["cheap_argon2", "client", "staff_session", "token_for"]


@pytest.fixture
def mailbox(rt: Runtime) -> Iterator[Mailbox]:
    """An aiosmtpd server on loopback; ``rt`` sends its mail there."""
    with running_smtp() as box:
        rt.settings = replace(rt.settings, smtp_url=box.url)
        yield box
