"""HTTP routes for staff accounts, for roles the policy marks as admins."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, status
from pydantic import BaseModel, ConfigDict, Field

from mamori.api.deps import CredentialsDep, WorkDep, require_flag
from mamori.api.problems import responses
from mamori.staff import service

router = APIRouter(prefix="/staff", tags=["staff"])
ERRORS = responses(401, 403, 404, 409, 422, 429)
Handle = Annotated[str, Path(pattern=r"^[a-z][a-z0-9._-]{1,62}$")]


class StaffCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")
    handle: str = Field(pattern=r"^[a-z][a-z0-9._-]{1,62}$")
    roles: list[str] = Field(min_length=1, max_length=10)


class StaffRead(BaseModel):
    handle: str
    roles: list[str]
    active: bool


@router.get("", responses=ERRORS)
def list_staff(creds: CredentialsDep, work: WorkDep) -> list[StaffRead]:
    """Every staff account and its roles."""
    with work.begin() as tx:
        actor = work.actor(tx, creds)
        require_flag(tx, work.rt, actor, "admin", "list staff accounts")
        return [StaffRead(**row) for row in service.list_accounts(tx)]


@router.post("", status_code=status.HTTP_201_CREATED, responses=ERRORS)
def add_staff(body: StaffCreate, creds: CredentialsDep, work: WorkDep) -> StaffRead:
    """Add a staff account with roles from the policy."""
    with work.begin() as tx:
        actor = work.actor(tx, creds)
        require_flag(tx, work.rt, actor, "admin", "add staff accounts")
        made = service.add(tx, work.rt, handle=body.handle, roles=body.roles, by=actor.name)
    return StaffRead(handle=made.name, roles=list(made.roles), active=True)


def _set_active(handle: str, active: bool, creds: CredentialsDep, work: WorkDep) -> StaffRead:
    with work.begin() as tx:
        actor = work.actor(tx, creds)
        require_flag(tx, work.rt, actor, "admin", "change staff accounts")
        service.set_active(tx, work.rt, handle=handle, active=active, by=actor.name)
        row = next(r for r in service.list_accounts(tx) if r["handle"] == handle)
    return StaffRead(**row)


@router.post("/{handle}/disable", responses=ERRORS)
def disable_staff(handle: Handle, creds: CredentialsDep, work: WorkDep) -> StaffRead:
    """Disable an account: the guard refuses it from the next request on."""
    return _set_active(handle, False, creds, work)


@router.post("/{handle}/enable", responses=ERRORS)
def enable_staff(handle: Handle, creds: CredentialsDep, work: WorkDep) -> StaffRead:
    """Enable a disabled account again."""
    return _set_active(handle, True, creds, work)
