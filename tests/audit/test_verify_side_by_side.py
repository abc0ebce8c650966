"""A long log is verified in runs, side by side in worker processes: the report is the same.

``verify`` cuts a log of ``PARALLEL_MIN`` entries or more into runs of
sequence numbers; this process scans some from the front, worker processes
(each on its own read-only connection) scan the rest from the back, and the
links where the runs meet are checked when they are joined. Here the
threshold and the run length are lowered so that a log of a few thousand
entries takes that path, and every kind of tampering, placed where runs meet,
must give exactly the report of the single pass.
"""

from __future__ import annotations

import json
import sqlite3
import tracemalloc
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mamori.audit import scanning as verifying
from mamori.audit.chain import GENESIS, entry_bytes, link
from mamori.audit.service import Checkpoint
from mamori.audit.verify import Report, verify
from mamori.config import load_settings
from mamori.crypto.mac import Mac
from mamori.demo import EXAMPLE_POLICY
from mamori.install import initialise
from mamori.runtime import Runtime, open_runtime
from tests.factories import PURPOSE

ENTRY_COLUMNS = (
    "seq, at, actor, purpose, action, subjects, categories, outcome, rule, detail, prev, hash"
)
INSERT = f"INSERT INTO audit_entries ({ENTRY_COLUMNS}) VALUES (?,?,?,?,?,?,?,?,?,?,?,?)"
TOTAL = 1200
RUN = 100  # sequence numbers per run: runs start at 1, 101, 201, ...


# -- helpers -----------------------------------------------------------------


def grow(rt: Runtime, total: int) -> None:
    """Extend the chain to ``total`` entries, with real links and non-ASCII details."""
    key = rt.audit.key
    with rt.db.transaction() as tx:
        seq, prev = tx.fetchone("SELECT seq, hash FROM audit_entries ORDER BY seq DESC LIMIT 1")
        prev = bytes(prev)
        while seq < total:
            chunk = []
            for n in range(seq + 1, min(total, seq + 20_000) + 1):
                detail = {"note": f"訂正 花子 №{n} ✓"} if n % 3 else {"refused": {f"s{n}": "x"}}
                row = (
                    n,
                    "2026-11-30T01:00:00.000000Z",
                    "sales",
                    PURPOSE,
                    "read",
                    f'["s{n:016d}"]',
                    '["user.contact.email","user.name"]',
                    "allowed",
                    "granted",
                    json.dumps(detail, separators=(",", ":"), sort_keys=True, ensure_ascii=False),
                )
                digest = link(key, prev, row)
                chunk.append((*row, prev, digest))
                prev = digest
            tx.executemany(INSERT, chunk)
            seq = chunk[-1][0]
    rt.audit.checkpoint(seq, prev)


def sql(rt: Runtime, statement: str, params: tuple[Any, ...] = ()) -> None:
    with rt.db.transaction() as tx:
        tx.execute(statement, params)


def single_pass(rt: Runtime, monkeypatch: pytest.MonkeyPatch) -> Report:
    with monkeypatch.context() as patch:
        patch.setattr(verifying, "PARALLEL_MIN", 10**18)
        with rt.db.transaction() as tx:
            return verify(tx, rt.audit)


def side_by_side(rt: Runtime, monkeypatch: pytest.MonkeyPatch) -> tuple[Report, int, int]:
    """The report with workers; how many runs there were, and how many this process scanned."""
    here: list[tuple[int, int] | None] = []
    scan = verifying._scan_tx

    def counted(tx: Any, bounds: tuple[int, int] | None, *args: Any) -> Any:
        here.append(bounds)
        return scan(tx, bounds, *args)

    with monkeypatch.context() as patch:
        patch.setattr(verifying, "PARALLEL_MIN", 1)
        patch.setattr(verifying, "RUN", RUN)
        patch.setattr(verifying, "_worker_count", lambda: 1)
        patch.setattr(verifying, "_scan_tx", counted)
        with rt.db.transaction() as tx:
            plan = verifying._plan(tx)
            report = verify(tx, rt.audit)
    assert plan is not None and None not in here
    return report, len(plan.runs), len(here)


