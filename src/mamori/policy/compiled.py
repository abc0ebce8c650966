"""The policy as the guard consults it: indexed once, looked up in O(1).

Built from a validated ``Policy`` plus the system purposes. Nothing here
decides an access; it only answers questions about what the policy says.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import timedelta
from functools import cached_property
from zoneinfo import ZoneInfo

from mamori.errors import NotFound
from mamori.policy.schemas import (
    Action,
    Channel,
    DataCategory,
    JointUse,
    LegalBasis,
    Policy,
    Processor,
    Purpose,
    Recipient,
    Role,
)
from mamori.policy.system import ALL_CATEGORIES, SYSTEM_PURPOSES

# The built-in role under which Mamori acts for a requester (a download of their
# report, a portal request): it may use the system purposes and nothing else.
SYSTEM_REQUESTS_ROLE = "system.requests"
# The built-in role of a signed-in web member in the privacy center: the system
# purposes, and recording their own consents, for their own record only (the
# guard's rule own_subject_only).
SYSTEM_MEMBER_ROLE = "system.member"
MEMBER_PREFIX = "member:"
# The purpose inquiries and complaints are received for (a person's own words
# and contact details), and the built-in role of the privacy center's inquiry
# form: registering an inquirer for that purpose and opening their inquiry,
# nothing else. Its actor is named ``center:<member ref>`` for the member who
# typed it, so the member can follow what they filed.
INQUIRY_PURPOSE = "inquiry_handling"
SYSTEM_INTAKE_ROLE = "system.intake"
INTAKE_PREFIX = "center:"


@dataclass(frozen=True)
class PurposeRule:
    """What the guard needs to know about one purpose."""

    key: str
    categories: frozenset[str] | None  # None: every category (system purposes)
    needs_consent: bool
    retention: timedelta
    third_party_provision: bool
    system: bool
    # A provision under a legal exception (APPI Art. 27(1)): no consent needed,
    # and a person's stop of use or provision does not hold it back.
    exempt: bool = False


@dataclass
class CompiledPolicy:
    source: Policy
    purposes: dict[str, Purpose] = field(default_factory=dict)
    rules: dict[str, PurposeRule] = field(default_factory=dict)
    categories: dict[str, DataCategory] = field(default_factory=dict)
    channels: dict[str, Channel] = field(default_factory=dict)
    roles: dict[str, Role] = field(default_factory=dict)
    special_care: frozenset[str] = frozenset()
    # (role, purpose) -> actions the role may take for that purpose
    permissions: dict[tuple[str, str], frozenset[Action]] = field(default_factory=dict)
    # channel -> the purposes it announces at collection
    channel_purposes: dict[str, frozenset[str]] = field(default_factory=dict)
    recipients: dict[str, Recipient] = field(default_factory=dict)
    joint_uses: dict[str, JointUse] = field(default_factory=dict)
    processors: dict[str, Processor] = field(default_factory=dict)
    # The guard's static checks, remembered per (actor, purpose, action, categories, channel).
    static_decisions: dict[tuple[object, ...], object] = field(default_factory=dict)

    @classmethod
    def build(cls, policy: Policy) -> CompiledPolicy:
        compiled = cls(source=policy)
        compiled.categories = {c.key: c for c in policy.data_categories}
        compiled.special_care = frozenset(
            k for k, c in compiled.categories.items() if c.special_care
        )
        compiled.purposes = {**{p.key: p for p in policy.purposes}, **SYSTEM_PURPOSES}
        compiled.rules = {k: _rule(p) for k, p in compiled.purposes.items()}
        compiled.channels = {c.key: c for c in policy.channels}
        compiled.channel_purposes = {c.key: frozenset(c.purposes) for c in policy.channels}
        compiled.roles = {r.key: r for r in policy.roles}
        compiled.recipients = {r.key: r for r in policy.recipients}
        compiled.joint_uses = {j.key: j for j in policy.joint_uses}
        compiled.processors = {p.key: p for p in policy.processors}
        for role in policy.roles:
            for permission in role.permissions:
                for purpose in permission.purposes:
                    key = (role.key, purpose)
                    actions = compiled.permissions.get(key, frozenset())
                    compiled.permissions[key] = actions | frozenset(permission.actions)
        for purpose in SYSTEM_PURPOSES:
            for system_role in (SYSTEM_REQUESTS_ROLE, SYSTEM_MEMBER_ROLE):
                compiled.permissions[(system_role, purpose)] = frozenset(
                    {Action.READ, Action.WRITE, Action.EXPORT}
                )
        if INQUIRY_PURPOSE in compiled.purposes:
            compiled.permissions[(SYSTEM_INTAKE_ROLE, INQUIRY_PURPOSE)] = frozenset(
                {Action.READ, Action.WRITE}
            )
        for declared in policy.purposes:
            if declared.legal_basis is LegalBasis.CONSENT:
                compiled.permissions[(SYSTEM_MEMBER_ROLE, declared.key)] = frozenset({Action.WRITE})
        return compiled

    @cached_property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.source.company.timezone)

    def consent_rule(self, rule: PurposeRule) -> PurposeRule:
        """``rule`` as a provision on consent sees it: consent needed whatever the basis."""
        return replace(rule, needs_consent=True)

    def exempt_rule(self, rule: PurposeRule) -> PurposeRule:
        """``rule`` as a provision under a legal exception sees it."""
        return replace(rule, needs_consent=False, exempt=True)

    def purpose(self, key: str) -> Purpose:
        try:
            return self.purposes[key]
        except KeyError:
            raise NotFound(
                f"the policy declares no purpose '{key}'", code="unknown_purpose"
            ) from None

    def channel(self, key: str) -> Channel:
        try:
            return self.channels[key]
        except KeyError:
            raise NotFound(
                f"the policy declares no channel '{key}'", code="unknown_channel"
            ) from None

    def category(self, key: str) -> DataCategory:
        try:
            return self.categories[key]
        except KeyError:
            raise NotFound(
                f"the policy declares no data category '{key}'", code="unknown_category"
            ) from None

    def actions_for(self, roles: tuple[str, ...], purpose: str) -> frozenset[Action]:
        allowed: frozenset[Action] = frozenset()
        for role in roles:
            allowed |= self.permissions.get((role, purpose), frozenset())
        return allowed

    def purposes_for(self, roles: tuple[str, ...]) -> list[str]:
        """The purposes any of ``roles`` may use, for messages that say what is possible."""
        return sorted({p for (r, p) in self.permissions if r in roles})

    def categories_of(self, purpose: str) -> frozenset[str]:
        rule = self.rules[purpose]
        return frozenset(self.categories) if rule.categories is None else rule.categories

    def recipient(self, key: str) -> Recipient:
        try:
            return self.recipients[key]
        except KeyError:
            raise NotFound(
                f"the policy declares no recipient '{key}'", code="unknown_recipient"
            ) from None

    def processor(self, key: str) -> Processor:
        try:
            return self.processors[key]
        except KeyError:
            raise NotFound(
                f"the policy declares no processor '{key}'", code="unknown_processor"
            ) from None

    def lookup_categories(self) -> list[DataCategory]:
        return [c for c in self.categories.values() if c.lookup]


def _rule(purpose: Purpose) -> PurposeRule:
    system = purpose.key in SYSTEM_PURPOSES
    everything = ALL_CATEGORIES in purpose.categories
    return PurposeRule(
        key=purpose.key,
        categories=None if everything else frozenset(purpose.categories),
        needs_consent=purpose.legal_basis is LegalBasis.CONSENT,
        retention=purpose.retention_period,
        third_party_provision=purpose.third_party_provision,
        system=system,
    )
