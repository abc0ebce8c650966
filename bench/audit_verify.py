"""Figure 4: verifying an audit log of a million entries, end to end.

The log is built quickly but faithfully: a real guarded read is made first
and its entry is the template (actor, purpose, action, categories, outcome,
rule and detail exactly as Mamori writes them); a million more follow it,
each naming one registered subject and a later time, chained with
``mamori.audit.chain.link`` and inserted with ``executemany``. The
checkpoint file is then moved to the new head, and ``verify`` is timed over
the whole log (three times; the median counts). Every run must report ok.
Beside each run, plain ``sqlite3`` fetches the same rows in the same batches
and checks nothing: the floor ``verify`` cannot go below.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import sqlite3
import time
from datetime import timedelta
from pathlib import Path
from typing import Any

from bench import RESULTS
from bench.common import PURPOSE, SALES, mamori_home, median, register_all, registrations
from bench.profiling import profile
from bench.report import Goal, Result
from mamori.audit.chain import GENESIS, entry_bytes, link
from mamori.audit.verify import BATCH, Report, verify
from mamori.db.base import to_utc_text
from mamori.runtime import Runtime
from mamori.subjects import service
from mamori.synthetic import Population

NAME = "audit_verify"
ENTRIES = 1_000_000
SUBJECTS = 1000
CHUNK = 50_000
REPEATS = 3
GOALS = [Goal("audit_verify_per_s", 500_000, at_most=False)]
_FIELDS = "seq, at, actor, purpose, action, subjects, categories, outcome, rule, detail"
_SELECT = f"SELECT {_FIELDS}, prev, hash FROM audit_entries ORDER BY seq"
_INSERT = f"INSERT INTO audit_entries ({_FIELDS}, prev, hash) VALUES (?,?,?,?,?,?,?,?,?,?,?,?)"


def run(tmp: Path, *, seed: int, quick: bool = False) -> Result:
    with mamori_home(tmp / "audit-home") as rt:
        refs = register_all(rt, registrations(rt, Population(seed), 0, SUBJECTS))
        template = _template_entry(rt, refs)
        began = time.perf_counter()
        _build_log(rt, refs, template)
        build_s = time.perf_counter() - began
        hmac_us = _hmac_costs(rt.audit.key, template)
        runs, scans = [], []
        for _ in range(REPEATS):
            runs.append(_timed_verify(rt))
            scans.append(_scan_floor(Path(str(rt.db.engine.url.database))))
        _, top = profile(
            lambda: _timed_verify(rt),
            out=RESULTS / f"{NAME}.profile.txt",
            title=f"{NAME}: verify() over {runs[0][0].entries:,} entries",
        )
    seconds = median([s for _, s in runs])
    entries = runs[0][0].entries
    floor = entries / median(scans)
    return Result(
        NAME,
        "audit chain verification",
        GOALS,
        {"audit_verify_per_s": round(entries / seconds)},
        f"{entries:,} entries verified in {seconds:.2f} s (median of {REPEATS}), report ok;"
        f" a bare scan of the same rows runs at {floor:,.0f}/s",
        {
            "entries": entries,
            "verify_s_runs": [round(s, 3) for _, s in runs],
            "bare_scan_s_runs": [round(s, 3) for s in scans],
            "bare_scan_per_s": round(floor),
            "build_s": round(build_s, 2),
            "hmac_per_entry_us": hmac_us,
            "template": {k: v for k, v in template.items() if k != "at"},
        },
        top,
    )


def _timed_verify(rt: Runtime) -> tuple[Report, float]:
    with rt.db.transaction() as tx:
        began = time.perf_counter()
        report = verify(tx, rt.audit)
        took = time.perf_counter() - began
    if not report.ok:
        raise AssertionError(f"the built log does not verify: {report.findings[0].message}")
    return report, took


def _scan_floor(path: Path) -> float:
    """The floor under ``verify``: plain ``sqlite3`` fetching the same rows, nothing checked."""
    conn = sqlite3.connect(path)
    try:
        began = time.perf_counter()
        cursor = conn.execute(_SELECT)
        while cursor.fetchmany(BATCH):
            pass
        return time.perf_counter() - began
    finally:
        conn.close()


def _hmac_costs(key: bytes, template: dict[str, Any], calls: int = 50_000) -> dict[str, float]:
    """µs per HMAC of one entry: ``hmac.digest`` as verify calls it, and with pads hashed once."""
    data = GENESIS + entry_bytes([template[f] for f in _FIELDS.split(", ")])
    pads = (key if len(key) <= 64 else hashlib.sha256(key).digest()).ljust(64, b"\0")
    inner = hashlib.sha256(bytes(b ^ 0x36 for b in pads))
    outer = hashlib.sha256(bytes(b ^ 0x5C for b in pads))

    def precomputed() -> bytes:
        step = inner.copy()
        step.update(data)
        final = outer.copy()
        final.update(step.digest())
        return final.digest()

    if precomputed() != hmac.digest(key, data, "sha256"):
        raise AssertionError("the precomputed-pad HMAC differs from hmac.digest")

    def as_verify_does() -> bytes:
        return hmac.digest(key, data, "sha256")

    costs = {}
    for name, fn in (("hmac_digest", as_verify_does), ("precomputed_pads", precomputed)):
        began = time.perf_counter()
        for _ in range(calls):
            fn()
        costs[name] = round((time.perf_counter() - began) / calls * 1e6, 2)
    return costs


def _template_entry(rt: Runtime, refs: list[str]) -> dict[str, Any]:
    """The entry of a real guarded read of a subject with ten values."""
    with rt.db.transaction() as tx:
        for ref in refs:
            if len(service.read(tx, rt, actor=SALES, ref=ref, purpose=PURPOSE).values) == 10:
                break
        row = tx.fetchone(f"SELECT {_FIELDS} FROM audit_entries ORDER BY seq DESC LIMIT 1")
    return dict(zip(_FIELDS.split(", "), row, strict=True))


def _build_log(rt: Runtime, refs: list[str], template: dict[str, Any]) -> None:
    """Append ``ENTRIES`` entries like ``template`` to the chain, then move the checkpoint."""
    key, start = rt.audit.key, rt.now()
    fixed = (template["actor"], template["purpose"], template["action"])
    tail = (template["categories"], template["outcome"], template["rule"], template["detail"])
    with rt.db.transaction() as tx:
        seq, prev = tx.fetchone("SELECT seq, hash FROM audit_entries ORDER BY seq DESC LIMIT 1")
        prev = bytes(prev)
        for first in range(0, ENTRIES, CHUNK):
            rows = []
            for n in range(first, min(first + CHUNK, ENTRIES)):
                seq += 1
                at = to_utc_text(start + timedelta(milliseconds=n))
                subjects = json.dumps([refs[n % len(refs)]], separators=(",", ":"))
                row = (seq, at, *fixed, subjects, *tail)
                digest = link(key, prev, row)
                rows.append((*row, prev, digest))
                prev = digest
            tx.executemany(_INSERT, rows)
    rt.audit.checkpoint(seq, prev)
