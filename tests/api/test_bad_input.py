"""Bad input of every kind gets the right status and a problem document, and writes nothing.

Oversized, malformed and mistyped bodies, unknown fields, invalid personal
values (whose problem never quotes the value), unknown purposes and
channels, bad credentials, and a database or key file that goes away: each
answer is a problem document, never a 500 or a traceback, and the server
keeps serving once the cause is gone. Two hypothesis tests throw arbitrary
JSON bodies and query strings at the registry.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Iterator
from typing import Any

import psycopg
import pytest
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mamori.runtime import Runtime
from tests.api.support import PROBLEM, audit_count, last_entry, problem, refused
from tests.conftest import PG_ADMIN, PG_DB
from tests.factories import customer_values, register_customer

Tokens = Callable[[str], dict[str, str]]
PURCHASE = {"purpose": "purchase_fulfillment"}


def subject_count(rt: Runtime) -> int:
    with rt.db.transaction() as tx:
        return int(tx.fetchone("SELECT count(*) FROM subjects")[0])


def new_subject(rt: Runtime, **values: str) -> dict[str, Any]:
    return {"channel": "product_purchase", "values": {**customer_values(rt), **values}}


@pytest.fixture
def sales(token_for: Tokens) -> dict[str, str]:
    return token_for("sales")


# -- bodies ----------------------------------------------------------------------------
def test_an_oversized_body_is_413(client: TestClient, rt: Runtime, sales: dict[str, str]) -> None:
    before = subject_count(rt)
    answer = client.post(
        "/subjects",
        params=PURCHASE,
        headers={**sales, "content-type": "application/json"},
        content=b" " * 1_000_001,
    )
    problem(answer, 413, "body_too_large")
    assert subject_count(rt) == before
    assert client.get("/health/live").status_code == 200


def test_an_oversized_chunked_body_is_413(client: TestClient, sales: dict[str, str]) -> None:
    def chunks() -> Iterator[bytes]:
        for _ in range(25):
            yield b" " * 50_000

    answer = client.post(
        "/subjects",
        params=PURCHASE,
        headers={**sales, "content-type": "application/json"},
        content=chunks(),
    )
    problem(answer, 413, "body_too_large")


def test_a_provision_may_name_100000_subjects_but_no_more(
    client: TestClient, token_for: Tokens
) -> None:
    """A bulk body (2 MB of references) passes the edge; the list's own limit then answers."""
    officer = token_for("privacy_officer")
    refs = [
        "s" + f"{n:016d}".translate(str.maketrans("0123456789", "abcdefghij"))
        for n in range(100_001)
    ]
    body = {"recipient": "partner_kanto", "purpose": "partner_information", "basis": "consent"}
    answer = client.post(
        "/provisions", headers=officer, json={**body, "subjects": refs, "format": "csv"}
    )
    assert answer.status_code == 422, answer.text  # over the list limit, not over the edge's
    answer = client.post(
        "/provisions", headers=officer, json={**body, "subjects": refs[:100_000], "format": "csv"}
    )
    problem(answer, 409, "nobody_to_provide")  # none of them exists: each listed, none provided
    huge = {"content-type": "application/json", **officer}
    problem(client.post("/provisions", headers=huge, content=b" " * 16_000_001), 413)


@pytest.mark.parametrize(
    ("content", "fields"),
    [
        (b'{"channel": ', ["body.12"]),
        (b"{'channel': 'product_purchase'}", ["body.1"]),
        (b"[1, 2", ["body.5"]),
        (b"", ["body"]),
        (b"null", ["body"]),
        (b"[]", ["body"]),
    ],
    ids=["truncated", "single-quotes", "unclosed-list", "empty", "null", "list"],
)
def test_malformed_json_is_422_with_the_fields(
    client: TestClient, rt: Runtime, sales: dict[str, str], content: bytes, fields: list[str]
) -> None:
    before = subject_count(rt)
    answer = client.post(
        "/subjects",
        params=PURCHASE,
        headers={**sales, "content-type": "application/json"},
        content=content,
    )
    body = problem(answer, 422, "request_invalid")
    assert [e["field"] for e in body["errors"]] == fields
    assert subject_count(rt) == before


@pytest.mark.parametrize("path", ["/staff", "/subjects?purpose=purchase_fulfillment"])
def test_a_body_that_is_not_utf8_is_422(client: TestClient, token_for: Tokens, path: str) -> None:
    answer = client.post(
        path,
        headers={**token_for("admin"), "content-type": "application/json"},
        content=b'{"handle": "\xff\xfe"}',
    )
    problem(answer, 422, "request_invalid")


