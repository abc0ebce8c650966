"""Verifying the audit chain, streaming, so memory does not grow with the log.

Verification walks the entries in order and reports, for each break, which
entry and how: a changed entry (its hash does not match its fields), an
inserted, deleted or reordered entry (it does not follow the one before, or
its number is out of sequence), and a log cut short (the checkpoint outside
the database names an entry the log no longer reaches).

The entries are read and hashed in runs by ``scanning``, a long log side by
side in worker processes; here the runs are joined in order, with the links
and numbers where they meet checked, and compared with the checkpoint.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from mamori.audit.chain import GENESIS
from mamori.audit.scanning import (
    BATCH,
    MAX_FINDINGS,
    Finding,
    Run,
    out_of_sequence,
    scan_chain,
    unlinked_entry,
)
from mamori.errors import IntegrityError

if TYPE_CHECKING:
    from mamori.audit.service import AuditLog, Checkpoint
    from mamori.db.engine import Tx

__all__ = ["BATCH", "MAX_FINDINGS", "Finding", "Report", "verify"]


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


def verify(tx: Tx, log: AuditLog) -> Report:
    """Check every entry of the chain and the checkpoint; never stops at the first break."""
    report = Report()
    try:
        point = log.read_checkpoint()
    except IntegrityError as unreadable:
        report.add(Finding(0, "checkpoint", unreadable.message))
        point = None
    point_seq = point.seq if point else -1
    seen = _join(report, scan_chain(tx, log.key, point_seq))
    _check_checkpoint(report, point, log.installation, seen)
    return report


def _join(report: Report, runs: Iterable[Run]) -> bytes | None:
    """Add the runs' findings in order, checking where each meets the one before it.

    Returns the hash of the entry the checkpoint names, as the scan saw it.
    """
    expected, prev_hash, seen = 1, GENESIS, None
    for run in runs:
        if not run.entries:
            continue
        if run.first_seq != expected:
            report.add(out_of_sequence(run.first_seq, expected))
        if run.first_prev != prev_hash:
            report.add(unlinked_entry(run.first_seq))
        for finding in run.findings:
            report.add(finding)
        report.total_findings += run.total - len(run.findings)
        report.entries += run.entries
        report.last_seq = run.last_seq
        expected, prev_hash = run.last_seq + 1, run.last_hash
        if run.point_hash is not None:
            seen = run.point_hash
    return seen


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
