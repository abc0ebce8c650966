"""Figure 8: provide every consenting subject of a registry to a sales partner.

Mamori side: ``provision.provide`` in one transaction, as ``mamori provide
--all`` runs it: load the rows in chunks, one guard decision for all of them
(role, purpose, recipient, consent, stop, retention, announcement), its
hash-chained audit entry naming every subject, the consent each rested on
(fetched in bulk), the provision record and one row per subject, open every
permitted value, build the CSV, commit; then the file is written. Bare side,
on the same rows: a transaction that selects them, unwraps each data key and
opens the same values with AES-GCM (as the disclosure figure's bare side),
and writes the same CSV (``export.build``, so the bytes match) without
checks or records. The two sides alternate, and must produce the same digest.

100,000 subjects who consented to ``partner_information`` (20,000 with
``--quick``), registered through ``email_subscription``; provided to
``partner_kanto`` (every item of the purpose).
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from bench import RESULTS
from bench.common import BATCH, OFFICER, mamori_home
from bench.disclosure import _BareOpener
from bench.profiling import profile
from bench.report import Goal, Result
from mamori.db.engine import Handle
from mamori.policy.schemas import ProvisionBasis
from mamori.recipients import provision
from mamori.recipients.export import ExportFile, ExportFormat, build
from mamori.runtime import Runtime
from mamori.subjects import store
from mamori.subjects.intake import Registration, register_stream
from mamori.synthetic import Population

NAME = "provision"
SUBJECTS = 100_000
QUICK_SUBJECTS = 20_000
ROUNDS = 3
CHANNEL = "email_subscription"
PURPOSE = "partner_information"
RECIPIENT = "partner_kanto"
GOALS = [Goal("provision_ratio", 3.0, at_most=True)]


def run(tmp: Path, *, seed: int, quick: bool = False) -> Result:
    count = QUICK_SUBJECTS if quick else SUBJECTS
    with mamori_home(tmp / "provision-home") as rt:
        began = time.perf_counter()
        _registry(rt, Population(seed + 8), count)
        build_s = time.perf_counter() - began
        opener = _BareOpener(rt)
        categories = sorted(rt.policy.categories_of(PURPOSE))
        mamori_s, bare_s = [], []
        with rt.db.connect() as handle:
            for n in range(ROUNDS):
                bare, bare_file = _bare(handle, opener, categories, tmp / f"bare-{n}.csv")
                took, made = _mamori(handle, rt, tmp / f"mamori-{n}.csv")
                if made.digest != bare_file.digest or made.rows != count:
                    raise AssertionError("the two sides wrote different files")
                bare_s.append(bare)
                mamori_s.append(took)
            _, top = profile(
                lambda: _mamori(handle, rt, tmp / "profiled.csv"),
                out=RESULTS / f"{NAME}.profile.txt",
                title=f"{NAME}: one provision of {count:,} subjects to {RECIPIENT}",
            )
    return _result(count, mamori_s, bare_s, {"registry_build_s": round(build_s, 1)}, top)


def _result(
    count: int,
    mamori_s: list[float],
    bare_s: list[float],
    details: dict[str, Any],
    top: list[dict[str, Any]],
) -> Result:
    took, bare = statistics.median(mamori_s), statistics.median(bare_s)
    return Result(
        NAME,
        f"provision of {count:,} consenting subjects to a sales partner",
        GOALS,
        {
            "provision_per_s": round(count / took),
            "provision_bare_per_s": round(count / bare),
            "provision_ratio": round(took / bare, 2),
        },
        f"provide {count:,} in {took:.2f} s ({count / took:,.0f}/s) vs bare select + open"
        f" + CSV {bare:.2f} s ({took / bare:.1f}×)",
        {**details, "subjects": count, "rounds": ROUNDS, "mamori_s": mamori_s, "bare_s": bare_s},
        top,
    )


def _registry(rt: Runtime, population: Population, count: int) -> None:
    covered = rt.policy.categories_of(PURPOSE)

    def people() -> Iterator[Registration]:
        for start in range(0, count, BATCH):
            for person in population.people(min(BATCH, count - start), start):
                values = {k: v for k, v in person.values.items() if k in covered}
                yield Registration(values, (PURPOSE,))

    with rt.db.transaction() as tx:
        register_stream(
            tx, rt, actor=OFFICER, channel=CHANNEL, purpose=PURPOSE, records=people(), workers=2
        )


def _mamori(handle: Handle, rt: Runtime, out: Path) -> tuple[float, ExportFile]:
    began = time.perf_counter()
    with handle.transaction() as tx:
        made = provision.provide(
            tx,
            rt,
            actor=OFFICER,
            recipient=RECIPIENT,
            purpose=PURPOSE,
            basis=ProvisionBasis.CONSENT,
            selection=provision.Selection(channel=CHANNEL),
            fmt=ExportFormat.CSV,
        )
    out.write_bytes(made.export.content)
    return time.perf_counter() - began, made.export


def _bare(
    handle: Handle, opener: _BareOpener, categories: list[str], out: Path
) -> tuple[float, ExportFile]:
    """The least a provision could do: select the rows, open the values, write the CSV."""
    began = time.perf_counter()
    sql = (
        f"SELECT {store.COLUMNS} FROM subjects WHERE erased_at IS NULL AND channel = ?"
        " AND id > ? ORDER BY id LIMIT ?"
    )
    rows: list[tuple[str, dict[str, str]]] = []
    with handle.transaction() as tx:
        after = 0
        while True:
            chunk = tx.fetchall(sql, (CHANNEL, after, provision.CHUNK))
            for raw in chunk:
                row = store.SubjectRow.from_db(raw)
                opened = opener.values(row)
                rows.append((row.ref, {c: opened[c] for c in categories if c in opened}))
            if len(chunk) < provision.CHUNK:
                break
            after = chunk[-1][0]
    made = build(ExportFormat.CSV, categories, rows)
    out.write_bytes(made.content)
    return time.perf_counter() - began, made
