"""Receipts: personal data received from a third party, registered with its record.

An event co-host hands over its attendee list; the company registers each
person through a receiving channel (method ``import``) exactly as any other
registration (``subjects.intake``: validated, sealed, blind-indexed, one
guard decision and one audit entry), and writes in the same transaction the
record APPI Art. 30 asks for: who provided it (the declared recipient, its
address and representative as declared that day), how they obtained it,
which items, how many people, kept three years.

A file with any bad line is refused whole, with every bad line named by its
number and reason and no value repeated: the registry's bulk import
(``subjects.bulk``) does the same, and half a list would leave a record
that does not match what was received.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time
from typing import Any

from mamori.audit.service import Entry
from mamori.db.base import to_utc_text
from mamori.db.engine import Tx
from mamori.errors import Denied, NotFound, ValidationFailed
from mamori.guard.rules import Actor
from mamori.guard.service import refuse
from mamori.policy.schemas import Channel
from mamori.recipients import access, declarations
from mamori.recipients.receipt_files import CsvSource, Lines, from_records, read_csv
from mamori.runtime import Runtime
from mamori.subjects.intake import MAX_REPORTED, Registration, prepare, write_batch

MAX_OBTAINED = 1000
KEEP_YEARS = 3
IMPORT_METHOD = "import"
REF_PATTERN = re.compile(r"c[a-z2-7]{16}")


@dataclass(frozen=True)
class ReceiptResult:
    ref: str
    purpose: str
    subjects: list[str]
    record: dict[str, Any]


def receive(
    tx: Tx,
    rt: Runtime,
    *,
    actor: Actor,
    provider: str,
    channel: str,
    obtained_how: str,
    records: Sequence[Mapping[str, str]] | None = None,
    csv_source: CsvSource | None = None,
    received_on: date | None = None,
) -> ReceiptResult:
    """Register everyone a third party provided, and the receipt record; all or nothing."""
    spec = _receiving_channel(rt, channel)
    _require_provider(rt, actor, provider, spec)
    how = _obtained(obtained_how)
    day = _received_day(rt, received_on)
    if (records is None) == (csv_source is None):
        raise ValidationFailed("give the records or a CSV file, not both and not neither")
    lines = read_csv(rt, csv_source) if csv_source is not None else from_records(records)
    _check_covered(rt, spec, lines)
    purpose = _registration_purpose(rt, spec, lines)
    registrations = [Registration(values=v) for v in lines.values]
    prepared = prepare(rt, spec, registrations)
    lines.problems.extend(f"{lines.places[p.index]}: {p.message}" for p in prepared.problems)
    _refuse_problems(lines)
    refs = write_batch(
        tx,
        rt,
        actor=actor,
        channel=spec,
        purpose=purpose,
        prepared=prepared,
        records=registrations,
        received_from=provider,
    )
    categories = sorted(set[str]().union(*lines.values))
    ref = _write_record(tx, rt, actor, provider, spec, how, day, categories, refs)
    return ReceiptResult(ref, purpose, refs, _record_view(tx, _one_row(tx, ref)))


def _receiving_channel(rt: Runtime, channel: str) -> Channel:
    spec = rt.policy.channel(channel)
    if spec.method != IMPORT_METHOD:
        raise ValidationFailed(
            f"channel '{spec.key}' is not for data received from others (method {IMPORT_METHOD})",
            code="channel_not_import",
        )
    return spec


def _require_provider(rt: Runtime, actor: Actor, provider: str, spec: Channel) -> None:
    """The provider must be declared; an undeclared one is refused with its trace."""
    if provider in rt.policy.recipients:
        return
    denied = Denied(
        f"the policy declares no recipient '{access.shown_key(provider)}' to receive data from",
        rule="unknown_recipient",
    )
    purpose = spec.purposes[0] if spec.purposes else access.RECORDS_PURPOSE
    detail = {"operation": "receive", "channel": spec.key, "provider": access.shown_key(provider)}
    entry = Entry(actor.name, purpose, "write", [], [], "denied", denied.rule, detail)
    raise refuse(rt, denied, entry)


def _obtained(text: str) -> str:
    how = text.strip()
    if not how:
        raise ValidationFailed(
            "say how the provider obtained the data (APPI Art. 30(1)(ii))", code="obtained_missing"
        )
    if len(how) > MAX_OBTAINED:
        raise ValidationFailed(
            f"how the data was obtained may be at most {MAX_OBTAINED} characters",
            code="obtained_too_long",
        )
    return how


def _received_day(rt: Runtime, received_on: date | None) -> date:
    today = rt.now().astimezone(rt.policy.zone).date()
    if received_on is None:
        return today
    if received_on > today:
        raise ValidationFailed("the day of receipt cannot be in the future", code="date_invalid")
    return received_on


def _channel_categories(rt: Runtime, spec: Channel) -> frozenset[str]:
    return frozenset().union(*(rt.policy.categories_of(p) for p in spec.purposes))


def _check_covered(rt: Runtime, spec: Channel, lines: Lines) -> None:
    """Every item must be one the channel's purposes use; the category is named, never the value."""
    covered = _channel_categories(rt, spec)
    for place, values in zip(lines.places, lines.values, strict=True):
        outside = sorted(c for c in values if c in rt.policy.categories and c not in covered)
        if outside:
            lines.problems.append(
                f"{place}: {', '.join(outside)} is not used by the purposes of channel '{spec.key}'"
            )


