"""The HTTP application: its factory, error handlers, health and readiness.

``create_app`` builds the FastAPI app around a runtime (opened at start-up,
or handed in by tests) and mounts each domain's routes. Errors of every kind
leave as RFC 9457 problem documents from the handlers below; a route never
builds an error response itself.
"""

from __future__ import annotations

import logging
import os
import sqlite3
import threading
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import psycopg
from fastapi import Depends, FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from fastapi.staticfiles import StaticFiles
from sqlalchemy.exc import SQLAlchemyError
from starlette.exceptions import HTTPException as StarletteHTTPException

from mamori import __version__, boot
from mamori.api.limits import Limits, limit_general
from mamori.api.middleware import EdgeMiddleware
from mamori.api.openapi import mark_purpose_required
from mamori.api.pool import HandlePool
from mamori.api.problems import MEDIA_TYPE, problem, problem_for
from mamori.auth.ratelimit import limiter_from_env
from mamori.auth.sealing import RATE_LIMIT_LABEL, subkey
from mamori.config import Settings, load_settings
from mamori.errors import MamoriError
from mamori.portal import public as portal_pages
from mamori.portal.web import STATIC
from mamori.runtime import Runtime

log = logging.getLogger("mamori.api")


def create_app(settings: Settings | None = None, *, runtime: Runtime | None = None) -> FastAPI:
    """The API app; it opens its own runtime unless one is handed in."""

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        rt = runtime or boot.start(settings or load_settings())
        app.state.rt = rt
        app.state.pool = HandlePool(rt.db)
        app.state.limits = Limits.from_env()
        app.state.limiter = limiter_from_env(rt.settings, key_secret=subkey(rt, RATE_LIMIT_LABEL))
        # A runtime handed in (tests) delivers webhooks when the test says so.
        stop = _start_housekeeping(rt) if runtime is None else None
        try:
            yield
        finally:
            if stop is not None:
                stop.set()
                stop.worker.join(timeout=10)
            app.state.limiter.close()
            app.state.pool.close()
            if runtime is None:
                rt.close()

    app = FastAPI(
        title="Mamori",
        version=__version__,
        summary="A privacy policy as running, enforced, provable software.",
        lifespan=lifespan,
        dependencies=[Depends(limit_general)],
    )
    _install_error_handlers(app)
    _mount_routes(app)
    app.openapi = mark_purpose_required(app)  # type: ignore[method-assign]
    app.add_middleware(EdgeMiddleware)
    return app


class _Stop(threading.Event):
    worker: threading.Thread


def _start_housekeeping(rt: Runtime) -> _Stop | None:
    """Deliver due webhooks and sweep ended retention duties while the server runs."""
    from mamori.dsr.housekeeping import run

    interval = rt.settings.outbox_interval_s
    if interval <= 0:
        return None
    stop = _Stop()
    stop.worker = threading.Thread(
        target=run,
        kwargs={"rt": rt, "interval_s": interval, "stop": stop},
        name="mamori-housekeeping",
        daemon=True,
    )
    stop.worker.start()
    return stop


def _mount_routes(app: FastAPI) -> None:
    from mamori.api.health import router as health
    from mamori.audit.routes import router as audit
    from mamori.auth.routes import router as auth
    from mamori.consents.routes import router as consents
    from mamori.dsr.routes import downloads
    from mamori.dsr.routes import router as requests
    from mamori.ledger.notice_routes import router as notice
    from mamori.ledger.routes import router as ledger
    from mamori.policy.routes import router as policy
    from mamori.portal.routes import router as portal
    from mamori.recipients.processor_routes import router as processors
    from mamori.recipients.routes import router as recipients
    from mamori.staff.routes import router as staff
    from mamori.subjects.routes import router as subjects

    for router in (
        health,
        auth,
        subjects,
        consents,
        requests,
        downloads,
        recipients,
        processors,
        ledger,
        notice,
        portal,
        policy,
        audit,
        staff,
    ):
        app.include_router(router)
    app.mount("/static", StaticFiles(directory=STATIC), name="static")
    if os.environ.get("MAMORI_BENCH_BARE") == "1":
        from mamori.api.bench_bare import router as bare

        app.include_router(bare)


