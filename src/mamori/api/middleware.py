"""The outer layer of every request: request id, size limit, headers, log line.

Written as plain ASGI middleware (no per-request task or body copy) because
it wraps the hot path. The log line names the route template, never the
path as sent nor the query string, so no identifier a client typed and no
personal value ever reaches a log.
"""

from __future__ import annotations

import json
import logging
import secrets
import time
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

from mamori.api.problems import MEDIA_TYPE, problem

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

log = logging.getLogger("mamori.api")

BULK_PATHS = frozenset({"/provisions", "/receipts"})
OVERRIDABLE = frozenset({b"cache-control", b"content-security-policy", b"referrer-policy"})
SECURITY_HEADERS = [
    (b"x-content-type-options", b"nosniff"),
    (b"x-frame-options", b"DENY"),
    (b"referrer-policy", b"no-referrer"),
    (b"cache-control", b"no-store"),
    (
        b"content-security-policy",
        b"default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
        b"frame-ancestors 'none'; base-uri 'none'; form-action 'self'",
    ),
]
HSTS = (b"strict-transport-security", b"max-age=63072000; includeSubDomains")


class TooLarge(Exception):
    pass


class EdgeMiddleware:
    """Request id in and out, a body size limit, security headers, one log line."""

    def __init__(
        self, app: ASGIApp, *, max_body: int = 1_000_000, max_bulk_body: int = 16_000_000
    ) -> None:
        self.app = app
        self.max_body = max_body
        self.max_bulk_body = max_bulk_body

    def _limit_for(self, scope: Scope) -> int:
        """Bulk operations (a provision of 100,000 references, a received list) may send more."""
        path = scope.get("path", "")
        bulk = path in BULK_PATHS or (
            path.startswith("/processors/") and path.endswith("/handovers")
        )
        return self.max_bulk_body if bulk else self.max_body

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        request_id = _request_id(scope)
        scope.setdefault("state", {})["request_id"] = request_id
        started = time.perf_counter()
        status = {"code": 500}
        secure = scope.get("scheme") == "https"

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                status["code"] = message["status"]
                headers = list(message.get("headers", []))
                headers.append((b"x-request-id", request_id.encode()))
                # A response may set its own cache rule or a stricter CSP (the public
                # notice: a cacheable version, its inline style allowed by hash).
                own = {name.lower() for name, _ in headers}
                headers.extend(
                    h for h in SECURITY_HEADERS if not (h[0] in OVERRIDABLE and h[0] in own)
                )
                if secure:
                    headers.append(HSTS)
                message["headers"] = headers
            await send(message)

        limit = self._limit_for(scope)
        try:
            declared = _declared_length(scope)
            if declared is not None and declared > limit:
                raise TooLarge
            if declared is None and scope.get("method") in ("POST", "PUT", "PATCH"):
                # No length given: read it whole, bounded.
                receive = await self._buffered(receive, limit)
            await self.app(scope, self._limited(receive, limit), send_with_headers)
        except TooLarge:
            await _too_large(send_with_headers, request_id, limit)
        finally:
            _log_line(scope, status["code"], started, request_id)

    async def _buffered(self, receive: Receive, limit: int) -> Receive:
        """Read a body sent without Content-Length up to the limit, then replay it."""
        chunks: list[bytes] = []
        size = 0
        while True:
            message = await receive()
            if message["type"] != "http.request":
                break
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > limit:
                raise TooLarge
            chunks.append(chunk)
            if not message.get("more_body", False):
                break
        replay = [{"type": "http.request", "body": b"".join(chunks), "more_body": False}]

        async def replayed() -> Message:
            return replay.pop() if replay else await receive()

        return replayed

    def _limited(self, receive: Receive, limit: int) -> Receive:
        seen = 0

        async def counted() -> Message:
            nonlocal seen
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > limit:
                    raise TooLarge
            return message

        return counted


def _request_id(scope: Scope) -> str:
    for name, value in scope.get("headers", []):
        if (
            name == b"x-request-id"
            and 8 <= len(value) <= 64
            and value.isascii()
            and value.isalnum()
        ):
            return str(value.decode())
    return secrets.token_hex(8)


def _declared_length(scope: Scope) -> int | None:
    for name, value in scope.get("headers", []):
        if name == b"content-length":
            try:
                return int(value)
            except ValueError:
                return 0
    return None


async def _too_large(send: Send, request_id: str, limit: int) -> None:
    body = problem(
        413, "body_too_large", f"the request body exceeds {limit} bytes", request_id=request_id
    )
    data = json.dumps(body).encode()
    headers = [(b"content-type", MEDIA_TYPE.encode()), (b"content-length", str(len(data)).encode())]
    try:
        await send({"type": "http.response.start", "status": 413, "headers": headers})
        await send({"type": "http.response.body", "body": data})
    except RuntimeError:
        pass  # the response had already started; nothing more can be said


def _log_line(scope: Scope, status: int, started: float, request_id: str) -> None:
    route = scope.get("route")
    template = getattr(route, "path", None) or "<unmatched>"
    log.info(
        "request",
        extra={
            "request_id": request_id,
            "method": scope.get("method"),
            "route": template,
            "status": status,
            "ms": round((time.perf_counter() - started) * 1000, 2),
        },
    )
