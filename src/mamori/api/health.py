"""Liveness and readiness: is the process up, and can it do its work."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel

from mamori.api.problems import responses
from mamori.errors import MamoriError
from mamori.runtime import load_keys

router = APIRouter(prefix="/health", tags=["health"])


class Health(BaseModel):
    status: str
    checks: dict[str, str] = {}


@router.get("/live")
async def live() -> Health:
    """The process answers."""
    return Health(status="ok")


@router.get(
    "/ready", responses={503: {"model": Health, "description": "Not ready"}, **responses(429)}
)
def ready(request: Request) -> JSONResponse:
    """The database answers and the key material can be read."""
    rt = request.app.state.rt
    checks = {"database": "ok", "keys": "ok"}
    try:
        with request.app.state.pool.transaction() as tx:
            tx.fetchone("SELECT 1")
    except Exception:  # any failure of the database means not ready
        checks["database"] = "unavailable"
    try:
        load_keys(rt.settings)
    except MamoriError:
        checks["keys"] = "unavailable"
    ok = all(v == "ok" for v in checks.values())
    body = Health(status="ok" if ok else "unavailable", checks=checks)
    return JSONResponse(body.model_dump(), status_code=200 if ok else 503)
