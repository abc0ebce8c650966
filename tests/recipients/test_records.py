"""Provision records: listed and shown (audited, to the right roles), purged when due."""

from __future__ import annotations

from datetime import date, timedelta

import pytest

from mamori import boot
from mamori.errors import Denied, NotFound
from mamori.recipients import access, records
from mamori.runtime import Runtime
from tests.conftest import Clock, actor
from tests.factories import register_customer
from tests.recipients.conftest import audit_count, counts, last_entry, provide, subscriber


def _list(rt: Runtime, who: str = "officer", **where: object) -> list[dict[str, object]]:
    with rt.db.transaction() as tx:
        return records.list_records(
            tx,
            rt,
            actor=actor(who),
            where=records.RecordFilter(**where),  # type: ignore[arg-type]
        )


def _show(rt: Runtime, ref: str, who: str = "officer") -> dict[str, object]:
    with rt.db.transaction() as tx:
        return records.show_record(tx, rt, actor=actor(who), ref=ref)


def _attendee(rt: Runtime) -> str:
    ref, _ = register_customer(
        rt,
        by=actor("officer"),
        channel="exhibitor_introduction",
        purpose="exhibitor_introduction",
        consents=["exhibitor_introduction"],
    )
    return ref


def test_records_are_listed_by_recipient_day_and_subject(rt: Runtime, clock: Clock) -> None:
    (a, _), (b, _) = subscriber(rt), subscriber(rt)
    first = provide(rt, [a]).record
    clock.moment += timedelta(days=3)
    second = provide(rt, [a, b], recipient="partner_singapore").record
    assert [r["ref"] for r in _list(rt)] == [second["ref"], first["ref"]]
    assert [r["ref"] for r in _list(rt, recipient="partner_kanto")] == [first["ref"]]
    assert [r["ref"] for r in _list(rt, subject=b)] == [second["ref"]]
    day = clock.moment.astimezone(rt.policy.zone).date()
    since, until = records.day_bounds(rt, day, day)
    assert [r["ref"] for r in _list(rt, since=since, until=until)] == [second["ref"]]
    since, until = records.day_bounds(rt, None, day - timedelta(days=1))
    assert [r["ref"] for r in _list(rt, since=since, until=until)] == [first["ref"]]
    assert _list(rt)[0]["categories"] == second["categories"]


def test_a_record_shows_its_subjects_and_consents(rt: Runtime) -> None:
    (a, _), (b, _) = subscriber(rt), subscriber(rt)
    ref = provide(rt, [a, b]).record["ref"]
    shown = _show(rt, str(ref), who="auditor")
    subjects = shown["subjects"]
    assert isinstance(subjects, list)
    assert sorted(s["ref"] for s in subjects) == sorted([a, b])
    assert all(s["consent_at"] and s["consent_notice"] == 1 for s in subjects)
    entry = last_entry(rt)
    assert (entry["purpose"], entry["action"], entry["outcome"]) == (
        access.RECORDS_PURPOSE,
        "read",
        "allowed",
    )
    assert entry["detail"]["read"] == "provision records"
    assert sorted(entry["subjects"]) == sorted([a, b])


def test_an_unknown_record_is_a_not_found_with_its_trace(rt: Runtime) -> None:
    before = audit_count(rt)
    with pytest.raises(NotFound):
        _show(rt, "p" + "a" * 16)
    assert audit_count(rt) == before + 1
    assert last_entry(rt)["rule"] == "unknown_provision"


@pytest.mark.parametrize("who", ["sales", "marketing", "support"])
def test_reading_records_is_refused_to_roles_that_do_not_provide(rt: Runtime, who: str) -> None:
    before = audit_count(rt)
    with pytest.raises(Denied) as refused:
        _list(rt, who=who)
    assert refused.value.rule == "records_not_permitted"
    assert audit_count(rt) == before + 1
    assert (last_entry(rt)["outcome"], last_entry(rt)["actor"]) == ("denied", who)


def test_every_read_is_audited(rt: Runtime) -> None:
    before = audit_count(rt)
    _list(rt, who="auditor")
    _list(rt)
    assert audit_count(rt) == before + 2
    assert (last_entry(rt)["action"], last_entry(rt)["detail"]["read"]) == (
        "read",
        "provision records",
    )


def _receipt(rt: Runtime, ref: str, keep_until: str) -> None:
    with rt.db.transaction() as tx:
        row = tx.fetchone(
            "INSERT INTO receipts (ref, at, actor, provider, party_version, obtained_how, channel,"
            " categories, subject_count, rejected_count, keep_until)"
            " VALUES (?,?,?,?,?,?,?,?,?,?,?) RETURNING id",
            (
                "r" + ref[1:], "2026-11-30T01:00:00.000000Z", "officer", "event_cohost", 1,
                "the co-host's attendee form", "cohost_attendee_list", '["user.name"]', 1, 0,
                keep_until,
            ),
        )  # fmt: skip
        subject = tx.fetchone("SELECT id FROM subjects WHERE ref = ?", (ref,))[0]
        tx.execute(
            "INSERT INTO receipt_subjects (receipt_id, subject_id) VALUES (?,?)", (row[0], subject)
        )


def test_purge_removes_only_expired_records(rt: Runtime, clock: Clock) -> None:
    ref, _ = subscriber(rt)
    long = provide(rt, [ref]).record
    provide(rt, [_attendee(rt)], recipient="seminar_exhibitors", purpose="exhibitor_introduction")
    _receipt(rt, ref, "2027-06-01T00:00:00.000000Z")
    assert records.purge_expired(rt) == {"provisions": 0, "receipts": 0}
    clock.moment += timedelta(days=366 + 200)
    assert records.purge_expired(rt) == {"provisions": 1, "receipts": 1}
    entry = last_entry(rt)
    assert (entry["action"], entry["outcome"]) == ("purge", "done")
    assert entry["detail"] == {"provisions": 1, "receipts": 1}
    assert counts(rt) == (1, 1)
    assert [r["ref"] for r in _list(rt)] == [long["ref"]]
    with rt.db.transaction() as tx:
        assert tx.fetchone("SELECT count(*) FROM receipt_subjects")[0] == 0


def test_a_start_purges_what_is_due(rt: Runtime, clock: Clock) -> None:
    provide(rt, [_attendee(rt)], recipient="seminar_exhibitors", purpose="exhibitor_introduction")
    clock.moment += timedelta(days=367)
    boot.start(rt.settings, clock=clock).close()
    assert counts(rt) == (0, 0)


def test_day_bounds_follow_the_company_zone(rt: Runtime) -> None:
    since, until = records.day_bounds(rt, date(2026, 12, 1), date(2026, 12, 1))
    assert (since, until) == ("2026-11-30T15:00:00.000000Z", "2026-12-01T15:00:00.000000Z")
