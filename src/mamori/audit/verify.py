"""Verifying the audit chain, streaming, so memory does not grow with the log.

Verification walks the entries in order and reports, for each break, which
entry and how: a changed entry (its hash does not match its fields), an
inserted, deleted or reordered entry (it does not follow the one before, or
its number is out of sequence), and a log cut short (the checkpoint outside
the database names an entry the log no longer reaches).
"""

from __future__ import annotations

import hmac
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from mamori.audit.chain import GENESIS, SEP
from mamori.audit.service import AuditLog, Checkpoint
from mamori.db.engine import Tx
from mamori.errors import IntegrityError

BATCH = 5000
MAX_FINDINGS = 20
_SELECT = (
    "SELECT seq, at, actor, purpose, action, subjects, categories, outcome, rule, detail, prev, hash"
    " FROM audit_entries ORDER BY seq"
)


@dataclass(frozen=True)
class Finding:
    seq: int
    kind: str  # changed | out_of_sequence | unlinked | truncated | checkpoint
    message: str


@dataclass
class Report:
    entries: int = 0
    last_seq: int = 0
    checkpoint_seq: int | None = None
    findings: list[Finding] = field(default_factory=list)
    total_findings: int = 0

    @property
    def ok(self) -> bool:
        return not self.findings

    def add(self, finding: Finding) -> None:
        """Keep the first findings in full; count them all."""
        self.total_findings += 1
        if len(self.findings) < MAX_FINDINGS:
            self.findings.append(finding)


def _batches(tx: Tx) -> Iterator[list[Any]]:
    cursor = tx.raw.cursor(name="mamori_audit_verify") if tx.is_pg else tx.raw.cursor()
    try:
        cursor.execute(_SELECT)
        while rows := cursor.fetchmany(BATCH):
            yield rows
    finally:
        cursor.close()


def verify(tx: Tx, log: AuditLog) -> Report:
    """Check every entry of the chain and the checkpoint; never stops at the first break."""
    report = Report()
    try:
        point = log.read_checkpoint()
    except IntegrityError as unreadable:
        report.add(Finding(0, "checkpoint", unreadable.message))
        point = None
    point_seq, point_hash = (point.seq, None) if point else (-1, None)
    key, digest, join = log.key, hmac.digest, SEP.join
    expected_seq, prev_hash = 1, GENESIS
    for rows in _batches(tx):
        for row in rows:
            seq = row[0]
            prev, stored = bytes(row[10]), bytes(row[11])
            if seq != expected_seq:
                report.add(_out_of_sequence(seq, expected_seq))
            if prev != prev_hash:
                report.add(
                    Finding(seq, "unlinked", f"entry {seq} does not follow the entry before it")
                )
            data = join([str(seq), *row[1:10]]).encode()
            if digest(key, prev + data, "sha256") != stored:
                report.add(Finding(seq, "changed", f"entry {seq} was changed after it was written"))
            if seq == point_seq:
                point_hash = stored
            expected_seq, prev_hash = seq + 1, stored
            report.entries += 1
        report.last_seq = expected_seq - 1
    _check_checkpoint(report, point, log.installation, point_hash)
    return report


def _out_of_sequence(seq: int, expected: int) -> Finding:
    if seq > expected:
        missing = f"entry {expected}" if seq == expected + 1 else f"entries {expected}–{seq - 1}"
        return Finding(seq, "out_of_sequence", f"{missing} missing before entry {seq}")
    return Finding(seq, "out_of_sequence", f"entry {seq} appears again or out of order")


def _check_checkpoint(
    report: Report, point: Checkpoint | None, installation: str, seen: bytes | None
) -> None:
    if point is None:
        if report.entries and not any(f.kind == "checkpoint" for f in report.findings):
            report.add(Finding(0, "checkpoint", "the audit checkpoint file is missing"))
        return
    report.checkpoint_seq = point.seq
    if point.installation != installation:
        report.add(Finding(0, "checkpoint", "the audit checkpoint belongs to another installation"))
    elif report.last_seq < point.seq:
        report.add(
            Finding(
                report.last_seq + 1,
                "truncated",
                f"the log ends at entry {report.last_seq} but entry {point.seq} was recorded: "
                "the end of the log was cut off",
            )
        )
    elif seen != point.hash:
        report.add(
            Finding(point.seq, "checkpoint", f"entry {point.seq} differs from the checkpoint")
        )
