"""Fixtures for the member pages: an app with them mounted, a member, a signed-in browser.

``member_client`` serves ``create_app`` over ``rt`` (SQLite and PostgreSQL)
and mounts the member router if the center does not yet. ``member`` registers
a web member through the membership channel; ``sign_in`` takes the code from
the real SMTP ``mailbox`` and opens a session on the client.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator

import pytest
from fastapi.testclient import TestClient

from mamori.api.app import create_app
from mamori.portal.member import pages
from mamori.runtime import Runtime
from tests.conftest import actor
from tests.dsr.conftest import mailbox
from tests.dsr.smtp import Mailbox
from tests.factories import register_customer

__all__ = ["mailbox"]
MEMBER_CHANNEL = "membership_registration"


@pytest.fixture
def member_client(rt: Runtime) -> Iterator[TestClient]:
    app = create_app(runtime=rt)
    if "/privacy/signin" not in {getattr(r, "path", "") for r in app.routes}:
        app.include_router(pages.router)
    with TestClient(app, raise_server_exceptions=False) as test_client:
        yield test_client


def register_member(rt: Runtime, **overrides: str | None) -> tuple[str, dict[str, str]]:
    """A web member registered through the membership channel; its ref and values."""
    return register_customer(
        rt, by=actor("officer"), channel=MEMBER_CHANNEL, purpose="membership", **overrides
    )


@pytest.fixture
def member(rt: Runtime) -> tuple[str, dict[str, str]]:
    return register_member(rt)


def code_in(box: Mailbox, address: str) -> str:
    match = re.search(r"\b(\d{6})\b", box.text(box.last_to(address)))
    assert match is not None
    return match.group(1)


@pytest.fixture
def sign_in(member_client: TestClient, mailbox: Mailbox) -> Callable[[str], None]:
    """Sign the member holding ``address`` in on ``member_client``."""

    def run(address: str) -> None:
        sent = member_client.post("/privacy/signin", data={"email": address})
        assert sent.status_code == 200, sent.text
        answer = member_client.post(
            "/privacy/signin/code", data={"code": code_in(mailbox, address)}
        )
        assert answer.status_code == 200 and answer.url.path == "/privacy/me", answer.text

    return run
