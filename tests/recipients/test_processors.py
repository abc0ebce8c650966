"""Processors' status (contract, NDA, supervision due) and supervision records.

Both backends; the test clock starts on 30 Nov 2026 (Tokyo).
"""

from __future__ import annotations

import json
from datetime import UTC, date, datetime

import pytest

from mamori.errors import Denied, NotFound, ValidationFailed
from mamori.recipients import processors, supervision
from mamori.recipients.supervision import SupervisionKind as Kind
from mamori.recipients.supervision import SupervisionOutcome as Outcome
from mamori.runtime import Runtime
from tests.conftest import Clock, actor


def _status(rt: Runtime, key: str) -> dict[str, object]:
    with rt.db.transaction() as tx:
        return processors.status(tx, rt, key)


def _supervise(
    rt: Runtime,
    key: str,
    done_on: date,
    outcome: Outcome = Outcome.SATISFACTORY,
    findings: str = "",
    who: str = "officer",
) -> dict[str, object]:
    with rt.db.transaction() as tx:
        return supervision.record_supervision(
            tx,
            rt,
            actor=actor(who),
            processor=key,
            done_on=done_on,
            kind=Kind.QUESTIONNAIRE,
            outcome=outcome,
            findings=findings,
        )


def test_status_of_every_declared_processor(rt: Runtime) -> None:
    with rt.db.transaction() as tx:
        listed = {s["key"]: s for s in processors.statuses(tx, rt)}
    assert list(listed) == ["mail_delivery", "call_center", "cloud_hosting"]
    mail, calls, cloud = listed["mail_delivery"], listed["call_center"], listed["cloud_hosting"]
    assert mail["contract"] == {"from": "2024-04-01", "until": None, "in_force": True}
    assert mail["nda"] == {"from": "2024-03-15", "until": None, "in_force": True}
    assert mail["usable"] is True
    assert mail["purposes"] == ["email_delivery", "partner_information", "event_participation"]
    assert calls["contract"]["in_force"] is False and calls["usable"] is False
    assert cloud["subprocessors"][0]["name"]["en"].startswith("Data Center Operations")
    assert cloud["country"] == "JP" and cloud["foreign"] is None
    assert mail["version"] == 1


def test_never_supervised_is_due_a_period_after_the_contract_began(rt: Runtime) -> None:
    calls = _status(rt, "call_center")["supervision"]
    assert calls == {
        "every": "P6M",
        "last": None,
        "next_due": "2024-03-29",  # 2023-10-01 + 180 days
        "overdue": True,
        "last_outcome": None,
    }


def test_a_supervision_moves_the_due_date_until_it_is_overdue_again(
    rt: Runtime, clock: Clock
) -> None:
    got = _supervise(rt, "call_center", date(2026, 11, 2), Outcome.FINDINGS, "Access log gaps.")
    assert got["next_due"] == "2027-05-01"
    status = _status(rt, "call_center")["supervision"]
    assert status["last"] == "2026-11-02" and status["overdue"] is False  # type: ignore[index]
    assert status["last_outcome"] == "findings"  # type: ignore[index]
    clock.moment = datetime(2027, 5, 1, 14, 59, tzinfo=UTC)  # 23:59 on the due day, Tokyo
    assert _status(rt, "call_center")["supervision"]["overdue"] is False  # type: ignore[index]
    clock.moment = datetime(2027, 5, 1, 15, 0, tzinfo=UTC)  # the next day in Tokyo
    assert _status(rt, "call_center")["supervision"]["overdue"] is True  # type: ignore[index]


def test_supervisions_are_recorded_audited_and_listed(rt: Runtime) -> None:
    _supervise(rt, "mail_delivery", date(2025, 3, 1))
    _supervise(rt, "mail_delivery", date(2026, 2, 1), Outcome.CORRECTIVE_ACTION, "Fix retention.")
    with rt.db.transaction() as tx:
        entry = tx.fetchone(
            "SELECT actor, action, outcome, detail FROM audit_entries ORDER BY seq DESC LIMIT 1"
        )
        listed = supervision.list_supervisions(
            tx, rt, actor=actor("auditor"), processor="mail_delivery"
        )
    assert entry[:3] == ("officer", "record", "done")
    assert json.loads(entry[3])["outcome"] == "corrective_action"
    assert [s["done_on"] for s in listed] == ["2026-02-01", "2025-03-01"]
    assert listed[0]["findings"] == "Fix retention." and listed[0]["recorded_by"] == "officer"


def test_only_privileged_roles_record_supervision(rt: Runtime) -> None:
    with pytest.raises(Denied) as denied:
        _supervise(rt, "mail_delivery", date(2026, 11, 1), who="auditor")
    assert denied.value.rule == "not_privileged"
    with rt.db.transaction() as tx:
        assert tx.fetchone("SELECT count(*) FROM supervisions")[0] == 0
        last = tx.fetchone("SELECT outcome, rule FROM audit_entries ORDER BY seq DESC LIMIT 1")
    assert tuple(last) == ("denied", "not_privileged")


@pytest.mark.parametrize(
    ("done_on", "outcome", "findings", "code"),
    [
        (date(2026, 12, 1), Outcome.SATISFACTORY, "", "date_invalid"),
        (date(2026, 11, 1), Outcome.FINDINGS, " ", "findings_missing"),
        (date(2026, 11, 1), Outcome.FINDINGS, "x" * 4001, "findings_too_long"),
    ],
)
def test_bad_supervision_records_are_refused(
    rt: Runtime, done_on: date, outcome: Outcome, findings: str, code: str
) -> None:
    with pytest.raises(ValidationFailed) as invalid:
        _supervise(rt, "mail_delivery", done_on, outcome, findings)
    assert invalid.value.code == code


def test_unknown_processor(rt: Runtime) -> None:
    with pytest.raises(NotFound):
        _status(rt, "no_such_company")
    with pytest.raises(NotFound):
        _supervise(rt, "no_such_company", date(2026, 11, 1))


def test_records_are_not_for_every_role(rt: Runtime) -> None:
    with pytest.raises(Denied) as denied, rt.db.transaction() as tx:
        processors.list_handovers(tx, rt, actor=actor("sales"), processor="mail_delivery")
    assert denied.value.rule == "records_not_permitted"
