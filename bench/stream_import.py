"""Figure 3: a million subjects streamed in, in a process of its own.

The parent starts ``python -m bench.stream_import`` so that ``ru_maxrss`` is
the import's own peak. The child makes a fresh home, then generates 5,000
people, registers them with ``register_many`` in their own transaction on
one held handle, and moves on: people are never all in memory. Throughput
is counted over the registration time (generation apart, as in figure 2);
the wall rate including generation, and the rate within each step of
100,000, are reported beside it. Once the count is reached and the peak
memory taken, the same child profiles 20,000 more, so the profile shows
the import as it runs into a full registry.
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from bench import RESULTS
from bench.common import BATCH, CHANNEL, OFFICER, PURPOSE, mamori_home, registrations
from bench.profiling import profile
from bench.report import Goal, Result
from mamori.runtime import Runtime
from mamori.subjects.intake import register_many
from mamori.synthetic import Population

NAME = "stream_import"
SUBJECTS = 1_000_000
QUICK_SUBJECTS = 100_000
PROFILE_SUBJECTS = 20_000
PROGRESS_EVERY = 100_000
GOALS = [
    Goal("bulk_import_per_s", 20_000, at_most=False),
    Goal("bulk_import_peak_mb", 500, at_most=True),
]


def run(tmp: Path, *, seed: int, quick: bool = False) -> Result:
    count = QUICK_SUBJECTS if quick else SUBJECTS
    doc = _child(tmp / "home", seed=seed, count=count, then_profile=PROFILE_SUBJECTS)
    return Result(
        NAME,
        f"streamed import of {count:,} subjects",
        GOALS,
        {
            "bulk_import_per_s": round(doc["per_s"]),
            "bulk_import_peak_mb": round(doc["peak_mb"], 1),
        },
        f"{count:,} subjects: {doc['register_s']:.1f} s registering, {doc['generate_s']:.1f} s "
        f"generating ({doc['wall_per_s']:,.0f}/s with generation), peak {doc['peak_mb']:.0f} MB",
        {k: v for k, v in doc.items() if k != "profile"},
        doc["profile"],
    )


def _child(home: Path, *, seed: int, count: int, then_profile: int) -> dict[str, Any]:
    """Run the import in a fresh interpreter; its last stdout line is the JSON result."""
    command = [sys.executable, "-m", "bench.stream_import", "--home", str(home)]
    command += ["--seed", str(seed), "--count", str(count), "--then-profile", str(then_profile)]
    done = subprocess.run(
        command, cwd=RESULTS.parent.parent, stdout=subprocess.PIPE, text=True, check=True
    )
    result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def stream(home: Path, *, seed: int, count: int, then_profile: int) -> dict[str, Any]:
    """A fresh home, ``count`` people streamed in; then ``then_profile`` more, profiled.

    Peak memory is taken before the profiled part, which only shows where the
    time goes once the registry holds ``count`` subjects and counts for nothing else.
    """
    with mamori_home(home) as rt:
        population = Population(seed)
        doc = _register_stream(rt, population, 0, count)
        doc["peak_mb"] = _peak_mb()
        doc["db_mb"] = round(sum(p.stat().st_size for p in home.glob("mamori.db*")) / 2**20, 1)
        doc["profile"] = []
        if then_profile:
            profiled, doc["profile"] = profile(
                lambda: _register_stream(rt, population, count, then_profile),
                out=RESULTS / f"{NAME}.profile.txt",
                title=f"{NAME}: {then_profile:,} more subjects generated and registered by"
                f" 5,000 (one transaction each) into a registry of {count:,}",
            )
            doc["profiled_per_s"] = round(profiled["per_s"])
    return doc


def _register_stream(rt: Runtime, population: Population, first: int, count: int) -> dict[str, Any]:
    generate_s = register_s = 0.0
    steps: list[dict[str, float]] = []
    began = last_step = time.perf_counter()
    with rt.db.connect() as handle:
        for start in range(first, first + count, BATCH):
            t0 = time.perf_counter()
            records = registrations(rt, population, start, min(BATCH, first + count - start))
            t1 = time.perf_counter()
            with handle.transaction() as tx:
                register_many(
                    tx, rt, actor=OFFICER, channel=CHANNEL, purpose=PURPOSE, records=records
                )
            generate_s += t1 - t0
            register_s += time.perf_counter() - t1
            done = start + len(records) - first
            if done % PROGRESS_EVERY == 0 or done == count:
                steps.append(_step(done, register_s, steps, time.perf_counter() - last_step))
                last_step = time.perf_counter()
    wall_s = time.perf_counter() - began
    return {
        "subjects": count,
        "batch": BATCH,
        "register_s": round(register_s, 3),
        "generate_s": round(generate_s, 3),
        "wall_s": round(wall_s, 3),
        "per_s": round(count / register_s, 1),
        "wall_per_s": round(count / wall_s),
        "steps": steps,
    }


def _step(
    done: int, register_s: float, steps: list[dict[str, float]], wall: float
) -> dict[str, float]:
    """Progress at a step: registration rate within the step and so far, peak memory."""
    before = steps[-1] if steps else {"done": 0, "register_s": 0.0}
    step = {
        "done": done,
        "register_s": round(register_s, 3),
        "step_per_s": round((done - before["done"]) / (register_s - before["register_s"])),
        "step_wall_s": round(wall, 2),
        "peak_mb": round(_peak_mb(), 1),
    }
    print(
        f"  {done:>9,} registered: {step['step_per_s']:,}/s in this step,"
        f" {done / register_s:,.0f}/s so far, peak {step['peak_mb']:,.0f} MB",
        file=sys.stderr,
        flush=True,
    )
    return step


def _peak_mb() -> float:
    """This process's peak resident set (Linux reports ru_maxrss in KiB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.stream_import")
    parser.add_argument("--home", type=Path, required=True)
    parser.add_argument("--seed", type=int, required=True)
    parser.add_argument("--count", type=int, required=True)
    parser.add_argument("--then-profile", type=int, default=0)
    args = parser.parse_args(argv)
    doc = stream(args.home, seed=args.seed, count=args.count, then_profile=args.then_profile)
    print(json.dumps(doc))


if __name__ == "__main__":
    main()
