"""The staff console's pages, mounted under ``/console`` from their rooms."""

from __future__ import annotations

from fastapi import APIRouter

from mamori.portal.console import audit, dashboard, provisions, queue, request, signin, subjects

router = APIRouter(tags=["staff console"])
for room in (signin, queue, request, subjects, audit, provisions, dashboard):
    router.include_router(room.router)
