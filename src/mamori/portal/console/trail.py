"""The audit trail page's reading of the log: filters, and pages of fifty, newest first.

It reads as ``audit.service.tail`` does (the same columns, the same decoding)
and adds what a person at a screen needs: the rule, a range of days, and a
cursor, the sequence number to continue below, so a page stays the same
while new entries arrive. Filters are checked here before any query: names
as the audit API accepts them, days as YYYY-MM-DD; a problem is named by its
field, never echoed.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from mamori.audit.chain import FIELDS
from mamori.db.engine import Tx
from mamori.recipients.records import day_bounds
from mamori.runtime import Runtime

PAGE = 50
OUTCOMES = ("allowed", "denied", "done")
_NAME = re.compile(r"^[A-Za-z0-9_.:@*<>-]{1,100}$")  # as the audit API's filters
_DAY = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_CURSOR = re.compile(r"^[1-9][0-9]{0,17}$")
_SUBJECT = re.compile(r"^s[a-z2-7]{16}$")
NAMES = ("actor", "purpose", "rule")


@dataclass
class TrailFilter:
    """The filters as typed (for the form) and as the query uses them."""

    typed: dict[str, str]
    problems: dict[str, str] = field(default_factory=dict)
    since: str | None = None
    until: str | None = None
    before: int | None = None

    def value(self, name: str) -> str | None:
        return self.typed.get(name) or None


def _day(text: str) -> date | None:
    if not _DAY.fullmatch(text):
        return None
    try:
        return date.fromisoformat(text)
    except ValueError:
        return None


def read_filter(rt: Runtime, query: dict[str, str]) -> TrailFilter:
    """The filters of the page's query, with a problem key for each one that is not valid."""
    typed = {
        k: query.get(k, "").strip()[:120] for k in (*NAMES, "outcome", "subject", "from", "to")
    }
    where = TrailFilter(typed)
    for name in NAMES:
        if typed[name] and not _NAME.fullmatch(typed[name]):
            where.problems[name] = "name"
    if typed["subject"] and not _SUBJECT.fullmatch(typed["subject"]):
        where.problems["subject"] = "subject"
        typed["subject"] = ""  # whatever was typed there is not shown again
    if typed["outcome"] and typed["outcome"] not in OUTCOMES:
        where.problems["outcome"] = "outcome"
    days = {}
    for name in ("from", "to"):
        days[name] = _day(typed[name]) if typed[name] else None
        if typed[name] and days[name] is None:
            where.problems[name] = "day"
    if days["from"] and days["to"] and days["from"] > days["to"]:
        where.problems["to"] = "order"
    where.since, where.until = day_bounds(rt, days["from"], days["to"])
    cursor = query.get("before", "")
    if cursor and _CURSOR.fullmatch(cursor):
        where.before = int(cursor)
    return where


def page(tx: Tx, where: TrailFilter, size: int = PAGE) -> tuple[list[dict[str, Any]], int | None]:
    """One page of entries, newest first, and the cursor of the next page if there is one."""
    clauses: list[str] = []
    params: list[str | int] = []
    for column in (*NAMES, "outcome"):
        value = where.value(column)
        if value is not None:
            clauses.append(f"{column} = ?")
            params.append(value)
    for clause, bound in (
        ("at >= ?", where.since),
        ("at < ?", where.until),
        ("seq < ?", where.before),
    ):
        if bound is not None:
            clauses.append(clause)
            params.append(bound)
    subject = where.value("subject")
    if subject is not None:
        clauses.append("subjects LIKE ?")  # as audit.service.tail: a JSON list of references
        params.append(f'%"{subject}"%')
    sql_where = f"WHERE {' AND '.join(clauses)}" if clauses else ""
    rows = tx.fetchall(
        f"SELECT {', '.join(FIELDS)} FROM audit_entries {sql_where} ORDER BY seq DESC LIMIT ?",
        (*params, size + 1),
    )
    entries = []
    for row in rows[:size]:
        item = dict(zip(FIELDS, row, strict=True))
        for name in ("subjects", "categories", "detail"):
            item[name] = json.loads(item[name])
        entries.append(item)
    more = len(rows) > size and bool(entries)
    return entries, (int(entries[-1]["seq"]) if more else None)
