"""Small helpers for the API tests: read problem documents and the audit trail."""

from __future__ import annotations

from typing import Any

from httpx2 import Response

from mamori.runtime import Runtime

PROBLEM = "application/problem+json"


def problem(response: Response, status: int, code: str | None = None) -> dict[str, Any]:
    """The response's problem document, checked for shape, status, code and request id."""
    assert response.status_code == status, (response.status_code, response.text)
    assert response.headers["content-type"] == PROBLEM, response.headers
    body: dict[str, Any] = response.json()
    assert body["status"] == status
    assert body["type"] == "urn:mamori:problem:" + body["code"]
    assert body["title"] and body["detail"]
    assert body["request_id"] == response.headers["x-request-id"]
    if code is not None:
        assert body["code"] == code, body
    return body


def refused(response: Response, rule: str) -> dict[str, Any]:
    """A 403 refusal naming ``rule``."""
    body = problem(response, 403, "access_denied")
    assert body["rule"] == rule, body
    return body


def audit_count(rt: Runtime) -> int:
    with rt.db.transaction() as tx:
        return int(tx.fetchone("SELECT count(*) FROM audit_entries")[0])


def last_entry(rt: Runtime) -> dict[str, Any]:
    """The newest audit entry."""
    with rt.db.transaction() as tx:
        row = tx.fetchone(
            "SELECT seq, actor, purpose, action, subjects, outcome, rule"
            " FROM audit_entries ORDER BY seq DESC LIMIT 1"
        )
    keys = ("seq", "actor", "purpose", "action", "subjects", "outcome", "rule")
    return dict(zip(keys, row, strict=True))


def token_id(headers: dict[str, str]) -> str:
    """The id part of the service token in ``headers``."""
    return headers["Authorization"].split("_")[1]
