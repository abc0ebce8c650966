"""The annual review of the ledger: recorded by a privileged role, listed, next one due."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, timedelta

import pytest
from fastapi.testclient import TestClient

from mamori.errors import Denied, ValidationFailed
from mamori.ledger import ledger, reviews
from mamori.runtime import Runtime
from tests.api.conftest import client, token_for
from tests.api.support import audit_count, last_entry, refused
from tests.conftest import Clock, actor

__all__ = ["client", "token_for"]  # the API fixtures, shared
FINDINGS = "台帳と実態を照合しました。委託先 call_center の契約更新が未了です。"


def _record(rt: Runtime, who: str = "officer", **kwargs: object) -> reviews.Review:
    args: dict[str, object] = {"reviewed_on": date(2026, 11, 27), "findings": FINDINGS}
    args.update(kwargs)
    with rt.db.transaction() as tx:
        return reviews.record(tx, rt, actor=actor(who), **args)  # type: ignore[arg-type]


def _listed(rt: Runtime) -> list[reviews.Review]:
    with rt.db.transaction() as tx:
        return reviews.list_reviews(tx)


def test_a_review_is_recorded_with_the_ledger_digest_and_the_next_is_due_a_year_on(
    rt: Runtime,
) -> None:
    with rt.db.transaction() as tx:
        current = ledger.digest(ledger.to_csv(ledger.build(tx, rt)))
    made = _record(rt)
    assert (made.reviewer, made.findings, made.ledger_digest) == ("officer", FINDINGS, current)
    assert _listed(rt) == [made]
    state = reviews.status(rt, _listed(rt))
    assert (state.last_reviewed_on, state.next_due, state.overdue) == (
        "2026-11-27",
        "2027-11-27",
        False,
    )
    entry = last_entry(rt)
    assert (entry["purpose"], entry["action"], entry["outcome"]) == (
        "system.ledger",
        "review",
        "done",
    )
    with rt.db.transaction() as tx:
        detail = tx.fetchone("SELECT detail FROM audit_entries ORDER BY seq DESC LIMIT 1")[0]
    assert current in detail and FINDINGS not in detail  # free text never enters the log


def test_a_given_digest_is_kept_and_reviews_are_listed_newest_first(rt: Runtime) -> None:
    older = _record(rt, reviewed_on=date(2025, 11, 20), ledger_digest="a" * 64)
    newer = _record(rt, reviewed_on=date(2026, 11, 1))
    assert older.ledger_digest == "a" * 64
    assert [r.id for r in _listed(rt)] == [newer.id, older.id]


def test_never_reviewed_or_a_year_past_is_overdue(rt: Runtime, clock: Clock) -> None:
    assert reviews.status(rt, []) == reviews.Status(None, None, True)
    _record(rt, reviewed_on=date(2025, 12, 1))
    assert reviews.status(rt, _listed(rt)).overdue is False
    clock.moment += timedelta(days=2)  # 2026-12-02 in Tokyo: past 2026-12-01
    assert reviews.status(rt, _listed(rt)).overdue is True
    assert reviews.next_due(date(2024, 2, 29)) == date(2025, 2, 28)


def test_an_auditor_may_not_record_a_review_and_the_refusal_is_audited(rt: Runtime) -> None:
    before = audit_count(rt)
    with pytest.raises(Denied) as caught:
        _record(rt, "auditor")
    assert caught.value.rule == "not_privileged"
    entry = last_entry(rt)
    assert (entry["actor"], entry["outcome"], entry["rule"]) == (
        "auditor",
        "denied",
        "not_privileged",
    )
    assert audit_count(rt) == before + 1
    assert _listed(rt) == []


@pytest.mark.parametrize(
    ("kwargs", "code"),
    [
        ({"reviewed_on": date(2026, 12, 25)}, "review_in_future"),
        ({"findings": "   "}, "findings_missing"),
        ({"findings": "x" * 4001}, "findings_too_long"),
        ({"findings": "bad\x00byte"}, "findings_invalid"),
        ({"ledger_digest": "ABC"}, "digest_malformed"),
    ],
)
def test_bad_input_is_refused_and_nothing_written(
    rt: Runtime, kwargs: dict[str, object], code: str
) -> None:
    with pytest.raises(ValidationFailed) as caught:
        _record(rt, **kwargs)
    assert caught.value.code == code
    assert _listed(rt) == []


def test_the_routes_record_and_list_reviews(
    client: TestClient, rt: Runtime, token_for: Callable[[str], dict[str, str]]
) -> None:
    body = {"reviewed_on": "2026-11-27", "findings": FINDINGS}
    made = client.post("/ledger/reviews", json=body, headers=token_for("privacy_officer"))
    assert made.status_code == 201, made.text
    listed = client.get("/ledger/reviews", headers=token_for("auditor"))
    assert listed.status_code == 200, listed.text
    page = listed.json()
    assert [r["id"] for r in page["reviews"]] == [made.json()["id"]]
    assert (page["next_due"], page["overdue"]) == ("2027-11-27", False)
    refused(
        client.post("/ledger/reviews", json=body, headers=token_for("auditor")), "not_privileged"
    )
    refused(client.get("/ledger/reviews", headers=token_for("support")), ledger.READER_RULE)
    extra = client.post(
        "/ledger/reviews", json={**body, "extra": 1}, headers=token_for("privacy_officer")
    )
    assert extra.status_code == 422
    too_long = client.post(
        "/ledger/reviews",
        json={**body, "findings": "x" * 4001},
        headers=token_for("privacy_officer"),
    )
    assert too_long.status_code == 422
