"""HTTP routes for signing in and out, CSRF tokens, and service tokens.

Sign-in sets the session cookie (HttpOnly, SameSite=Strict, Secure behind
TLS) and returns a first CSRF token; every state-changing request made with
the cookie must send a fresh one in ``X-CSRF-Token``. Service tokens are for
other systems: they are shown once, on creation.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Path, Request, Response, status
from pydantic import BaseModel, ConfigDict, Field

from mamori.api.deps import SESSION_COOKIE, CredentialsDep, WorkDep, require_flag
from mamori.api.limits import limit_login
from mamori.api.problems import responses
from mamori.auth import sessions, tokens
from mamori.auth.login import verify_login

router = APIRouter(tags=["auth"])
ERRORS = responses(401, 403, 404, 422, 429)


class Login(BaseModel):
    model_config = ConfigDict(extra="forbid")
    handle: str = Field(min_length=1, max_length=100)
    password: str = Field(min_length=1, max_length=1024)
    totp: str | None = Field(
        None, pattern=r"^[0-9]{6}$", description="The second factor, where required."
    )


class Me(BaseModel):
    handle: str
    roles: list[str]
    kind: str
    purposes: list[str] = Field(description="The purposes the caller's roles may use.")


class SignedIn(Me):
    csrf_token: str = Field(
        description="Send in X-CSRF-Token with the next state-changing request."
    )


class CsrfToken(BaseModel):
    csrf_token: str


class TokenCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")
    label: str = Field(min_length=1, max_length=100, pattern=r"^[\w .:@-]+$")
    role: str = Field(min_length=1, max_length=100)
    days: int = Field(90, ge=1, le=3650)


class TokenRead(BaseModel):
    id: str
    label: str
    role: str
    created_by: str
    created_at: datetime
    expires_at: datetime
    revoked_at: datetime | None
    last_used_at: datetime | None
    state: str


class TokenCreated(TokenRead):
    secret: str = Field(description="Shown once: Mamori keeps only its hash.")


def _token_read(info: tokens.TokenInfo, now: datetime) -> TokenRead:
    return TokenRead(**info.__dict__, state=info.state(now))


@router.post("/auth/login", responses=ERRORS)
def login(body: Login, request: Request, response: Response, work: WorkDep) -> SignedIn:
    """Sign in with password (and TOTP where the role requires it); sets the session cookie."""
    limit_login(request, body.handle)
    with work.begin() as tx:
        actor = verify_login(
            tx,
            work.rt,
            handle=body.handle,
            password=body.password,
            totp_code=body.totp,
            now=work.rt.now(),
        )
        cookie = sessions.open_session(tx, work.rt, actor=actor)
        csrf = sessions.issue_csrf(tx, work.rt, cookie=cookie)
    response.set_cookie(
        SESSION_COOKIE,
        cookie,
        httponly=True,
        samesite="strict",
        secure=request.url.scheme == "https",
        max_age=int(sessions.ABSOLUTE.total_seconds()),
        path="/",
    )
    purposes = work.rt.policy.purposes_for(actor.roles)
    return SignedIn(
        handle=actor.name,
        roles=list(actor.roles),
        kind=actor.kind,
        purposes=purposes,
        csrf_token=csrf,
    )


@router.post("/auth/logout", status_code=status.HTTP_204_NO_CONTENT, responses=ERRORS)
def logout(creds: CredentialsDep, response: Response, work: WorkDep) -> None:
    """End the session."""
    with work.begin() as tx:
        work.actor(tx, creds)
        if creds.kind == "session":
            sessions.close_session(tx, work.rt, cookie=creds.secret)
    response.delete_cookie(SESSION_COOKIE, path="/")


@router.get("/auth/csrf", responses=ERRORS)
def csrf_token(creds: CredentialsDep, work: WorkDep) -> CsrfToken:
    """A fresh single-use CSRF token for the signed-in session."""
    with work.begin() as tx:
        work.actor(tx, creds)
        if creds.kind != "session":
            return CsrfToken(csrf_token="")
        return CsrfToken(csrf_token=sessions.issue_csrf(tx, work.rt, cookie=creds.secret))


@router.get("/auth/me", responses=ERRORS)
def me(creds: CredentialsDep, work: WorkDep) -> Me:
    """Who the credentials belong to, and the purposes they may use."""
    with work.begin() as tx:
        actor = work.actor(tx, creds)
    return Me(
        handle=actor.name,
        roles=list(actor.roles),
        kind=actor.kind,
        purposes=work.rt.policy.purposes_for(actor.roles),
    )


@router.get("/tokens", responses=ERRORS, tags=["tokens"])
def list_tokens(creds: CredentialsDep, work: WorkDep) -> list[TokenRead]:
    """Every service token, without secrets."""
    with work.begin() as tx:
        actor = work.actor(tx, creds)
        require_flag(tx, work.rt, actor, "admin", "list service tokens")
        now = work.rt.now()
        return [_token_read(t, now) for t in tokens.list_tokens(tx)]


@router.post("/tokens", status_code=status.HTTP_201_CREATED, responses=ERRORS, tags=["tokens"])
def create_token(
    body: TokenCreate, request: Request, creds: CredentialsDep, work: WorkDep
) -> TokenCreated:
    """Create a service token bound to a role; its secret is in this response only."""
    limit_login(request, None)
    with work.begin() as tx:
        actor = work.actor(tx, creds)
        require_flag(tx, work.rt, actor, "admin", "create service tokens")
        info, secret = tokens.create_token(
            tx, work.rt, label=body.label, role=body.role, expires_in_days=body.days, by=actor.name
        )
    read = _token_read(info, work.rt.now())
    return TokenCreated(**read.model_dump(), secret=secret)


@router.delete("/tokens/{token_id}", responses=ERRORS, tags=["tokens"])
def revoke_token(
    token_id: Annotated[str, Path(pattern=r"^[0-9a-f]{8}$")], creds: CredentialsDep, work: WorkDep
) -> TokenRead:
    """Revoke a service token; it is refused from the next request on."""
    with work.begin() as tx:
        actor = work.actor(tx, creds)
        require_flag(tx, work.rt, actor, "admin", "revoke service tokens")
        info = tokens.revoke_token(tx, work.rt, token_id=token_id, by=actor.name)
    return _token_read(info, work.rt.now())
