"""Consent events and the state they imply, on SQLite and on PostgreSQL."""

from __future__ import annotations

import json

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mamori.consents import service as consents
from mamori.consents.service import GRANTED, WITHDRAWN
from mamori.errors import Conflict, Denied
from mamori.runtime import Runtime
from mamori.subjects import service
from mamori.subjects.intake import Registration, register
from tests.conftest import actor

NEWSLETTER = "email_delivery"
PARTNERS = "partner_information"


def subscriber(rt: Runtime, consented: tuple[str, ...] = (NEWSLETTER,)) -> str:
    values = {"user.name": "佐藤 花子", "user.contact.email": "hanako.sato@example.jp"}
    with rt.db.transaction() as tx:
        return register(
            tx,
            rt,
            actor=actor("officer"),
            channel="email_subscription",
            purpose=NEWSLETTER,
            registration=Registration(values, consented, explicit=True),
        )


def read_newsletter(rt: Runtime, ref: str) -> str:
    """'allowed', or the rule that refused marketing's read."""
    try:
        with rt.db.transaction() as tx:
            service.read(tx, rt, actor=actor("marketing"), ref=ref, purpose=NEWSLETTER)
    except Denied as denied:
        return denied.rule
    return "allowed"


def change(rt: Runtime, ref: str, purpose: str, state: str, channel: str = "staff") -> bool:
    with rt.db.transaction() as tx:
        _, changed = consents.record(
            tx, rt, actor=actor("officer"), ref=ref, purpose=purpose, state=state, channel=channel
        )
    return changed


def test_a_consent_purpose_cannot_collect_without_consent(rt: Runtime) -> None:
    with pytest.raises(Denied) as caught:
        subscriber(rt, consented=())
    assert caught.value.rule == "consent_missing"


def test_withdrawal_changes_the_answer_and_a_new_grant_restores_it(rt: Runtime) -> None:
    ref = subscriber(rt)
    assert read_newsletter(rt, ref) == "allowed"
    assert change(rt, ref, NEWSLETTER, WITHDRAWN, "unsubscribe_link")
    assert read_newsletter(rt, ref) == "consent_withdrawn"
    assert change(rt, ref, NEWSLETTER, GRANTED)
    assert read_newsletter(rt, ref) == "allowed"


def test_the_same_choice_twice_is_recorded_once(rt: Runtime) -> None:
    ref = subscriber(rt)
    assert change(rt, ref, NEWSLETTER, WITHDRAWN)
    assert not change(rt, ref, NEWSLETTER, WITHDRAWN)
    with rt.db.transaction() as tx:
        events = consents.history(tx, rt, actor=actor("officer"), ref=ref, purpose="dsr.disclosure")
    assert [e.state for e in events] == [GRANTED, WITHDRAWN]
    assert events[0].notice_version == 1 and events[0].channel == "email_subscription"


def test_a_purpose_resting_on_contract_takes_no_consent(rt: Runtime) -> None:
    ref = subscriber(rt)
    with pytest.raises(Conflict) as caught:
        change(rt, ref, "purchase_fulfillment", GRANTED)
    assert caught.value.code == "consent_not_applicable"


def test_recording_consent_needs_write_on_the_purpose(rt: Runtime) -> None:
    ref = subscriber(rt)
    with pytest.raises(Denied) as caught, rt.db.transaction() as tx:
        consents.record(
            tx,
            rt,
            actor=actor("marketing"),
            ref=ref,
            purpose=NEWSLETTER,
            state=GRANTED,
            channel="staff",
        )
    assert caught.value.rule == "action_not_permitted"


@settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    steps=st.lists(
        st.tuples(st.sampled_from([NEWSLETTER, PARTNERS]), st.sampled_from([GRANTED, WITHDRAWN])),
        max_size=8,
    )
)
def test_the_projection_always_equals_the_events(rt: Runtime, steps: list[tuple[str, str]]) -> None:
    ref = subscriber(rt)
    for purpose, state in steps:
        change(rt, ref, purpose, state)
    with rt.db.transaction() as tx:
        subject_id, projected = tx.fetchone(
            "SELECT id, consents FROM subjects WHERE ref = ?", (ref,)
        )
        derived = consents.derive_state(consents.events_for(tx, subject_id))
    assert json.loads(projected) == derived
    last = {NEWSLETTER: GRANTED}
    last.update(dict(steps))
    assert read_newsletter(rt, ref) == (
        "allowed" if last[NEWSLETTER] == GRANTED else "consent_withdrawn"
    )