@pytest.mark.parametrize(
    ("body", "fields"),
    [
        ({"channel": 5, "values": ["a"]}, {"body.channel", "body.values"}),
        ({"channel": "product_purchase", "values": {"user.name": 7}}, {"body.values.user.name"}),
        ({"channel": "product_purchase", "values": {}}, {"body.values"}),
        ({"channel": "product_purchase"}, {"body.values"}),
        (
            {"channel": "product_purchase", "values": {"user.name": "x"}, "explicit": "maybe"},
            {"body.explicit"},
        ),
        (
            {"channel": "product_purchase", "values": {"user.name": "x"}, "consents": "all"},
            {"body.consents"},
        ),
        (
            {"channel": "product_purchase", "values": {"user.name": "x"}, "owner": "me"},
            {"body.owner"},
        ),
        (
            {"channel": "product_purchase", "values": {"User Name": "x"}},
            {"body.values.User Name.[key]"},
        ),
    ],
    ids=[
        "types",
        "value-type",
        "no-values",
        "missing",
        "bool",
        "list",
        "unknown-field",
        "bad-key",
    ],
)
def test_wrong_types_and_unknown_fields_are_422(
    client: TestClient,
    rt: Runtime,
    sales: dict[str, str],
    body: dict[str, Any],
    fields: set[str],
) -> None:
    before = subject_count(rt)
    answer = problem(client.post("/subjects", params=PURCHASE, headers=sales, json=body), 422)
    assert answer["code"] == "request_invalid"
    assert {e["field"] for e in answer["errors"]} == fields
    assert all(e["message"] for e in answer["errors"])
    assert subject_count(rt) == before


@pytest.mark.parametrize(
    ("path", "method", "body"),
    [
        ("/staff", "POST", {"handle": "newcomer", "roles": ["support"], "password": "x"}),
        ("/tokens", "POST", {"label": "shop", "role": "sales", "scope": "all"}),
        ("/policy/notices", "POST", {"version": 9}),
        ("/auth/login", "POST", {"handle": "sales", "password": "x", "remember": True}),
    ],
)
def test_unknown_fields_are_refused_everywhere(
    client: TestClient, token_for: Tokens, path: str, method: str, body: dict[str, Any]
) -> None:
    answer = client.request(method, path, headers=token_for("admin"), json=body)
    errors = problem(answer, 422, "request_invalid")["errors"]
    assert any(e["message"] == "Extra inputs are not permitted" for e in errors)


INVALID_VALUES = {
    "user.contact.email": ["taro.yamada@@example.com", "taro yamada@example.jp", "no-at-sign"],
    "user.contact.phone_number": ["03-1234-abcd", "12", "+1 (555) 0100 9999 9999 99"],
    "user.contact.address.postal_code": ["123-45678", "ABC-DEFG", "1000"],
}


@pytest.mark.parametrize(
    ("category", "value"),
    [(c, v) for c, values in INVALID_VALUES.items() for v in values],
)
def test_an_invalid_value_is_422_and_never_quoted(
    client: TestClient, rt: Runtime, sales: dict[str, str], category: str, value: str
) -> None:
    before = subject_count(rt), audit_count(rt)
    answer = client.post(
        "/subjects", params=PURCHASE, headers=sales, json=new_subject(rt, **{category: value})
    )
    body = problem(answer, 422, "validation_failed")
    assert category in body["detail"]
    # The request id is random hex and may contain a short value by chance.
    text = json.dumps({k: v for k, v in body.items() if k != "request_id"}, ensure_ascii=False)
    assert value not in text and json.dumps(value)[1:-1] not in text
    assert (subject_count(rt), audit_count(rt)) == before


@pytest.mark.parametrize(
    ("field", "value"),
    [("email", "taro@@example.com"), ("phone", "03-1234-abcd"), ("phone", "+81 3 0000")],
)
def test_an_invalid_search_is_422_and_never_quoted(
    client: TestClient, sales: dict[str, str], field: str, value: str
) -> None:
    answer = client.post("/subjects/search", params=PURCHASE, headers=sales, json={field: value})
    problem(answer, 422, "validation_failed")
    assert value not in answer.text


