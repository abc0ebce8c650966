"""Provision records (APPI Art. 29) and receipt records (Art. 30): read, and purged when due.

Records name subjects by reference only. Reading them is itself an access
worth a trace: each read leaves one audit entry, and only a role that may
provide for some purpose, or a role the policy marks ``auditor`` or
``privileged``, may read them; anyone else is refused, audited. A record is
kept until its ``keep_until`` (three years, or one when the contract with the
recipient is the record) and then deleted with its subject rows.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any

from mamori.audit.service import Entry
from mamori.db.base import to_utc_text
from mamori.db.engine import Tx
from mamori.errors import NotFound, ValidationFailed
from mamori.guard.rules import Actor
from mamori.guard.service import refuse
from mamori.recipients import access
from mamori.runtime import Runtime

WHAT = "provision records"
_FIELDS = (
    "ref, at, actor, recipient, party_version, purpose, categories, basis, exception_code,"
    " reason, subject_count, refused_count, export_format, export_digest, keep_until"
)
_NAMES = [f.strip() for f in _FIELDS.split(",")]


@dataclass(frozen=True)
class RecordFilter:
    recipient: str | None = None
    since: str | None = None  # UTC text, inclusive
    until: str | None = None  # UTC text, exclusive
    subject: str | None = None
    limit: int = 100


def _shape(row: Any) -> dict[str, Any]:
    record = dict(zip(_NAMES, row, strict=True))
    record["categories"] = json.loads(record["categories"])
    return record


def list_records(tx: Tx, rt: Runtime, *, actor: Actor, where: RecordFilter) -> list[dict[str, Any]]:
    """Provision records, newest first, by recipient, time range or subject."""
    shown = {k: v for k, v in where.__dict__.items() if v is not None and k != "limit"}
    refs = [where.subject] if where.subject else []
    access.require_reader(tx, rt, actor, WHAT, refs=refs, detail={"filter": shown})
    clauses, params = ["1 = 1"], []
    for clause, value in (
        ("recipient = ?", where.recipient),
        ("at >= ?", where.since),
        ("at < ?", where.until),
        (
            "id IN (SELECT ps.provision_id FROM provision_subjects ps JOIN subjects s"
            " ON s.id = ps.subject_id WHERE s.ref = ?)",
            where.subject,
        ),
    ):
        if value is not None:
            clauses.append(clause)
            params.append(value)
    sql = (
        f"SELECT {_FIELDS} FROM provisions WHERE {' AND '.join(clauses)}"
        " ORDER BY at DESC, id DESC LIMIT ?"
    )
    return [_shape(r) for r in tx.fetchall(sql, (*params, max(1, min(where.limit, 1000))))]


def show_record(tx: Tx, rt: Runtime, *, actor: Actor, ref: str) -> dict[str, Any]:
    """One provision record with its subjects' references and the consents they rested on."""
    detail = {"provision": ref}
    access.refuse_unless_reader(rt, actor, WHAT, detail)
    row = tx.fetchone(f"SELECT id, {_FIELDS} FROM provisions WHERE ref = ?", (ref,))
    if row is None:
        missing = NotFound(f"there is no provision record {ref}", code="unknown_provision")
        shown = {"read": WHAT, **detail}
        entry = Entry(
            actor.name, access.RECORDS_PURPOSE, "read", [], [], "denied", "unknown_provision", shown
        )
        raise refuse(rt, missing, entry)
    record = _shape(row[1:])
    subjects = tx.fetchall(
        "SELECT s.ref, ps.consent_at, ps.consent_notice FROM provision_subjects ps"
        " JOIN subjects s ON s.id = ps.subject_id WHERE ps.provision_id = ? ORDER BY s.ref",
        (row[0],),
    )
    record["subjects"] = [
        {"ref": s[0], "consent_at": s[1], "consent_notice": s[2]} for s in subjects
    ]
    refs = [s["ref"] for s in record["subjects"]]
    access.record_read(tx, rt, actor, WHAT, refs=refs, detail=detail)
    return record


def purge_expired(rt: Runtime) -> dict[str, int]:
    """Delete provision and receipt records past ``keep_until``; returns how many of each."""
    with rt.db.transaction() as tx:
        return purge_expired_in(tx, rt)


