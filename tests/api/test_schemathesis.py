"""The OpenAPI schema tells the truth: schemathesis over every operation of the app.

The schema is the app's own (``create_app().openapi()``); each operation gets
up to 30 generated requests, valid and invalid, sent in process through the
test client of an app on a fresh home (SQLite: the PostgreSQL half adds
time and no new answers), with an officer's token (every purpose), or an
admin's for the staff and token routes. Requests naming a subject use a
registered one half of the time, so the routes get past "unknown subject".

Checks: no server error, responses that match their schema, no status the
operation does not document, and no request the schema calls invalid
accepted. Generation is derandomized so a run finds the same things twice.
Any failure fails the run.
"""

from __future__ import annotations

import re
import zlib
from collections.abc import Callable
from typing import Any

import pytest
import schemathesis
from fastapi.testclient import TestClient
from httpx2 import Response
from hypothesis import HealthCheck
from hypothesis import settings as hypothesis_settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    negative_data_rejection,
    response_schema_conformance,
    status_code_conformance,
)

from mamori.api.app import create_app
from mamori.runtime import Runtime
from tests.factories import register_customer

SCHEMA = schemathesis.openapi.from_dict(create_app().openapi())
CHECKS = [
    not_a_server_error,
    response_schema_conformance,
    status_code_conformance,
    negative_data_rejection,
]
REF = re.compile(r"^s[a-z2-7]{16}$")
ADMIN_PATHS = ("/staff", "/tokens")


@pytest.fixture
def subject(rt: Runtime) -> str:
    return register_customer(rt)[0]


@pytest.fixture
def callers(token_for: Callable[[str], dict[str, str]]) -> dict[str, dict[str, str]]:
    return {"officer": token_for("privacy_officer"), "admin": token_for("admin")}


def send(
    client: TestClient, case: schemathesis.Case, headers: dict[str, str], subject: str
) -> Response:
    """Send a generated case through the test client, as schemathesis would."""
    ref = case.path_parameters.get("ref") if case.path_parameters else None
    # A valid reference is swapped for the registered subject half of the time.
    if isinstance(ref, str) and REF.match(ref) and zlib.crc32(ref.encode()) % 2:
        case.path_parameters["ref"] = subject
    kwargs: dict[str, Any] = case.as_transport_kwargs(headers=headers)
    client.cookies.clear()
    for name, value in (kwargs.pop("cookies", None) or {}).items():
        client.cookies.set(name, value)
    if isinstance(kwargs.get("data"), bytes | str):
        kwargs["content"] = kwargs.pop("data")
    for unused in ("timeout", "verify", "allow_redirects"):
        kwargs.pop(unused, None)
    return client.request(**kwargs, follow_redirects=False)


@pytest.mark.parametrize("settings", ["sqlite"], indirect=True)
@SCHEMA.parametrize()
@hypothesis_settings(
    max_examples=30,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=list(HealthCheck),
)
def test_the_schema_tells_the_truth(
    case: schemathesis.Case,
    client: TestClient,
    callers: dict[str, dict[str, str]],
    subject: str,
) -> None:
    who = "admin" if case.path.startswith(ADMIN_PATHS) else "officer"
    response = send(client, case, callers[who], subject)
    case.validate_response(response, checks=CHECKS)


@pytest.mark.parametrize("settings", ["sqlite"], indirect=True)
def test_a_notice_date_must_be_a_date_time_string(
    client: TestClient, callers: dict[str, dict[str, str]]
) -> None:
    answer = client.post("/policy/notices", headers=callers["officer"], json={"effective_at": 0})
    assert answer.status_code == 422, answer.text


def test_the_audit_purpose_filter_is_documented_as_optional() -> None:
    operation = create_app().openapi()["paths"]["/audit"]["get"]
    purpose = next(p for p in operation["parameters"] if p["name"] == "purpose")
    assert purpose["required"] is False


def test_personal_data_routes_document_a_required_purpose() -> None:
    paths = create_app().openapi()["paths"]
    for path, operations in paths.items():
        for method, operation in operations.items():
            if not path.startswith("/subjects"):
                continue
            names = {p["name"]: p for p in operation.get("parameters", [])}
            assert names["purpose"]["required"] is True, (method, path)
            assert names["purpose"]["schema"]["type"] == "string", (method, path)
            errors = operation["responses"]
            assert {"400", "401", "403", "422"} <= set(errors), (method, path)
            assert "application/problem+json" in errors["403"]["content"], (method, path)
