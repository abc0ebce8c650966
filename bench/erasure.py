"""Figure: one erasure at a person's request, in a registry of 10,000 and of 1,000,000.

Each registry is built with ``register_stream`` (validation ahead in a worker
process, 100,000 subjects per transaction): buyers through the purchase
channel, whose invoices a retention duty keeps, so their erasure is partial
(everything else erased, every other use stopped); and a few hundred newsletter
subscribers, whom nothing keeps, so theirs is a whole shred. Then random
subjects are erased with ``dsr.erasure.erase``, each in its own transaction on
one held handle (load, plan, decide, audit, rewrite the row, null history, drop
blind indexes, commit, ledger line). The headline is the median of the partial
erasures; an erasure must not grow with the registry, so the two sizes are
compared. ``--quick`` uses 100,000 in place of 1,000,000.
"""

from __future__ import annotations

import random
import time
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

from bench import RESULTS
from bench.common import CHANNEL, OFFICER, PURPOSE, mamori_home, median
from bench.profiling import profile
from bench.report import Goal, Result
from mamori.db.engine import Handle
from mamori.dsr import erasure
from mamori.runtime import Runtime
from mamori.subjects.intake import Registration, register_stream
from mamori.synthetic import Population

NAME = "erasure"
SMALL = 10_000
LARGE = 1_000_000
QUICK_LARGE = 100_000
ERASURES = 300
WHOLE = 200
WARM_UP = 30
PROFILE_ERASURES = 300
PER_TRANSACTION = 100_000
SUBSCRIBE = ("email_subscription", "email_delivery")
GOALS = [
    Goal("erasure_ms_p50_10k", 10.0, at_most=True),
    Goal("erasure_ms_p50_large", 10.0, at_most=True),
    Goal("erasure_ms_ratio", 1.5, at_most=True),
]


def run(tmp: Path, *, seed: int, quick: bool = False) -> Result:
    large = QUICK_LARGE if quick else LARGE
    small_doc = _measure(tmp / "erasure-10k", seed=seed, count=SMALL, profiled=False)
    large_doc = _measure(tmp / "erasure-large", seed=seed, count=large, profiled=True)
    top = large_doc.pop("profile")
    small_doc.pop("profile")
    p50_small, p50_large = small_doc["partial_ms_p50"], large_doc["partial_ms_p50"]
    ratio = p50_large / p50_small
    return Result(
        NAME,
        f"erasure in registries of {SMALL:,} and {large:,}",
        GOALS,
        {
            "erasure_ms_p50_10k": round(p50_small, 3),
            "erasure_ms_p50_large": round(p50_large, 3),
            "erasure_ms_ratio": round(ratio, 3),
        },
        f"partial erasure p50 {p50_small:.2f} ms at {SMALL:,}, {p50_large:.2f} ms at {large:,}"
        f" ({ratio:.2f}×); whole shred p50 {small_doc['whole_ms_p50']:.2f} / "
        f"{large_doc['whole_ms_p50']:.2f} ms",
        {"small": small_doc, "large": large_doc, "erasures": ERASURES, "whole": WHOLE},
        top,
    )


def _measure(root: Path, *, seed: int, count: int, profiled: bool) -> dict[str, Any]:
    """Build a registry of ``count`` buyers and ``WHOLE`` subscribers, then time erasures."""
    with mamori_home(root) as rt:
        began = time.perf_counter()
        _build(rt, Population(seed), count)
        build_s = time.perf_counter() - began
        rng = random.Random(seed)
        ids = rng.sample(range(1, count + 1), WARM_UP + ERASURES + PROFILE_ERASURES)
        with rt.db.connect() as handle:
            buyers = _refs(handle, ids)
            subscribers = _refs(handle, list(range(count + 1, count + WHOLE + 1)))
            _timed(handle, rt, buyers[:WARM_UP])
            partial = _timed(handle, rt, buyers[WARM_UP : WARM_UP + ERASURES])
            whole = _timed(handle, rt, subscribers)
            sweep_began = time.perf_counter()
            erasure.sweep_retained(rt)  # nothing is due: what the periodic look costs
            sweep_ms = (time.perf_counter() - sweep_began) * 1000
            top: list[dict[str, Any]] = []
            if profiled:
                _, top = profile(
                    lambda: _timed(handle, rt, buyers[WARM_UP + ERASURES :]),
                    out=RESULTS / f"{NAME}.profile.txt",
                    title=f"{NAME}: {PROFILE_ERASURES} partial erasures, one per transaction,"
                    f" in a registry of {count:,}",
                )
    return {
        "subjects": count,
        "build_s": round(build_s, 1),
        "partial_ms_p50": median(partial),
        "partial_ms_p90": _percentile(partial, 0.9),
        "whole_ms_p50": median(whole),
        "whole_ms_p90": _percentile(whole, 0.9),
        "sweep_idle_ms": round(sweep_ms, 2),
        "profile": top,
    }


def _build(rt: Runtime, population: Population, count: int) -> None:
    """``count`` buyers, then ``WHOLE`` subscribers, by the streamed import."""
    covered = rt.policy.categories_of(PURPOSE)
    for start in range(0, count, PER_TRANSACTION):
        size = min(PER_TRANSACTION, count - start)
        with rt.db.transaction() as tx:
            register_stream(
                tx,
                rt,
                actor=OFFICER,
                channel=CHANNEL,
                purpose=PURPOSE,
                records=_people(population, start, size, covered, ()),
            )
    channel, purpose = SUBSCRIBE
    with rt.db.transaction() as tx:
        register_stream(
            tx,
            rt,
            actor=OFFICER,
            channel=channel,
            purpose=purpose,
            records=_people(population, count, WHOLE, rt.policy.categories_of(purpose), (purpose,)),
        )


def _people(
    population: Population,
    start: int,
    count: int,
    covered: frozenset[str],
    consents: tuple[str, ...],
) -> Iterator[Registration]:
    for person in population.people(count, start):
        yield Registration({k: v for k, v in person.values.items() if k in covered}, consents)


def _refs(handle: Handle, ids: Sequence[int]) -> list[str]:
    """References of subjects by row id, in the order given."""
    found: dict[int, str] = {}
    with handle.transaction() as tx:
        for start in range(0, len(ids), 500):
            chunk = ids[start : start + 500]
            marks = ",".join("?" * len(chunk))
            for sid, ref in tx.fetchall(
                f"SELECT id, ref FROM subjects WHERE id IN ({marks})", chunk
            ):
                found[int(sid)] = str(ref)
    return [found[i] for i in ids]


def _timed(handle: Handle, rt: Runtime, refs: Sequence[str]) -> list[float]:
    """Milliseconds of each erasure, each in its own transaction, commit included."""
    took = []
    for ref in refs:
        began = time.perf_counter()
        with handle.transaction() as tx:
            erasure.erase(tx, rt, actor=OFFICER, ref=ref)
        took.append((time.perf_counter() - began) * 1000)
    return took


def _percentile(values: Sequence[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]
