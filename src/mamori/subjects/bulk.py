"""Bulk registration from CSV: streamed in batches, all or nothing.

The file is read once, as a stream of registrations for
``intake.register_stream``: each batch is validated (by worker processes,
for a long file) and, while no record has failed, written; every invalid
record is reported with its line. If any failed, the one transaction rolls
back and nothing is registered. Memory stays bounded by the batch size,
whatever the file's length.
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
from mamori.subjects.intake import MAX_REPORTED, InvalidRecords, Registration, register_stream

__all__ = ["MAX_REPORTED", "import_csv"]

# The header is line 1; record n (from 0) is on line n + 2.
FIRST_LINE = 2


def _records(reader: csv.DictReader[str]) -> Iterator[Registration]:
    for row in reader:
        consents = tuple(p for p in (row.pop("consents", "") or "").split(";") if p)
        explicit = (row.pop("explicit", "") or "").strip().lower() in ("1", "true", "yes")
        values = {k: v for k, v in row.items() if k and v not in (None, "")}
        yield Registration(values=values, consents=consents, explicit=explicit)


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
    workers: int = 1,
) -> dict[str, Any]:
    """Register every record of ``file`` in ``tx``, or raise with every invalid line."""
    rt.policy.channel(channel)
    try:
        handle = file.open(encoding="utf-8-sig", newline="")
    except OSError as exc:
        raise ValidationFailed(f"{file} cannot be read") from exc
    with handle:
        try:
            registered = register_stream(
                tx,
                rt,
                actor=actor,
                channel=channel,
                purpose=purpose,
                records=_records(csv.DictReader(handle)),
                batch=batch,
                workers=workers,
                advance=advance,
            )
        except InvalidRecords as invalid:
            shown = [f"line {p.index + FIRST_LINE}: {p.message}" for p in invalid.first]
            more = invalid.invalid - len(shown)
            raise ValidationFailed(
                f"{invalid.invalid} invalid record(s) in {file}; nothing was registered"
                + (f" (first {len(shown)} shown)" if more else ""),
                problems=shown,
            ) from None
    return {"file": str(file), "registered": registered}
