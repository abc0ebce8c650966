"""The console's audit trail: the log's entries, newest first, with filters.

Who may read it is who may read it through the API: a role the policy marks
``auditor`` (``require_flag``, which audits a refusal). Filters travel in the
query (actor, outcome, rule, purpose, a range of days) and hold names and
keys only, never a personal value, as the entries themselves do. Pages hold
fifty entries; "next" carries the sequence number to continue below. The
chain is not verified here: that walks the whole log (``mamori audit verify``).
"""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import urlencode

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response

from mamori.api.deps import WorkDep, require_flag
from mamori.db.base import from_utc_text
from mamori.errors import MamoriError
from mamori.portal.console import trail
from mamori.portal.console.common import PAGE_RESPONSES, no_store, refused, signed_in
from mamori.portal.web import render
from mamori.runtime import Runtime

router = APIRouter(tags=["staff console"])
_DETAIL_CHARS = 300


def shown(rt: Runtime, entry: dict[str, Any]) -> dict[str, Any]:
    """An entry as a table row: the time in the company's zone, the detail as short JSON."""
    local = from_utc_text(entry["at"]).astimezone(rt.policy.zone)
    detail = (
        json.dumps(entry["detail"], ensure_ascii=False, sort_keys=True) if entry["detail"] else ""
    )
    if len(detail) > _DETAIL_CHARS:
        detail = detail[: _DETAIL_CHARS - 1] + "…"
    return {**entry, "at": local.strftime("%Y-%m-%d %H:%M:%S"), "detail": detail}


def link(where: trail.TrailFilter, cursor: int | None = None) -> str:
    """The page's address with the same filters, continuing below ``cursor`` if given."""
    kept: dict[str, str | int] = {k: v for k, v in where.typed.items() if v}
    if cursor is not None:
        kept["before"] = cursor
    return "/console/audit" + ("?" + urlencode(kept) if kept else "")


@router.get("/console/audit", response_class=HTMLResponse, responses=PAGE_RESPONSES)
def audit_trail(request: Request, work: WorkDep) -> Response:
    """Audit entries, newest first, filtered by actor, outcome, rule, purpose and days (auditors)."""
    rt = work.rt
    where = trail.read_filter(rt, dict(request.query_params))
    entries: list[dict[str, Any]] = []
    cursor = None
    try:
        with work.begin() as tx:
            actor = signed_in(tx, rt, request)
            if isinstance(actor, Response):
                return actor
            require_flag(tx, rt, actor, "auditor", "read the audit log")
            if not where.problems:
                entries, cursor = trail.page(tx, where)
    except MamoriError as error:
        return refused(request, rt, error)
    page = render(
        request,
        rt,
        "console/audit.html",
        status=422 if where.problems else 200,
        staff=actor,
        section="audit",
        typed=where.typed,
        problems=where.problems,
        outcomes=trail.OUTCOMES,
        entries=[shown(rt, e) for e in entries],
        first_url=link(where) if where.before is not None else None,
        next_url=link(where, cursor) if cursor is not None else None,
    )
    return no_store(page)