def same(a: Report, b: Report) -> None:
    assert (a.entries, a.last_seq, a.checkpoint_seq) == (b.entries, b.last_seq, b.checkpoint_seq)
    assert a.findings == b.findings
    assert a.total_findings == b.total_findings


def kinds(report: Report) -> list[tuple[int, str]]:
    return [(f.seq, f.kind) for f in report.findings]


# -- tampering, placed where runs meet -----------------------------------------


def _nothing(rt: Runtime) -> None:
    pass


def _change_first_of_a_run(rt: Runtime) -> None:
    sql(rt, "UPDATE audit_entries SET outcome = 'denied' WHERE seq = 101")


def _change_last_of_a_run(rt: Runtime) -> None:
    sql(rt, 'UPDATE audit_entries SET detail = \'{"note":"改ざん"}\' WHERE seq = 200')


def _delete_first_of_a_run(rt: Runtime) -> None:
    sql(rt, "DELETE FROM audit_entries WHERE seq = 201")


def _delete_whole_runs(rt: Runtime) -> None:
    sql(rt, "DELETE FROM audit_entries WHERE seq BETWEEN 290 AND 520")


def _swap_across_a_boundary(rt: Runtime) -> None:
    sql(rt, "UPDATE audit_entries SET seq = -1 WHERE seq = 600")
    sql(rt, "UPDATE audit_entries SET seq = 600 WHERE seq = 601")
    sql(rt, "UPDATE audit_entries SET seq = 601 WHERE seq = -1")


def _relink_first_of_a_run(rt: Runtime) -> None:
    sql(rt, "UPDATE audit_entries SET prev = ? WHERE seq = 701", (b"\x01" * 32,))


def _renumber_first_of_a_run(rt: Runtime) -> None:
    sql(rt, "DELETE FROM audit_entries WHERE seq BETWEEN 802 AND 805")
    sql(rt, "UPDATE audit_entries SET seq = 805 WHERE seq = 801")


def _renumber_far_beyond(rt: Runtime) -> None:
    """One entry moved to a number far past the end: the runs span a vast, empty range."""
    sql(rt, "UPDATE audit_entries SET seq = ? WHERE seq = 900", (10**12,))


def _cut_the_tail(rt: Runtime) -> None:
    sql(rt, "DELETE FROM audit_entries WHERE seq > 1100")


def _many_changes(rt: Runtime) -> None:
    """More findings than the report keeps, spread over every run."""
    sql(rt, "UPDATE audit_entries SET rule = 'nothing_to_see' WHERE seq % 25 = 0")


def _forged_tip(rt: Runtime) -> None:
    with rt.db.transaction() as tx:
        row = tx.fetchone(f"SELECT {ENTRY_COLUMNS} FROM audit_entries WHERE seq = ?", (TOTAL,))
    fields = (TOTAL + 1, *row[1:7], "done", "nothing_to_see", row[9])
    tip = bytes(row[11])
    sql(rt, INSERT, (*fields, tip, link(b"k" * 32, tip, fields)))


def _checkpoint_moved_back(rt: Runtime) -> None:
    point = rt.audit.read_checkpoint()
    assert point is not None
    rt.audit.head_file.write_bytes(
        Checkpoint(point.installation, 500, point.hash).encode(rt.audit.key)
    )


def _checkpoint_forged(rt: Runtime) -> None:
    point = rt.audit.read_checkpoint()
    assert point is not None
    rt.audit.head_file.write_bytes(Checkpoint(point.installation, 3, GENESIS).encode(b"x" * 32))


