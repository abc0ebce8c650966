"""Global Privacy Control: a signed-in member's browser saying "do not sell or share".

Which purposes a GPC signal withdraws, decided here once: every purpose that
rests on consent and provides personal data to third parties. A purpose
provides to third parties when the policy says so (``third_party_provision``),
when its data use is ``third_party_sharing``, or when a recipient in the
policy is named for it; the last two are checked as well so that a policy
which forgets the flag still has its partners' purposes withdrawn. That
covers third-party marketing: marketing is third-party exactly when the data
goes to the partner who markets (the example policy's
``partner_information``). Marketing the company does itself (its newsletter,
event invitations) stays, even when an entrusted mail service sends it,
because entrustment is not provision (APPI Art. 27(5)(i)); so does any
purpose on another legal basis (GPC is an opt-out of consent, not a request to
stop a contract). In the example policy that is ``partner_information`` and
``exhibitor_introduction``.

Only consents the member has granted are withdrawn, as events with channel
``gpc``; ``consents.service.record`` records nothing for an unchanged state,
so a browser that sends the header on every request withdraws once.
"""

from __future__ import annotations

from starlette.requests import Request

from mamori.consents import service as consents
from mamori.db.engine import Tx
from mamori.portal.member import holdings
from mamori.portal.member.sessions import Member
from mamori.runtime import Runtime

HEADER = "sec-gpc"
STATEMENT = {"gpc": True, "lastUpdate": "2026-11-28"}
THIRD_PARTY_USE = "third_party_sharing"  # the data-use taxonomy's top level for sharing


def signalled(request: Request) -> bool:
    """The browser sends ``Sec-GPC: 1``."""
    return request.headers.get(HEADER, "").strip() == "1"


def gpc_purposes(rt: Runtime) -> list[str]:
    """Consent-based purposes that provide to third parties (third-party marketing included)."""
    named = {p for recipient in rt.policy.recipients.values() for p in recipient.purposes}
    return sorted(
        key
        for key, rule in rt.policy.rules.items()
        if not rule.system and rule.needs_consent and _provides(rt, key, named)
    )


def _provides(rt: Runtime, key: str, named: set[str]) -> bool:
    """Whether the purpose hands data to a third party, by any of the policy's three signs."""
    purpose = rt.policy.purposes.get(key)
    sharing = purpose is not None and purpose.data_use.split(".")[0] == THIRD_PARTY_USE
    return rt.policy.rules[key].third_party_provision or sharing or key in named


def apply(tx: Tx, rt: Runtime, request: Request, member: Member) -> bool:
    """Honour a ``Sec-GPC: 1`` header on a member page; whether the banner shows."""
    if not signalled(request):
        return False
    honour(tx, rt, member, holdings.granted_state(tx, rt, member))
    return True


def honour(tx: Tx, rt: Runtime, member: Member, granted: dict[str, bool]) -> list[str]:
    """Withdraw each granted GPC purpose with channel ``gpc``; the purposes it changed."""
    changed = []
    for purpose in gpc_purposes(rt):
        if not granted.get(purpose):
            continue
        _, did = consents.record(
            tx, rt, actor=member.actor, ref=member.ref, purpose=purpose,
            state=consents.WITHDRAWN, channel="gpc", evidence={"signal": "Sec-GPC: 1"},
        )  # fmt: skip
        if did:
            changed.append(purpose)
    return changed
