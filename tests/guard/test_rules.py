"""The guard's decision table against an independent restatement of the rules.

Hypothesis draws callers, purposes, actions, categories and subjects' facts
over the shipped QualitySoft policy; ``expected`` restates each rule from
the requirements in the plainest code, and ``decide`` must agree with it on
the outcome and on the rule it names.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from functools import cache

import pytest
from hypothesis import event, given, settings
from hypothesis import strategies as st

from mamori.demo import EXAMPLE_POLICY
from mamori.errors import Denied, IntegrityError
from mamori.guard.grant import Grant
from mamori.guard.rules import Actor, SubjectFacts, decide
from mamori.policy.compiled import CompiledPolicy
from mamori.policy.loader import load_policy
from mamori.policy.schemas import Action, LegalBasis
from mamori.policy.system import SYSTEM_PURPOSES

NOW = datetime(2026, 11, 30, 3, 0, tzinfo=UTC)


@cache
def policy() -> CompiledPolicy:
    return CompiledPolicy.build(load_policy(EXAMPLE_POLICY))


def _stamp(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def _mostly(value: object, others: st.SearchStrategy[object]) -> st.SearchStrategy[object]:
    """``value`` nine times in ten, so the rare branches still come up."""
    return st.sampled_from([True] * 9 + [False]).flatmap(
        lambda usual: st.just(value) if usual else others
    )


@st.composite
def requests(draw: st.DrawFn) -> tuple[Actor, str, Action, list[str], list[SubjectFacts]]:
    p = policy()
    permitted = sorted(
        (role, purpose, action)
        for (role, purpose), acts in p.permissions.items()
        for action in acts
    )
    if draw(st.integers(0, 9)) < 8:
        role, purpose, action = draw(st.sampled_from(permitted))
        roles: tuple[str, ...] = (role,)
    else:
        roles = tuple(draw(st.lists(st.sampled_from(sorted(p.roles)), max_size=2, unique=True)))
        purpose = draw(st.sampled_from([*sorted(p.purposes), "no_such_purpose"]))
        action = draw(st.sampled_from(list(Action)))
    actor = Actor("someone", roles, active=bool(draw(_mostly(True, st.just(False)))))
    pool = [*sorted(p.categories), "user.unknown_thing"]
    if purpose in p.rules and p.rules[purpose].categories is not None:
        pool = sorted(p.rules[purpose].categories) * 20 + pool  # mostly in scope
    categories = draw(st.lists(st.sampled_from(pool), max_size=4, unique=True))
    subjects = draw(
        st.lists(facts(sorted(p.purposes), categories), max_size=4, unique_by=lambda f: f.ref)
    )
    return actor, purpose, action, categories, subjects


@st.composite
def facts(draw: st.DrawFn, purposes: list[str], categories: list[str]) -> SubjectFacts:
    consents = draw(
        st.dictionaries(
            st.sampled_from(purposes),
            st.tuples(st.integers(0, 1), st.just(1), st.integers(0, 1)).map(list),
            max_size=3,
        )
    )
    suspended = draw(
        _mostly([], st.lists(st.sampled_from([*purposes, "*"]), max_size=2, unique=True))
    )
    ages = st.integers(min_value=0, max_value=3650 * 2) | st.integers(min_value=0, max_value=60)
    collected = {
        c: ["product_purchase", _stamp(NOW - timedelta(days=draw(ages))), 1] for c in categories
    }
    ref = "s" + draw(st.text("abcdefghijklmnopqrstuvwxyz234567", min_size=16, max_size=16))
    erased = bool(draw(_mostly(False, st.just(True))))
    return SubjectFacts(ref, consents, suspended, erased, collected)  # type: ignore[arg-type]


def expected_static(
    actor: Actor, purpose: str, action: Action, categories: list[str]
) -> str | None:
    """The static rules, restated from REQUIREMENTS.md P2."""
    p = policy()
    if not actor.active:
        return "actor_disabled"
    if purpose not in p.purposes:
        return "unknown_purpose"
    may = set()
    system_roles = {"system.requests", "system.member"}
    if system_roles & set(actor.roles) and purpose.startswith("dsr."):
        # Mamori acting for a requester or a signed-in member: the system purposes,
        # never to provide.
        may |= {Action.READ, Action.WRITE, Action.EXPORT}
    consent_based = {q.key for q in p.source.purposes if q.legal_basis is LegalBasis.CONSENT}
    if "system.member" in actor.roles and purpose in consent_based:
        may |= {Action.WRITE}  # a member records their own consents
    if "system.intake" in actor.roles and purpose == "inquiry_handling":
        may |= {Action.READ, Action.WRITE}  # the center's inquiry form files an inquiry
    for role in p.source.roles:
        if role.key in actor.roles:
            for permission in role.permissions:
                if purpose in permission.purposes:
                    may |= set(permission.actions)
    if not may:
        return "role_not_permitted"
    if action not in may:
        return "action_not_permitted"
    if any(c not in p.categories for c in categories):
        return "unknown_category"
    scope = p.purposes[purpose].categories
    if "*" not in scope and any(c not in scope for c in categories):
        return "category_outside_purpose"
    if action is Action.PROVIDE and not p.purposes[purpose].third_party_provision:
        return "provision_not_declared"
    if action is Action.PROVIDE:
        # These calls name no recipient: data never leaves without one (and its record).
        return "recipient_missing"
    return None


def expected_subject(
    s: SubjectFacts, purpose: str, action: Action, categories: list[str]
) -> str | None:
    """The per-subject rules, restated from REQUIREMENTS.md P2, P3, P15 and P20."""
    p = policy()
    spec = p.purposes[purpose]
    system = purpose in SYSTEM_PURPOSES
    special = any(p.categories[c].special_care for c in categories)
    if s.erased:
        return "subject_erased"
    if not system and ("*" in s.suspended or purpose in s.suspended):
        return "use_suspended"
    if spec.legal_basis is LegalBasis.CONSENT or special:
        state = s.consents.get(purpose)
        if state is None:
            return "consent_missing"
        if not state[0]:
            return "consent_withdrawn"
        if special and not state[2]:
            return "explicit_consent_required"
    if action is not Action.WRITE and not system:
        limit = NOW - spec.retention_period
        if any(s.collected[c][1] < _stamp(limit) for c in categories if c in s.collected):
            return "retention_expired"
    if action is not Action.WRITE and not system:
        consented = s.consents.get(purpose)
        channels = {s.collected[c][0] for c in categories if c in s.collected}
        announced = {c.key: set(c.purposes) for c in p.source.channels}
        if not (consented and consented[0]) and any(
            purpose not in announced[ch] for ch in channels
        ):
            return "purpose_not_announced"
    return None


@settings(max_examples=400, deadline=None)
@given(requests())
def test_decide_agrees_with_the_rules(
    request: tuple[Actor, str, Action, list[str], list[SubjectFacts]],
) -> None:
    actor, purpose, action, categories, subjects = request
    static = expected_static(actor, purpose, action, categories)
    event(f"static: {static}")
    if static is not None:
        with pytest.raises(Denied) as caught:
            decide(
                policy=policy(),
                actor=actor,
                purpose=purpose,
                action=action,
                categories=categories,
                subjects=subjects,
                now=NOW,
            )
        assert caught.value.rule == static
        return
    decision = decide(
        policy=policy(),
        actor=actor,
        purpose=purpose,
        action=action,
        categories=categories,
        subjects=subjects,
        now=NOW,
    )
    refused = {r.ref: r.rule for r in decision.refusals}
    for s in subjects:
        rule = expected_subject(s, purpose, action, categories)
        event(f"subject: {rule}")
        if rule is None:
            assert s.ref in decision.allowed
        else:
            assert refused.get(s.ref) == rule
    allowed_count = sum(
        1 for s in subjects if expected_subject(s, purpose, action, categories) is None
    )
    assert (decision.grant is None) == (allowed_count == 0)
    if decision.grant is not None:
        assert decision.grant.categories == frozenset(categories)
        assert decision.grant.purpose == purpose and decision.grant.action is action


def test_denial_messages_are_plain_sentences_without_values() -> None:
    p = policy()
    with pytest.raises(Denied) as caught:
        decide(
            policy=p,
            actor=Actor("marketing.sato", ("marketing",)),
            purpose="purchase_fulfillment",
            action=Action.READ,
            categories=["user.name"],
            subjects=[],
            now=NOW,
        )
    assert caught.value.rule == "role_not_permitted"
    assert "email_delivery" in caught.value.message  # it says what the role may use instead


def test_a_grant_cannot_be_made_outside_the_guard() -> None:
    with pytest.raises(IntegrityError):
        Grant("x", "purchase_fulfillment", Action.READ, frozenset(), frozenset({"s1"}), object())


def test_bulk_is_one_decision() -> None:
    p = policy()
    many = [SubjectFacts(f"s{n:016d}", {}, (), False, {}) for n in range(20_000)]
    decision = decide(
        policy=p,
        actor=Actor("sales", ("sales",)),
        purpose="purchase_fulfillment",
        action=Action.READ,
        categories=["user.name"],
        subjects=many,
        now=NOW,
    )
    assert decision.grant is not None and len(decision.grant.subjects) == 20_000


def test_special_care_data_needs_explicit_consent() -> None:
    """APPI Art. 20(2): a consent that was not given explicitly does not reach special-care data."""
    import yaml

    from mamori.policy.loader import check_policy_text

    doc = yaml.safe_load(EXAMPLE_POLICY.read_text(encoding="utf-8"))
    doc["purposes"].append(
        {
            "key": "health_support",
            "title": {"ja": "健康配慮", "en": "Health support"},
            "description": {
                "ja": "イベント参加時の配慮のため",
                "en": "To make arrangements at events",
            },
            "legal_basis": "consent",
            "data_use": "essential.service",
            "retention": "P30D",
            "categories": ["user.name", "user.health_and_medical"],
        }
    )
    doc["roles"][0]["permissions"].append({"purposes": ["health_support"], "actions": ["read"]})
    parsed, problems = check_policy_text(yaml.safe_dump(doc, allow_unicode=True))
    assert problems == [] and parsed is not None
    compiled = CompiledPolicy.build(parsed)
    officer = Actor("officer", ("privacy_officer",))
    implicit = SubjectFacts("s" + "a" * 16, {"health_support": [1, 1, 0]}, (), False, {})
    explicit = SubjectFacts("s" + "b" * 16, {"health_support": [1, 1, 1]}, (), False, {})
    decision = decide(
        policy=compiled,
        actor=officer,
        purpose="health_support",
        action=Action.READ,
        categories=["user.health_and_medical"],
        subjects=[implicit, explicit],
        now=NOW,
    )
    assert decision.allowed == {explicit.ref}
    assert [(r.ref, r.rule) for r in decision.refusals] == [
        (implicit.ref, "explicit_consent_required")
    ]
    name_only = decide(
        policy=compiled,
        actor=officer,
        purpose="health_support",
        action=Action.READ,
        categories=["user.name"],
        subjects=[implicit],
        now=NOW,
    )
    assert name_only.allowed == {implicit.ref}
