"""Hand-overs to entrusted processors: only under contract and NDA, only what is entrusted.

Both backends. The test clock starts on 30 Nov 2026: ``call_center``'s contract
lapsed on 30 Sep 2026, ``mail_delivery``'s runs to 31 Mar 2027.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from mamori.demo import EXAMPLE_POLICY
from mamori.errors import Conflict, Denied
from mamori.policy.compiled import CompiledPolicy
from mamori.policy.loader import load_policy
from mamori.recipients import processors
from mamori.recipients.export import ExportFormat
from mamori.runtime import Runtime
from mamori.subjects import changes
from tests.conftest import Clock, actor
from tests.factories import register_customer

SUBSCRIPTION = {"channel": "email_subscription", "purpose": "email_delivery"}


def _subscriber(rt: Runtime) -> tuple[str, dict[str, str]]:
    return register_customer(rt, by=actor("officer"), consents=["email_delivery"], **SUBSCRIPTION)


def _attendee(rt: Runtime) -> str:
    ref, _ = register_customer(
        rt, by=actor("officer"), channel="event_application", purpose="event_registration"
    )
    return ref


def _handover(rt: Runtime, **kw: Any) -> processors.HandoverResult:
    args: dict[str, Any] = {
        "actor": actor("marketing"),
        "processor": "mail_delivery",
        "purpose": "email_delivery",
        "fmt": ExportFormat.JSON,
    }
    args.update(kw)
    with rt.db.transaction() as tx:
        return processors.handover(tx, rt, **args)


def _rows(rt: Runtime) -> int:
    with rt.db.transaction() as tx:
        return int(tx.fetchone("SELECT count(*) FROM handovers")[0])


def _last(rt: Runtime) -> dict[str, Any]:
    with rt.db.transaction() as tx:
        row = tx.fetchone(
            "SELECT outcome, rule, action, subjects, detail FROM audit_entries"
            " ORDER BY seq DESC LIMIT 1"
        )
    keys = ("outcome", "rule", "action", "subjects", "detail")
    entry = dict(zip(keys, row, strict=True))
    entry["detail"] = json.loads(entry["detail"] or "{}")
    return entry


def _refused(rt: Runtime, rule: str, **kw: Any) -> None:
    before = _rows(rt)
    with pytest.raises(Denied) as denied:
        _handover(rt, **kw)
    assert denied.value.rule == rule
    entry = _last(rt)
    assert (entry["outcome"], entry["rule"], entry["action"]) == ("denied", rule, "export")
    assert entry["detail"]["processor"] == kw.get("processor", "mail_delivery")
    assert _rows(rt) == before


def test_a_good_handover_exports_exactly_the_permitted_items(rt: Runtime) -> None:
    (one, one_values), (two, two_values) = _subscriber(rt), _subscriber(rt)
    other = _attendee(rt)
    got = _handover(rt, refs=[one, two, other, "s" + "a" * 16])
    assert got.record["ref"].startswith("h") and len(got.record["ref"]) == 17
    assert got.record["processor"]["key"] == "mail_delivery"
    assert got.record["processor"]["name"]["en"].startswith("Mail Delivery Service")
    assert got.record["categories"] == ["user.contact.email", "user.name"]
    assert (got.record["subject_count"], got.record["refused_count"]) == (2, 2)
    assert got.record["digest"] == got.export.digest
    assert {r.ref: r.rule for r in got.refused} == {
        other: "consent_missing",
        "s" + "a" * 16: "unknown_subject",
    }
    content = json.loads(got.export.content)
    assert content["categories"] == ["user.contact.email", "user.name"]
    exported = {s["subject"]: s["values"] for s in content["subjects"]}
    keep = ("user.contact.email", "user.name")
    assert exported == {
        one: {c: one_values[c] for c in keep},
        two: {c: two_values[c] for c in keep},
    }
    assert exported[one]["user.contact.email"] == one_values["user.contact.email"]
    entry = _last(rt)
    assert (entry["outcome"], entry["action"]) == ("allowed", "export")
    assert entry["detail"]["processor"] == "mail_delivery"
    assert sorted(json.loads(entry["subjects"])) == sorted([one, two])
    with rt.db.transaction() as tx:
        listed = processors.list_handovers(
            tx, rt, actor=actor("auditor"), processor="mail_delivery"
        )
    assert [h["ref"] for h in listed] == [got.record["ref"]]


def test_all_subjects_as_csv(rt: Runtime) -> None:
    one, _ = _subscriber(rt)
    _attendee(rt)
    got = _handover(rt, fmt=ExportFormat.CSV, channel="email_subscription")
    assert got.export.rows == 1 and got.record["format"] == "csv"
    assert got.export.content.decode("utf-8-sig").splitlines()[0] == (
        "subject,user.contact.email,user.name"
    )
    assert one in got.export.content.decode("utf-8-sig")


def test_a_lapsed_contract_is_refused(rt: Runtime) -> None:
    ref, _ = register_customer(
        rt, by=actor("support"), channel="support_request", purpose="product_support"
    )
    _refused(
        rt,
        "contract_lapsed",
        actor=actor("officer"),
        processor="call_center",
        purpose="product_support",
        refs=[ref],
    )


def test_the_contract_was_in_force_before_it_lapsed(rt: Runtime, clock: Clock) -> None:
    ref, _ = register_customer(
        rt, by=actor("support"), channel="support_request", purpose="product_support"
    )
    clock.moment = datetime(2026, 9, 30, 14, 0, tzinfo=UTC)  # 23:00 in Tokyo, still the 30th
    got = _handover(
        rt, actor=actor("officer"), processor="call_center", purpose="product_support", refs=[ref]
    )
    assert got.record["subject_count"] == 1
    clock.moment = datetime(2026, 9, 30, 15, 0, tzinfo=UTC)  # midnight in Tokyo: 1 Oct
    _refused(
        rt,
        "contract_lapsed",
        actor=actor("officer"),
        processor="call_center",
        purpose="product_support",
        refs=[ref],
    )


def test_a_lapsed_nda_is_refused(rt: Runtime, tmp_path: Path) -> None:
    text = EXAMPLE_POLICY.read_text(encoding="utf-8")
    marker = "    nda_signed: 2024-03-15\n"
    assert marker in text
    variant = tmp_path / "policy.yaml"
    variant.write_text(text.replace(marker, marker + "    nda_until: 2026-10-31\n"), "utf-8")
    rt.policy = CompiledPolicy.build(load_policy(variant))
    one, _ = _subscriber(rt)
    _refused(rt, "nda_lapsed", refs=[one])


@pytest.mark.parametrize(
    "kw",
    [
        {"categories": ["user.contact.organization"]},
        {"actor": actor("officer"), "purpose": "product_support"},
    ],
)
def test_items_outside_the_scope_are_refused(rt: Runtime, kw: dict[str, Any]) -> None:
    one, _ = _subscriber(rt)
    _refused(rt, "outside_processor_scope", refs=[one], **kw)


def test_an_unknown_processor_is_refused(rt: Runtime) -> None:
    _refused(rt, "unknown_processor", processor="no_such_company", refs=[])


def test_nobody_permitted_is_a_conflict_with_no_record(rt: Runtime) -> None:
    one, _ = _subscriber(rt)
    with rt.db.transaction() as tx:
        changes.set_suspension(
            tx, rt, actor=actor("officer"), ref=one, purposes=["email_delivery"], suspend=True
        )
    with pytest.raises(Conflict) as conflict:
        _handover(rt, refs=[one, _attendee(rt)])
    assert conflict.value.fields["refused"] == {"use_suspended": 1, "consent_missing": 1}
    entry = _last(rt)
    assert (entry["outcome"], entry["rule"]) == ("denied", "nobody_permitted")
    assert entry["detail"]["processor"] == "mail_delivery"
    assert _rows(rt) == 0
