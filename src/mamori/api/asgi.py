"""The ASGI entry point uvicorn imports in each worker process."""

from __future__ import annotations

import os

from fastapi import FastAPI

from mamori.api import logs
from mamori.api.app import create_app


def app_factory() -> FastAPI:
    logs.configure(os.environ.get("MAMORI_LOG_LEVEL", "INFO"))
    return create_app()
