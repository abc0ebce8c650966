"""The request forms of the privacy center: which kinds a member may file, and their checks.

Each kind's form asks only what the request desk needs: a correction names one
item the member holds and its new value (checked by the category's validator,
as the desk checks it); a cessation or resumption names the member's own
purposes or all of them; an erasure must be confirmed after its preview; an
inquiry asks the contact fields the policy requires (``dsr.inquiries``). Every
problem is a key per field, which the template words next to that field; no
typed value is ever put into a problem. What passes becomes a ``NewRequest``
filed as the member, their session standing as the identity check.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from mamori.dsr import inquiries
from mamori.dsr.arrival import NewRequest
from mamori.dsr.states import INQUIRY_KINDS, IdentityMethod, Via
from mamori.errors import ValidationFailed
from mamori.policy.schemas import RequestKind
from mamori.runtime import Runtime
from mamori.subjects.service import SubjectView
from mamori.subjects.validation import normalize

# The kinds a member files here, in the order the list offers them.
KINDS: tuple[RequestKind, ...] = (
    RequestKind.DISCLOSURE,
    RequestKind.NOTIFICATION,
    RequestKind.CORRECTION,
    RequestKind.ERASURE,
    RequestKind.CESSATION_OF_USE,
    RequestKind.RESUMPTION_OF_USE,
    RequestKind.CESSATION_OF_PROVISION,
    RequestKind.RESUMPTION_OF_PROVISION,
    RequestKind.INQUIRY,
    RequestKind.COMPLAINT,
)
PURPOSE_KINDS = frozenset(
    {
        RequestKind.CESSATION_OF_USE,
        RequestKind.RESUMPTION_OF_USE,
        RequestKind.CESSATION_OF_PROVISION,
        RequestKind.RESUMPTION_OF_PROVISION,
    }
)
PROVISION_KINDS = frozenset(
    {RequestKind.CESSATION_OF_PROVISION, RequestKind.RESUMPTION_OF_PROVISION}
)
VIA = Via.PORTAL
VALUE_MAX = 500
# Posted text is cut here before any check: long enough that a value over its
# limit is still seen as too long, short enough that a page cannot be flooded.
POSTED_MAX = inquiries.MAX_LENGTH["description"] + 1


def kind_named(name: str) -> RequestKind | None:
    """The kind a query or form names, if the center files it."""
    return next((k for k in KINDS if k.value == name), None)


@dataclass
class Checked:
    """A form's outcome: the request to file, or each field's problem key."""

    new: NewRequest | None = None
    fields: dict[str, str] = field(default_factory=dict)
    problems: dict[str, str] = field(default_factory=dict)


def own_purposes(rt: Runtime, view: SubjectView, kind: RequestKind) -> list[str]:
    """The purposes the member's channels announced; for provision, those that provide."""
    channels = {view.channel} | {s[0] for s in view.sources.values() if s}
    keys = set().union(*(rt.policy.channel_purposes.get(c, frozenset()) for c in channels))
    rules = rt.policy.rules
    return sorted(
        k
        for k in keys
        if k in rules
        and not rules[k].system
        and (kind not in PROVISION_KINDS or rules[k].third_party_provision)
    )


def held_items(rt: Runtime, view: SubjectView) -> list[str]:
    """The categories the member holds a value in, in the policy's order."""
    return [key for key in rt.policy.categories if key in view.values]


def check(
    rt: Runtime, kind: RequestKind, posted: Mapping[str, Any], ref: str, view: SubjectView | None
) -> Checked:
    """Check the posted form of ``kind`` for the member ``ref``; a request, or problems.

    ``view`` (the member's values) is needed by a correction and by the purpose kinds only.
    """
    if kind in INQUIRY_KINDS:
        return _inquiry(rt, posted)
    if kind is RequestKind.CORRECTION:
        assert view is not None
        return _correction(rt, kind, posted, view)
    if kind in PURPOSE_KINDS:
        assert view is not None
        return _purposes(rt, kind, posted, view)
    if kind is RequestKind.ERASURE and posted.get("confirm") != "yes":
        return Checked(problems={"confirm": "required"})
    return Checked(new=_new(kind, ref))


NEEDS_VALUES = PURPOSE_KINDS | {RequestKind.CORRECTION}


def _new(kind: RequestKind, ref: str, **more: Any) -> NewRequest:
    return NewRequest(kind=kind, via=VIA, subject=ref, identity=IdentityMethod.SIGNED_IN, **more)


def _correction(
    rt: Runtime, kind: RequestKind, posted: Mapping[str, Any], view: SubjectView
) -> Checked:
    item, value = str(posted.get("item", "")), str(posted.get("value", "")).strip()
    typed = {"item": item, "value": value}
    if item not in held_items(rt, view):
        return Checked(fields=typed, problems={"item": "required"})
    if not value:
        return Checked(fields=typed, problems={"value": "required"})
    if len(value) > VALUE_MAX:
        return Checked(fields=typed, problems={"value": "too_long"})
    try:
        normalize(rt.policy.categories[item].validator, value, category=item)
    except ValidationFailed:
        return Checked(fields=typed, problems={"value": "invalid"})
    return Checked(new=_new(kind, view.ref, values={item: value}), fields=typed)


def _purposes(
    rt: Runtime, kind: RequestKind, posted: Mapping[str, Any], view: SubjectView
) -> Checked:
    scope = str(posted.get("scope", ""))
    chosen = sorted({str(p) for p in posted.get("purpose", [])})
    typed = {"scope": scope, "purposes": ",".join(chosen)}
    if scope == "all":
        return Checked(new=_new(kind, view.ref), fields=typed)
    if scope != "some":
        return Checked(fields=typed, problems={"scope": "required"})
    offered = own_purposes(rt, view, kind)
    if not chosen:
        return Checked(fields=typed, problems={"purpose": "required"})
    if any(p not in offered for p in chosen):
        return Checked(fields=typed, problems={"purpose": "invalid"})
    return Checked(new=_new(kind, view.ref, purposes=chosen), fields=typed)


def _inquiry(rt: Runtime, posted: Mapping[str, Any]) -> Checked:
    """The contact fields the desk requires, each missing, too long or invalid one named."""
    typed = {name: str(posted.get(name, "")) for name in inquiries.FIELDS}
    problems: dict[str, str] = {}
    try:
        inquiries.check_fields(typed, VIA)
    except ValidationFailed as invalid:
        for problem in invalid.fields.get("problems", []):
            name = problem.split(" ", 1)[0]
            problems[name] = "too_long" if "longer than" in problem else "required"
    for name, category in inquiries.FIELDS.items():
        given = typed[name].strip()
        spec = rt.policy.categories.get(category)
        if name in problems or not given or spec is None:
            continue
        try:
            normalize(spec.validator, given, category=category)
        except ValidationFailed:
            problems[name] = "invalid"
    return Checked(fields=typed, problems=problems)
