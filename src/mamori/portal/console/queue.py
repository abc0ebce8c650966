"""The request queue: the open requests the signed-in staff member may work.

Overdue requests come first, then by due date (``dsr.queue.open_requests``).
The filters travel in the query string and hold only codes (a kind, a state,
"mine", "overdue only"), never a personal value. A staff member whose roles
may work no kind of request sees an empty queue and a sentence saying why;
the request desk has already audited that refusal.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response

from mamori.api.deps import WorkDep
from mamori.db.engine import Tx
from mamori.dsr import queue as desk
from mamori.dsr.states import OPEN, State
from mamori.errors import Denied
from mamori.guard.rules import Actor
from mamori.portal import i18n
from mamori.portal.console import labels
from mamori.portal.console.common import PAGE_RESPONSES, issue_csrf, no_store, signed_in
from mamori.portal.web import render
from mamori.runtime import Runtime

router = APIRouter(tags=["staff console"])
LIMIT = 1000
OPEN_STATES = [s.value for s in State if s in OPEN]


@dataclass
class Filters:
    """What the queue is narrowed to; ``errors`` names a filter whose value is not one of ours."""

    kind: str = ""
    state: str = ""
    mine: bool = False
    overdue: bool = False
    errors: dict[str, str] = field(default_factory=dict)

    @classmethod
    def from_query(cls, request: Request) -> Filters:
        query = request.query_params
        found = cls(mine=query.get("mine") == "1", overdue=query.get("overdue") == "1")
        kind, state = query.get("kind", ""), query.get("state", "")
        if kind and kind not in labels.KINDS:
            found.errors["kind"] = "kind"
        else:
            found.kind = kind
        if state and state not in OPEN_STATES:
            found.errors["state"] = "state"
        else:
            found.state = state
        return found

    def keep(self, row: dict[str, Any], actor: Actor) -> bool:
        return (
            (not self.kind or row["kind"] == self.kind)
            and (not self.mine or row["assigned_to"] == actor.name)
            and (not self.overdue or bool(row["overdue"]))
        )


def queue_rows(
    tx: Tx, rt: Runtime, actor: Actor, filters: Filters
) -> tuple[list[dict[str, Any]], list[str] | None]:
    """The rows to show and the kinds the actor may work (None: no kind at all)."""
    try:
        kinds = [k.value for k in desk.workable_kinds(rt, actor)]
    except Denied as denied:
        for record in denied.keep:  # the refusal's audit entry, in this (committing) unit
            record(tx)
        return [], None
    state = State(filters.state) if filters.state else None
    rows = desk.open_requests(tx, rt, actor=actor, state=state, limit=LIMIT)
    return [r for r in rows if filters.keep(r, actor)], kinds


def shown(row: dict[str, Any], language: str) -> dict[str, Any]:
    """A queue row as the page shows it: dates in the company's calendar, words not codes."""
    return {
        **row,
        "received": labels.day(row["received_at"], language),
        "due": labels.day(row["due_at"], language),
        "paused": labels.day(row["paused_since"], language),
    }


@router.get("/console", response_class=HTMLResponse, responses=PAGE_RESPONSES)
def queue_page(request: Request, work: WorkDep) -> Response:
    """The open requests the signed-in staff member may work, overdue first."""
    rt = work.rt
    filters = Filters.from_query(request)
    with work.begin() as tx:
        actor = signed_in(tx, rt, request)
        if not isinstance(actor, Actor):
            return actor
        rows, kinds = queue_rows(tx, rt, actor, filters)
        signout_csrf = issue_csrf(tx, rt, request)
    language = i18n.chosen(request)
    page = render(
        request,
        rt,
        "console/queue.html",
        status=422 if filters.errors else 200,
        staff=actor,
        section="queue",
        signout_csrf=signout_csrf,
        rows=[shown(r, language) for r in rows],
        kinds=kinds,
        states=OPEN_STATES,
        filters=filters,
        errors=filters.errors,
        kind_labels=labels.KINDS,
        state_labels=labels.STATES,
    )
    return no_store(page)