def _respond(body: dict[str, Any], headers: dict[str, str] | None = None) -> JSONResponse:
    return JSONResponse(body, status_code=body["status"], media_type=MEDIA_TYPE, headers=headers)


def _request_id(request: Request) -> str | None:
    value = request.scope.get("state", {}).get("request_id")
    return str(value) if value else None


def _install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(MamoriError)
    async def mamori_error(request: Request, error: MamoriError) -> Response:
        body = problem_for(error, _request_id(request))
        log.info(
            "refused",
            extra={
                "request_id": body.get("request_id"),
                "code": body["code"],
                "rule": body.get("rule"),
                "status": body["status"],
            },
        )
        if body["status"] >= 500 and portal_pages.wants_page(request):
            # A person on the privacy center (say, signing in while Redis is down) reads a page.
            return portal_pages.page_for_status(request, body["status"])
        headers = {}
        if "retry_after_s" in error.fields:
            headers["Retry-After"] = str(error.fields["retry_after_s"])
        if body["status"] == 401:
            headers["WWW-Authenticate"] = 'Bearer realm="mamori"'
        return _respond(body, headers or None)

    @app.exception_handler(RequestValidationError)
    async def invalid_request(request: Request, error: RequestValidationError) -> JSONResponse:
        fields = [
            {
                "field": ".".join(str(p) for p in e.get("loc", ())),
                "message": e.get("msg", "is invalid"),
            }
            for e in error.errors()
        ]
        detail = f"{len(fields)} part(s) of the request are invalid"
        return _respond(
            problem(422, "request_invalid", detail, errors=fields, request_id=_request_id(request))
        )

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, error: StarletteHTTPException) -> Response:
        if error.status_code == 404 and portal_pages.wants_page(request):
            return portal_pages.page_for_status(request, 404)
        if error.status_code == 400:  # the body could not be parsed (not UTF-8, say)
            fields = [{"field": "body", "message": "the body is not JSON in UTF-8"}]
            detail = "the request body could not be read"
            return _respond(
                problem(
                    422, "request_invalid", detail, errors=fields, request_id=_request_id(request)
                )
            )
        code = {404: "no_such_route", 405: "method_not_allowed"}.get(
            error.status_code, "http_error"
        )
        detail = (
            str(error.detail) if error.status_code not in (404, 405) else code.replace("_", " ")
        )
        return _respond(problem(error.status_code, code, detail, request_id=_request_id(request)))

    _install_failure_handlers(app)


def _install_failure_handlers(app: FastAPI) -> None:
    """Failures of the storage or of the code: a problem, or a page on the privacy center."""

    async def driver_error(request: Request, error: Exception) -> Response:
        # Handled inside the middleware stack, so the answer keeps its request id and headers.
        log.warning(
            "storage failure",
            extra={"request_id": _request_id(request), "code": type(error).__name__},
        )
        if portal_pages.wants_page(request):
            return portal_pages.page_for_status(request, 503)
        return _respond(
            problem(
                503,
                "storage_error",
                "the database failed; try again",
                request_id=_request_id(request),
            )
        )

    for failure in (SQLAlchemyError, psycopg.Error, sqlite3.Error):
        app.add_exception_handler(failure, driver_error)

    @app.exception_handler(Exception)
    async def unexpected(request: Request, error: Exception) -> Response:
        # Driver errors (a stopped database) arrive here too; their text may quote input.
        log.error(
            "unexpected failure",
            extra={"request_id": _request_id(request), "code": type(error).__name__},
        )
        status, code = _classify(error)
        if portal_pages.wants_page(request):
            return portal_pages.page_for_status(request, status)
        return _respond(
            problem(
                status, code, "the request could not be completed", request_id=_request_id(request)
            )
        )


def _classify(error: Exception) -> tuple[int, str]:
    module = type(error).__module__
    if module.startswith(("psycopg", "sqlite3")):
        return 503, "storage_error"
    return 500, "internal_error"
