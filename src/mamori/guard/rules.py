"""The guard's decision table, as a pure function of the policy and the facts.

``decide`` is the only function that mints grants. Static rules (who is
asking, for which purpose, to do what with which categories) are checked
once per call and refuse the whole call; per-subject rules (erased,
suspended, provision stopped, consent, retention) are checked in one pass over the subjects
and refuse only the subjects they concern. Each rule has a stable name, and
each refusal a sentence a privacy officer can read out to a regulator.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, cast

from mamori.db.base import to_utc_text
from mamori.errors import Denied
from mamori.guard.grant import Grant, mint
from mamori.guard.parties import Party, ProvisionTo, check_party
from mamori.policy.compiled import MEMBER_PREFIX, CompiledPolicy, PurposeRule
from mamori.policy.schemas import Action, Channel, ProvisionBasis

WILDCARD = "*"
# A suspension entry "provision:<purpose>" stops provision to third parties for one
# purpose, "provision:*" for all of them (APPI Art. 35(3)); other use goes on.
PROVISION_PREFIX = "provision:"
PROVISION_ALL = PROVISION_PREFIX + WILDCARD


@dataclass(frozen=True)
class Actor:
    """Who is asking: a staff account, a service token, a member or the system."""

    name: str
    roles: tuple[str, ...]
    kind: str = "staff"
    active: bool = True


@dataclass(frozen=True, slots=True)
class SubjectFacts:
    """What the guard needs to know about one subject, none of it personal."""

    ref: str
    consents: Mapping[str, Sequence[int]]  # purpose -> [granted 0/1, event id, explicit 0/1]
    suspended: Collection[str]
    erased: bool
    collected: Mapping[str, Sequence[Any]]  # category -> [channel, collected_at, notice, ...]
    channel: str = ""  # the channel the subject was registered through


@dataclass(frozen=True)
class Refusal:
    ref: str
    rule: str
    message: str


@dataclass
class Decision:
    grant: Grant | None
    refusals: list[Refusal] = field(default_factory=list)

    @property
    def allowed(self) -> frozenset[str]:
        return self.grant.subjects if self.grant else frozenset()


def check_request(
    policy: CompiledPolicy,
    actor: Actor,
    purpose: str,
    action: Action,
    categories: frozenset[str],
    channel: Channel | None = None,
    basis: ProvisionBasis | None = None,
) -> PurposeRule:
    """The static rules: raise ``Denied`` naming the first that fails.

    A provision on consent (or with no basis named) needs a purpose that
    announces provision; a joint use announces its own purposes and a legal
    exception rests on the law, so ``parties`` checks those instead.
    """
    if not actor.active:
        raise Denied(f"staff account '{actor.name}' is disabled", rule="actor_disabled")
    rule = policy.rules.get(purpose)
    if rule is None:
        raise Denied(f"the policy declares no purpose '{purpose}'", rule="unknown_purpose")
    actions = policy.actions_for(actor.roles, purpose)
    if not actions:
        allowed = ", ".join(policy.purposes_for(actor.roles)) or "none"
        raise Denied(
            f"'{actor.name}' may not use personal data for '{purpose}'; "
            f"the purposes their roles allow are: {allowed}",
            rule="role_not_permitted",
        )
    if action not in actions:
        raise Denied(
            f"'{actor.name}' may use '{purpose}' only to "
            f"{', '.join(sorted(a.value for a in actions))}, not to {action.value}",
            rule="action_not_permitted",
        )
    _check_categories(policy, rule, purpose, categories)
    if channel is not None and purpose not in channel.purposes:
        raise Denied(
            f"channel '{channel.key}' does not announce purpose '{purpose}' at collection",
            rule="purpose_not_announced",
        )
    announced_elsewhere = basis in (ProvisionBasis.JOINT_USE, ProvisionBasis.EXCEPTION)
    if action is Action.PROVIDE and not rule.third_party_provision and not announced_elsewhere:
        raise Denied(
            f"purpose '{purpose}' does not announce provision to third parties",
            rule="provision_not_declared",
        )
    return rule


def _checked_request(
    policy: CompiledPolicy,
    actor: Actor,
    purpose: str,
    action: Action,
    categories: frozenset[str],
    channel: Channel | None,
    basis: ProvisionBasis | None = None,
) -> PurposeRule:
    """``check_request``, remembered: the policy does not change while it is loaded."""
    key = (actor, purpose, action, categories, channel.key if channel else None, basis)
    known = policy.static_decisions.get(key)
    if known is None:
        try:
            known = check_request(policy, actor, purpose, action, categories, channel, basis)
        except Denied as denied:
            known = denied
        if len(policy.static_decisions) < 10_000:
            policy.static_decisions[key] = known
    if isinstance(known, Denied):
        raise Denied(known.message, rule=known.rule)
    return cast(PurposeRule, known)


def _check_categories(
    policy: CompiledPolicy, rule: PurposeRule, purpose: str, categories: frozenset[str]
) -> None:
    unknown = sorted(categories - policy.categories.keys())
    if unknown:
        raise Denied(
            f"the policy declares no data category {', '.join(unknown)}", rule="unknown_category"
        )
    if rule.categories is not None:
        outside = sorted(categories - rule.categories)
        if outside:
            raise Denied(
                f"purpose '{purpose}' does not cover {', '.join(outside)}",
                rule="category_outside_purpose",
            )


def decide(
    *,
    policy: CompiledPolicy,
    actor: Actor,
    purpose: str,
    action: Action,
    categories: Iterable[str],
    subjects: Sequence[SubjectFacts],
    now: datetime,
    channel: Channel | None = None,
    consent_record: bool = False,
    party: Party | None = None,
) -> Decision:
    """Decide an access for every subject at once; raises ``Denied`` on a static rule.

    ``consent_record`` is for recording or reading consent itself: only the
    static rules and erasure apply, since a consent cannot wait for itself.
    ``party`` names the recipient of a provision or the processor of a
    hand-over. A provision on consent needs each person's consent to the
    purpose whatever the purpose's own legal basis; one under a legal
    exception (Art. 27(1)) needs no consent and is not held back by a
    person's stop, which binds only provisions the law leaves to them
    (Art. 35(5)). Erasure and retention bind every provision.
    """
    wanted = frozenset(categories)
    if actor.kind == "member":
        _refuse_others(actor, subjects)
    provision = party if isinstance(party, ProvisionTo) else None
    basis = provision.basis if provision else None
    rule = _checked_request(policy, actor, purpose, action, wanted, channel, basis)
    if action is Action.PROVIDE and provision is None:
        raise Denied(
            "a provision to a third party names its recipient and basis, so that it leaves "
            "its record; provide through the provision service",
            rule="recipient_missing",
        )
    if party is not None:
        check_party(policy, party, action, purpose, wanted, now.astimezone(policy.zone).date())
    if basis is ProvisionBasis.CONSENT and not rule.needs_consent:
        rule = policy.consent_rule(rule)
    elif basis is ProvisionBasis.EXCEPTION:
        rule = policy.exempt_rule(rule)
    special = wanted & policy.special_care if basis is not ProvisionBasis.EXCEPTION else frozenset()
    check_retention = action is not Action.WRITE and not rule.system
    cutoff = _cutoff(now, rule) if check_retention else None
    provide = action is Action.PROVIDE
    allowed, refusals = [], []
    for facts in subjects:
        if consent_record:
            refusal = _refuse_erased(facts)
        else:
            refusal = _refuse_subject(facts, purpose, rule, special, cutoff, wanted, provide) or (
                _refuse_unannounced(facts, purpose, wanted, policy.channel_purposes)
                if check_retention
                else None
            )
        if refusal is None:
            allowed.append(facts.ref)
        else:
            refusals.append(refusal)
    grant = None
    if allowed:
        grant = mint(
            actor=actor.name,
            purpose=purpose,
            action=action,
            categories=wanted,
            subjects=frozenset(allowed),
        )
    return Decision(grant, refusals)


def _refuse_others(actor: Actor, subjects: Sequence[SubjectFacts]) -> None:
    """A signed-in member reaches their own record and nobody else's."""
    own = actor.name.removeprefix(MEMBER_PREFIX)
    if any(facts.ref != own for facts in subjects):
        raise Denied(
            f"'{actor.name}' may see and change only their own record", rule="own_subject_only"
        )


