"""A signed-in member reaches their own record and nobody else's, whatever the page asks."""

from __future__ import annotations

import pytest

from mamori.dsr import inquiries
from mamori.errors import Denied
from mamori.guard.rules import Actor
from mamori.policy.compiled import INQUIRY_PURPOSE, MEMBER_PREFIX, SYSTEM_MEMBER_ROLE
from mamori.policy.schemas import Action
from mamori.runtime import Runtime
from mamori.subjects import service
from tests.api.support import last_entry
from tests.factories import register_customer


def member(ref: str) -> Actor:
    return Actor(MEMBER_PREFIX + ref, (SYSTEM_MEMBER_ROLE,), kind="member")


def test_a_member_reads_their_own_record(rt: Runtime) -> None:
    ref, values = register_customer(rt)
    with rt.db.transaction() as tx:
        view = service.read(tx, rt, actor=member(ref), ref=ref, purpose="dsr.disclosure")
    assert set(view.values) == set(values)  # every value, as normalized when stored
    assert view.values["user.contact.email"] == values["user.contact.email"]
    assert last_entry(rt)["actor"] == MEMBER_PREFIX + ref


@pytest.mark.parametrize("action", [Action.READ, Action.EXPORT])
def test_another_persons_record_is_refused_and_audited(rt: Runtime, action: Action) -> None:
    mine, _ = register_customer(rt)
    theirs, _ = register_customer(rt)
    with pytest.raises(Denied) as refused, rt.db.transaction() as tx:
        service.read(
            tx, rt, actor=member(mine), ref=theirs, purpose="dsr.disclosure", action=action
        )
    assert refused.value.rule == "own_subject_only"
    entry = last_entry(rt)
    assert (entry["outcome"], entry["rule"], entry["actor"]) == (
        "denied",
        "own_subject_only",
        MEMBER_PREFIX + mine,
    )


def test_a_member_may_only_use_system_purposes_and_their_consents(rt: Runtime) -> None:
    ref, _ = register_customer(rt)
    with pytest.raises(Denied) as refused, rt.db.transaction() as tx:
        service.read(tx, rt, actor=member(ref), ref=ref, purpose="purchase_fulfillment")
    assert refused.value.rule == "role_not_permitted"
    actions = rt.policy.actions_for((SYSTEM_MEMBER_ROLE,), "email_delivery")
    assert actions == frozenset({Action.WRITE})  # recording a consent, never reading data
    assert Action.PROVIDE not in rt.policy.actions_for((SYSTEM_MEMBER_ROLE,), "dsr.disclosure")


def test_the_centers_intake_may_only_receive_inquiries(rt: Runtime) -> None:
    # The inquiry form's actor registers an inquirer and opens the inquiry; nothing more.
    intake = inquiries.intake_actor("s0000000000000000")
    assert intake.name == "center:s0000000000000000"
    for purpose in rt.policy.purposes:
        actions = rt.policy.actions_for(intake.roles, purpose)
        expected = {Action.READ, Action.WRITE} if purpose == INQUIRY_PURPOSE else set()
        assert actions == frozenset(expected), purpose
    ref, _ = register_customer(rt)
    with pytest.raises(Denied) as refused, rt.db.transaction() as tx:
        service.read(tx, rt, actor=intake, ref=ref, purpose="dsr.disclosure")
    assert refused.value.rule == "role_not_permitted"
