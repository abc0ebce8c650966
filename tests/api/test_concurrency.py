"""Several writers at once on PostgreSQL keep the audit chain whole.

Four worker processes, each with its own runtime (``boot.start``) on the same
database and home, register and read subjects at the same time; then two
threads share one app and post registrations through it. Afterwards the chain
has no fork (no two entries name the same predecessor), no gap, every
registration and read has its entry, and ``verify`` passes with the
checkpoint outside the database at the head.
"""

from __future__ import annotations

import multiprocessing
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime

import pytest
from fastapi.testclient import TestClient

from mamori import boot
from mamori.audit.verify import verify
from mamori.config import Settings
from mamori.guard.rules import Actor
from mamori.runtime import Runtime
from mamori.subjects import service
from mamori.subjects.intake import Registration, register
from tests.api.support import audit_count
from tests.factories import CHANNEL, PURPOSE, customer_values, register_customers

pytestmark = pytest.mark.parametrize("settings", ["postgres"], indirect=True)

PROCESSES = 4
PER_PROCESS = 50
SALES = Actor("sales", ("sales",))


def work_in_process(
    settings: Settings, moment: datetime, values: list[dict[str, str]], reads: list[str]
) -> list[str]:
    """One worker: its own runtime; registrations and reads, one transaction each."""
    rt = boot.start(settings, clock=lambda: moment)
    made = []
    try:
        for index, person in enumerate(values):
            with rt.db.transaction() as tx:
                ref = register(
                    tx,
                    rt,
                    actor=SALES,
                    channel=CHANNEL,
                    purpose=PURPOSE,
                    registration=Registration(person),
                )
            made.append(ref)
            with rt.db.transaction() as tx:
                service.read(tx, rt, actor=SALES, ref=reads[index % len(reads)], purpose=PURPOSE)
    finally:
        rt.close()
    return made


def assert_chain_whole(rt: Runtime) -> None:
    with rt.db.transaction() as tx:
        forks = tx.fetchall(
            "SELECT prev, count(*) FROM audit_entries GROUP BY prev HAVING count(*) > 1"
        )
        seqs = [r[0] for r in tx.fetchall("SELECT seq FROM audit_entries ORDER BY seq")]
        report = verify(tx, rt.audit)
    assert forks == [], "two entries follow the same one: the chain forked"
    assert seqs == list(range(1, len(seqs) + 1)), "a sequence number is missing"
    assert report.ok, report.findings
    assert report.entries == report.last_seq == len(seqs)
    assert report.checkpoint_seq == report.last_seq, "the checkpoint is not at the head"


def test_parallel_processes_keep_the_chain_whole(rt: Runtime) -> None:
    reads = register_customers(rt, 8)
    before = audit_count(rt)
    half = PER_PROCESS // 2
    jobs = [
        (rt.settings, rt.now(), [customer_values(rt) for _ in range(half)], reads)
        for _ in range(PROCESSES)
    ]
    with multiprocessing.get_context("spawn").Pool(PROCESSES) as pool:
        made = pool.starmap(work_in_process, jobs)
    refs = [ref for batch in made for ref in batch]
    assert len(set(refs)) == PROCESSES * half
    assert audit_count(rt) == before + PROCESSES * PER_PROCESS
    with rt.db.transaction() as tx:
        stored = tx.fetchone("SELECT count(*) FROM subjects")[0]
    assert stored == len(reads) + len(refs)
    assert_chain_whole(rt)


def test_two_threads_sharing_one_app_keep_the_chain_whole(
    client: TestClient, rt: Runtime, token_for: Callable[[str], dict[str, str]]
) -> None:
    sales = token_for("sales")
    forms = [{"channel": CHANNEL, "values": customer_values(rt)} for _ in range(2 * PER_PROCESS)]
    before = audit_count(rt)

    def post(form: dict[str, object]) -> int:
        answer = client.post("/subjects", params={"purpose": PURPOSE}, headers=sales, json=form)
        return answer.status_code

    with ThreadPoolExecutor(2) as threads:
        statuses = list(threads.map(post, forms))
    assert statuses == [201] * len(forms)
    assert audit_count(rt) == before + len(forms)
    assert_chain_whole(rt)
    report = client.post("/audit/verify", headers=token_for("auditor")).json()
    assert report["ok"] is True and report["checkpoint_seq"] == report["last_seq"]
