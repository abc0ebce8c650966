"""The guard's rules for provision and hand-over (``guard/parties.py``), one test per rule.

Decided with ``decide`` on the example policy (pure, no database), and once
through ``authorize`` on both backends for what the audit entry says.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from functools import cache

import pytest

from mamori.demo import EXAMPLE_POLICY
from mamori.errors import Denied
from mamori.guard.parties import HandoverTo, Party, ProvisionTo
from mamori.guard.rules import Actor, Decision, SubjectFacts, decide
from mamori.guard.service import authorize
from mamori.policy.compiled import CompiledPolicy
from mamori.policy.loader import load_policy
from mamori.policy.schemas import Action, LegalBasis, Policy, ProvisionBasis
from mamori.runtime import Runtime
from tests.conftest import actor

NOW = datetime(2026, 11, 30, 3, 0, tzinfo=UTC)
OFFICER = Actor("officer", ("privacy_officer",))
PARTNER = "partner_information"
NAME_EMAIL = ("user.name", "user.contact.email")
CONSENT = ProvisionTo("partner_kanto", ProvisionBasis.CONSENT)
REASON = "Requested in writing by the police under Code of Criminal Procedure Art. 197(2)."


@cache
def source() -> Policy:
    return load_policy(EXAMPLE_POLICY)


@cache
def policy() -> CompiledPolicy:
    return CompiledPolicy.build(source())


def facts(
    *,
    consents: dict[str, list[int]] | None = None,
    suspended: tuple[str, ...] = (),
    erased: bool = False,
) -> SubjectFacts:
    stamp = (NOW - timedelta(days=10)).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    collected = {c: ["email_subscription", stamp, 1] for c in NAME_EMAIL}
    given = {PARTNER: [1, 1, 0]} if consents is None else consents
    return SubjectFacts(
        "sparties000000001", given, suspended, erased, collected, "email_subscription"
    )


def run(
    party: Party,
    *,
    purpose: str = PARTNER,
    action: Action = Action.PROVIDE,
    categories: tuple[str, ...] = NAME_EMAIL,
    subject: SubjectFacts | None = None,
    now: datetime = NOW,
    compiled: CompiledPolicy | None = None,
) -> Decision:
    return decide(
        policy=compiled or policy(),
        actor=OFFICER,
        purpose=purpose,
        action=action,
        categories=categories,
        subjects=[subject or facts()],
        now=now,
        party=party,
    )


def static_rule(party: Party, **kwargs: object) -> str:
    with pytest.raises(Denied) as refused:
        run(party, **kwargs)  # type: ignore[arg-type]
    return refused.value.rule


def subject_rule(party: Party, **kwargs: object) -> str | None:
    decision = run(party, **kwargs)  # type: ignore[arg-type]
    return decision.refusals[0].rule if decision.refusals else None


def test_a_consented_provision_to_a_declared_recipient_is_allowed() -> None:
    assert subject_rule(CONSENT) is None


def test_unknown_recipient() -> None:
    assert static_rule(ProvisionTo("nobody", ProvisionBasis.CONSENT)) == "unknown_recipient"


def test_recipient_inactive() -> None:
    party = ProvisionTo("partner_singapore", ProvisionBasis.CONSENT)
    assert static_rule(party, now=datetime(2024, 12, 1, 3, 0, tzinfo=UTC)) == "recipient_inactive"
    assert subject_rule(party) is None


def test_category_outside_recipient() -> None:
    party = ProvisionTo("partner_singapore", ProvisionBasis.CONSENT)
    categories = ("user.name", "user.contact.phone_number")
    assert static_rule(party, categories=categories) == "category_outside_recipient"


def test_recipient_not_permitted() -> None:
    party = ProvisionTo("seminar_exhibitors", ProvisionBasis.CONSENT)
    assert static_rule(party) == "recipient_not_permitted"


def test_joint_use_not_announced() -> None:
    party = ProvisionTo("qs_solutions", ProvisionBasis.JOINT_USE)
    assert static_rule(party) == "joint_use_not_announced"  # partner information is no joint use
    wider = ("user.name", "user.behavior.purchase_history")
    assert (
        static_rule(party, purpose="product_support", categories=wider) == "joint_use_not_announced"
    )
    assert subject_rule(party, purpose="product_support", subject=facts(consents={})) in (
        None,
        "purpose_not_announced",
    )


def test_joint_use_needs_no_consent() -> None:
    party = ProvisionTo("qs_solutions", ProvisionBasis.JOINT_USE)
    stamp = (NOW - timedelta(days=10)).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    supported = SubjectFacts(
        "sparties000000002", {}, (), False, {c: ["support_request", stamp, 1] for c in NAME_EMAIL}
    )
    assert subject_rule(party, purpose="product_support", subject=supported) is None


def test_unknown_exception() -> None:
    party = ProvisionTo("partner_kanto", ProvisionBasis.EXCEPTION, "art27_2", REASON)
    assert static_rule(party) == "unknown_exception"


def test_exception_reason_missing() -> None:
    for reason in (None, "   ", "x" * 1001):
        party = ProvisionTo("partner_kanto", ProvisionBasis.EXCEPTION, "art27_1_i", reason)
        assert static_rule(party) == "exception_reason_missing"


def test_unknown_processor() -> None:
    assert static_rule(HandoverTo("nobody"), action=Action.EXPORT) == "unknown_processor"


def test_contract_lapsed() -> None:
    party = HandoverTo("call_center")
    assert static_rule(party, purpose="product_support", action=Action.EXPORT) == "contract_lapsed"


def test_nda_lapsed() -> None:
    processors = [
        p.model_copy(update={"nda_until": date(2026, 1, 31)}) if p.key == "mail_delivery" else p
        for p in source().processors
    ]
    compiled = CompiledPolicy.build(source().model_copy(update={"processors": processors}))
    party = HandoverTo("mail_delivery")
    rule = static_rule(party, purpose=PARTNER, action=Action.EXPORT, compiled=compiled)
    assert rule == "nda_lapsed"


def test_outside_processor_scope() -> None:
    party = HandoverTo("mail_delivery")
    assert (
        static_rule(party, purpose="product_support", action=Action.EXPORT)
        == "outside_processor_scope"
    )
    wider = ("user.name", "user.contact.phone_number")
    assert static_rule(party, categories=wider, action=Action.EXPORT) == "outside_processor_scope"
    assert subject_rule(party, action=Action.EXPORT) is None


def test_party_action_mismatch() -> None:
    assert static_rule(CONSENT, action=Action.EXPORT) == "party_action_mismatch"
    # A provision must name its recipient: a processor is not one.
    assert static_rule(HandoverTo("mail_delivery")) == "recipient_missing"


def test_consent_missing_and_withdrawn_on_consent_basis() -> None:
    assert subject_rule(CONSENT, subject=facts(consents={})) == "consent_missing"
    assert (
        subject_rule(CONSENT, subject=facts(consents={PARTNER: [0, 2, 0]})) == "consent_withdrawn"
    )


def test_consent_basis_needs_consent_even_for_a_legitimate_interest_purpose() -> None:
    purposes = [
        p.model_copy(update={"legal_basis": LegalBasis.LEGITIMATE_INTEREST})
        if p.key == PARTNER
        else p
        for p in source().purposes
    ]
    compiled = CompiledPolicy.build(source().model_copy(update={"purposes": purposes}))
    assert not compiled.rules[PARTNER].needs_consent
    assert subject_rule(CONSENT, subject=facts(consents={}), compiled=compiled) == "consent_missing"
    read = decide(
        policy=compiled, actor=OFFICER, purpose=PARTNER, action=Action.READ,
        categories=NAME_EMAIL, subjects=[facts(consents={})], now=NOW,
    )  # fmt: skip
    assert not read.refusals  # the purpose itself needs no consent


def test_provision_stopped_and_the_exception_that_overrides_it() -> None:
    stopped = facts(suspended=("provision:*",))
    assert subject_rule(CONSENT, subject=stopped) == "provision_stopped"
    party = ProvisionTo("partner_kanto", ProvisionBasis.EXCEPTION, "art27_1_i", REASON)
    no_consent = facts(consents={}, suspended=("provision:*",))
    assert subject_rule(party, subject=no_consent) is None
    assert subject_rule(party, subject=facts(erased=True)) == "subject_erased"


def test_the_audit_entry_names_recipient_basis_and_exception(rt: Runtime) -> None:
    import json

    party = ProvisionTo("partner_kanto", ProvisionBasis.EXCEPTION, "art27_1_i", REASON)
    for who, expect in ((actor("officer"), "allowed"), (actor("marketing"), "denied")):
        try:
            with rt.db.transaction() as tx:
                authorize(
                    tx, rt, actor=who, purpose=PARTNER, action=Action.PROVIDE,
                    categories=NAME_EMAIL, subjects=[], all_or_nothing=False, party=party,
                )  # fmt: skip
        except Denied:
            assert expect == "denied"
        with rt.db.transaction() as tx:
            outcome, detail = tx.fetchone(
                "SELECT outcome, detail FROM audit_entries ORDER BY seq DESC LIMIT 1"
            )
        assert outcome == expect
        shown = json.loads(detail)
        assert (shown["recipient"], shown["basis"], shown["exception"]) == (
            "partner_kanto",
            "exception",
            "art27_1_i",
        )
        assert REASON not in detail  # the written reason goes to the record, not the log
