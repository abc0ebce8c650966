"""Logs carry request ids and no personal data; every answer carries the security headers.

A session of API calls (registrations, reads, look-ups by e-mail and phone,
corrections, invalid values, refusals, a failed sign-in) runs with Mamori's
JSON logging configured onto a buffer. Every line must be JSON naming the
request id the response carried, and no value the test wrote (names,
e-mail addresses, phone numbers, postal codes, as typed or as stored) may
appear in any line or in any problem document.
"""

from __future__ import annotations

import io
import json
import logging
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient
from httpx2 import Response

from mamori.api import logs
from mamori.api.app import create_app
from mamori.runtime import Runtime
from tests.api.support import PROBLEM
from tests.factories import customer_values

Tokens = Callable[[str], dict[str, str]]
PURCHASE = {"purpose": "purchase_fulfillment"}
PERSONAL = (
    "user.name",
    "user.name.kana",
    "user.contact.email",
    "user.contact.phone_number",
    "user.contact.address.postal_code",
    "user.contact.address.street",
)


@pytest.fixture
def log_lines() -> Iterator[io.StringIO]:
    """Mamori's logging as the server configures it, onto a buffer; restored afterwards."""
    names = ("mamori", "uvicorn.error", "uvicorn.access")
    saved = {n: (logging.getLogger(n).handlers[:], logging.getLogger(n).level) for n in names}
    flags = {n: (logging.getLogger(n).propagate, logging.getLogger(n).disabled) for n in names}
    buffer = io.StringIO()
    logs.configure("INFO", stream=buffer)
    yield buffer
    for name in names:
        logger = logging.getLogger(name)
        logger.handlers[:], level = saved[name]
        logger.setLevel(level)
        logger.propagate, logger.disabled = flags[name]


class Session:
    """Calls made in the test, with every response kept."""

    def __init__(self, client: TestClient) -> None:
        self.client = client
        self.responses: list[Response] = []

    def __call__(self, method: str, path: str, **kwargs: Any) -> Response:
        answer = self.client.request(method, path, **kwargs)
        self.responses.append(answer)
        return answer


def forms(values: dict[str, str]) -> set[str]:
    out = set()
    for value in values.values():
        out |= {value, value.lower(), json.dumps(value)[1:-1], value.replace("-", "")}
    return {v for v in out if len(v) >= 5}


