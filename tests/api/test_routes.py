"""Every route, three ways wrong: no credentials, the wrong role, the wrong or no purpose.

``ROUTES`` is the table: one row per operation of the app. The first test
reads the operations from ``app.routes`` and from the OpenAPI schema, so a
route added without a row here fails the suite. Each row says who may call
the route, who may not (and which rule refuses them) and, for routes that
touch personal data, which purpose is right and which is wrong.

Refusals must come as problem documents with a stable code and the request
id, and each leaves its audit entry, except a call without credentials (there
is no one to name).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field, replace
from typing import Any

import pytest
from fastapi.routing import iter_route_contexts
from fastapi.testclient import TestClient
from httpx2 import Response

from mamori.api.app import create_app
from mamori.policy.schemas import ProvisionBasis
from mamori.recipients.export import ExportFormat
from mamori.recipients.provision import Selection, provide
from mamori.recipients.receipts import receive
from mamori.runtime import Runtime
from tests.api.request_world import download_token, last_code, request_for
from tests.api.support import audit_count, last_entry, problem, refused, token_id
from tests.conftest import actor
from tests.dsr.smtp import Mailbox, running_smtp
from tests.factories import customer_values, register_customer

Body = Callable[["World"], Any] | None
DOCS = {"/openapi.json", "/docs", "/docs/oauth2-redirect", "/redoc"}


@dataclass(frozen=True)
class World:
    """What the calls refer to: a registered subject, its values, a staff handle, a token."""

    rt: Runtime
    ref: str
    values: dict[str, str]
    token: str
    mailbox: Mailbox | None = None
    made: dict[str, str] = field(default_factory=dict)

    def path(self, template: str) -> str:
        """The route's path, with a request (or download link) made for it once."""
        if "{request}" in template and template not in self.made:
            self.made[template] = request_for(self.rt, template)
        if "{token}" in template and template not in self.made:
            self.made[template] = download_token(self.rt)
        if "{receipt}" in template and template not in self.made:
            self.made[template] = receipt_for(self.rt)
        names = {"ref": self.ref, "handle": "support", "token_id": self.token, "version": "1"}
        if "{provision}" in template and template not in self.made:
            self.made[template] = provision_for(self.rt, self.ref)
        names["request"] = names["token"] = names["receipt"] = self.made.get(template, "")
        names["provision"] = self.made.get(template, "")
        names["processor"] = "cloud_hosting"
        names["purpose"] = "personalization"
        names["recipient"] = "partner_kanto"
        names["step"] = "withdraw"
        return template.format(**names)


@dataclass(frozen=True)
class Personal:
    """A personal-data route: the caller and purpose that work, and what is refused."""

    role: str
    purpose: str
    wrong_purpose: str
    wrong_purpose_rule: str
    wrong_purpose_params: dict[str, str] = field(default_factory=dict)
    wrong_purpose_body: Body = None


@dataclass(frozen=True)
class Route:
    body: Body = None
    open: bool = False  # answers callers without credentials
    any_role: bool = False  # any authenticated caller may use it
    wrong_role: tuple[str, str] | None = None  # (role, rule that refuses it)
    allowed_role: str | None = None
    personal: Personal | None = None


def _new_subject(w: World) -> dict[str, Any]:
    return {"channel": "product_purchase", "values": customer_values(w.rt)}


def _outside_purpose(w: World) -> dict[str, Any]:
    values = {"user.name": w.values["user.name"], "user.behavior.browsing_history": "/catalog"}
    return {"channel": "product_purchase", "values": values}


def _correction(w: World) -> dict[str, Any]:
    return {"values": {"user.contact.address.building": "Annex 2"}}


def _correction_outside(w: World) -> dict[str, Any]:
    return {"values": {"user.behavior.browsing_history": "/catalog"}}


def _search(w: World) -> dict[str, Any]:
    return {"email": w.values["user.contact.email"]}


