"""The dashboard's numbers: counts and medians over plain columns, never a sealed value.

Requests are counted by the month they arrived in and by kind, and timed by
the month they closed in; consent events are counted by purpose and by
whether they granted or withdrew. Months are the company's calendar months
(in its time zone), the last twelve including the current one. Only the
request kinds the caller may work are counted, as ``dsr.queue.metrics`` does.
"""

from __future__ import annotations

import statistics
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from mamori.db.base import from_utc_text, to_utc_text
from mamori.db.engine import Tx
from mamori.dsr.states import State
from mamori.dsr.workflow import calendar
from mamori.runtime import Runtime

MONTHS = 12
Month = tuple[int, int]


@dataclass(frozen=True)
class Window:
    """The months a chart covers, oldest first, and the moment the first one began (UTC text)."""

    months: list[Month]
    since: str


def window(rt: Runtime, now: datetime, count: int = MONTHS) -> Window:
    """The last ``count`` calendar months in the company's zone, this one included."""
    local = now.astimezone(rt.policy.zone)
    index = local.year * 12 + local.month - 1
    months = [divmod(i, 12) for i in range(index - count + 1, index + 1)]
    months = [(year, month + 1) for year, month in months]
    first = datetime(months[0][0], months[0][1], 1, tzinfo=rt.policy.zone)
    return Window(months, to_utc_text(first))


def month_of(rt: Runtime, stored: str) -> Month:
    local = from_utc_text(stored).astimezone(rt.policy.zone)
    return local.year, local.month


def _marks(values: Sequence[str]) -> str:
    return ",".join("?" * len(values))


def requests_by_month(
    tx: Tx, rt: Runtime, kinds: Sequence[str], span: Window
) -> dict[str, list[int]]:
    """Kind → how many requests of that kind arrived in each month of ``span``."""
    counts: dict[str, list[int]] = {k: [0] * len(span.months) for k in kinds}
    place = {m: i for i, m in enumerate(span.months)}
    rows = tx.fetchall(
        f"SELECT kind, received_at FROM dsr_requests WHERE kind IN ({_marks(kinds)})"
        " AND received_at >= ?",
        (*kinds, span.since),
    )
    for kind, received_at in rows:
        slot = place.get(month_of(rt, received_at))
        if slot is not None:
            counts[kind][slot] += 1
    return counts


def median_days_to_close(
    tx: Tx, rt: Runtime, kinds: Sequence[str], span: Window
) -> list[float | None]:
    """The median business days from arrival to completion of the requests completed each month."""
    days: dict[Month, list[int]] = defaultdict(list)
    business = calendar(rt)
    rows = tx.fetchall(
        f"SELECT received_at, closed_at FROM dsr_requests WHERE kind IN ({_marks(kinds)})"
        " AND state = ? AND closed_at >= ?",
        (*kinds, State.COMPLETED.value, span.since),
    )
    for received_at, closed_at in rows:
        taken = business.business_days_between(from_utc_text(received_at), from_utc_text(closed_at))
        days[month_of(rt, closed_at)].append(taken)
    return [float(statistics.median(days[m])) if days[m] else None for m in span.months]


def consent_changes(tx: Tx, span: Window) -> dict[str, tuple[int, int]]:
    """Purpose → (grants, withdrawals) recorded since the start of ``span``."""
    changes: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    rows = tx.fetchall(
        "SELECT purpose, state, COUNT(*) FROM consent_events WHERE at >= ? GROUP BY purpose, state",
        (span.since,),
    )
    for purpose, state, count in rows:
        changes[purpose][0 if state == "granted" else 1] += int(count)
    return {p: (g, w) for p, (g, w) in sorted(changes.items())}
