"""``api_read``: guarded reads over HTTP, against the bare work in the same server.

A PostgreSQL database of its own is filled with 10,000 subjects and, beside
them, a plaintext copy of the same values in a bench table. ``mamori serve``
runs with two workers; wrk (Debian's package) drives it from a second process
on loopback, first with guarded reads of random subjects through a service
token, then with the bare endpoint (plaintext select + log insert + commit)
through the same stack. Without wrk the figure says so and is skipped.
"""

from __future__ import annotations

import json
import os
import random
import shutil
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import psycopg

from bench.common import OFFICER, PURPOSE, SALES
from bench.report import Goal, Result
from mamori.auth import tokens
from mamori.config import load_settings
from mamori.demo import EXAMPLE_POLICY
from mamori.install import initialise
from mamori.policy import service as notices
from mamori.runtime import open_runtime
from mamori.staff import service as staff
from mamori.subjects.intake import Registration, register_many
from mamori.synthetic import Population

NAME = "api_read"
GOALS = [
    Goal("api_read_per_s", 1500, at_most=False),
    Goal("api_read_p99_ms", 50, at_most=True),
    Goal("api_overhead_ratio", 1.5, at_most=True),
]
ADMIN = "postgresql://postgres@127.0.0.1:5432/postgres"
DATABASE = "mamori_bench_api"
SUBJECTS = 10_000
PORT = 8931
LUA = """
local paths = {}
for line in io.lines("%(paths)s") do paths[#paths + 1] = line end
wrk.headers["Authorization"] = "%(auth)s"
request = function() return wrk.format("GET", paths[math.random(#paths)]) end
done = function(summary, latency, requests)
  io.write(string.format('{"requests": %%d, "seconds": %%f, "errors": %%d, "p50_us": %%d, "p99_us": %%d, "non2xx": %%d}\\n',
    summary.requests, summary.duration / 1e6, summary.errors.connect + summary.errors.read + summary.errors.write + summary.errors.timeout,
    latency:percentile(50), latency:percentile(99), summary.errors.status))
end
"""


def run(tmp: Path, *, seed: int, quick: bool = False) -> Result:
    if shutil.which("wrk") is None:
        return _skipped("wrk is not installed (apt-get install wrk)")
    url = _fresh_database()
    env = {"MAMORI_HOME": str(tmp / "api-home"), "MAMORI_DATABASE_URL": url}
    secret, refs, columns = _populate(env, seed)
    server = _serve(env, tmp)
    try:
        seconds = 10 if quick else 30
        guarded = _wrk(
            tmp, "guarded", [f"/subjects/{r}?purpose={PURPOSE}" for r in refs], secret, seconds
        )
        bare = _wrk(tmp, "bare", [f"/bench/bare/{r}" for r in refs], secret, seconds)
    finally:
        server.terminate()
        server.wait(timeout=30)
    return _result(guarded, bare, seconds, columns)


