"""The console's provision records (APPI Art. 29): the list, and one record with its subjects.

Records are read through ``recipients.records`` as the signed-in staff
member, so only a role that provides data, audits or is privileged sees
them, and every read (or refusal) leaves its audit entry there. Records name
people by reference only; a reference links to the look-up, which asks for a
purpose before it shows anything. The list is filtered by recipient and days
in the query; it shows the newest hundred.
"""

from __future__ import annotations

import re
from datetime import date
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response

from mamori.api.deps import WorkDep
from mamori.db.base import from_utc_text
from mamori.errors import MamoriError, ValidationFailed
from mamori.portal import i18n
from mamori.portal.console.common import PAGE_RESPONSES, no_store, refused, signed_in
from mamori.portal.web import render
from mamori.recipients import records
from mamori.runtime import Runtime

router = APIRouter(tags=["staff console"])
LIMIT = 100
_REF = re.compile(r"^p[a-z2-7]{16}$")


def local_time(rt: Runtime, stored: str | None) -> str:
    """A stored UTC time as the company's local date and minute."""
    if not stored:
        return ""
    return from_utc_text(stored).astimezone(rt.policy.zone).strftime("%Y-%m-%d %H:%M")


def titled(rt: Runtime, lang: str, record: dict[str, Any]) -> dict[str, Any]:
    """A record with its recipient, purpose and categories named in the page's language."""
    policy = rt.policy
    recipient = policy.recipients.get(record["recipient"])
    purpose = policy.purposes.get(record["purpose"])
    categories = [
        getattr(policy.categories[c].title, lang) if c in policy.categories else c
        for c in record["categories"]
    ]
    return {
        **record,
        "when": local_time(rt, record["at"]),
        "kept_until": local_time(rt, record["keep_until"])[:10],
        "recipient_name": getattr(recipient.name, lang) if recipient else record["recipient"],
        "purpose_title": getattr(purpose.title, lang) if purpose else record["purpose"],
        "category_titles": categories,
    }


def read_filter(
    rt: Runtime, query: dict[str, str]
) -> tuple[dict[str, str], dict[str, str], records.RecordFilter]:
    """What was typed, each field's problem, and the filter for ``list_records``."""
    typed = {k: query.get(k, "").strip()[:40] for k in ("recipient", "from", "to")}
    problems: dict[str, str] = {}
    if typed["recipient"] and typed["recipient"] not in rt.policy.recipients:
        problems["recipient"] = "recipient"
    days: dict[str, date | None] = {}
    for name in ("from", "to"):
        try:
            days[name] = records.parse_day(typed[name] or None, name)
        except ValidationFailed:
            days[name], problems[name] = None, "day"
    first, last = records.day_bounds(rt, days["from"], days["to"])
    where = records.RecordFilter(typed["recipient"] or None, first, last, None, LIMIT)
    return typed, problems, where


@router.get("/console/provisions", response_class=HTMLResponse, responses=PAGE_RESPONSES)
def provision_list(request: Request, work: WorkDep) -> Response:
    """Provision records, newest first, by recipient and days (roles that provide, audit, or are privileged)."""
    rt = work.rt
    lang = i18n.chosen(request)
    typed, problems, where = read_filter(rt, dict(request.query_params))
    rows: list[dict[str, Any]] = []
    try:
        with work.begin() as tx:
            actor = signed_in(tx, rt, request)
            if isinstance(actor, Response):
                return actor
            if not problems:
                rows = records.list_records(tx, rt, actor=actor, where=where)
    except MamoriError as error:
        return refused(request, rt, error)
    recipients = [(k, getattr(r.name, lang)) for k, r in rt.policy.recipients.items()]
    page = render(
        request,
        rt,
        "console/provisions.html",
        status=422 if problems else 200,
        staff=actor,
        section="provisions",
        typed=typed,
        problems=problems,
        recipients=recipients,
        records=[titled(rt, lang, r) for r in rows],
        limit=LIMIT,
    )
    return no_store(page)


@router.get(
    "/console/provisions/{provision}", response_class=HTMLResponse, responses=PAGE_RESPONSES
)
def provision_record(request: Request, work: WorkDep, provision: str) -> Response:
    """One provision record with its subjects' references (the read is audited)."""
    rt = work.rt
    lang = i18n.chosen(request)
    try:
        with work.begin() as tx:
            actor = signed_in(tx, rt, request)
            if isinstance(actor, Response):
                return actor
            # A malformed reference is still looked for (and its refusal audited), by a placeholder.
            wanted = provision if _REF.fullmatch(provision) else "<malformed>"
            record = records.show_record(tx, rt, actor=actor, ref=wanted)
    except MamoriError as error:
        return refused(request, rt, error)
    shown = titled(rt, lang, record)
    for subject in shown["subjects"]:
        subject["consent_when"] = local_time(rt, subject["consent_at"])
    page = render(
        request, rt, "console/provision.html", staff=actor, section="provisions", record=shown
    )
    return no_store(page)
