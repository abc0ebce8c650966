"""The management ledger: one row per purpose, live counts, CSV and a printable page."""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Callable
from dataclasses import replace

import pytest
from fastapi.testclient import TestClient

from mamori.consents import service as consents
from mamori.errors import Denied
from mamori.ledger import ledger, ledger_html
from mamori.policy.schemas import Text
from mamori.runtime import Runtime
from mamori.subjects.shredding import shred
from tests.api.conftest import client, token_for
from tests.api.support import audit_count, last_entry, refused
from tests.conftest import actor
from tests.factories import register_customers

__all__ = ["client", "token_for"]  # the API fixtures, shared
NEWSLETTER = "email_delivery"


def _rows(rt: Runtime) -> dict[str, ledger.LedgerRow]:
    with rt.db.transaction() as tx:
        return {r.purpose.key: r for r in ledger.build(tx, rt).rows}


def _keys(items: list[ledger.Named]) -> set[str]:
    return {i.key for i in items}


def test_one_row_per_purpose_with_its_roles_processors_and_recipients(rt: Runtime) -> None:
    rows = _rows(rt)
    assert list(rows) == [p.key for p in rt.policy.source.purposes]
    partners = rows["partner_information"]
    assert _keys(partners.recipients) == {"partner_kanto", "partner_singapore"}
    assert {r.key: r.note for r in partners.recipients}["partner_singapore"] == "SG"
    assert _keys(partners.processors) == {"mail_delivery"}
    access = {a.key: a.note for a in partners.access}
    assert access == {"privacy_officer": "export,provide,read,write", "marketing": "export,read"}
    support = rows["product_support"]
    assert _keys(support.processors) == {"call_center", "cloud_hosting"}
    assert [(j.key, j.note) for j in support.joint_uses] == [("group_support", "qs_solutions")]
    assert {a.key for a in support.access} == {"privacy_officer", "support"}
    assert _keys(rows["exhibitor_introduction"].recipients) == {"seminar_exhibitors"}
    invoices = rows["invoicing_payment"]
    assert invoices.retention == "P7Y" and invoices.retention_duty is not None
    assert "Name" in {c.title.en for c in invoices.categories}
    assert {c.key: c.note for c in rows["location_service"].channels}["service_use"] == "api"
    kind = "SQLite" if rt.settings.is_sqlite else "PostgreSQL"
    assert kind in invoices.storage.en and "AES-256-GCM" in invoices.storage.en
    assert "password" not in invoices.storage.en and "://" not in invoices.storage.en
    assert "key is destroyed" in invoices.disposal.en


def test_counts_are_the_people_registered_less_the_erased_plus_later_consents(
    rt: Runtime,
) -> None:
    buyers = register_customers(rt, 3)
    register_customers(
        rt,
        2,
        by=actor("officer"),
        channel="email_subscription",
        purpose=NEWSLETTER,
        consents=(NEWSLETTER,),
    )
    with rt.db.transaction() as tx:
        shred(tx, rt, actor=actor("officer"), ref=buyers[0])
        consents.record(
            tx,
            rt,
            actor=actor("officer"),
            ref=buyers[1],
            purpose=NEWSLETTER,
            state="granted",
            channel="staff",
        )
    rows = _rows(rt)
    assert rows["purchase_fulfillment"].persons == 2  # three bought, one erased
    assert rows["satisfaction_research"].persons == 2  # also announced at purchase
    assert rows[NEWSLETTER].persons == 3  # two subscribers and a buyer who consented since
    assert rows[NEWSLETTER].consenting == 3
    assert rows["partner_information"].persons == 2  # announced by the subscription form
    assert rows["partner_information"].consenting == 0
    assert rows["inquiry_handling"].persons == 0
    with rt.db.transaction() as tx:
        consents.record(
            tx,
            rt,
            actor=actor("officer"),
            ref=buyers[1],
            purpose=NEWSLETTER,
            state="withdrawn",
            channel="staff",
        )
    assert (_rows(rt)[NEWSLETTER].persons, _rows(rt)[NEWSLETTER].consenting) == (2, 2)


