"""Provision on consent: who is included, who is refused and listed, what the record says."""

from __future__ import annotations

import pytest

from mamori.consents import service as consents
from mamori.errors import Conflict, Denied
from mamori.runtime import Runtime
from mamori.subjects import changes, shredding
from tests.conftest import actor
from tests.recipients.conftest import (
    PARTNER,
    audit_count,
    counts,
    exported,
    last_entry,
    provide,
    subscriber,
)


def _withdrawn(rt: Runtime) -> str:
    ref, _ = subscriber(rt)
    with rt.db.transaction() as tx:
        consents.record(
            tx,
            rt,
            actor=actor("officer"),
            ref=ref,
            purpose=PARTNER,
            state="withdrawn",
            channel="email_subscription",
        )
    return ref


def _stopped(rt: Runtime) -> str:
    ref, _ = subscriber(rt)
    with rt.db.transaction() as tx:
        changes.set_provision_stop(
            tx, rt, actor=actor("officer"), ref=ref, purposes=[PARTNER], stop=True
        )
    return ref


def _erased(rt: Runtime) -> str:
    ref, _ = subscriber(rt)
    with rt.db.transaction() as tx:
        shredding.shred(tx, rt, actor=actor("officer"), ref=ref)
    return ref


def test_only_permitted_subjects_are_provided_and_every_refusal_is_listed(rt: Runtime) -> None:
    (a, values_a), (b, _) = subscriber(rt), subscriber(rt)
    never, _ = subscriber(rt, consent=False)
    refused = {
        never: "consent_missing",
        _withdrawn(rt): "consent_withdrawn",
        _stopped(rt): "provision_stopped",
        _erased(rt): "subject_erased",
        "s" + "a" * 16: "unknown_subject",
    }
    result = provide(rt, [a, *refused, b])
    assert {r.ref: r.rule for r in result.refused} == refused
    assert all(r.ref in r.message for r in result.refused)
    data = exported(result)
    assert set(data) == {a, b}
    assert data[a]["user.name"] == values_a["user.name"]
    record = result.record
    assert (record["subject_count"], record["refused_count"]) == (2, 5)
    assert (record["recipient"], record["basis"], record["exception_code"]) == (
        "partner_kanto",
        "consent",
        None,
    )
    assert record["export_digest"] == result.export.digest


def test_the_export_holds_exactly_the_permitted_items(rt: Runtime) -> None:
    ref, values = subscriber(rt)
    result = provide(rt, [ref], recipient="partner_singapore")
    allowed = rt.policy.recipients["partner_singapore"].categories
    assert allowed is not None
    assert result.record["categories"] == sorted(allowed)
    assert set(exported(result)[ref]) == set(allowed) & set(values)
    assert "user.contact.phone_number" in values  # held, but not for this recipient


def test_chosen_items_limit_the_export_and_csv_has_those_columns(rt: Runtime) -> None:
    from mamori.recipients.export import ExportFormat

    ref, values = subscriber(rt)
    result = provide(rt, [ref], categories=["user.name"], fmt=ExportFormat.CSV)
    text = result.export.content.decode("utf-8-sig")
    header, row = text.splitlines()[:2]
    assert header == "subject,user.name"
    assert values["user.contact.email"] not in text
    assert row.startswith(ref)


def test_the_record_lists_exactly_the_included_subjects_with_their_consent(rt: Runtime) -> None:
    (a, _), (b, _) = subscriber(rt), subscriber(rt)
    never, _ = subscriber(rt, consent=False)
    result = provide(rt, [a, b, never])
    with rt.db.transaction() as tx:
        rows = tx.fetchall(
            "SELECT s.ref, ps.consent_at, ps.consent_notice FROM provision_subjects ps"
            " JOIN subjects s ON s.id = ps.subject_id JOIN provisions p ON p.id = ps.provision_id"
            " WHERE p.ref = ?",
            (result.record["ref"],),
        )
        events = dict(
            tx.fetchall(
                "SELECT s.ref, e.at FROM consent_events e JOIN subjects s ON s.id = e.subject_id"
                " WHERE e.purpose = ? AND e.state = 'granted'",
                (PARTNER,),
            )
        )
    assert {r[0] for r in rows} == {a, b}
    for ref, consent_at, notice in rows:
        assert consent_at == events[ref]
        assert notice == 1