def test_logs_name_requests_and_hold_no_personal_value(
    client: TestClient,
    rt: Runtime,
    token_for: Tokens,
    staff_session: Callable[[str], str],
    log_lines: io.StringIO,
) -> None:
    call = Session(client)
    sales, shop = token_for("sales"), token_for("integration")
    written: dict[str, str] = {}
    refs = []
    for _ in range(3):
        values = customer_values(rt)
        written |= {f"{c}#{len(refs)}": values[c] for c in PERSONAL if c in values}
        form = {"channel": "product_purchase", "values": values}
        made = call("POST", "/subjects", params=PURCHASE, headers=sales, json=form)
        assert made.status_code == 201, made.text
        ref = made.json()["ref"]
        refs.append(ref)
        read = call("GET", f"/subjects/{ref}", params=PURCHASE, headers=sales)
        written |= {f"{c}#{ref}": v for c, v in read.json()["values"].items() if c in PERSONAL}
        for field, category in (
            ("email", "user.contact.email"),
            ("phone", "user.contact.phone_number"),
        ):
            call(
                "POST",
                "/subjects/search",
                params=PURCHASE,
                headers=sales,
                json={field: values[category]},
            )
        call("GET", f"/subjects/{ref}", params=PURCHASE, headers=shop)  # refused: write-only
        call("GET", f"/subjects/{ref}", params={"purpose": "email_delivery"}, headers=sales)

    corrected = {"user.name": "高橋 真由美", "user.contact.email": "mayumi.takahashi@example.jp"}
    written |= corrected
    call(
        "PATCH", f"/subjects/{refs[0]}", params=PURCHASE, headers=sales, json={"values": corrected}
    )
    bad = {
        "user.contact.email": "mayumi..takahashi@@example.jp",
        "user.contact.phone_number": "03-9999-abcd",
        "user.contact.address.postal_code": "999-99999",
    }
    written |= bad
    for category, value in bad.items():
        form = {
            "channel": "product_purchase",
            "values": {"user.name": "中村 健太", category: value},
        }
        answer = call("POST", "/subjects", params=PURCHASE, headers=sales, json=form)
        assert answer.status_code == 422
    written["typed name"] = "中村 健太"
    call(
        "POST",
        "/subjects/search",
        params=PURCHASE,
        headers=sales,
        json={"email": bad["user.contact.email"]},
    )
    call("GET", "/subjects", params={**PURCHASE, "kind": "中村 健太"}, headers=sales)
    call("GET", "/subjects/" + "s" + "a" * 16, params=PURCHASE, headers=sales)
    call(
        "POST", "/auth/login", json={"handle": "kenta.nakamura@example.jp", "password": "中村 健太"}
    )
    written["handle typed"] = "kenta.nakamura@example.jp"
    staff_session("sales")
    call("GET", "/auth/me")

    lines = [line for line in log_lines.getvalue().splitlines() if line.strip()]
    assert len(lines) >= len(call.responses)
    docs = [json.loads(line) for line in lines]
    ids = {r.headers["x-request-id"] for r in call.responses}
    assert all(doc.get("request_id") for doc in docs), "a log line without a request id"
    logged_ids = {doc["request_id"] for doc in docs}
    assert ids <= logged_ids, "a response whose request has no log line"
    for doc in docs:
        assert doc["level"] in {"info", "warning", "error"} and doc["logger"].startswith("mamori")
        if doc["message"] == "request":
            assert doc["route"].startswith("/") and "?" not in doc["route"]

    text = log_lines.getvalue()
    problems = [r.text for r in call.responses if r.headers["content-type"] == PROBLEM]
    assert problems, "the session had refusals and invalid input"
    for label, value in written.items():
        for form in forms({label: value}):
            assert form not in text, f"{label} is in the log"
            for body in problems:
                assert form not in body, f"{label} is in a problem document"


def test_a_sent_request_id_is_kept_and_a_bad_one_replaced(client: TestClient) -> None:
    kept = client.get("/health/live", headers={"x-request-id": "Order12345abc"})
    assert kept.headers["x-request-id"] == "Order12345abc"
    for bad in ("short", "has spaces in it", "x" * 65, "semi;colon;id"):
        answer = client.get("/health/live", headers={"x-request-id": bad})
        assert answer.headers["x-request-id"] != bad
        assert len(answer.headers["x-request-id"]) == 16


SECURITY = {
    "x-content-type-options": "nosniff",
    "x-frame-options": "DENY",
    "referrer-policy": "no-referrer",
    "cache-control": "no-store",
}


def _secure(answer: Response, *, tls: bool) -> None:
    for name, value in SECURITY.items():
        assert answer.headers[name] == value, name
    csp = answer.headers["content-security-policy"]
    assert "default-src 'self'" in csp and "frame-ancestors 'none'" in csp
    assert ("strict-transport-security" in answer.headers) is tls
    if tls:
        assert "max-age=" in answer.headers["strict-transport-security"]


def test_security_headers_on_every_answer(
    client: TestClient, rt: Runtime, token_for: Tokens
) -> None:
    sales = token_for("sales")
    calls = [
        ("GET", "/health/live", {}),
        ("GET", "/subjects", {"params": PURCHASE, "headers": sales}),
        ("GET", "/subjects", {}),
        ("GET", "/nowhere", {}),
        ("POST", "/subjects", {"params": PURCHASE, "headers": sales, "content": b"{"}),
        ("POST", "/subjects", {"headers": sales, "content": b" " * 1_000_001}),
    ]
    for method, path, kwargs in calls:
        _secure(client.request(method, path, **kwargs), tls=False)
    with TestClient(create_app(runtime=rt), base_url="https://testserver") as tls:
        for method, path, kwargs in calls:
            _secure(tls.request(method, path, **kwargs), tls=True)