TAMPERING: dict[str, Callable[[Runtime], None]] = {
    "nothing": _nothing,
    "change_first_of_a_run": _change_first_of_a_run,
    "change_last_of_a_run": _change_last_of_a_run,
    "delete_first_of_a_run": _delete_first_of_a_run,
    "delete_whole_runs": _delete_whole_runs,
    "swap_across_a_boundary": _swap_across_a_boundary,
    "relink_first_of_a_run": _relink_first_of_a_run,
    "renumber_first_of_a_run": _renumber_first_of_a_run,
    "renumber_far_beyond": _renumber_far_beyond,
    "cut_the_tail": _cut_the_tail,
    "many_changes": _many_changes,
    "forged_tip": _forged_tip,
    "checkpoint_moved_back": _checkpoint_moved_back,
    "checkpoint_forged": _checkpoint_forged,
}

EXPECTED = {
    "nothing": [],
    "change_first_of_a_run": [(101, "changed")],
    "change_last_of_a_run": [(200, "changed")],
    "delete_first_of_a_run": [(202, "out_of_sequence"), (202, "unlinked")],
    "delete_whole_runs": [(521, "out_of_sequence"), (521, "unlinked")],
    "swap_across_a_boundary": [
        (600, "unlinked"),
        (600, "changed"),
        (601, "unlinked"),
        (601, "changed"),
        (602, "unlinked"),
    ],
    "relink_first_of_a_run": [(701, "unlinked"), (701, "changed")],
    "renumber_first_of_a_run": [(805, "out_of_sequence"), (805, "changed"), (806, "unlinked")],
    "renumber_far_beyond": [
        (901, "out_of_sequence"),
        (901, "unlinked"),
        (10**12, "out_of_sequence"),
        (10**12, "unlinked"),
        (10**12, "changed"),
    ],
    "cut_the_tail": [(1101, "truncated")],
    "forged_tip": [(TOTAL + 1, "changed")],
    "checkpoint_moved_back": [(500, "checkpoint")],
    "checkpoint_forged": [(0, "checkpoint")],
}


@pytest.mark.parametrize("tampering", sorted(TAMPERING))
def test_side_by_side_reports_exactly_what_one_pass_reports(
    rt: Runtime, monkeypatch: pytest.MonkeyPatch, tampering: str
) -> None:
    grow(rt, TOTAL)
    TAMPERING[tampering](rt)
    one = single_pass(rt, monkeypatch)
    report, runs, here = side_by_side(rt, monkeypatch)
    same(report, one)
    assert runs >= 10
    assert here < runs, "no run was scanned by a worker"
    if tampering in EXPECTED:
        assert kinds(report) == EXPECTED[tampering]
    else:
        assert len(report.findings) == verifying.MAX_FINDINGS < report.total_findings
        assert report.total_findings == TOTAL // 25
        assert {kind for _, kind in kinds(report)} == {"changed"}


def test_a_worker_that_cannot_start_leaves_its_runs_to_this_process(
    rt: Runtime, monkeypatch: pytest.MonkeyPatch
) -> None:
    grow(rt, TOTAL)
    _change_last_of_a_run(rt)
    one = single_pass(rt, monkeypatch)
    monkeypatch.setattr(verifying, "_target", lambda tx: ("sqlite", "/nonexistent/mamori.db"))
    report, runs, here = side_by_side(rt, monkeypatch)
    same(report, one)
    assert here == runs  # the runs the worker was given were scanned here after all