def test_a_correction_with_an_invalid_value_changes_nothing(
    client: TestClient, rt: Runtime, sales: dict[str, str]
) -> None:
    ref, values = register_customer(rt)
    answer = client.patch(
        f"/subjects/{ref}",
        params=PURCHASE,
        headers=sales,
        json={"values": {"user.name": "佐藤 一郎", "user.contact.email": "sato@@example.com"}},
    )
    problem(answer, 422, "validation_failed")
    now = client.get(f"/subjects/{ref}", params=PURCHASE, headers=sales).json()["values"]
    assert now["user.name"] == values["user.name"], "nothing half-written"


# -- purposes, channels, references -----------------------------------------------------
UNKNOWN_PURPOSE_CALLS = [
    ("GET", "/subjects/{ref}", None),
    ("PATCH", "/subjects/{ref}", {"values": {"user.name": "佐藤 一郎"}}),
    ("POST", "/subjects/search", {"email": "someone@example.com"}),
    ("GET", "/subjects", None),
    ("POST", "/subjects/{ref}/consents/grant", {}),
    ("POST", "/subjects/{ref}/consents/withdraw", {}),
    ("GET", "/subjects/{ref}/consents", None),
]


@pytest.mark.parametrize(("method", "path", "body"), UNKNOWN_PURPOSE_CALLS)
def test_an_unknown_purpose_is_403(
    client: TestClient,
    rt: Runtime,
    token_for: Tokens,
    method: str,
    path: str,
    body: dict[str, Any] | None,
) -> None:
    ref, _ = register_customer(rt)
    answer = client.request(
        method,
        path.format(ref=ref),
        params={"purpose": "marketing_to_everyone"},
        headers=token_for("privacy_officer"),
        json=body,
    )
    refused(answer, "unknown_purpose")
    entry = last_entry(rt)
    assert (entry["purpose"], entry["outcome"], entry["rule"]) == (
        "marketing_to_everyone",
        "denied",
        "unknown_purpose",
    )


def test_an_unknown_purpose_is_403_on_registration(
    client: TestClient, rt: Runtime, token_for: Tokens
) -> None:
    answer = client.post(
        "/subjects",
        params={"purpose": "marketing_to_everyone"},
        headers=token_for("sales"),
        json=new_subject(rt),
    )
    refused(answer, "unknown_purpose")


@pytest.mark.parametrize(
    ("method", "path", "body"),
    [
        ("POST", "/subjects", {"channel": "carrier_pigeon", "values": {"user.name": "x"}}),
        ("PATCH", "/subjects/{ref}", {"channel": "carrier_pigeon", "values": {"user.name": "x"}}),
        ("POST", "/subjects/{ref}/consents/grant", {"channel": "carrier_pigeon"}),
    ],
)
def test_an_unknown_channel_is_404(
    client: TestClient,
    rt: Runtime,
    token_for: Tokens,
    method: str,
    path: str,
    body: dict[str, Any],
) -> None:
    ref, _ = register_customer(rt)
    purpose = "email_delivery" if "consents" in path else "purchase_fulfillment"
    answer = client.request(
        method,
        path.format(ref=ref),
        params={"purpose": purpose},
        headers=token_for("privacy_officer"),
        json=body,
    )
    problem(answer, 404, "unknown_channel")


def test_unknown_and_malformed_references(client: TestClient, sales: dict[str, str]) -> None:
    problem(
        client.get("/subjects/" + "s" + "a" * 16, params=PURCHASE, headers=sales),
        404,
        "unknown_subject",
    )
    for bad in ("nope", "S" + "A" * 16, "s" + "1" * 16, "s" + "a" * 40):
        body = problem(client.get(f"/subjects/{bad}", params=PURCHASE, headers=sales), 422)
        assert [e["field"] for e in body["errors"]] == ["path.ref"]
        assert bad not in json.dumps(body)
    problem(client.get("/no/such/route", headers=sales), 404, "no_such_route")
    problem(client.put("/subjects", headers=sales), 405, "method_not_allowed")


# -- credentials -------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("header", "rule"),
    [
        ("Basic c2FsZXM6c2VjcmV0", "unauthenticated"),
        ("Bearer ", "unauthenticated"),
        ("Bearer mmr_00000000_" + "A" * 43, "token_invalid"),
        ("Bearer not-a-token", "token_invalid"),
    ],
)
def test_bad_credentials_are_401(client: TestClient, header: str, rule: str) -> None:
    answer = client.get("/subjects", params=PURCHASE, headers={"Authorization": header})
    assert problem(answer, 401, "unauthenticated")["rule"] == rule