PURCHASE = "purchase_fulfillment"
DESK = {"wrong_role": ("sales", "role_not_permitted"), "allowed_role": "privacy_officer"}
RECORDS = {"wrong_role": ("sales", "records_not_permitted"), "allowed_role": "auditor"}


def _received(w: World) -> dict[str, Any]:
    """One attendee as the event co-host sent them (POST /receipts)."""
    values = customer_values(w.rt, purpose="event_registration")
    keep = ("user.name", "user.contact.email")
    return {
        "provider": "event_cohost",
        "channel": "cohost_attendee_list",
        "obtained_how": "Attendee list of a co-hosted seminar, shared with consent",
        "records": [{"values": {c: values[c] for c in keep}}],
    }


def receipt_for(rt: Runtime) -> str:
    """A receipt record of one attendee received from the event co-host."""
    body = _received(World(rt, "", {}, ""))
    records = [r["values"] for r in body.pop("records")]
    with rt.db.transaction() as tx:
        return receive(tx, rt, actor=actor("officer"), records=records, **body).ref


def _provision(w: World) -> dict[str, Any]:
    """The world's subject gave no consent: provided under a legal exception (POST /provisions)."""
    return {
        "recipient": "partner_kanto",
        "purpose": PURCHASE,
        "basis": "exception",
        "exception": "art27_1_i",
        "reason": "Route table test",
        "subjects": [w.ref],
        "format": "json",
    }


def provision_for(rt: Runtime, ref: str) -> str:
    """A provision record naming the world's subject."""
    body = _provision(World(rt, ref, {}, ""))
    with rt.db.transaction() as tx:
        made = provide(
            tx,
            rt,
            actor=actor("officer"),
            recipient=body["recipient"],
            purpose=body["purpose"],
            basis=ProvisionBasis.EXCEPTION,
            exception=body["exception"],
            reason=body["reason"],
            selection=Selection(refs=[ref]),
            fmt=ExportFormat.JSON,
        )
    return str(made.record["ref"])


def _code(w: World) -> dict[str, Any]:
    assert w.mailbox is not None
    return {"code": last_code(w.mailbox)}


def _inquiry(w: World) -> dict[str, Any]:
    fields = {"name": "山田 太郎", "phone": "020-0123-4567", "description": "会員情報について"}
    return {"via": "phone", "fields": fields}


