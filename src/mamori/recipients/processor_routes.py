"""HTTP routes of receipts and processors (filled in by the receipts and processors work)."""

from __future__ import annotations

from fastapi import APIRouter

router = APIRouter(tags=["processors"])