def _refuse_subject(
    facts: SubjectFacts,
    purpose: str,
    rule: PurposeRule,
    special: frozenset[str],
    cutoff: str | None,
    wanted: frozenset[str],
    provide: bool = False,
) -> Refusal | None:
    ref = facts.ref
    if facts.erased:
        return _refuse_erased(facts)
    suspended = facts.suspended
    if rule.exempt:
        suspended = ()
    if not rule.system and (WILDCARD in suspended or purpose in suspended):
        return Refusal(
            ref,
            "use_suspended",
            f"use of subject {ref}'s data for '{purpose}' is suspended at their request",
        )
    if provide and suspended and _provision_stopped(suspended, purpose):
        return Refusal(
            ref,
            "provision_stopped",
            f"provision of subject {ref}'s data to third parties for '{purpose}'"
            " is stopped at their request",
        )
    consent = facts.consents.get(purpose)
    if rule.needs_consent or special:
        if consent is None:
            return Refusal(
                ref, "consent_missing", f"subject {ref} has not consented to '{purpose}'"
            )
        if not consent[0]:
            return Refusal(
                ref, "consent_withdrawn", f"subject {ref} withdrew consent to '{purpose}'"
            )
        if special and not consent[2]:
            return Refusal(
                ref,
                "explicit_consent_required",
                f"{', '.join(sorted(special))} needs subject {ref}'s explicit consent to '{purpose}'",
            )
    if cutoff is not None:
        return _refuse_expired(facts, purpose, cutoff, wanted)
    return None


