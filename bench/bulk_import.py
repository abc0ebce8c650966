"""Figure 2: 100,000 subjects registered in one transaction, against a plain executemany.

Mamori side: the product-purchase plan (channel ``product_purchase``, purpose
``purchase_fulfillment``, the ten or eleven categories it covers, no consents),
in batches of 5,000 inside one transaction: ``prepare`` (validation and
normalization) then ``write_batch`` (guard, sealing, rows, blind indexes,
one audit entry per batch), exactly what ``register_many`` does, timed
apart. Bare side: the same raw values as plaintext TEXT columns, one
``executemany`` in one transaction. People are generated before either
side is timed.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from pathlib import Path

from bench import RESULTS
from bench.common import (
    BATCH,
    CHANNEL,
    OFFICER,
    PURPOSE,
    bare_connect,
    columns_of,
    create_people_table,
    mamori_home,
    median,
    people_row,
    registrations,
)
from bench.profiling import profile
from bench.report import Goal, Result
from mamori.runtime import Runtime
from mamori.subjects.intake import Registration, prepare, write_batch
from mamori.synthetic import Population

NAME = "bulk_import"
SUBJECTS = 100_000
PROFILE_SUBJECTS = 20_000
GOALS = [Goal("bulk_import_ratio", 3.0, at_most=True)]


def run(tmp: Path, *, seed: int, quick: bool = False) -> Result:
    with mamori_home(tmp / "import-home") as rt:
        population = Population(seed + 1)
        records = registrations(rt, population, 0, SUBJECTS)
        more = registrations(rt, population, SUBJECTS, PROFILE_SUBJECTS)
        columns = columns_of(records)
        rows = [people_row(f"p{n:09d}", r.values, columns) for n, r in enumerate(records)]
        bare = [_bare_import(tmp / "bare-import-1.db", rows, columns)]
        split = _mamori_import(rt, records)
        bare += [_bare_import(tmp / f"bare-import-{n}.db", rows, columns) for n in (2, 3)]
        _check_count(rt, SUBJECTS)
        _, top = profile(
            lambda: _mamori_import(rt, more),
            out=RESULTS / f"{NAME}.profile.txt",
            title=f"{NAME}: {PROFILE_SUBJECTS:,} subjects, prepare + write_batch by 5,000, one tx",
        )
    plain, total = median(bare), split["total_s"]
    return Result(
        NAME,
        "bulk import of 100,000 subjects",
        GOALS,
        {
            "bulk_import_ratio": round(total / plain, 3),
            "bulk_import_s": round(total, 3),
            "bare_import_s": round(plain, 3),
        },
        f"mamori {total:.2f} s (prepare {split['prepare_s']:.2f} s, write "
        f"{split['write_s']:.2f} s, commit {split['commit_s']:.2f} s) vs bare {plain:.2f} s",
        {
            "subjects": SUBJECTS,
            "plan": {"channel": CHANNEL, "purpose": PURPOSE, "consents": []},
            "batch": BATCH,
            "columns": columns,
            "bare_s_runs": [round(v, 3) for v in bare],
            "split_s": {k: round(v, 3) for k, v in split.items()},
            "per_s": round(SUBJECTS / total),
        },
        top,
    )


def _mamori_import(rt: Runtime, records: Sequence[Registration]) -> dict[str, float]:
    """``register_many``'s two halves, batch by batch in one transaction, timed apart."""
    spec = rt.policy.channel(CHANNEL)
    prepare_s = write_s = 0.0
    began = time.perf_counter()
    with rt.db.transaction() as tx:
        for start in range(0, len(records), BATCH):
            batch = records[start : start + BATCH]
            t0 = time.perf_counter()
            prepared = prepare(rt, spec, batch)
            t1 = time.perf_counter()
            if prepared.problems:
                raise AssertionError(f"invalid synthetic record: {prepared.problems[0].message}")
            write_batch(
                tx,
                rt,
                actor=OFFICER,
                channel=spec,
                purpose=PURPOSE,
                prepared=prepared,
                records=batch,
            )
            prepare_s += t1 - t0
            write_s += time.perf_counter() - t1
        committing = time.perf_counter()
    ended = time.perf_counter()
    return {
        "total_s": ended - began,
        "prepare_s": prepare_s,
        "write_s": write_s,
        "commit_s": ended - committing,
    }


def _bare_import(path: Path, rows: Sequence[Sequence[str | None]], columns: Sequence[str]) -> float:
    conn = bare_connect(path)
    try:
        insert = create_people_table(conn, columns)
        began = time.perf_counter()
        conn.execute("BEGIN IMMEDIATE")
        conn.executemany(insert, rows)
        conn.execute("COMMIT")
        return time.perf_counter() - began
    finally:
        conn.close()
        for suffix in ("", "-wal", "-shm"):
            Path(f"{path}{suffix}").unlink(missing_ok=True)


def _check_count(rt: Runtime, expected: int) -> None:
    with rt.db.transaction() as tx:
        (count,) = tx.fetchone("SELECT count(*) FROM subjects WHERE channel = ?", (CHANNEL,))
    if count != expected:
        raise AssertionError(f"{count} subjects registered, {expected} expected")