ROUTES: dict[tuple[str, str], Route] = {
    ("GET", "/health/live"): Route(open=True),
    ("GET", "/health/ready"): Route(open=True),
    ("POST", "/auth/login"): Route(
        open=True, body=lambda w: {"handle": "sales", "password": "not the password"}
    ),
    ("POST", "/auth/logout"): Route(any_role=True),
    ("GET", "/auth/csrf"): Route(any_role=True),
    ("GET", "/auth/me"): Route(any_role=True),
    ("GET", "/tokens"): Route(wrong_role=("sales", "not_admin"), allowed_role="admin"),
    ("POST", "/tokens"): Route(
        body=lambda w: {"label": "web shop", "role": "integration"},
        wrong_role=("privacy_officer", "not_admin"),
        allowed_role="admin",
    ),
    ("DELETE", "/tokens/{token_id}"): Route(
        wrong_role=("integration", "not_admin"), allowed_role="admin"
    ),
    ("POST", "/subjects"): Route(
        body=_new_subject,
        wrong_role=("marketing", "role_not_permitted"),
        personal=Personal(
            "sales",
            PURCHASE,
            PURCHASE,
            "category_outside_purpose",
            wrong_purpose_body=_outside_purpose,
        ),
    ),
    ("GET", "/subjects"): Route(
        wrong_role=("marketing", "role_not_permitted"),
        personal=Personal("sales", PURCHASE, "email_delivery", "role_not_permitted"),
    ),
    ("GET", "/subjects/{ref}"): Route(
        wrong_role=("marketing", "role_not_permitted"),
        personal=Personal(
            "sales",
            PURCHASE,
            PURCHASE,
            "category_outside_purpose",
            wrong_purpose_params={"category": "user.behavior.browsing_history"},
        ),
    ),
    ("PATCH", "/subjects/{ref}"): Route(
        body=_correction,
        wrong_role=("marketing", "role_not_permitted"),
        personal=Personal(
            "sales",
            PURCHASE,
            PURCHASE,
            "category_outside_purpose",
            wrong_purpose_body=_correction_outside,
        ),
    ),
    ("POST", "/subjects/search"): Route(
        body=_search,
        wrong_role=("marketing", "role_not_permitted"),
        personal=Personal("sales", PURCHASE, "email_delivery", "role_not_permitted"),
    ),
    ("POST", "/subjects/{ref}/consents/grant"): Route(
        body=lambda w: {},
        wrong_role=("sales", "role_not_permitted"),
        personal=Personal(
            "integration", "email_delivery", "partner_information", "role_not_permitted"
        ),
    ),
    ("POST", "/subjects/{ref}/consents/withdraw"): Route(
        body=lambda w: {},
        wrong_role=("marketing", "action_not_permitted"),
        personal=Personal(
            "integration", "email_delivery", "partner_information", "role_not_permitted"
        ),
    ),
    ("GET", "/subjects/{ref}/consents"): Route(
        wrong_role=("sales", "role_not_permitted"),
        personal=Personal("marketing", "email_delivery", PURCHASE, "role_not_permitted"),
    ),
    ("GET", "/ledger"): Route(wrong_role=("sales", "not_ledger_reader"), allowed_role="auditor"),
    ("POST", "/ledger/reviews"): Route(
        body=lambda w: {"reviewed_on": "2026-11-27", "findings": "照合済み"},
        wrong_role=("auditor", "not_privileged"),
        allowed_role="privacy_officer",
    ),
    ("GET", "/ledger/reviews"): Route(
        wrong_role=("support", "not_ledger_reader"), allowed_role="auditor"
    ),
    ("GET", "/records-of-processing"): Route(
        wrong_role=("marketing", "not_ledger_reader"), allowed_role="auditor"
    ),
    ("GET", "/datamap"): Route(
        wrong_role=("sales", "not_ledger_reader"), allowed_role="privacy_officer"
    ),
    ("POST", "/receipts"): Route(
        body=_received,
        wrong_role=("marketing", "role_not_permitted"),
        allowed_role="privacy_officer",
    ),
    ("GET", "/receipts"): Route(**RECORDS),
    ("GET", "/receipts/{receipt}"): Route(**RECORDS),
    ("GET", "/recipients"): Route(any_role=True),
    ("GET", "/recipients/{recipient}"): Route(any_role=True),
    ("POST", "/provisions"): Route(
        body=_provision,
        wrong_role=("marketing", "role_not_permitted"),
        allowed_role="privacy_officer",
    ),
    ("GET", "/provisions"): Route(**RECORDS),
    ("GET", "/provisions/{provision}"): Route(**RECORDS),
    ("GET", "/processors"): Route(any_role=True),
    ("GET", "/processors/{processor}"): Route(any_role=True),
    ("POST", "/processors/{processor}/handovers"): Route(
        body=lambda w: {"purpose": "invoicing_payment", "subjects": [w.ref], "format": "json"},
        wrong_role=("sales", "action_not_permitted"),
        allowed_role="accounting",
    ),
    ("GET", "/processors/{processor}/handovers"): Route(**RECORDS),
    ("POST", "/processors/{processor}/supervisions"): Route(
        body=lambda w: {
            "done_on": "2026-11-01",
            "kind": "questionnaire",
            "outcome": "satisfactory",
        },
        wrong_role=("auditor", "not_privileged"),
        allowed_role="privacy_officer",
    ),
    ("GET", "/processors/{processor}/supervisions"): Route(**RECORDS),
    ("GET", "/privacy"): Route(open=True),
    ("GET", "/privacy/signin"): Route(open=True),
    ("POST", "/privacy/signin"): Route(open=True),
    ("GET", "/privacy/signin/code"): Route(open=True),
    ("POST", "/privacy/signin/code"): Route(open=True),
    ("POST", "/privacy/signout"): Route(open=True),
    ("GET", "/privacy/me"): Route(open=True),
    ("POST", "/privacy/me/consents/{purpose}"): Route(open=True),
    ("GET", "/privacy/me/contact"): Route(open=True),
    ("POST", "/privacy/me/contact"): Route(open=True),
    ("POST", "/privacy/postal-code"): Route(open=True, body=lambda w: {"code": "100-0001"}),
    ("GET", "/privacy/me/requests"): Route(open=True),
    ("POST", "/privacy/me/requests"): Route(open=True),
    ("GET", "/privacy/me/requests/new"): Route(open=True),
    ("GET", "/privacy/me/requests/{ref}"): Route(open=True),
    ("GET", "/privacy/me/requests/{ref}/report"): Route(open=True),
    ("GET", "/console/signin"): Route(open=True),
    ("POST", "/console/signin"): Route(open=True),
    ("POST", "/console/signout"): Route(open=True),
    ("GET", "/console"): Route(open=True),
    ("GET", "/console/requests/{ref}"): Route(open=True),
    ("POST", "/console/requests/{ref}/{step}"): Route(open=True),
    ("GET", "/console/subjects"): Route(open=True),
    ("POST", "/console/subjects"): Route(open=True),
    ("GET", "/console/subjects/{ref}"): Route(open=True),
    ("GET", "/console/audit"): Route(open=True),
    ("GET", "/console/provisions"): Route(open=True),
    ("GET", "/console/provisions/{provision}"): Route(open=True),
    ("GET", "/console/dashboard"): Route(open=True),
    ("GET", "/.well-known/gpc.json"): Route(open=True),
    ("GET", "/privacy/notice"): Route(open=True),
    ("GET", "/privacy/notice/versions"): Route(open=True),
    ("GET", "/privacy/notice/{version}"): Route(open=True),
    ("GET", "/notice"): Route(open=True),
    ("GET", "/notice/versions"): Route(open=True),
    ("GET", "/notice/{version}"): Route(open=True),
    ("GET", "/requests/fees"): Route(open=True),
    ("GET", "/requests/hours"): Route(open=True),
    ("GET", "/downloads/{token}"): Route(open=True),
    ("POST", "/requests"): Route(
        body=lambda w: {"kind": "erasure", "via": "phone", "subject": w.ref}, **DESK
    ),
    ("POST", "/requests/inquiries"): Route(
        body=_inquiry, wrong_role=("sales", "role_not_permitted"), allowed_role="support"
    ),
    ("GET", "/requests"): Route(**DESK),
    ("GET", "/requests/metrics"): Route(**DESK),
    ("GET", "/requests/{request}"): Route(**DESK),
    ("GET", "/requests/{request}/erasure-preview"): Route(**DESK),
    ("POST", "/requests/{request}/identity/code"): Route(**DESK),
    ("POST", "/requests/{request}/identity/verify"): Route(body=_code, **DESK),
    ("POST", "/requests/{request}/identity/record"): Route(
        body=lambda w: {"method": "phone_callback"}, **DESK
    ),
    ("POST", "/requests/{request}/payment"): Route(body=lambda w: {"amount_yen": 1000}, **DESK),
    ("POST", "/requests/{request}/assign"): Route(body=lambda w: {"to": "officer"}, **DESK),
    ("POST", "/requests/{request}/complete"): Route(body=lambda w: {}, **DESK),
    ("POST", "/requests/{request}/reject"): Route(
        body=lambda w: {"reason": "identity_not_verified"}, **DESK
    ),
    ("POST", "/requests/{request}/withdraw"): Route(**DESK),
    ("GET", "/policy"): Route(any_role=True),
    ("GET", "/policy/notices"): Route(any_role=True),
    ("POST", "/policy/notices"): Route(
        body=lambda w: {}, wrong_role=("sales", "not_privileged"), allowed_role="admin"
    ),
    ("GET", "/audit"): Route(wrong_role=("sales", "not_auditor"), allowed_role="auditor"),
    ("POST", "/audit/verify"): Route(wrong_role=("admin", "not_auditor"), allowed_role="auditor"),
    ("GET", "/staff"): Route(wrong_role=("auditor", "not_admin"), allowed_role="admin"),
    ("POST", "/staff"): Route(
        body=lambda w: {"handle": "newcomer", "roles": ["support"]},
        wrong_role=("privacy_officer", "not_admin"),
        allowed_role="admin",
    ),
    ("POST", "/staff/{handle}/disable"): Route(
        wrong_role=("sales", "not_admin"), allowed_role="admin"
    ),
    ("POST", "/staff/{handle}/enable"): Route(
        wrong_role=("marketing", "not_admin"), allowed_role="admin"
    ),
}
PERSONAL = {key: route for key, route in ROUTES.items() if route.personal is not None}
GUARDED = {key: route for key, route in ROUTES.items() if route.wrong_role is not None}
ANY_ROLE = {key: route for key, route in ROUTES.items() if route.any_role}


