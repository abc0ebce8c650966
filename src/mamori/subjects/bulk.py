"""Bulk registration from CSV: streamed in batches, all or nothing.

The file is read once. Each batch is validated and, while no record has
failed, written; every invalid record is reported with its line. If any
failed, the one transaction rolls back and nothing is registered. Memory
stays bounded by the batch size, whatever the file's length.
"""

from __future__ import annotations

import csv
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from mamori.db.engine import Tx
from mamori.errors import ValidationFailed
from mamori.guard.rules import Actor
from mamori.runtime import Runtime
from mamori.subjects.intake import Prepared, Registration, prepare, write_batch

MAX_REPORTED = 50


def _records(reader: csv.DictReader[str], batch: int) -> Iterator[tuple[int, list[Registration]]]:
    chunk: list[Registration] = []
    first_line = 2
    for row in reader:
        consents = tuple(p for p in (row.pop("consents", "") or "").split(";") if p)
        explicit = (row.pop("explicit", "") or "").strip().lower() in ("1", "true", "yes")
        values = {k: v for k, v in row.items() if k and v not in (None, "")}
        chunk.append(Registration(values=values, consents=consents, explicit=explicit))
        if len(chunk) == batch:
            yield first_line, chunk
            first_line += len(chunk)
            chunk = []
    if chunk:
        yield first_line, chunk


def import_csv(
    tx: Tx,
    rt: Runtime,
    *,
    file: Path,
    actor: Actor,
    purpose: str,
    channel: str,
    batch: int,
    advance: Callable[[int], None] = lambda n: None,
) -> dict[str, Any]:
    """Register every record of ``file`` in ``tx``, or raise with every invalid line."""
    spec = rt.policy.channel(channel)
    try:
        handle = file.open(encoding="utf-8-sig", newline="")
    except OSError as exc:
        raise ValidationFailed(f"{file} cannot be read") from exc
    problems: list[str] = []
    registered = 0
    with handle:
        for first_line, records in _records(csv.DictReader(handle), batch):
            prepared: Prepared = prepare(rt, spec, records)
            problems.extend(f"line {first_line + p.index}: {p.message}" for p in prepared.problems)
            if not problems:
                write_batch(
                    tx,
                    rt,
                    actor=actor,
                    channel=spec,
                    purpose=purpose,
                    prepared=prepared,
                    records=records,
                )
                registered += len(records)
            advance(len(records))
        if problems:
            shown = problems[:MAX_REPORTED]
            more = len(problems) - len(shown)
            raise ValidationFailed(
                f"{len(problems)} invalid record(s) in {file}; nothing was registered"
                + (f" (first {len(shown)} shown)" if more else ""),
                problems=shown,
            )
    return {"file": str(file), "registered": registered}
