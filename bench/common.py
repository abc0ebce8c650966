"""Shared set-up for the figures: a Mamori home, synthetic people, a bare SQLite file."""

from __future__ import annotations

import sqlite3
import statistics
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path

from mamori.config import load_settings
from mamori.demo import EXAMPLE_POLICY
from mamori.guard.rules import Actor
from mamori.install import initialise
from mamori.policy import service as notices
from mamori.runtime import Runtime, open_runtime
from mamori.staff import service as staff
from mamori.subjects.intake import Registration, register_many
from mamori.synthetic import Population

BATCH = 5000
CHANNEL = "product_purchase"
PURPOSE = "purchase_fulfillment"
OFFICER = Actor("officer", ("privacy_officer",))
SALES = Actor("sales", ("sales",))
_STAFF = {"officer": "privacy_officer", "sales": "sales"}


@contextmanager
def mamori_home(root: Path) -> Iterator[Runtime]:
    """A fresh home at ``root`` with the example policy, staff and a published notice."""
    settings = load_settings({"MAMORI_HOME": str(root)})
    initialise(settings, policy_source=EXAMPLE_POLICY, by="cli:bench")
    rt = open_runtime(settings)
    try:
        with rt.db.transaction() as tx:
            for handle, role in _STAFF.items():
                staff.add(tx, rt, handle=handle, roles=[role], by="cli:bench")
            notices.publish(tx, rt, actor=OFFICER)
        yield rt
    finally:
        rt.close()


def registrations(
    rt: Runtime, population: Population, start: int, count: int
) -> list[Registration]:
    """``count`` people as the purchase channel collects them (the purpose's categories only)."""
    covered = rt.policy.categories_of(PURPOSE)
    return [
        Registration({k: v for k, v in person.values.items() if k in covered})
        for person in population.people(count, start)
    ]


def register_all(rt: Runtime, records: Sequence[Registration]) -> list[str]:
    """Register ``records`` in batches of ``BATCH`` inside one transaction; returns refs."""
    refs: list[str] = []
    with rt.db.transaction() as tx:
        for start in range(0, len(records), BATCH):
            refs += register_many(
                tx,
                rt,
                actor=OFFICER,
                channel=CHANNEL,
                purpose=PURPOSE,
                records=records[start : start + BATCH],
            )
    return refs


def columns_of(records: Sequence[Registration]) -> list[str]:
    """Every category that occurs in ``records``, sorted: the bare table's columns."""
    return sorted({c for r in records for c in r.values})


def bare_connect(path: Path) -> sqlite3.Connection:
    """A plain ``sqlite3`` connection with Mamori's journal mode and synchronous setting."""
    conn = sqlite3.connect(path, isolation_level=None)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA synchronous=NORMAL")
    return conn


def create_people_table(conn: sqlite3.Connection, columns: Sequence[str]) -> str:
    """The bare registry: one plaintext TEXT column per category; returns the INSERT."""
    names = [column_name(c) for c in columns]
    conn.execute(
        "CREATE TABLE people (id INTEGER PRIMARY KEY, ref TEXT NOT NULL UNIQUE, "
        + ", ".join(f"{n} TEXT" for n in names)
        + ")"
    )
    marks = ",".join("?" * (len(names) + 1))
    return f"INSERT INTO people (ref, {', '.join(names)}) VALUES ({marks})"


def people_row(
    ref: str, values: Mapping[str, str], columns: Sequence[str]
) -> tuple[str | None, ...]:
    return (ref, *(values.get(c) for c in columns))


def column_name(category: str) -> str:
    return category.replace(".", "_")


def median(values: Sequence[float]) -> float:
    return statistics.median(values)