def _ids(table: dict[tuple[str, str], Route]) -> list[str]:
    return [f"{m} {p}" for m, p in table]


@pytest.fixture
def world(rt: Runtime, token_for: Callable[[str], dict[str, str]]) -> Iterator[World]:
    ref, values = register_customer(rt)
    with running_smtp() as box:
        rt.settings = replace(rt.settings, smtp_url=box.url)
        yield World(rt, ref, values, token_id(token_for("integration")), box)


def call(
    client: TestClient,
    key: tuple[str, str],
    w: World,
    *,
    headers: dict[str, str] | None = None,
    purpose: str | None = None,
    params: dict[str, str] | None = None,
    body: Body = None,
) -> Response:
    method, template = key
    path = w.path(template)
    query = dict(params or {})
    if purpose is not None:
        query["purpose"] = purpose
    maker = body or ROUTES[key].body
    payload = maker(w) if maker is not None else None
    return client.request(method, path, params=query, json=payload, headers=headers or {})


def test_every_route_is_in_the_table() -> None:
    app = create_app()
    served = {
        (method, ctx.path)
        for ctx in iter_route_contexts(app.routes)
        if ctx.path not in DOCS
        for method in (ctx.methods or set()) - {"HEAD"}
    }
    documented = {
        (method.upper(), path)
        for path, operations in app.openapi()["paths"].items()
        for method in operations
    }
    assert served == documented, "a route is served but not documented, or the reverse"
    assert served == set(ROUTES), "add the new route to ROUTES"


