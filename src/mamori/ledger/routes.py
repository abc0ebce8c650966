"""HTTP routes of the management ledger, records of processing and data map."""

from __future__ import annotations

from fastapi import APIRouter

router = APIRouter(tags=["ledger"])
