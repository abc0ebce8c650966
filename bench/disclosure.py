"""Figure 6: one subject's disclosure report, built in a registry of a million.

Mamori side: ``disclosure.build_report`` in its own transaction on one held
handle, as the API would run it: load the row and the value history, one
guard decision with ``dsr.disclosure`` over every category held, its
hash-chained audit entry, the notice in force, unwrap the data key, open
every value and every replaced one, purposes, consent history, commit. Bare
side, on the same handle and the same rows: a transaction with one select of
the row by reference and an AES-GCM open of every value (the data key
unwrapped first), no guard, no audit, no report.

The registry is streamed in (``register_stream`` with validation in worker
processes), 1,000,000 subjects or 100,000 with ``--quick``. The measured
subjects, drawn at random, each have one value corrected first, so the
history is part of every report. The two sides alternate subject by subject.
"""

from __future__ import annotations

import random
import statistics
import time
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from bench import RESULTS
from bench.common import BATCH, CHANNEL, OFFICER, PURPOSE, mamori_home, registrations
from bench.profiling import profile
from bench.report import Goal, Result
from mamori.db.engine import Handle
from mamori.dsr import disclosure
from mamori.runtime import Runtime, load_keys
from mamori.subjects import changes, store
from mamori.subjects.intake import Registration, register_stream
from mamori.synthetic import Population

NAME = "disclosure"
SUBJECTS = 1_000_000
QUICK_SUBJECTS = 100_000
SAMPLES = 400
WARM_UP = 50
PROFILE_REPORTS = 2000
CORRECTED = "user.contact.organization"
GOALS = [Goal("disclosure_ms_p50", 20.0, at_most=True)]


def run(tmp: Path, *, seed: int, quick: bool = False) -> Result:
    count = QUICK_SUBJECTS if quick else SUBJECTS
    with mamori_home(tmp / "disclosure-home") as rt:
        began = time.perf_counter()
        refs = _registry(rt, Population(seed + 6), count)
        build_s = time.perf_counter() - began
        rng = random.Random(seed)
        picks = rng.sample(refs, SAMPLES + WARM_UP)
        _correct(rt, picks)
        opener = _BareOpener(rt)
        with rt.db.connect() as handle:
            _check_same(handle, rt, opener, picks[0])
            mamori_ms, bare_ms = _alternate(handle, rt, opener, picks)
            sizes = _sizes(handle, rt, picks[:20])
            profile_picks = [rng.choice(picks) for _ in range(PROFILE_REPORTS)]
            _, top = profile(
                lambda: [_report_ms(handle, rt, ref) for ref in profile_picks],
                out=RESULTS / f"{NAME}.profile.txt",
                title=f"{NAME}: {PROFILE_REPORTS:,} build_report calls, one per transaction,"
                f" in a registry of {count:,}",
            )
    details = {"subjects": count, "registry_build_s": round(build_s, 1), **sizes}
    return _result(count, mamori_ms, bare_ms, details, top)


def _result(
    count: int,
    mamori_ms: Sequence[float],
    bare_ms: Sequence[float],
    details: dict[str, Any],
    top: list[dict[str, Any]],
) -> Result:
    p50, bare = statistics.median(mamori_ms), statistics.median(bare_ms)
    return Result(
        NAME,
        f"disclosure report of one subject among {count:,}",
        GOALS,
        {
            "disclosure_ms_p50": round(p50, 3),
            "disclosure_bare_ms_p50": round(bare, 3),
            "disclosure_ratio": round(p50 / bare, 2),
        },
        f"report {p50:.2f} ms p50 vs bare select + open {bare:.3f} ms ({p50 / bare:.1f}×), "
        f"{len(mamori_ms)} random subjects among {count:,}",
        {
            **details,
            "samples": len(mamori_ms),
            "disclosure_ms_p90": round(_quantile(mamori_ms, 0.9), 3),
            "disclosure_ms_p99": round(_quantile(mamori_ms, 0.99), 3),
            "bare_ms_p90": round(_quantile(bare_ms, 0.9), 3),
        },
        top,
    )


def _registry(rt: Runtime, population: Population, count: int) -> list[str]:
    """Stream ``count`` people in, in transactions of 100,000; returns their references."""
    step = 100_000
    for first in range(0, count, step):
        records = _people(rt, population, first, min(step, count - first))
        with rt.db.transaction() as tx:
            register_stream(
                tx, rt, actor=OFFICER, channel=CHANNEL, purpose=PURPOSE, records=records, workers=2
            )
    with rt.db.transaction() as tx:
        return [r[0] for r in tx.fetchall("SELECT ref FROM subjects ORDER BY id")]


