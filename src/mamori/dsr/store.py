"""Rows of data-subject requests and their history, in plain SQL.

Only the ``dsr`` domain reads or writes these tables. A request row carries no
personal value: the subject by id (its reference is joined in), purposes and
categories by key, pending corrections sealed.
"""

from __future__ import annotations

import base64
import json
import secrets
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from mamori.db.base import from_utc_text, to_utc_text
from mamori.db.engine import Tx
from mamori.dsr.states import State
from mamori.errors import NotFound
from mamori.policy.schemas import RequestKind

COLUMNS = (
    "r.id, r.ref, r.kind, r.state, r.subject_id, s.ref, r.received_via, r.received_at, r.due_at,"
    " r.paused_since, r.paused_seconds, r.assigned_to, r.purposes, r.categories, r.pending,"
    " r.language, r.fee_yen, r.fee_paid_at, r.identity_method, r.identity_by, r.identity_at,"
    " r.reason, r.duplicate_of, r.outcome, r.created_by, r.closed_at, r.updated_at"
)
FROM = "FROM dsr_requests r LEFT JOIN subjects s ON s.id = r.subject_id"


def new_ref() -> str:
    """A public request reference: 80 random bits, safe to say on the phone or put in a URL."""
    return "r" + base64.b32encode(secrets.token_bytes(10)).decode().lower()


def _time(value: str | None) -> datetime | None:
    return None if value is None else from_utc_text(value)


@dataclass
class RequestRow:
    id: int
    ref: str
    kind: RequestKind
    state: State
    subject_id: int | None
    subject_ref: str | None
    received_via: str
    received_at: datetime
    due_at: datetime | None
    paused_since: datetime | None
    paused_seconds: float
    assigned_to: str
    purposes: list[str]
    categories: list[str]
    pending: bytes | None
    language: str
    fee_yen: int
    fee_paid_at: datetime | None
    identity_method: str | None
    identity_by: str | None
    identity_at: datetime | None
    reason: str | None
    duplicate_of: int | None
    outcome: dict[str, Any]
    created_by: str
    closed_at: datetime | None
    updated_at: datetime
    changed: set[str] = field(default_factory=set)

    @classmethod
    def from_db(cls, row: Any) -> RequestRow:
        values = list(row)
        return cls(
            id=int(values[0]),
            ref=values[1],
            kind=RequestKind(values[2]),
            state=State(values[3]),
            subject_id=values[4],
            subject_ref=values[5],
            received_via=values[6],
            received_at=from_utc_text(values[7]),
            due_at=_time(values[8]),
            paused_since=_time(values[9]),
            paused_seconds=float(values[10]),
            assigned_to=values[11],
            purposes=json.loads(values[12]),
            categories=json.loads(values[13]),
            pending=None if values[14] is None else bytes(values[14]),
            language=values[15],
            fee_yen=int(values[16]),
            fee_paid_at=_time(values[17]),
            identity_method=values[18],
            identity_by=values[19],
            identity_at=_time(values[20]),
            reason=values[21],
            duplicate_of=values[22],
            outcome=json.loads(values[23]),
            created_by=values[24],
            closed_at=_time(values[25]),
            updated_at=from_utc_text(values[26]),
        )

    def set(self, **values: Any) -> None:
        """Change fields; ``save`` writes only what changed."""
        for name, value in values.items():
            setattr(self, name, value)
            self.changed.add(name)


_JSON_FIELDS = frozenset({"purposes", "categories", "outcome"})


def _column(name: str, value: Any) -> Any:
    if name in _JSON_FIELDS:
        return json.dumps(value, ensure_ascii=False, sort_keys=True)
    if isinstance(value, datetime):
        return to_utc_text(value)
    if isinstance(value, State | RequestKind):
        return value.value
    return value


def save(tx: Tx, row: RequestRow, now: datetime) -> None:
    row.set(updated_at=now)
    names = sorted(row.changed)
    assignments = ", ".join(f"{n} = ?" for n in names)
    params = [_column(n, getattr(row, n)) for n in names]
    tx.execute(f"UPDATE dsr_requests SET {assignments} WHERE id = ?", (*params, row.id))
    row.changed.clear()


def insert(tx: Tx, values: dict[str, Any]) -> int:
    names = list(values)
    marks = ",".join("?" * len(names))
    params = [_column(n, values[n]) for n in names]
    tx.execute(f"INSERT INTO dsr_requests ({', '.join(names)}) VALUES ({marks})", params)
    found = tx.fetchone("SELECT id FROM dsr_requests WHERE ref = ?", (values["ref"],))
    return int(found[0])


def load(tx: Tx, ref: str, *, for_update: bool = False) -> RequestRow:
    lock = " FOR UPDATE OF r" if for_update and tx.is_pg else ""
    row = tx.fetchone(f"SELECT {COLUMNS} {FROM} WHERE r.ref = ?{lock}", (ref,))
    if row is None:
        raise NotFound(f"there is no request {ref}", code="unknown_request")
    return RequestRow.from_db(row)


def load_by_id(tx: Tx, request_id: int) -> RequestRow:
    row = tx.fetchone(f"SELECT {COLUMNS} {FROM} WHERE r.id = ?", (request_id,))
    if row is None:
        raise NotFound(f"there is no request #{request_id}", code="unknown_request")
    return RequestRow.from_db(row)


def open_duplicate(
    tx: Tx, subject_id: int, kind: RequestKind, purposes: list[str], categories: list[str]
) -> RequestRow | None:
    """An open request of the same person for the same thing, if there is one."""
    marks = ",".join("?" * len(_OPEN_STATES))
    rows = tx.fetchall(
        f"SELECT {COLUMNS} {FROM} WHERE r.subject_id = ? AND r.kind = ? AND r.state IN ({marks})"
        " ORDER BY r.id",
        (subject_id, kind.value, *_OPEN_STATES),
    )
    for raw in rows:
        row = RequestRow.from_db(raw)
        if sorted(row.purposes) == sorted(purposes) and sorted(row.categories) == sorted(
            categories
        ):
            return row
    return None


_OPEN_STATES = ("received", "identity_check", "in_progress", "awaiting_fee")


def add_event(
    tx: Tx,
    *,
    request_id: int,
    at: datetime,
    actor: str,
    action: str,
    from_state: State | None,
    to_state: State,
    detail: dict[str, Any] | None = None,
) -> None:
    tx.execute(
        "INSERT INTO dsr_events (request_id, at, actor, action, from_state, to_state, detail)"
        " VALUES (?,?,?,?,?,?,?)",
        (
            request_id,
            to_utc_text(at),
            actor,
            action,
            None if from_state is None else from_state.value,
            to_state.value,
            json.dumps(detail or {}, ensure_ascii=False, sort_keys=True),
        ),
    )


def events(tx: Tx, request_id: int) -> list[dict[str, Any]]:
    rows = tx.fetchall(
        "SELECT at, actor, action, from_state, to_state, detail FROM dsr_events"
        " WHERE request_id = ? ORDER BY id",
        (request_id,),
    )
    return [
        {
            "at": at,
            "actor": actor,
            "action": action,
            "from": from_state,
            "to": to_state,
            "detail": json.loads(detail),
        }
        for at, actor, action, from_state, to_state, detail in rows
    ]