def test_the_csv_has_a_bom_both_languages_and_a_stable_digest(rt: Runtime) -> None:
    register_customers(rt, 2)
    with rt.db.transaction() as tx:
        first = ledger.to_csv(ledger.build(tx, rt))
    assert first.startswith(ledger.BOM)
    table = list(csv.reader(io.StringIO(first[3:].decode("utf-8"))))
    assert table[0][1] == "利用目的 / Purpose" and table[0][6] == "本人の数 / Number of persons"
    assert len(table) == 1 + len(rt.policy.source.purposes)
    fulfilment = next(r for r in table if r[0] == "purchase_fulfillment")
    assert fulfilment[6] == "2"
    assert "氏名 / Name" in fulfilment[3]
    assert "Persons:" in fulfilment[-1] and "本人の数" in fulfilment[-1]
    with rt.db.transaction() as tx:
        again = ledger.to_csv(ledger.build(tx, rt))
    assert ledger.digest(again) == ledger.digest(first)


def test_a_cell_that_looks_like_a_formula_is_defused() -> None:
    hostile = ledger.Named("x", Text(ja="=HYPERLINK(1)", en="=cmd"))
    row = ledger.LedgerRow(
        hostile,
        "consent",
        [],
        [],
        [],
        0,
        0,
        Text(ja="a", en="b"),
        [],
        "P1Y",
        None,
        ledger.DISPOSAL,
        [],
        [],
        [],
    )
    book = ledger.Ledger(Text(ja="会社", en="Co"), "SQLite", _now(), [row])
    cells = next(csv.reader(io.StringIO(ledger.to_csv(book)[3:].decode().splitlines()[1])))
    assert cells[1].startswith("'=")


def _now():  # type: ignore[no-untyped-def]
    from datetime import UTC, datetime

    return datetime(2026, 11, 30, tzinfo=UTC)


def test_the_page_escapes_and_has_no_script_or_outside_resource(rt: Runtime) -> None:
    with rt.db.transaction() as tx:
        built = ledger.build(tx, rt)
    evil = Text(ja="<script>alert(1)</script>", en='"><img src=x onerror=alert(1)>')
    rows = [replace(built.rows[0], purpose=ledger.Named("p", evil)), *built.rows[1:]]
    page = ledger_html.render_ledger(ledger.to_json(replace(built, rows=rows)))
    assert "<script" not in page.lower() and "<img" not in page.lower()
    assert "&lt;script&gt;" in page
    assert not re.search(r"<[^>]*\s(src|href)=", page) and "@import" not in page
    assert "size: A4" in page
    assert "個人情報管理台帳" in page and "Personal information management ledger" in page
    assert page.count('<tr id="purpose-') == len(rt.policy.source.purposes)


def test_a_role_neither_privileged_nor_auditor_is_refused_and_audited(rt: Runtime) -> None:
    before = audit_count(rt)
    with pytest.raises(Denied) as caught, rt.db.transaction() as tx:
        ledger.require_reader(tx, rt, actor("marketing"), "ledger")
    assert caught.value.rule == ledger.READER_RULE
    entry = last_entry(rt)
    assert (entry["actor"], entry["outcome"], entry["rule"]) == (
        "marketing",
        "denied",
        ledger.READER_RULE,
    )
    assert audit_count(rt) == before + 1


@pytest.mark.parametrize(
    ("fmt", "media"),
    [("csv", "text/csv"), ("html", "text/html"), ("json", "application/json")],
)
def test_the_route_serves_each_format_to_an_auditor_and_audits_it(
    client: TestClient,
    rt: Runtime,
    token_for: Callable[[str], dict[str, str]],
    fmt: str,
    media: str,
) -> None:
    register_customers(rt, 2)
    answer = client.get("/ledger", params={"format": fmt}, headers=token_for("auditor"))
    assert answer.status_code == 200, answer.text
    assert answer.headers["content-type"].startswith(media)
    entry = last_entry(rt)
    assert (entry["purpose"], entry["action"], entry["outcome"]) == (
        ledger.AUDIT_PURPOSE,
        "read_ledger",
        "done",
    )
    if fmt == "csv":
        assert answer.content.startswith(ledger.BOM)
    if fmt == "json":
        rows = {r["purpose"]: r for r in answer.json()["rows"]}
        assert rows["purchase_fulfillment"]["persons"] == 2
        assert rows["partner_information"]["access"][1]["actions"] == ["export", "read"]


def test_the_route_refuses_sales_and_a_bad_format(
    client: TestClient, rt: Runtime, token_for: Callable[[str], dict[str, str]]
) -> None:
    refused(client.get("/ledger", headers=token_for("sales")), ledger.READER_RULE)
    assert last_entry(rt)["rule"] == ledger.READER_RULE
    bad = client.get("/ledger", params={"format": "xlsx"}, headers=token_for("auditor"))
    assert bad.status_code == 422
