"""Figure 1: one subject's values read through the guard, against a plain select and log row.

Mamori side: ``service.read`` in its own transaction on one held handle (load
the row, decide, append the hash-chained audit entry, unwrap the data key,
open ten values, commit, checkpoint). Bare side: plain ``sqlite3`` on a
file in the same directory, the same values as plaintext TEXT columns:
``BEGIN IMMEDIATE``, select the row by key, insert one log row, ``COMMIT``.
Both use WAL and ``synchronous=NORMAL``, read the same random sequence of
subjects, and alternate round by round.
"""

from __future__ import annotations

import random
import sqlite3
import time
from collections.abc import Sequence
from pathlib import Path

from bench import RESULTS
from bench.common import (
    PURPOSE,
    SALES,
    bare_connect,
    column_name,
    columns_of,
    create_people_table,
    mamori_home,
    median,
    people_row,
    register_all,
    registrations,
)
from bench.profiling import profile
from bench.report import Goal, Result
from mamori.db.engine import Handle
from mamori.runtime import Runtime
from mamori.subjects import service
from mamori.subjects.intake import Registration
from mamori.subjects.service import normalize_values
from mamori.synthetic import Population

NAME = "guarded_read"
SUBJECTS = 10_000
ROUNDS = 5
READS_PER_ROUND = 3000
WARM_UP = 500
PROFILE_READS = 30_000
GOALS = [Goal("guarded_read_ratio", 2.0, at_most=True)]


def run(tmp: Path, *, seed: int, quick: bool = False) -> Result:
    with mamori_home(tmp / "read-home") as rt:
        records = registrations(rt, Population(seed), 0, SUBJECTS)
        refs = register_all(rt, records)
        columns = columns_of(records)
        bare = _bare_registry(rt, tmp / "bare-read.db", refs, records, columns)
        try:
            rng = random.Random(seed)
            picks = [rng.randrange(len(refs)) for _ in range(ROUNDS * READS_PER_ROUND)]
            with rt.db.connect() as handle:
                _check_same(handle, rt, bare, refs[picks[0]], columns)
                bare_us, mamori_us = _alternate(handle, rt, bare, refs, picks, columns)
                profile_picks = [rng.randrange(len(refs)) for _ in range(PROFILE_READS)]
                _, top = profile(
                    lambda: _mamori_round(handle, rt, refs, profile_picks),
                    out=RESULTS / f"{NAME}.profile.txt",
                    title=f"{NAME}: {PROFILE_READS:,} service.read calls, one per transaction",
                )
        finally:
            bare.close()
    guarded, plain = median(mamori_us), median(bare_us)
    return Result(
        NAME,
        "guarded read of one subject",
        GOALS,
        {
            "guarded_read_ratio": round(guarded / plain, 3),
            "guarded_read_us": round(guarded, 2),
            "bare_read_us": round(plain, 2),
        },
        f"mamori {guarded:.1f} µs vs bare {plain:.1f} µs per read "
        f"(median of {ROUNDS} alternating rounds of {READS_PER_ROUND:,})",
        {
            "subjects": SUBJECTS,
            "values_per_subject_mean": round(sum(len(r.values) for r in records) / len(records), 2),
            "columns": columns,
            "rounds": ROUNDS,
            "reads_per_round": READS_PER_ROUND,
            "bare_us_by_round": [round(v, 2) for v in bare_us],
            "guarded_us_by_round": [round(v, 2) for v in mamori_us],
            "ratio_by_round": [round(m / b, 3) for m, b in zip(mamori_us, bare_us, strict=True)],
        },
        top,
    )


def _alternate(
    handle: Handle,
    rt: Runtime,
    bare: sqlite3.Connection,
    refs: Sequence[str],
    picks: Sequence[int],
    columns: Sequence[str],
) -> tuple[list[float], list[float]]:
    """Bare, Mamori, bare, Mamori...: µs per read in each round, after a warm-up of each."""
    _bare_round(bare, refs, picks[:WARM_UP], columns)
    _mamori_round(handle, rt, refs, picks[:WARM_UP])
    bare_us, mamori_us = [], []
    for start in range(0, len(picks), READS_PER_ROUND):
        chunk = picks[start : start + READS_PER_ROUND]
        bare_us.append(_bare_round(bare, refs, chunk, columns) / len(chunk) * 1e6)
        mamori_us.append(_mamori_round(handle, rt, refs, chunk) / len(chunk) * 1e6)
    return bare_us, mamori_us


def _mamori_round(handle: Handle, rt: Runtime, refs: Sequence[str], picks: Sequence[int]) -> float:
    began = time.perf_counter()
    for i in picks:
        with handle.transaction() as tx:
            service.read(tx, rt, actor=SALES, ref=refs[i], purpose=PURPOSE)
    return time.perf_counter() - began


def _bare_round(
    conn: sqlite3.Connection, refs: Sequence[str], picks: Sequence[int], columns: Sequence[str]
) -> float:
    select = f"SELECT {', '.join(column_name(c) for c in columns)} FROM people WHERE ref = ?"
    insert = "INSERT INTO access_log (at, actor, purpose, ref) VALUES (?,?,?,?)"
    cursor = conn.cursor()
    execute, now = cursor.execute, time.time
    began = time.perf_counter()
    for i in picks:
        ref = refs[i]
        execute("BEGIN IMMEDIATE")
        row = execute(select, (ref,)).fetchone()
        values = {c: v for c, v in zip(columns, row, strict=True) if v is not None}
        execute(insert, (now(), SALES.name, PURPOSE, ref))
        execute("COMMIT")
    assert values
    return time.perf_counter() - began


def _bare_registry(
    rt: Runtime,
    path: Path,
    refs: Sequence[str],
    records: Sequence[Registration],
    columns: Sequence[str],
) -> sqlite3.Connection:
    """The same subjects, keyed by the same refs, their normalized values in plaintext."""
    conn = bare_connect(path)
    insert = create_people_table(conn, columns)
    conn.execute(
        "CREATE TABLE access_log (id INTEGER PRIMARY KEY, at REAL, actor TEXT, purpose TEXT,"
        " ref TEXT)"
    )
    rows = [
        people_row(ref, normalize_values(rt, r.values), columns)
        for ref, r in zip(refs, records, strict=True)
    ]
    conn.execute("BEGIN")
    conn.executemany(insert, rows)
    conn.execute("COMMIT")
    return conn


def _check_same(
    handle: Handle, rt: Runtime, bare: sqlite3.Connection, ref: str, columns: Sequence[str]
) -> None:
    """Both sides must return the same values, or the comparison means nothing."""
    with handle.transaction() as tx:
        view = service.read(tx, rt, actor=SALES, ref=ref, purpose=PURPOSE)
    names = ", ".join(column_name(c) for c in columns)
    row = bare.execute(f"SELECT {names} FROM people WHERE ref = ?", (ref,)).fetchone()
    plain = {c: v for c, v in zip(columns, row, strict=True) if v is not None}
    if view.values != plain:
        raise AssertionError(f"the two sides disagree on subject {ref}")
