"""Cessation of provision to third parties (APPI Art. 35(3)): provision stops, other use goes on.

A subject's suspension list may hold ``provision:*`` (all provision stopped) or
``provision:<purpose>``. For ``provide`` the guard refuses those with rule
``provision_stopped``; every other action, and provision for other purposes,
is decided as before. A plain ``*`` still suspends all use.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from functools import cache

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mamori.demo import EXAMPLE_POLICY
from mamori.errors import Denied, ValidationFailed
from mamori.guard.parties import ProvisionTo
from mamori.guard.rules import Actor, SubjectFacts, decide
from mamori.guard.service import authorize
from mamori.policy.compiled import CompiledPolicy
from mamori.policy.loader import load_policy
from mamori.policy.schemas import Action, ProvisionBasis
from mamori.runtime import Runtime
from mamori.subjects import changes, service
from tests.conftest import actor
from tests.factories import register_customer

NOW = datetime(2026, 11, 30, 3, 0, tzinfo=UTC)
OFFICER = Actor("officer", ("privacy_officer",))
# Purposes of the example policy that announce provision to third parties.
PROVIDING = ("exhibitor_introduction", "partner_information")
CATEGORIES = ("user.name", "user.contact.email")
# The example policy's recipient for each of those purposes.
RECIPIENT = {"exhibitor_introduction": "seminar_exhibitors", "partner_information": "partner_kanto"}


def _to(purpose: str, action: Action) -> ProvisionTo | None:
    if action is not Action.PROVIDE:
        return None
    return ProvisionTo(RECIPIENT[purpose], ProvisionBasis.CONSENT)


@cache
def policy() -> CompiledPolicy:
    return CompiledPolicy.build(load_policy(EXAMPLE_POLICY))


def _facts(suspended: list[str], ref: str = "sprovisiontest0001") -> SubjectFacts:
    collected = NOW - timedelta(days=10)
    stamp = collected.strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    consents = {p: [1, 1, 0] for p in PROVIDING}
    sources = {c: ["email_subscription", stamp, 1] for c in CATEGORIES}
    return SubjectFacts(ref, consents, suspended, False, sources, "email_subscription")


def _rule(suspended: list[str], purpose: str, action: Action) -> str | None:
    """The rule that refuses the one subject, or None when it is allowed."""
    decision = decide(
        policy=policy(),
        actor=OFFICER,
        purpose=purpose,
        action=action,
        categories=CATEGORIES,
        subjects=[_facts(suspended)],
        now=NOW,
        party=_to(purpose, action),
    )
    return decision.refusals[0].rule if decision.refusals else None


def test_stopping_all_provision_refuses_provide_for_every_purpose() -> None:
    assert _rule([], "partner_information", Action.PROVIDE) is None
    for purpose in PROVIDING:
        assert _rule(["provision:*"], purpose, Action.PROVIDE) == "provision_stopped"


def test_stopping_provision_for_one_purpose_leaves_the_others() -> None:
    stopped = ["provision:partner_information"]
    assert _rule(stopped, "partner_information", Action.PROVIDE) == "provision_stopped"
    assert _rule(stopped, "exhibitor_introduction", Action.PROVIDE) is None


@pytest.mark.parametrize("action", [Action.READ, Action.WRITE, Action.EXPORT])
def test_other_use_goes_on(action: Action) -> None:
    assert _rule(["provision:*"], "partner_information", action) is None


def test_a_plain_wildcard_still_suspends_all_use_first() -> None:
    assert _rule(["*"], "partner_information", Action.PROVIDE) == "use_suspended"
    assert _rule(["*", "provision:*"], "partner_information", Action.READ) == "use_suspended"


def test_the_refusal_is_a_plain_sentence_naming_the_purpose() -> None:
    decision = decide(
        policy=policy(),
        actor=OFFICER,
        purpose="partner_information",
        action=Action.PROVIDE,
        categories=CATEGORIES,
        subjects=[_facts(["provision:*"])],
        now=NOW,
        party=_to("partner_information", Action.PROVIDE),
    )
    (refusal,) = decision.refusals
    assert "'partner_information'" in refusal.message and "stopped" in refusal.message


ENTRIES = st.sampled_from(
    ["*", "provision:*", *(f"provision:{p}" for p in PROVIDING), *PROVIDING, "email_delivery"]
)


@settings(max_examples=300, deadline=None)
@given(
    suspended=st.lists(ENTRIES, max_size=4, unique=True),
    purpose=st.sampled_from(PROVIDING),
    action=st.sampled_from(list(Action)),
)
def test_decide_agrees_with_the_cessation_rules(
    suspended: list[str], purpose: str, action: Action
) -> None:
    """Restated: all use suspended first, then provision stopped, and only for provide."""
    if "*" in suspended or purpose in suspended:
        expected: str | None = "use_suspended"
    elif action is Action.PROVIDE and (
        "provision:*" in suspended or f"provision:{purpose}" in suspended
    ):
        expected = "provision_stopped"
    else:
        expected = None
    assert _rule(suspended, purpose, action) == expected


# -- through the registry ------------------------------------------------------------


def _partner(rt: Runtime) -> str:
    ref, _ = register_customer(
        rt,
        by=actor("officer"),
        channel="email_subscription",
        purpose="email_delivery",
        consents=["email_delivery", "partner_information"],
    )
    return ref


def _provide(rt: Runtime, ref: str) -> None:
    """A provision decided by the guard, naming its recipient."""
    with rt.db.transaction() as tx:
        row = service.load_or_refuse(
            tx,
            rt,
            actor=actor("officer"),
            ref=ref,
            purpose="partner_information",
            action=Action.PROVIDE,
        )
        authorize(
            tx,
            rt,
            actor=actor("officer"),
            purpose="partner_information",
            action=Action.PROVIDE,
            categories=["user.name"],
            subjects=[row.facts()],
            party=_to("partner_information", Action.PROVIDE),
        )


def test_a_read_for_provision_without_a_recipient_is_refused_and_audited(rt: Runtime) -> None:
    """Data leaves only through a provision that names its recipient (and so its record)."""
    ref = _partner(rt)
    with pytest.raises(Denied) as refused, rt.db.transaction() as tx:
        service.read(
            tx,
            rt,
            actor=actor("officer"),
            ref=ref,
            purpose="partner_information",
            categories=["user.name"],
            action=Action.PROVIDE,
        )
    assert refused.value.rule == "recipient_missing"
    with rt.db.transaction() as tx:
        rule = tx.fetchone("SELECT rule FROM audit_entries ORDER BY seq DESC LIMIT 1")[0]
    assert rule == "recipient_missing"


def _stop(rt: Runtime, ref: str, purposes: list[str] | None, stop: bool) -> list[str]:
    with rt.db.transaction() as tx:
        return changes.set_provision_stop(
            tx, rt, actor=actor("officer"), ref=ref, purposes=purposes, stop=stop
        )


@pytest.mark.parametrize("purposes", [None, ["partner_information"]])
def test_provision_stops_and_resumes(rt: Runtime, purposes: list[str] | None) -> None:
    ref = _partner(rt)
    _provide(rt, ref)
    entry = "provision:*" if purposes is None else "provision:partner_information"
    assert _stop(rt, ref, purposes, stop=True) == [entry]
    with pytest.raises(Denied) as refused:
        _provide(rt, ref)
    assert refused.value.rule == "provision_stopped"
    with rt.db.transaction() as tx:  # use for the purpose itself goes on
        view = service.read(tx, rt, actor=actor("officer"), ref=ref, purpose="partner_information")
    assert view.values
    assert _stop(rt, ref, purposes, stop=False) == []
    _provide(rt, ref)
    with rt.db.transaction() as tx:
        rows = tx.fetchall(
            "SELECT detail FROM audit_entries WHERE purpose = 'dsr.cessation' ORDER BY seq"
        )
    operations = [json.loads(r[0])["operation"] for r in rows]
    assert operations == ["stop_provision", "resume_provision"]


def test_a_provision_stop_keeps_other_suspensions(rt: Runtime) -> None:
    ref = _partner(rt)
    with rt.db.transaction() as tx:
        changes.set_suspension(
            tx, rt, actor=actor("officer"), ref=ref, purposes=["email_delivery"], suspend=True
        )
    assert _stop(rt, ref, None, stop=True) == ["email_delivery", "provision:*"]
    assert _stop(rt, ref, None, stop=False) == ["email_delivery"]


def test_suspension_entries_are_not_purposes(rt: Runtime) -> None:
    """``set_suspension`` takes purposes only; provision has its own function."""
    ref = _partner(rt)
    for bad in (["provision:*"], ["provision:partner_information"]):
        with pytest.raises(ValidationFailed), rt.db.transaction() as tx:
            changes.set_suspension(
                tx, rt, actor=actor("officer"), ref=ref, purposes=bad, suspend=True
            )
    with pytest.raises(ValidationFailed) as refused:
        _stop(rt, ref, ["no_such_purpose"], stop=True)
    assert "no_such_purpose" in refused.value.message


def test_only_a_role_with_the_cessation_purpose_may_stop_provision(rt: Runtime) -> None:
    ref = _partner(rt)
    with pytest.raises(Denied) as refused, rt.db.transaction() as tx:
        changes.set_provision_stop(
            tx, rt, actor=actor("marketing"), ref=ref, purposes=None, stop=True
        )
    assert refused.value.rule == "role_not_permitted"
    _provide(rt, ref)