def test_a_unit_of_work_that_appended_is_verified_in_one_pass(
    rt: Runtime, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Workers read only what is committed: they would miss this transaction's entries."""
    grow(rt, TOTAL)
    monkeypatch.setattr(verifying, "PARALLEL_MIN", 1)
    monkeypatch.setattr(verifying, "_worker_count", lambda: 1)
    with rt.db.transaction() as tx:
        assert verifying._plan(tx) is not None
        tx.audit_tip = (TOTAL, b"")  # as AuditLog.append leaves it
        assert verifying._plan(tx) is None


def test_a_short_log_is_verified_in_one_pass(rt: Runtime) -> None:
    grow(rt, 500)
    with rt.db.transaction() as tx:
        assert verifying._plan(tx) is None


# -- the bytes hashed are the signed bytes -------------------------------------

_TEXT = st.text(st.characters(exclude_categories=["Cs"], exclude_characters="\x00"), max_size=16)


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(fields=st.tuples(*[_TEXT] * 9))
def test_the_verify_query_yields_the_signed_bytes_of_any_text(
    rt: Runtime, fields: tuple[str, ...]
) -> None:
    """SQLite's text as bytes, and PostgreSQL's own join, give ``chain.entry_bytes``."""
    seq = 10**9 + 7
    row = (seq, *fields)
    digest = link(rt.audit.key, GENESIS, row)
    with rt.db.transaction() as tx:
        tx.execute(INSERT, (*row, GENESIS, digest))
        run = verifying._scan_tx(tx, (seq, seq), Mac(rt.audit.key), seq)
        query = verifying._query(tx.is_pg, bounded=True)
        text_factory = None if tx.is_pg else tx.raw.text_factory
        if text_factory is not None:
            tx.raw.text_factory = bytes
        try:
            selected = tx.raw.execute(query, (seq, seq)).fetchone()
        finally:
            if text_factory is not None:
                tx.raw.text_factory = text_factory
        stored = tx.fetchone(
            "SELECT at, actor, purpose, action, subjects, categories, outcome,"
            " rule, detail FROM audit_entries WHERE seq = ?",
            (seq,),
        )
        tx.execute("DELETE FROM audit_entries WHERE seq = ?", (seq,))
    assert (run.entries, run.total, run.point_hash) == (1, 0, digest)
    signed = b"%d\x1f" % seq + b"\x1f".join(selected[3:])
    assert signed == entry_bytes(row) == entry_bytes((seq, *stored))


def test_text_that_is_not_utf8_is_a_changed_entry(
    rt: Runtime, monkeypatch: pytest.MonkeyPatch
) -> None:
    """SQLite holds whatever bytes it is given; they are hashed as stored, not decoded."""
    if rt.db.is_pg:
        pytest.skip("PostgreSQL refuses text that is not valid in its encoding")
    grow(rt, 300)
    sql(rt, "UPDATE audit_entries SET detail = CAST(X'7BFF7D' AS TEXT) WHERE seq = 150")
    assert kinds(single_pass(rt, monkeypatch)) == [(150, "changed")]


# -- memory --------------------------------------------------------------------


def _sqlite_home(tmp_path: Path) -> Runtime:
    settings_ = load_settings({"MAMORI_HOME": str(tmp_path)})
    initialise(settings_, policy_source=EXAMPLE_POLICY, by="cli:test")
    return open_runtime(settings_)


@pytest.mark.slow
def test_side_by_side_memory_does_not_grow_with_the_log(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(verifying, "PARALLEL_MIN", 1)
    monkeypatch.setattr(verifying, "RUN", 2000)
    monkeypatch.setattr(verifying, "_worker_count", lambda: 1)
    peaks = []
    for name, total in (("small", 10_000), ("large", 100_000)):
        rt = _sqlite_home(tmp_path / name)
        try:
            grow(rt, total)
            with rt.db.transaction() as tx:
                tracemalloc.start()
                try:
                    report = verify(tx, rt.audit)
                    peaks.append(tracemalloc.get_traced_memory()[1])
                finally:
                    tracemalloc.stop()
        finally:
            rt.close()
        assert report.ok and report.entries == total
    assert peaks[1] < 2 * peaks[0], peaks


def test_the_workers_open_the_database_read_only(tmp_path: Path) -> None:
    rt = _sqlite_home(tmp_path / "a home 家")
    try:
        with rt.db.transaction() as tx:
            target = verifying._target(tx)
        assert target == ("sqlite", str(tmp_path / "a home 家" / "mamori.db"))
        worker = verifying._Worker(target, rt.audit.key, -1)
        with pytest.raises(sqlite3.OperationalError, match="readonly"):
            worker.conn.execute("DELETE FROM audit_entries")
        assert worker.scan(1, 10**9).entries == 1
        worker.conn.close()
    finally:
        rt.close()