def test_a_tampered_token_is_401(client: TestClient, rt: Runtime, sales: dict[str, str]) -> None:
    secret = sales["Authorization"]
    tampered = secret[:-1] + ("A" if secret[-1] != "A" else "B")
    answer = client.get("/subjects", params=PURCHASE, headers={"Authorization": tampered})
    assert problem(answer, 401, "unauthenticated")["rule"] == "token_invalid"
    entry = last_entry(rt)
    assert (entry["outcome"], entry["rule"]) == ("denied", "token_invalid")


def test_an_unknown_session_cookie_is_401(client: TestClient) -> None:
    client.cookies.set("mamori_session", "made-up-cookie")
    answer = client.get("/subjects", params=PURCHASE)
    assert problem(answer, 401, "unauthenticated")["rule"] == "session_invalid"


# -- a database or key file that goes away -----------------------------------------------
def _pg_connections(allowed: bool) -> None:
    with psycopg.connect(PG_ADMIN, autocommit=True) as admin:
        admin.execute(f'ALTER DATABASE "{PG_DB}" ALLOW_CONNECTIONS {str(allowed).lower()}')
        if not allowed:
            admin.execute(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
                " WHERE datname = %s AND pid <> pg_backend_pid()",
                (PG_DB,),
            )


class Outage:
    """Stops the database under the running app, and brings it back."""

    def __init__(self, client: TestClient, rt: Runtime) -> None:
        self.client, self.rt, self.down = client, rt, False
        self.path = rt.settings.home / "mamori.db"
        self.away = rt.settings.home / "mamori.db.away"

    def stop(self) -> None:
        self.down = True
        if self.rt.db.is_pg:
            _pg_connections(False)
            return
        # SQLite: the held connections go (as after a failure), and the file cannot be opened.
        self.client.app.state.pool.close()  # type: ignore[attr-defined]
        self.rt.db.engine.dispose()
        os.rename(self.path, self.away)
        os.mkdir(self.path)

    def start(self) -> None:
        if not self.down:
            return
        self.down = False
        if self.rt.db.is_pg:
            _pg_connections(True)
        else:
            os.rmdir(self.path)
            os.rename(self.away, self.path)


@pytest.fixture
def outage(client: TestClient, rt: Runtime) -> Iterator[Outage]:
    stopper = Outage(client, rt)
    yield stopper
    stopper.start()


def test_a_stopped_database_is_503_and_the_server_recovers(
    client: TestClient, rt: Runtime, sales: dict[str, str], outage: Outage
) -> None:
    ref, _ = register_customer(rt)
    assert client.get(f"/subjects/{ref}", params=PURCHASE, headers=sales).status_code == 200
    outage.stop()
    for _ in range(3):
        for answer in (
            client.get(f"/subjects/{ref}", params=PURCHASE, headers=sales),
            client.post("/subjects", params=PURCHASE, headers=sales, json=new_subject(rt)),
        ):
            assert answer.status_code == 503, answer.text
            assert answer.headers["content-type"] == PROBLEM
            assert answer.json()["code"] in {"storage_error", "database_unreachable"}
            assert "Traceback" not in answer.text and "psycopg" not in answer.text
    ready = client.get("/health/ready")
    assert ready.status_code == 503
    assert ready.json()["checks"] == {"database": "unavailable", "keys": "ok"}
    assert client.get("/health/live").status_code == 200

    outage.start()
    assert client.get("/health/ready").status_code == 200
    assert client.get(f"/subjects/{ref}", params=PURCHASE, headers=sales).status_code == 200
    made = client.post("/subjects", params=PURCHASE, headers=sales, json=new_subject(rt))
    assert made.status_code == 201, made.text
    assert subject_count(rt) == 2, "nothing was half-written while the database was away"


def test_a_storage_failure_answer_carries_the_request_id_and_headers(
    request: pytest.FixtureRequest,
    client: TestClient,
    rt: Runtime,
    sales: dict[str, str],
    outage: Outage,
) -> None:
    assert client.get("/subjects", params=PURCHASE, headers=sales).status_code == 200
    outage.stop()
    answer = client.get("/subjects", params=PURCHASE, headers=sales)
    problem(answer, 503)
    assert answer.headers["x-content-type-options"] == "nosniff"
    assert answer.headers["x-frame-options"] == "DENY"