def test_a_regranted_consent_records_the_latest_grant(rt: Runtime, clock: object) -> None:
    from datetime import timedelta

    ref = _withdrawn(rt)
    clock.moment += timedelta(days=2)  # type: ignore[attr-defined]
    with rt.db.transaction() as tx:
        consents.record(
            tx,
            rt,
            actor=actor("officer"),
            ref=ref,
            purpose=PARTNER,
            state="granted",
            channel="email_subscription",
        )
    result = provide(rt, [ref])
    with rt.db.transaction() as tx:
        (consent_at,) = tx.fetchone("SELECT consent_at FROM provision_subjects")
    assert consent_at == result.record["at"]


def test_the_audit_entry_names_recipient_basis_and_the_refused(rt: Runtime) -> None:
    ok, _ = subscriber(rt)
    never, _ = subscriber(rt, consent=False)
    before = audit_count(rt)
    provide(rt, [ok, never])
    assert audit_count(rt) == before + 1
    entry = last_entry(rt)
    assert (entry["action"], entry["outcome"], entry["subjects"]) == ("provide", "allowed", [ok])
    assert entry["detail"]["recipient"] == "partner_kanto"
    assert entry["detail"]["basis"] == "consent"
    assert entry["detail"]["refused"] == {never: "consent_missing"}


def test_nobody_to_provide_is_refused_with_counts_audited_and_leaves_nothing(
    rt: Runtime,
) -> None:
    never, _ = subscriber(rt, consent=False)
    stopped = _stopped(rt)
    before = audit_count(rt)
    with pytest.raises(Conflict) as refused:
        provide(rt, [never, stopped, "s" + "b" * 16])
    assert refused.value.code == "nobody_to_provide"
    assert refused.value.fields["refused_by_rule"] == {
        "consent_missing": 1,
        "provision_stopped": 1,
        "unknown_subject": 1,
    }
    assert audit_count(rt) == before + 1
    entry = last_entry(rt)
    assert (entry["outcome"], entry["rule"]) == ("denied", "nobody_to_provide")
    assert entry["detail"]["recipient"] == "partner_kanto"
    assert counts(rt) == (0, 0)


@pytest.mark.parametrize(
    ("kwargs", "rule"),
    [
        ({"recipient": "nobody_we_know"}, "unknown_recipient"),
        (
            {"recipient": "partner_kanto", "purpose": "exhibitor_introduction"},
            "recipient_not_permitted",
        ),
        ({"categories": ["user.behavior.browsing_history"]}, "category_outside_purpose"),
        (
            {"recipient": "partner_singapore", "categories": ["user.contact.phone_number"]},
            "category_outside_recipient",
        ),
        ({"by": actor("marketing")}, "action_not_permitted"),
    ],
)
def test_static_refusals_refuse_the_whole_call_audited(
    rt: Runtime, kwargs: dict[str, object], rule: str
) -> None:
    ref, _ = subscriber(rt)
    before = audit_count(rt)
    with pytest.raises(Denied) as refused:
        provide(rt, [ref], **kwargs)  # type: ignore[arg-type]
    assert refused.value.rule == rule
    assert audit_count(rt) == before + 1
    entry = last_entry(rt)
    assert (entry["outcome"], entry["rule"]) == ("denied", rule)
    assert counts(rt) == (0, 0)


def test_all_subjects_of_a_channel_are_candidates(rt: Runtime) -> None:
    from mamori.recipients.provision import Selection

    (a, _), (b, _) = subscriber(rt), subscriber(rt)
    never, _ = subscriber(rt, consent=False)
    other, _ = subscriber(rt)
    with rt.db.transaction() as tx:
        shredding.shred(tx, rt, actor=actor("officer"), ref=other)
    result = provide(rt, None, selection=Selection(channel="email_subscription"))
    assert set(exported(result)) == {a, b}
    assert {r.ref: r.rule for r in result.refused} == {never: "consent_missing"}


def test_a_kind_or_channel_the_policy_does_not_declare_is_refused(rt: Runtime) -> None:
    from mamori.errors import NotFound, ValidationFailed
    from mamori.recipients.provision import Selection

    with pytest.raises(NotFound):
        provide(rt, None, selection=Selection(channel="no_such_channel"))
    with pytest.raises(ValidationFailed):
        provide(rt, None, selection=Selection(kind="no_such_kind"))


def test_a_provision_of_no_items_is_refused(rt: Runtime) -> None:
    from mamori.errors import ValidationFailed

    ref, _ = subscriber(rt)
    with pytest.raises(ValidationFailed):
        provide(rt, [ref], categories=[])
    assert counts(rt) == (0, 0)
