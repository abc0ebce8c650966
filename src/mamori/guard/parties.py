"""The guard's rules for data that leaves the company: provision and hand-over.

A provision to a third party names its recipient and what it rests on
(consent, an announced joint use, or an APPI Art. 27(1) exception); a
hand-over to an entrusted processor names the processor. These checks are
static: they depend on the policy and today's date, never on a subject, and
refuse the whole call with a named rule. What they change per subject
(consent needed, a legal exception overriding a stop) is decided in
``mamori.guard.rules``.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date

from mamori.errors import Denied
from mamori.policy.compiled import CompiledPolicy
from mamori.policy.schemas import Action, ExceptionCode, ProvisionBasis, Recipient

MAX_REASON = 1000
EXCEPTION_CODES = frozenset(code.value for code in ExceptionCode)


@dataclass(frozen=True)
class ProvisionTo:
    """A provision to a declared third party, and what it rests on."""

    recipient: str
    basis: ProvisionBasis
    exception: str | None = None  # an ``ExceptionCode`` value, for basis exception
    reason: str | None = None  # the written reason, for basis exception

    def detail(self) -> dict[str, str]:
        shown = {"recipient": self.recipient, "basis": self.basis.value}
        if self.exception:
            shown["exception"] = self.exception
        return shown


@dataclass(frozen=True)
class HandoverTo:
    """A hand-over to an entrusted processor (not a provision: APPI Art. 27(5)(i))."""

    processor: str

    def detail(self) -> dict[str, str]:
        return {"processor": self.processor}


Party = ProvisionTo | HandoverTo


def check_party(
    policy: CompiledPolicy,
    party: Party,
    action: Action,
    purpose: str,
    categories: frozenset[str],
    today: date,
) -> None:
    """Raise ``Denied`` naming the first rule the provision or hand-over breaks."""
    if isinstance(party, ProvisionTo):
        if action is not Action.PROVIDE:
            raise Denied(
                "a provision to a third party is made with action provide",
                rule="party_action_mismatch",
            )
        _check_provision(policy, party, purpose, categories, today)
    else:
        if action is not Action.EXPORT:
            raise Denied(
                "a hand-over to a processor is made with action export",
                rule="party_action_mismatch",
            )
        _check_handover(policy, party, purpose, categories, today)


def _check_provision(
    policy: CompiledPolicy,
    party: ProvisionTo,
    purpose: str,
    categories: frozenset[str],
    today: date,
) -> None:
    recipient = policy.recipients.get(party.recipient)
    if recipient is None:
        raise Denied(
            f"the policy declares no recipient '{party.recipient}'", rule="unknown_recipient"
        )
    _check_current(recipient, today)
    if recipient.categories is not None:
        outside = sorted(categories - frozenset(recipient.categories))
        if outside:
            raise Denied(
                f"recipient '{recipient.key}' may not receive {', '.join(outside)}",
                rule="category_outside_recipient",
            )
    if party.basis is ProvisionBasis.CONSENT:
        if purpose not in recipient.purposes:
            allowed = ", ".join(recipient.purposes) or "none"
            raise Denied(
                f"recipient '{recipient.key}' may receive data only for: {allowed}; not for '{purpose}'",
                rule="recipient_not_permitted",
            )
    elif party.basis is ProvisionBasis.JOINT_USE:
        _check_joint_use(policy, recipient.key, purpose, categories, today)
    else:
        _check_exception(party)


def _check_current(recipient: Recipient, today: date) -> None:
    if recipient.since is not None and today < recipient.since:
        raise Denied(
            f"recipient '{recipient.key}' receives data only from {recipient.since.isoformat()}",
            rule="recipient_inactive",
        )
    if recipient.until is not None and today > recipient.until:
        raise Denied(
            f"recipient '{recipient.key}' received data only until {recipient.until.isoformat()}",
            rule="recipient_inactive",
        )


def _check_joint_use(
    policy: CompiledPolicy, recipient: str, purpose: str, categories: frozenset[str], today: date
) -> None:
    for use in policy.joint_uses.values():
        if recipient not in use.users or purpose not in use.purposes or use.since > today:
            continue
        if categories <= frozenset(use.categories):
            return
    raise Denied(
        f"no joint use announced with '{recipient}' covers '{purpose}' and "
        f"{', '.join(sorted(categories)) or 'these items'}",
        rule="joint_use_not_announced",
    )


def _check_exception(party: ProvisionTo) -> None:
    if party.exception not in EXCEPTION_CODES:
        codes = ", ".join(sorted(EXCEPTION_CODES))
        raise Denied(
            f"'{party.exception or ''}' is not a case of APPI Art. 27(1); the codes are: {codes}",
            rule="unknown_exception",
        )
    reason = (party.reason or "").strip()
    if not reason:
        raise Denied(
            "a provision under a legal exception needs a written reason",
            rule="exception_reason_missing",
        )
    if len(reason) > MAX_REASON:
        raise Denied(
            f"the written reason may be at most {MAX_REASON} characters",
            rule="exception_reason_missing",
        )


def _check_handover(
    policy: CompiledPolicy,
    party: HandoverTo,
    purpose: str,
    categories: frozenset[str],
    today: date,
) -> None:
    processor = policy.processors.get(party.processor)
    if processor is None:
        raise Denied(
            f"the policy declares no processor '{party.processor}'", rule="unknown_processor"
        )
    name = processor.key
    if today < processor.contract_from or (
        processor.contract_until is not None and today > processor.contract_until
    ):
        raise Denied(
            f"the contract with processor '{name}' is not in force today", rule="contract_lapsed"
        )
    if today < processor.nda_signed or (
        processor.nda_until is not None and today > processor.nda_until
    ):
        raise Denied(
            f"the non-disclosure agreement with processor '{name}' is not in force today",
            rule="nda_lapsed",
        )
    if purpose not in processor.purposes:
        raise Denied(
            f"processor '{name}' is entrusted with {', '.join(processor.purposes)}; not with '{purpose}'",
            rule="outside_processor_scope",
        )
    outside = _outside(categories, processor.categories)
    if outside:
        raise Denied(
            f"processor '{name}' is not entrusted with {', '.join(outside)}",
            rule="outside_processor_scope",
        )


def _outside(wanted: frozenset[str], allowed: Iterable[str]) -> list[str]:
    return sorted(wanted - frozenset(allowed))
