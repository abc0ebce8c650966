"""The bare endpoint the API benchmark compares Mamori's guarded read against.

Mounted only when ``MAMORI_BENCH_BARE=1`` (``make bench`` sets it on the
server it starts): in the same server, through the same FastAPI stack and
connection pool, it does the minimum a read could do — select a row of
plaintext from a table the benchmark made, insert a log row, commit. It is
never part of the OpenAPI schema and touches no Mamori table.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path

from mamori.api.deps import WorkDep

router = APIRouter(include_in_schema=False)


@router.get("/bench/bare/{ref}")
def bare_read(ref: Annotated[str, Path(max_length=32)], work: WorkDep) -> dict[str, str]:
    with work.begin() as tx:
        row = tx.fetchone("SELECT * FROM bench_plain WHERE ref = ?", (ref,))
        tx.execute(
            "INSERT INTO bench_log (actor, purpose, subject) VALUES (?, ?, ?)",
            ("bench", "bare", ref),
        )
    return {} if row is None else {f"c{i}": str(v) for i, v in enumerate(row)}