def _people(rt: Runtime, population: Population, first: int, count: int) -> Iterator[Registration]:
    for start in range(first, first + count, BATCH):
        yield from registrations(rt, population, start, min(BATCH, first + count - start))


def _correct(rt: Runtime, refs: Sequence[str]) -> None:
    """One corrected value per measured subject, so every report carries history."""
    with rt.db.transaction() as tx:
        for n, ref in enumerate(refs):
            changes.correct(
                tx,
                rt,
                actor=OFFICER,
                ref=ref,
                purpose=PURPOSE,
                values={CORRECTED: f"株式会社ベンチ{n}"},
            )


def _alternate(
    handle: Handle, rt: Runtime, opener: _BareOpener, picks: Sequence[str]
) -> tuple[list[float], list[float]]:
    """Bare, Mamori, bare, Mamori...: ms per subject, after a warm-up of each."""
    for ref in picks[:WARM_UP]:
        opener.read(handle, ref)
        _report_ms(handle, rt, ref)
    mamori_ms, bare_ms = [], []
    for ref in picks[WARM_UP:]:
        bare_ms.append(opener.read(handle, ref))
        mamori_ms.append(_report_ms(handle, rt, ref))
    return mamori_ms, bare_ms


def _report_ms(handle: Handle, rt: Runtime, ref: str) -> float:
    began = time.perf_counter()
    with handle.transaction() as tx:
        disclosure.build_report(tx, rt, actor=OFFICER, ref=ref)
    return (time.perf_counter() - began) * 1e3


class _BareOpener:
    """The least a disclosure could do: select the row, unwrap the key, open every value."""

    def __init__(self, rt: Runtime) -> None:
        keys = load_keys(rt.settings)
        self._keks = {v: AESGCM(k) for v, k in keys.keks.items()}

    def read(self, handle: Handle, ref: str) -> float:
        began = time.perf_counter()
        with handle.transaction() as tx:
            self.values(store.load(tx, ref))
        return (time.perf_counter() - began) * 1e3

    def values(self, row: store.SubjectRow) -> dict[str, str]:
        wrapped = row.wrapped()
        blob, version = wrapped.wrapped, wrapped.kek_version
        key_aad = f"mamori/dk/v1|{row.ref}|{version}".encode()
        aead = AESGCM(self._keks[version].decrypt(blob[:12], blob[12:], key_aad))
        opened = {}
        for category, entry in row.entries.items():
            token = entry[store.TOKEN]
            aad = f"mamori/v1|{row.ref}|{category}|{int.from_bytes(token[1:3])}".encode()
            opened[category] = aead.decrypt(token[3:15], token[15:], aad).decode()
        return opened


def _check_same(handle: Handle, rt: Runtime, opener: _BareOpener, ref: str) -> None:
    """Both sides must open the same values, or the comparison means nothing."""
    with handle.transaction() as tx:
        report = disclosure.build_report(tx, rt, actor=OFFICER, ref=ref)
        plain = opener.values(store.load(tx, ref))
    if {v["key"]: v["value"] for v in report["values"]} != plain:
        raise AssertionError(f"the two sides disagree on subject {ref}")


def _sizes(handle: Handle, rt: Runtime, refs: Sequence[str]) -> dict[str, Any]:
    """What a report holds and weighs, and what rendering it costs (apart from building)."""
    json_ms, html_ms, json_kb, html_kb, values = [], [], [], [], []
    for ref in refs:
        with handle.transaction() as tx:
            report = disclosure.build_report(tx, rt, actor=OFFICER, ref=ref)
        began = time.perf_counter()
        data = disclosure.render_json(report)
        json_ms.append((time.perf_counter() - began) * 1e3)
        began = time.perf_counter()
        page = disclosure.render_html(report, "ja")
        html_ms.append((time.perf_counter() - began) * 1e3)
        json_kb.append(len(data) / 1024)
        html_kb.append(len(page.encode()) / 1024)
        values.append(len(report["values"]))
    return {
        "values_per_report": statistics.mean(values),
        "render_json_ms_p50": round(statistics.median(json_ms), 3),
        "render_html_ms_p50": round(statistics.median(html_ms), 3),
        "json_kb": round(statistics.mean(json_kb), 1),
        "html_kb": round(statistics.mean(html_kb), 1),
    }


def _quantile(values: Sequence[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]