def _provision_stopped(suspended: Collection[str], purpose: str) -> bool:
    """Whether the person asked to stop provision for ``purpose``, or for every purpose."""
    return PROVISION_ALL in suspended or PROVISION_PREFIX + purpose in suspended


def _refuse_unannounced(
    facts: SubjectFacts,
    purpose: str,
    wanted: frozenset[str],
    announced: Mapping[str, frozenset[str]],
) -> Refusal | None:
    """Data is used only for purposes announced where it was collected (APPI Art. 18, 21),
    or for a purpose the person has consented to since."""
    consent = facts.consents.get(purpose)
    if consent is not None and consent[0]:
        return None
    collected = facts.collected
    channels = {collected[c][0] for c in wanted if c in collected}
    if not channels and facts.channel:
        channels = {facts.channel}
    missing = sorted(ch for ch in channels if purpose not in announced.get(ch, frozenset()))
    if not missing:
        return None
    return Refusal(
        facts.ref,
        "purpose_not_announced",
        f"subject {facts.ref}'s data came through {', '.join(missing)}, "
        f"which did not announce '{purpose}'",
    )


def _refuse_erased(facts: SubjectFacts) -> Refusal | None:
    if facts.erased:
        return Refusal(
            facts.ref, "subject_erased", f"subject {facts.ref} was erased at their request"
        )
    return None


_CUTOFFS: dict[tuple[int, str], str] = {}


def _cutoff(now: datetime, rule: PurposeRule) -> str:
    """The oldest collection time still within the purpose's retention, to the second."""
    key = (int(now.timestamp()), rule.key)
    cutoff = _CUTOFFS.get(key)
    if cutoff is None:
        if len(_CUTOFFS) > 1000:
            _CUTOFFS.clear()
        cutoff = _CUTOFFS[key] = to_utc_text(now.replace(microsecond=0) - rule.retention)
    return cutoff


def _refuse_expired(
    facts: SubjectFacts, purpose: str, cutoff: str, wanted: frozenset[str]
) -> Refusal | None:
    collected = facts.collected
    expired = [c for c in wanted if c in collected and collected[c][1] < cutoff]
    if not expired:
        return None
    expired.sort()
    return Refusal(
        facts.ref,
        "retention_expired",
        f"the retention period of '{purpose}' has run out for subject {facts.ref}'s {', '.join(expired)}",
    )
