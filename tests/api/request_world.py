"""Requests in the state each request route needs, for the route table's calls."""

from __future__ import annotations

import re

from mamori.dsr import downloads, verification
from mamori.dsr.arrival import NewRequest, create
from mamori.dsr.states import IdentityMethod, State, Via
from mamori.dsr.workflow import finish
from mamori.policy.schemas import RequestKind
from mamori.runtime import Runtime
from tests.conftest import actor
from tests.dsr.smtp import Mailbox
from tests.factories import register_customer

OFFICER = actor("officer")

# Route → (kind, state the request must be in).
NEEDS: dict[str, tuple[RequestKind, State]] = {
    "/requests/{request}/identity/code": (RequestKind.ERASURE, State.RECEIVED),
    "/requests/{request}/identity/verify": (RequestKind.ERASURE, State.IDENTITY_CHECK),
    "/requests/{request}/payment": (RequestKind.DISCLOSURE, State.IN_PROGRESS),
    "/requests/{request}/complete": (RequestKind.CESSATION_OF_USE, State.IN_PROGRESS),
}


def request_for(rt: Runtime, template: str) -> str:
    """A fresh request (about a fresh subject) ready for the route's allowed call."""
    kind, state = NEEDS.get(template, (RequestKind.ERASURE, State.RECEIVED))
    ref, _ = register_customer(rt)
    with rt.db.transaction() as tx:
        row = create(tx, rt, actor=OFFICER, new=NewRequest(kind, Via.API, ref))
        if state is State.IN_PROGRESS:
            verification.record_identity(
                tx, rt, actor=OFFICER, ref=row.ref, method=IdentityMethod.DOCUMENT_SEEN
            )
        elif state is State.IDENTITY_CHECK:
            verification.send_code(tx, rt, actor=OFFICER, ref=row.ref)
    return row.ref


def last_code(mailbox: Mailbox) -> str:
    found = re.search(r"\b(\d{6})\b", Mailbox.text(mailbox.messages[-1]))
    assert found is not None
    return found.group(1)


def download_token(rt: Runtime) -> str:
    """A download link of a completed disclosure."""
    ref, _ = register_customer(rt)
    with rt.db.transaction() as tx:
        row = create(tx, rt, actor=OFFICER, new=NewRequest(RequestKind.DISCLOSURE, Via.API, ref))
        verification.record_identity(
            tx, rt, actor=OFFICER, ref=row.ref, method=IdentityMethod.DOCUMENT_SEEN
        )
        finish(tx, rt, row, OFFICER, {"delivery": "link"})
        return downloads.issue(
            tx, rt, request_id=row.id, format="json", language="ja", now=rt.now()
        )