def test_no_credentials(client: TestClient, rt: Runtime, world: World) -> None:
    """Every route without credentials: 401 problem, and no audit entry (no one to name)."""
    for key, route in ROUTES.items():
        world.path(key[1])  # make the request or link the route needs before counting
        before = audit_count(rt)
        purpose = route.personal.purpose if route.personal else None
        answer = call(client, key, world, purpose=purpose)
        if key == ("POST", "/auth/login"):
            assert problem(answer, 401, "unauthenticated")["rule"] == "bad_credentials"
            assert last_entry(rt)["rule"] == "bad_credentials"
        elif key in {("POST", "/privacy/signin"), ("POST", "/console/signin")}:
            assert answer.status_code == 422  # the empty form's error page
        elif route.open:
            # A member page without a session sends the visitor to sign-in (then 200).
            assert answer.status_code == 200, (key, answer.text)
        else:
            assert problem(answer, 401, "unauthenticated")["rule"] == "unauthenticated", key
            assert audit_count(rt) == before, key


@pytest.mark.parametrize("key", list(GUARDED), ids=_ids(GUARDED))
def test_wrong_role(
    client: TestClient,
    rt: Runtime,
    world: World,
    token_for: Callable[[str], dict[str, str]],
    key: tuple[str, str],
) -> None:
    route = GUARDED[key]
    assert route.wrong_role is not None
    role, rule = route.wrong_role
    headers = token_for(role)
    purpose = route.personal.purpose if route.personal else None
    refused(call(client, key, world, headers=headers, purpose=purpose), rule)
    entry = last_entry(rt)
    assert (entry["outcome"], entry["rule"]) == ("denied", rule)
    assert entry["actor"] == f"token:{token_id(headers)}"
    # The same call from the right caller goes through: the refusal was the role's.
    allowed = route.allowed_role or (route.personal.role if route.personal else None)
    assert allowed is not None
    answer = call(client, key, world, headers=token_for(allowed), purpose=purpose)
    assert answer.status_code < 300, answer.text


