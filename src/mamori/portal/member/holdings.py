"""What a member's page shows: their values by category, why they are held, their consents.

Everything is read through the guard as the member actor under
``dsr.disclosure`` (so each read is audited), and turned into plain rows the
templates put in the page's language. Titles come from the policy in both
languages; legal bases and retention units are keys the templates translate.
Dates are days of the company's calendar (its policy's zone), not of UTC.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from mamori.consents import service as consents
from mamori.db.engine import Tx
from mamori.portal.member.sessions import Member
from mamori.runtime import Runtime
from mamori.subjects import service

DISCLOSURE = "dsr.disclosure"
CORRECTION = "dsr.correction"
_DURATION = re.compile(r"P(?:(\d+)Y)?(?:(\d+)M)?(?:(\d+)D)?")


@dataclass
class Holdings:
    """One member's record as the page shows it."""

    values: dict[str, str]
    rows: list[dict[str, Any]]
    purposes: list[dict[str, Any]]
    switches: list[dict[str, Any]]
    granted: dict[str, bool] = field(default_factory=dict)
    channel: str = ""
    since: str = ""


def read_values(tx: Tx, rt: Runtime, member: Member) -> service.SubjectView:
    """Every value held about the member, read as them for disclosure (audited)."""
    return service.read(tx, rt, actor=member.actor, ref=member.ref, purpose=DISCLOSURE)


def granted_state(tx: Tx, rt: Runtime, member: Member) -> dict[str, bool]:
    """Purpose → whether consent is in force now, from the member's consent events."""
    events = consents.history(tx, rt, actor=member.actor, ref=member.ref, purpose=DISCLOSURE)
    return {p: bool(entry[0]) for p, entry in consents.derive_state(events).items()}


def local_date(rt: Runtime, moment: object) -> str:
    """The day of a stored UTC time in the company's zone (``rt.policy.zone``), as YYYY-MM-DD.

    A value collected at 20:00 UTC was collected the next morning in Tokyo,
    and the member reads the day as the company keeps its calendar.
    """
    if isinstance(moment, datetime):
        at = moment
    else:
        try:
            at = datetime.fromisoformat(str(moment).replace("Z", "+00:00"))
        except ValueError:
            return str(moment)[:10]
    if at.tzinfo is None:
        at = at.replace(tzinfo=UTC)
    return at.astimezone(rt.policy.zone).date().isoformat()


def retention(iso: str) -> list[tuple[int, str]]:
    """``P5Y`` → [(5, "years")]: numbers and units the template words."""
    match = _DURATION.fullmatch(iso)
    if match is None:
        return []
    units = ("years", "months", "days")
    return [(int(n), u) for n, u in zip(match.groups(), units, strict=True) if n]


def gather(tx: Tx, rt: Runtime, member: Member, language: str) -> Holdings:
    """The member's values, purposes and consent switches, ready for the template."""
    view = read_values(tx, rt, member)
    granted = granted_state(tx, rt, member)
    policy = rt.policy

    def title(obj: Any) -> str:
        return str(getattr(obj.title, language))

    rows = []
    for key in sorted(view.values):
        channel, collected_at = (view.sources.get(key) or [view.channel, view.created_at])[:2]
        rows.append(
            {
                "category": title(policy.categories[key]) if key in policy.categories else key,
                "value": view.values[key],
                "since": local_date(rt, collected_at),
                "channel": title(policy.channels[channel]) if channel in policy.channels else "",
            }
        )
    announced = sorted(policy.channel_purposes.get(view.channel, frozenset()))
    purposes = [
        {
            "title": title(policy.purposes[p]),
            "basis": policy.purposes[p].legal_basis.value,
            "retention": retention(policy.purposes[p].retention),
        }
        for p in announced
        if p in policy.purposes
    ]
    consent_keys = {p for p in announced if policy.rules[p].needs_consent} | {
        p for p in granted if p in policy.rules and policy.rules[p].needs_consent
    }
    switches = [
        {"key": p, "title": title(policy.purposes[p]), "on": granted.get(p, False)}
        for p in sorted(consent_keys)
    ]
    channel = title(policy.channels[view.channel]) if view.channel in policy.channels else ""
    return Holdings(
        view.values, rows, purposes, switches, granted, channel, local_date(rt, view.created_at)
    )