def purge_expired_in(tx: Tx, rt: Runtime) -> dict[str, int]:
    now = to_utc_text(rt.now())
    counts = {}
    for table, child, column in (
        ("provisions", "provision_subjects", "provision_id"),
        ("receipts", "receipt_subjects", "receipt_id"),
    ):
        due = [r[0] for r in tx.fetchall(f"SELECT id FROM {table} WHERE keep_until < ?", (now,))]
        for start in range(0, len(due), 500):
            chunk = due[start : start + 500]
            marks = ",".join("?" * len(chunk))
            # The subject rows cascade; deleted here too so no database setting is relied on.
            tx.execute(f"DELETE FROM {child} WHERE {column} IN ({marks})", chunk)
            tx.execute(f"DELETE FROM {table} WHERE id IN ({marks})", chunk)
        counts[table] = len(due)
    if any(counts.values()):
        entry = Entry(
            "system", access.RECORDS_PURPOSE, "purge", [], [], "done", "retention_ended", counts
        )
        rt.audit.append(tx, entry, at=rt.now())
    return counts


# -- for the disclosure report (the guard has granted it already) ---------------------


def for_subject(tx: Tx, subject_id: int) -> dict[str, list[dict[str, Any]]]:
    """The subject's provision and receipt records, with each party as declared that day."""
    provisions = tx.fetchall(
        "SELECT p.at, p.recipient, pv.snapshot, p.purpose, p.categories, p.basis,"
        " p.exception_code, ps.consent_at FROM provision_subjects ps"
        " JOIN provisions p ON p.id = ps.provision_id LEFT JOIN party_versions pv"
        " ON pv.kind = 'recipient' AND pv.key = p.recipient AND pv.version = p.party_version"
        " WHERE ps.subject_id = ? ORDER BY p.at, p.id",
        (subject_id,),
    )
    receipts = tx.fetchall(
        "SELECT r.at, r.provider, pv.snapshot, r.obtained_how, r.categories FROM receipt_subjects rs"
        " JOIN receipts r ON r.id = rs.receipt_id LEFT JOIN party_versions pv"
        " ON pv.kind = 'recipient' AND pv.key = r.provider AND pv.version = r.party_version"
        " WHERE rs.subject_id = ? ORDER BY r.at, r.id",
        (subject_id,),
    )
    return {
        "provisions": [_provision_item(r) for r in provisions],
        "receipts": [_receipt_item(r) for r in receipts],
    }


def _party(key: str, snapshot: str | None) -> dict[str, Any]:
    declared = json.loads(snapshot) if snapshot else {}
    return {
        "key": key,
        "name": declared.get("name"),
        "kind": declared.get("kind"),
        "country": declared.get("country"),
    }


def _provision_item(r: Any) -> dict[str, Any]:
    return {
        "at": r[0],
        "recipient": _party(r[1], r[2]),
        "purpose": r[3],
        "categories": json.loads(r[4]),
        "basis": r[5],
        "exception_code": r[6],
        "consent_at": r[7],
    }


def _receipt_item(r: Any) -> dict[str, Any]:
    return {
        "at": r[0],
        "provider": _party(r[1], r[2]),
        "obtained_how": r[3],
        "categories": json.loads(r[4]),
    }


DAY = r"^\d{4}-\d{2}-\d{2}$"


def parse_day(value: str | None, name: str) -> date | None:
    """A day given as YYYY-MM-DD, or a 422 naming the option (never echoing the input)."""
    if value is None:
        return None
    try:
        if not re.fullmatch(DAY, value):
            raise ValueError(value)
        return date.fromisoformat(value)
    except ValueError:
        raise ValidationFailed(f"give '{name}' as a day, YYYY-MM-DD", code="date_invalid") from None


def day_bounds(rt: Runtime, first: date | None, last: date | None) -> tuple[str | None, str | None]:
    """Days in the company's zone as a UTC range: from the start of ``first`` to the end of ``last``."""
    zone = rt.policy.zone

    def start(day: date) -> str:
        return to_utc_text(datetime.combine(day, time(0), zone))

    return (
        start(first) if first else None,
        start(last + timedelta(days=1)) if last else None,
    )