def _registration_purpose(rt: Runtime, spec: Channel, lines: Lines) -> str:
    """The channel's first purpose that needs no consent and covers every item received.

    A consent given to the provider is not a consent to the company, so
    people are registered under a purpose that rests on something else; the
    channel's other purposes are announced to them like any other collection.
    """
    covered = _channel_categories(rt, spec)
    used = {c for values in lines.values for c in values if c in covered}
    for purpose in spec.purposes:
        rule = rt.policy.rules[purpose]
        if not rule.needs_consent and (rule.categories is None or used <= rule.categories):
            return purpose
    raise ValidationFailed(
        f"no purpose of channel '{spec.key}' that rests on no consent covers "
        f"{', '.join(sorted(used)) or 'these items'}",
        code="no_registration_purpose",
    )


def _refuse_problems(lines: Lines) -> None:
    if not lines.problems:
        return
    shown = lines.problems[:MAX_REPORTED]
    more = f" (first {len(shown)} shown)" if len(lines.problems) > len(shown) else ""
    raise ValidationFailed(
        f"{len(lines.problems)} problem(s) in what was received; nothing was registered" + more,
        code="records_invalid",
        problems=shown,
    )


def _moment_of(rt: Runtime, day: date) -> datetime:
    now = rt.now()
    if day == now.astimezone(rt.policy.zone).date():
        return now
    return datetime.combine(day, time(), rt.policy.zone).astimezone(UTC)


def _write_record(
    tx: Tx,
    rt: Runtime,
    actor: Actor,
    provider: str,
    spec: Channel,
    how: str,
    day: date,
    categories: list[str],
    refs: list[str],
) -> str:
    version = declarations.current_version(tx, rt, declarations.RECIPIENT, provider)
    ref = access.new_ref("c")
    tx.execute(
        "INSERT INTO receipts (ref, at, actor, provider, party_version, obtained_how, channel,"
        " categories, subject_count, rejected_count, keep_until) VALUES (?,?,?,?,?,?,?,?,?,?,?)",
        (
            ref,
            to_utc_text(_moment_of(rt, day)),
            actor.name,
            provider,
            version,
            how,
            spec.key,
            json.dumps(categories),
            len(refs),
            0,
            to_utc_text(access.kept_until(rt, _moment_of(rt, day), KEEP_YEARS)),
        ),
    )
    receipt_id = tx.fetchone("SELECT id FROM receipts WHERE ref = ?", (ref,))[0]
    for start in range(0, len(refs), 500):
        chunk = refs[start : start + 500]
        marks = ",".join("?" * len(chunk))
        tx.execute(
            "INSERT INTO receipt_subjects (receipt_id, subject_id)"
            f" SELECT ?, id FROM subjects WHERE ref IN ({marks})",
            (receipt_id, *chunk),
        )
    return ref


# -- the records ---------------------------------------------------------------

_COLUMNS = (
    "id, ref, at, actor, provider, party_version, obtained_how, channel, categories,"
    " subject_count, rejected_count, keep_until"
)


def party_snapshot(tx: Tx, kind: str, key: str, version: int) -> dict[str, Any]:
    """The declaration of a party as stored for ``version``."""
    row = tx.fetchone(
        "SELECT snapshot FROM party_versions WHERE kind = ? AND key = ? AND version = ?",
        (kind, key, version),
    )
    return {} if row is None else dict(json.loads(row[0]))


def _record_view(tx: Tx, row: Any, *, with_subjects: bool = True) -> dict[str, Any]:
    declared = party_snapshot(tx, declarations.RECIPIENT, row[4], row[5])
    view: dict[str, Any] = {
        "ref": row[1],
        "at": row[2],
        "actor": row[3],
        "provider": {
            "key": row[4],
            "version": row[5],
            **{k: declared.get(k) for k in ("name", "kind", "address", "representative")},
            "country": declared.get("country"),
        },
        "obtained_how": row[6],
        "channel": row[7],
        "categories": json.loads(row[8]),
        "subject_count": row[9],
        "rejected_count": row[10],
        "keep_until": row[11],
    }
    if with_subjects:
        view["subjects"] = [
            r[0]
            for r in tx.fetchall(
                "SELECT s.ref FROM receipt_subjects rs JOIN subjects s ON s.id = rs.subject_id"
                " WHERE rs.receipt_id = ? ORDER BY s.ref",
                (row[0],),
            )
        ]
    return view


def _one_row(tx: Tx, ref: str) -> Any:
    row = tx.fetchone(f"SELECT {_COLUMNS} FROM receipts WHERE ref = ?", (ref,))
    if row is None:
        raise NotFound(
            f"there is no receipt record {access.shown_key(ref)}", code="unknown_receipt"
        )
    return row


def list_receipts(
    tx: Tx, rt: Runtime, *, actor: Actor, provider: str | None = None, limit: int = 100
) -> list[dict[str, Any]]:
    """Receipt records, newest first, optionally of one provider (without their subjects)."""
    access.require_reader(tx, rt, actor, "receipt records")
    sql, params = f"SELECT {_COLUMNS} FROM receipts", []
    if provider is not None:
        sql += " WHERE provider = ?"
        params.append(provider)
    sql += " ORDER BY at DESC, id DESC LIMIT ?"
    rows = tx.fetchall(sql, (*params, max(1, min(limit, 1000))))
    return [_record_view(tx, r, with_subjects=False) for r in rows]


def show_receipt(tx: Tx, rt: Runtime, *, actor: Actor, ref: str) -> dict[str, Any]:
    """One receipt record with the references of the people received."""
    access.require_reader(tx, rt, actor, "receipt records")
    return _record_view(tx, _one_row(tx, ref))
