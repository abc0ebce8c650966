"""HTTP routes of recipients and provisions (filled in by the provision work)."""

from __future__ import annotations

from fastapi import APIRouter

router = APIRouter(tags=["recipients"])