def _fresh_database() -> str:
    with psycopg.connect(ADMIN, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{DATABASE}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{DATABASE}"')
    return f"postgresql+psycopg://postgres@127.0.0.1:5432/{DATABASE}"


def _populate(env: dict[str, str], seed: int) -> tuple[str, list[str], int]:
    settings = load_settings(env)
    initialise(settings, policy_source=EXAMPLE_POLICY, by="cli:bench")
    rt = open_runtime(settings)
    try:
        covered = rt.policy.categories_of(PURPOSE)
        people = [
            {k: v for k, v in p.values.items() if k in covered}
            for p in Population(seed).people(SUBJECTS)
        ]
        with rt.db.transaction() as tx:
            for handle, role in (("officer", "privacy_officer"), ("sales", "sales")):
                staff.add(tx, rt, handle=handle, roles=[role], by="cli:bench")
            notices.publish(tx, rt, actor=OFFICER)
        refs: list[str] = []
        for start in range(0, SUBJECTS, 2000):
            with rt.db.transaction() as tx:
                batch = [Registration(v) for v in people[start : start + 2000]]
                refs += register_many(
                    tx, rt, actor=SALES, channel="product_purchase", purpose=PURPOSE, records=batch
                )
        with rt.db.transaction() as tx:
            _, secret = tokens.create_token(
                tx, rt, label="bench", role="sales", expires_in_days=1, by="cli:bench"
            )
        columns = sorted(covered)
        _bare_tables(env["MAMORI_DATABASE_URL"], refs, people, columns)
    finally:
        rt.close()
    return secret, refs, len(columns)


def _bare_tables(
    url: str, refs: list[str], people: list[dict[str, str]], columns: list[str]
) -> None:
    with psycopg.connect(url.replace("+psycopg", ""), autocommit=True) as conn:
        names = ", ".join(f"c{i} text" for i in range(len(columns)))
        conn.execute(f"CREATE TABLE bench_plain (ref text PRIMARY KEY, {names})")
        conn.execute(
            "CREATE TABLE bench_log (id bigserial PRIMARY KEY, at timestamptz DEFAULT now(),"
            " actor text, purpose text, subject text)"
        )
        marks = ", ".join(["%s"] * (len(columns) + 1))
        with conn.cursor() as cur:
            cur.executemany(
                f"INSERT INTO bench_plain VALUES ({marks})",
                [(r, *(p.get(c) for c in columns)) for r, p in zip(refs, people, strict=True)],
            )


def _serve(env: dict[str, str], tmp: Path) -> subprocess.Popen[bytes]:
    full = {
        **os.environ,
        **env,
        "MAMORI_BENCH_BARE": "1",
        "MAMORI_RATE_LIMIT": "100000000/60",
        "MAMORI_LOG_LEVEL": "WARNING",
    }
    mamori = Path(sys.executable).with_name("mamori")
    server = subprocess.Popen(
        [str(mamori), "serve", "--workers", "2", "--port", str(PORT)],
        env=full,
        stdout=(tmp / "server.log").open("wb"),
        stderr=subprocess.STDOUT,
    )
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{PORT}/health/ready", timeout=2):
                return server
        except OSError:
            time.sleep(0.5)
    server.terminate()
    raise RuntimeError("the benchmark server did not become ready")


def _wrk(tmp: Path, name: str, paths: list[str], secret: str, seconds: int) -> dict[str, float]:
    random.shuffle(paths)
    (tmp / f"{name}.paths").write_text("\n".join(paths) + "\n", encoding="utf-8")
    script = tmp / f"{name}.lua"
    script.write_text(
        LUA % {"paths": tmp / f"{name}.paths", "auth": f"Bearer {secret}"}, encoding="utf-8"
    )
    out = subprocess.run(
        ["wrk", "-t2", "-c32", f"-d{seconds}s", "-s", str(script), f"http://127.0.0.1:{PORT}"],
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    line = next(line for line in out.splitlines() if line.startswith("{"))
    doc: dict[str, float] = json.loads(line)
    return doc


def _result(
    guarded: dict[str, float], bare: dict[str, float], seconds: int, columns: int
) -> Result:
    guarded_rps = guarded["requests"] / guarded["seconds"]
    bare_rps = bare["requests"] / bare["seconds"]
    metrics = {
        "api_read_per_s": round(guarded_rps, 1),
        "api_read_p99_ms": round(guarded["p99_us"] / 1000, 2),
        "api_bare_per_s": round(bare_rps, 1),
        "api_bare_p99_ms": round(bare["p99_us"] / 1000, 2),
        "api_overhead_ratio": round(bare_rps / guarded_rps, 3),
    }
    summary = (
        f"guarded {guarded_rps:,.0f} req/s (p99 {metrics['api_read_p99_ms']} ms) vs bare "
        f"{bare_rps:,.0f} req/s; wrk 2 threads, 32 connections, {seconds} s each; 2 workers, PostgreSQL"
    )
    details = {"guarded": guarded, "bare": bare, "seconds": seconds, "categories": columns}
    return Result(NAME, "guarded reads over HTTP", GOALS, metrics, summary, details, [])


def _skipped(why: str) -> Result:
    return Result(NAME, "guarded reads over HTTP", [], {}, f"skipped: {why}", {"skipped": why}, [])
