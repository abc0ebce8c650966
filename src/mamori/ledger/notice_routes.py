"""HTTP routes of the public notice (APPI Art. 32)."""

from __future__ import annotations

from fastapi import APIRouter

router = APIRouter(tags=["notice"])
