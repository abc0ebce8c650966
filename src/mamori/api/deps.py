"""What routes depend on: the unit of work, the caller, the purpose.

Credentials are read from the request without touching the database; the
caller is resolved inside the route's own transaction (``Work.begin``), so a
request costs one transaction, and a refused credential leaves its audit
entry. Browser sessions must send a CSRF token with every state-changing
request; service tokens need none (they are not sent by browsers on their
own).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Query, Request

from mamori.api.pool import HandlePool
from mamori.audit.service import Entry
from mamori.db.engine import Tx
from mamori.errors import BadRequest, Denied
from mamori.guard.rules import Actor
from mamori.guard.service import refuse
from mamori.runtime import Runtime

SESSION_COOKIE = "mamori_session"
PURPOSE_DESCRIPTION = (
    "Why the data is needed: a purpose key from the policy that the caller's role may use."
)
CSRF_HEADER = "x-csrf-token"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


@dataclass(frozen=True)
class Credentials:
    kind: str  # token | session
    secret: str
    csrf: str | None
    unsafe: bool


async def credentials(request: Request) -> Credentials:
    """The caller's credentials as sent; 401 when there are none."""
    header = request.headers.get("authorization", "")
    unsafe = request.method not in SAFE_METHODS
    if header:
        scheme, _, secret = header.partition(" ")
        if scheme.lower() != "bearer" or not secret.strip():
            raise Denied(
                "send a service token as 'Authorization: Bearer <token>'", rule="unauthenticated"
            )
        return Credentials("token", secret.strip(), None, unsafe)
    cookie = request.cookies.get(SESSION_COOKIE)
    if cookie:
        return Credentials("session", cookie, request.headers.get(CSRF_HEADER), unsafe)
    raise Denied(
        "sign in, or send a service token as 'Authorization: Bearer <token>'",
        rule="unauthenticated",
    )


class Work:
    """The runtime and its connection pool, for one route call."""

    def __init__(self, rt: Runtime, pool: HandlePool) -> None:
        self.rt = rt
        self.pool = pool

    @contextmanager
    def begin(self) -> Iterator[Tx]:
        with self.pool.transaction() as tx:
            yield tx

    def actor(self, tx: Tx, creds: Credentials) -> Actor:
        """Who is calling, resolved in the route's transaction."""
        from mamori.auth import sessions, tokens

        now = self.rt.now()
        if creds.kind == "token":
            return tokens.authenticate_token(tx, self.rt, secret=creds.secret, now=now)
        actor = sessions.session_actor(tx, self.rt, cookie=creds.secret, now=now)
        if creds.unsafe:
            sessions.check_csrf(tx, self.rt, cookie=creds.secret, token=creds.csrf or "")
        return actor


async def work(request: Request) -> Work:
    state = request.app.state
    return Work(state.rt, state.pool)


def require_purpose(rt: Runtime, actor: Actor, purpose: str | None) -> str:
    """400 without a purpose, naming the purposes the caller's roles may use."""
    if purpose:
        return purpose
    allowed = rt.policy.purposes_for(actor.roles)
    raise BadRequest(
        "say why with the 'purpose' query parameter",
        code="purpose_missing",
        allowed_purposes=allowed,
    )


def require_flag(tx: Tx, rt: Runtime, actor: Actor, flag: str, what: str) -> None:
    """Only roles the policy marks ``admin`` or ``auditor`` reach those endpoints; refusals are audited."""
    roles = [rt.policy.roles[r] for r in actor.roles if r in rt.policy.roles]
    if actor.active and any(getattr(r, flag) for r in roles):
        return
    denied = Denied(f"'{actor.name}' has no {flag} role and may not {what}", rule=f"not_{flag}")
    entry = Entry(
        actor.name, f"system.{flag}", what.replace(" ", "_")[:32], [], [], "denied", denied.rule
    )
    raise refuse(rt, denied, entry)


WorkDep = Annotated[Work, Depends(work)]
CredentialsDep = Annotated[Credentials, Depends(credentials)]
PurposeQuery = Annotated[
    str | None,
    Query(
        description=PURPOSE_DESCRIPTION,
        max_length=100,
        pattern=r"^[a-z][a-z0-9_]*(\.[a-z0-9_]+)*$",
    ),
]
