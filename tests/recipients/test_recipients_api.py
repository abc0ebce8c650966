"""The recipients and provisions API: shapes, refusals as problem documents, records."""

from __future__ import annotations

import json
from collections.abc import Callable

from fastapi.testclient import TestClient

from mamori.runtime import Runtime
from tests.api.support import problem, refused
from tests.recipients.conftest import PARTNER, counts, last_entry, subscriber

Tokens = Callable[[str], dict[str, str]]


def _body(refs: list[str], **extra: object) -> dict[str, object]:
    return {"recipient": "partner_kanto", "purpose": PARTNER, "subjects": refs, **extra}


def test_recipients_are_listed_for_any_staff_member(client: TestClient, token_for: Tokens) -> None:
    answer = client.get("/recipients", headers=token_for("integration"))
    assert answer.status_code == 200, answer.text
    data = answer.json()
    singapore = next(r for r in data["recipients"] if r["key"] == "partner_singapore")
    assert singapore["country"] == "SG" and singapore["foreign"]["measures"]["ja"]
    assert data["joint_uses"][0]["users"] == ["qs_solutions"]
    shown = client.get("/recipients/qs_solutions", headers=token_for("sales")).json()
    assert shown["joint_uses"] == ["group_support"]
    assert shown["history"][0]["version"] == 1
    assert shown["history"][0]["declaration"]["key"] == "qs_solutions"
    problem(client.get("/recipients/nobody", headers=token_for("sales")), 404, "unknown_recipient")


def test_a_provision_answers_record_refused_and_export(
    rt: Runtime, client: TestClient, token_for: Tokens
) -> None:
    (ok, values), (never, _) = subscriber(rt), subscriber(rt, consent=False)
    answer = client.post(
        "/provisions", json=_body([ok, never], format="json"), headers=token_for("privacy_officer")
    )
    assert answer.status_code == 201, answer.text
    made = answer.json()
    assert made["record"]["subject_count"] == 1
    assert [(r["ref"], r["rule"]) for r in made["refused"]] == [(never, "consent_missing")]
    export = made["export"]
    assert export["rows"] == 1 and export["data"]["subjects"][0]["subject"] == ok
    assert export["data"]["subjects"][0]["values"]["user.name"] == values["user.name"]
    csv = client.post(
        "/provisions",
        json=_body([ok], categories=["user.name"]),
        headers=token_for("privacy_officer"),
    ).json()
    assert csv["export"]["data"].splitlines() == [
        "subject,user.name",
        f"{ok},{values['user.name']}",
    ]
    headers = token_for("auditor")
    listed = client.get("/provisions", params={"subject": ok}, headers=headers).json()
    assert {r["ref"] for r in listed} == {made["record"]["ref"], csv["record"]["ref"]}
    shown = client.get(f"/provisions/{made['record']['ref']}", headers=headers).json()
    assert [s["ref"] for s in shown["subjects"]] == [ok]


def test_refusals_are_problem_documents_and_write_nothing(
    rt: Runtime, client: TestClient, token_for: Tokens
) -> None:
    (ok, _), (never, _) = subscriber(rt), subscriber(rt, consent=False)
    officer = token_for("privacy_officer")
    body = problem(client.post("/provisions", json=_body([never]), headers=officer), 409)
    assert body["code"] == "nobody_to_provide"
    assert body["problems"] == ["consent_missing: 1 subject(s) refused"]
    refused(
        client.post("/provisions", json=_body([ok]), headers=token_for("marketing")),
        "action_not_permitted",
    )
    assert last_entry(rt)["rule"] == "action_not_permitted"
    unknown = _body([ok], recipient="nobody")
    refused(client.post("/provisions", json=unknown, headers=officer), "unknown_recipient")
    exc = _body([ok], basis="exception", exception="art27_1_ii")
    refused(client.post("/provisions", json=exc, headers=officer), "exception_reason_missing")
    assert counts(rt) == (0, 0)


def test_bad_bodies_are_422(rt: Runtime, client: TestClient, token_for: Tokens) -> None:
    officer = token_for("privacy_officer")
    ref, _ = subscriber(rt)
    for bad in (
        {"recipient": "partner_kanto", "purpose": PARTNER},
        _body([ref], all=True),
        _body(["hanako@example.jp"]),
        _body([ref], kind="customer"),
        _body([ref], format="xlsx"),
        _body([ref], extra=1),
    ):
        body = problem(client.post("/provisions", json=bad, headers=officer), 422)
        assert "hanako" not in json.dumps(body)


def test_all_with_a_channel(rt: Runtime, client: TestClient, token_for: Tokens) -> None:
    (a, _), (b, _) = subscriber(rt), subscriber(rt, consent=False)
    body = {
        "recipient": "partner_kanto",
        "purpose": PARTNER,
        "all": True,
        "channel": "email_subscription",
    }
    made = client.post("/provisions", json=body, headers=token_for("privacy_officer")).json()
    assert made["export"]["data"].count("\n") == 2
    assert [r["ref"] for r in made["refused"]] == [b]
    assert a in made["export"]["data"]


def test_records_are_refused_to_roles_that_do_not_provide(
    rt: Runtime, client: TestClient, token_for: Tokens
) -> None:
    refused(client.get("/provisions", headers=token_for("sales")), "records_not_permitted")
    assert last_entry(rt)["rule"] == "records_not_permitted"
    problem(client.get("/provisions/p" + "a" * 16, headers=token_for("auditor")), 404)
    problem(
        client.get("/provisions", params={"from": "tomorrow"}, headers=token_for("auditor")), 422
    )
