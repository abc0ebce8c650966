"""Provision on an announced joint use and under a legal exception; how long records are kept."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from mamori.db.base import from_utc_text
from mamori.errors import Conflict, Denied
from mamori.policy.schemas import ProvisionBasis
from mamori.recipients.access import kept_until
from mamori.runtime import Runtime
from mamori.subjects import changes
from tests.conftest import actor
from tests.factories import register_customer
from tests.recipients.conftest import (
    PARTNER,
    counts,
    exported,
    last_entry,
    provide,
    subscriber,
    supported,
)

JOINT = {
    "recipient": "qs_solutions",
    "purpose": "product_support",
    "basis": ProvisionBasis.JOINT_USE,
}
REASON = "A court order (case 2026-123) requires these records."


def test_joint_use_provides_support_data_without_consent(rt: Runtime) -> None:
    ref, values = supported(rt)
    result = provide(rt, [ref], **JOINT)  # type: ignore[arg-type]
    items = rt.policy.joint_uses["group_support"].categories
    assert result.record["categories"] == sorted(items)
    assert set(exported(result)[ref]) == set(items) & set(values)
    assert result.record["basis"] == "joint_use"
    with rt.db.transaction() as tx:
        assert tx.fetchone("SELECT consent_at FROM provision_subjects")[0] is None
    assert last_entry(rt)["detail"]["basis"] == "joint_use"


def test_joint_use_covers_only_its_announced_purposes_and_items(rt: Runtime) -> None:
    ref, _ = supported(rt)
    with pytest.raises(Denied) as refused:
        provide(rt, [ref], **{**JOINT, "categories": ["user.behavior.purchase_history"]})  # type: ignore[arg-type]
    assert refused.value.rule == "joint_use_not_announced"
    with pytest.raises(Denied) as refused:
        provide(
            rt,
            [ref],
            recipient="partner_kanto",
            purpose="product_support",
            basis=ProvisionBasis.JOINT_USE,
        )
    assert refused.value.rule == "joint_use_not_announced"
    assert counts(rt) == (0, 0)


def test_an_exception_provides_a_stopped_subject_without_consent(rt: Runtime) -> None:
    ref, _ = subscriber(rt, consent=False)
    with rt.db.transaction() as tx:
        changes.set_provision_stop(
            tx, rt, actor=actor("officer"), ref=ref, purposes=None, stop=True
        )
    with pytest.raises(Conflict) as refused:  # on consent nobody may be provided
        provide(rt, [ref])
    assert refused.value.fields["refused_by_rule"] == {"provision_stopped": 1}
    result = provide(
        rt, [ref], basis=ProvisionBasis.EXCEPTION, exception="art27_1_i", reason=REASON
    )
    assert list(exported(result)) == [ref]
    record = result.record
    assert (record["basis"], record["exception_code"], record["reason"]) == (
        "exception",
        "art27_1_i",
        REASON,
    )
    entry = last_entry(rt)["detail"]
    assert (entry["basis"], entry["exception"]) == ("exception", "art27_1_i")


@pytest.mark.parametrize(
    ("exception", "reason", "rule"),
    [
        ("art27_2", REASON, "unknown_exception"),
        (None, REASON, "unknown_exception"),
        ("art27_1_ii", "  ", "exception_reason_missing"),
        ("art27_1_ii", None, "exception_reason_missing"),
    ],
)
def test_an_exception_needs_a_code_of_art_27_1_and_a_reason(
    rt: Runtime, exception: str | None, reason: str | None, rule: str
) -> None:
    ref, _ = subscriber(rt)
    with pytest.raises(Denied) as refused:
        provide(rt, [ref], basis=ProvisionBasis.EXCEPTION, exception=exception, reason=reason)
    assert refused.value.rule == rule
    assert last_entry(rt)["rule"] == rule
    assert counts(rt) == (0, 0)


def test_an_exception_still_refuses_an_erased_subject(rt: Runtime) -> None:
    from mamori.subjects import shredding

    (ref, _), (gone, _) = subscriber(rt), subscriber(rt)
    with rt.db.transaction() as tx:
        shredding.shred(tx, rt, actor=actor("officer"), ref=gone)
    result = provide(
        rt, [ref, gone], basis=ProvisionBasis.EXCEPTION, exception="art27_1_ii", reason=REASON
    )
    assert {r.ref: r.rule for r in result.refused} == {gone: "subject_erased"}


def _years(record: dict[str, str]) -> timedelta:
    return from_utc_text(record["keep_until"]) - from_utc_text(record["at"])


def test_records_are_kept_three_years_or_one_when_the_contract_is_the_record(rt: Runtime) -> None:
    ref, _ = subscriber(rt)
    kept = provide(rt, [ref]).record
    # Made on 30 Nov 2026 (Tokyo): kept through 30 Nov 2029, to midnight in Tokyo.
    assert kept["at"].startswith("2026-11-30T01:00")
    assert kept["keep_until"].startswith("2029-11-30T15:00")
    attendee, _ = register_customer(
        rt,
        by=actor("officer"),
        channel="exhibitor_introduction",
        purpose="exhibitor_introduction",
        consents=["exhibitor_introduction"],
    )
    short = provide(
        rt, [attendee], recipient="seminar_exhibitors", purpose="exhibitor_introduction"
    ).record
    assert short["keep_until"].startswith("2027-11-30T15:00")
    assert timedelta(days=365) <= _years(short) <= timedelta(days=366)


@pytest.mark.parametrize(
    ("made", "years", "gone"),
    [
        # 29 Feb 2028, noon in Tokyo: its last day is 28 Feb 2031 (Civil Code Art. 143).
        (datetime(2028, 2, 29, 3, 0, tzinfo=UTC), 3, datetime(2031, 2, 28, 15, 0, tzinfo=UTC)),
        # 23:30 UTC on 31 Dec is already 1 Jan in Tokyo: the day counts in the company's zone.
        (datetime(2026, 12, 31, 23, 30, tzinfo=UTC), 1, datetime(2028, 1, 1, 15, 0, tzinfo=UTC)),
    ],
)
def test_a_record_is_kept_through_its_last_day(
    rt: Runtime, made: datetime, years: int, gone: datetime
) -> None:
    assert kept_until(rt, made, years) == gone


def test_the_record_names_the_recipients_declared_version(rt: Runtime) -> None:
    ref, _ = subscriber(rt)
    record = provide(rt, [ref]).record
    with rt.db.transaction() as tx:
        latest = tx.fetchone(
            "SELECT MAX(version) FROM party_versions WHERE kind = 'recipient' AND key = ?",
            ("partner_kanto",),
        )[0]
    assert record["party_version"] == latest
    assert record["purpose"] == PARTNER