@pytest.mark.parametrize("settings", ["sqlite"], indirect=True)
def test_a_moved_sqlite_file_is_503_until_it_is_back(
    client: TestClient, rt: Runtime, sales: dict[str, str]
) -> None:
    path = rt.settings.home / "mamori.db"
    client.app.state.pool.close()  # type: ignore[attr-defined]
    rt.db.engine.dispose()
    os.rename(path, rt.settings.home / "moved.db")
    try:
        problem(client.get("/subjects", params=PURCHASE, headers=sales), 503)
        ready_while_gone = client.get("/health/ready").status_code
    finally:
        os.replace(rt.settings.home / "moved.db", path)
    after = [client.get("/subjects", params=PURCHASE, headers=sales).status_code for _ in range(3)]
    assert (ready_while_gone, after) == (503, [200, 200, 200])


def test_readiness_fails_while_the_key_file_is_missing(client: TestClient, rt: Runtime) -> None:
    assert client.get("/health/ready").json() == {
        "status": "ok",
        "checks": {"database": "ok", "keys": "ok"},
    }
    key = rt.settings.key_file
    os.rename(key, key.with_suffix(".away"))
    try:
        answer = client.get("/health/ready")
        assert answer.status_code == 503
        assert answer.json() == {
            "status": "unavailable",
            "checks": {"database": "ok", "keys": "unavailable"},
        }
        assert str(key) not in answer.text
    finally:
        os.rename(key.with_suffix(".away"), key)
    assert client.get("/health/ready").status_code == 200


def test_a_nul_byte_in_a_filter_is_not_a_storage_failure(
    request: pytest.FixtureRequest, client: TestClient, rt: Runtime, token_for: Tokens
) -> None:
    sales, auditor = token_for("sales"), token_for("auditor")
    for params, headers, path in (
        ({**PURCHASE, "kind": "cust\x00omer"}, sales, "/subjects"),
        ({**PURCHASE, "channel": "web\x00shop"}, sales, "/subjects"),
        ({"actor": "sales\x00"}, auditor, "/audit"),
    ):
        answer = client.get(path, params=params, headers=headers)
        assert answer.status_code in {200, 422}, answer.text


# -- no input a client can send yields a 500 ----------------------------------------------
CATEGORIES = [
    "user.name",
    "user.contact.email",
    "user.contact.phone_number",
    "user.contact.address.postal_code",
    "user.contact.address.prefecture",
    "user.demographic.date_of_birth",
    "user.location.precise",
    "user.behavior.browsing_history",
    "user.unknown",
]
CHANNELS = ["product_purchase", "business_card_exchange", "email_subscription", "no_channel"]
PURPOSES = ["purchase_fulfillment", "email_delivery", "business_card_promotion", "dsr.erasure"]
JSON = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=20),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=10), children, max_size=4)
    ),
    max_leaves=12,
)
SHAPED = st.fixed_dictionaries(
    {
        "channel": st.sampled_from(CHANNELS) | st.text(max_size=12),
        "values": st.dictionaries(
            st.sampled_from(CATEGORIES) | st.text(max_size=8), st.text(max_size=40) | JSON
        ),
    },
    optional={
        "consents": st.lists(st.sampled_from(PURPOSES) | st.text(max_size=8), max_size=3),
        "explicit": st.booleans() | JSON,
        "evidence": JSON,
    },
)
FUZZ = settings(
    max_examples=60,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)


def _no_server_error(answer: Any) -> None:
    assert answer.status_code != 500, answer.text
    assert "Traceback" not in answer.text
    if answer.status_code >= 400:
        assert answer.headers["content-type"] == PROBLEM
        assert answer.json()["request_id"] == answer.headers["x-request-id"]


@FUZZ
@given(body=SHAPED | JSON, purpose=st.sampled_from(PURPOSES))
def test_no_json_body_yields_a_500(
    client: TestClient, sales: dict[str, str], body: Any, purpose: str
) -> None:
    answer = client.post("/subjects", params={"purpose": purpose}, headers=sales, json=body)
    _no_server_error(answer)


QUERY_KEYS = ["purpose", "kind", "channel", "limit", "after", "category", "x"]


@FUZZ
@given(
    query=st.lists(
        st.tuples(st.sampled_from(QUERY_KEYS) | st.text(max_size=6), st.text(max_size=30)),
        max_size=6,
    )
)
def test_no_query_string_yields_a_500(
    client: TestClient, sales: dict[str, str], query: list[tuple[str, str]]
) -> None:
    answer = client.get("/subjects", params=query, headers=sales)
    _no_server_error(answer)