def test_any_caller_may_use(
    client: TestClient, world: World, token_for: Callable[[str], dict[str, str]]
) -> None:
    """Routes open to every authenticated caller answer the least-privileged token."""
    headers = token_for("integration")
    for key in ANY_ROLE:
        answer = call(client, key, world, headers=headers)
        assert answer.status_code < 300, (key, answer.text)


@pytest.mark.parametrize("key", list(PERSONAL), ids=_ids(PERSONAL))
def test_purpose(
    client: TestClient,
    rt: Runtime,
    world: World,
    token_for: Callable[[str], dict[str, str]],
    key: tuple[str, str],
) -> None:
    """A wrong purpose is refused with its rule (and audited); a missing one is a 400."""
    spec = PERSONAL[key].personal
    assert spec is not None
    headers = token_for(spec.role)
    answer = call(
        client,
        key,
        world,
        headers=headers,
        purpose=spec.wrong_purpose,
        params=spec.wrong_purpose_params,
        body=spec.wrong_purpose_body,
    )
    refused(answer, spec.wrong_purpose_rule)
    entry = last_entry(rt)
    assert (entry["outcome"], entry["rule"]) == ("denied", spec.wrong_purpose_rule)
    assert (entry["actor"], entry["purpose"]) == (f"token:{token_id(headers)}", spec.wrong_purpose)

    before = audit_count(rt)
    body = problem(call(client, key, world, headers=headers), 400, "purpose_missing")
    assert body["allowed_purposes"] == rt.policy.purposes_for((spec.role,))
    assert spec.purpose in body["allowed_purposes"]
    assert audit_count(rt) == before  # nothing was asked of the guard yet

    answer = call(client, key, world, headers=headers, purpose=spec.purpose)
    assert answer.status_code < 300, answer.text


REF_ROUTES = [
    ("GET", "/subjects/{ref}"),
    ("PATCH", "/subjects/{ref}"),
    ("POST", "/subjects/{ref}/consents/grant"),
    ("POST", "/subjects/{ref}/consents/withdraw"),
    ("GET", "/subjects/{ref}/consents"),
]


def _oracle_params() -> list[Any]:
    out = []
    for key in REF_ROUTES:
        out.append(pytest.param(key, id=" ".join(key)))
    return out


@pytest.mark.parametrize("key", _oracle_params())
def test_a_refused_caller_learns_nothing_about_references(
    client: TestClient,
    rt: Runtime,
    world: World,
    token_for: Callable[[str], dict[str, str]],
    key: tuple[str, str],
) -> None:
    route = ROUTES[key]
    assert route.wrong_role is not None and route.personal is not None
    role, rule = route.wrong_role
    headers = token_for(role)
    unknown = World(rt, "s" + "a" * 16, world.values, world.token)
    for target in (world, unknown):
        refused(call(client, key, target, headers=headers, purpose=route.personal.purpose), rule)
        entry = last_entry(rt)
        assert (entry["outcome"], entry["rule"]) == ("denied", rule)
