"""``pages``: the privacy center's and the console's pages, against the bare stack.

A home of 20,000 synthetic people (5,000 with ``--quick``) across the demo's
channels, with one request filed for every tenth of them (a year of receipt
dates, a third completed), is served in process by the app itself.

- Mamori side, ``/privacy/me`` for a signed-in member: the session looked
  up and touched, the member's record read through the guard (an audit entry),
  GPC checked, a CSRF token per switch, the page rendered in Japanese.
- Bare side, in the same run and the same app: a route that answers the
  same bytes through the same middleware (request id, headers, limits), so
  the ratio is what the page's own work costs over the transport.
- The console's queue and dashboard are timed as they are: the queue reads
  the open requests, the dashboard four aggregates over every request and
  consent event of the year.
"""

from __future__ import annotations

import random
import statistics
import time
from datetime import timedelta
from pathlib import Path

from fastapi.responses import HTMLResponse
from fastapi.testclient import TestClient

from bench.common import OFFICER, mamori_home
from bench.report import Goal, Result
from mamori.api.app import create_app
from mamori.api.deps import SESSION_COOKIE
from mamori.auth import sessions as staff_sessions
from mamori.demo import populate
from mamori.dsr import store as requests
from mamori.dsr.arrival import NewRequest, create
from mamori.dsr.states import State, Via
from mamori.guard.rules import Actor
from mamori.policy.schemas import RequestKind
from mamori.portal.member import sessions as member_sessions
from mamori.runtime import Runtime
from mamori.subjects import store

NAME = "pages"
PEOPLE, QUICK_PEOPLE = 20_000, 5_000
CALLS, CONSOLE_CALLS = 300, 30
GOALS = [
    Goal("member_page_ratio", 3.0, at_most=True),
    Goal("dashboard_ms", 500.0, at_most=True),
]
STAFF = Actor("officer", ("privacy_officer",), "staff", True)


def run(tmp: Path, *, seed: int, quick: bool = False) -> Result:
    people = QUICK_PEOPLE if quick else PEOPLE
    with mamori_home(tmp / "pages-home") as rt:
        refs = populate(rt, people=people, seed=seed + 11)
        filed = _requests(rt, [r for rs in refs.values() for r in rs], seed)
        member_cookie, staff_cookie = _sessions(rt, refs["membership_registration"][0])
        app = create_app(runtime=rt)
        with TestClient(app) as client:
            page = client.get(
                "/privacy/me", cookies={"mamori_member": member_cookie}, follow_redirects=False
            )
            assert page.status_code == 200, page.text
            body = page.content

            @app.get("/bench/bare", include_in_schema=False)
            def bare() -> HTMLResponse:
                return HTMLResponse(body)

            member_s, bare_s = [], []
            for _ in range(CALLS):
                member_s.append(_time(client, "/privacy/me", {"mamori_member": member_cookie}))
                bare_s.append(_time(client, "/bench/bare", {}))
            # Two audited reads a view: the values, and the consent history behind the switches.
            _check_each_read_audited(rt, refs["membership_registration"][0], 2 * (CALLS + 1))
            console = {SESSION_COOKIE: staff_cookie}
            queue_s = [_time(client, "/console", console) for _ in range(CONSOLE_CALLS)]
            dashboard_s = [
                _time(client, "/console/dashboard", console) for _ in range(CONSOLE_CALLS)
            ]
    return _result(people, filed, member_s, bare_s, queue_s, dashboard_s)


def _time(client: TestClient, path: str, cookies: dict[str, str]) -> float:
    client.cookies.clear()
    for name, value in cookies.items():
        client.cookies.set(name, value)
    began = time.perf_counter()
    answer = client.get(path, follow_redirects=False)
    took = time.perf_counter() - began
    assert answer.status_code == 200, (path, answer.status_code)
    return took


def _check_each_read_audited(rt: Runtime, member: str, expected: int) -> None:
    """The timed page did its whole work: its audited reads, every call."""
    with rt.db.transaction() as tx:
        row = tx.fetchone(
            "SELECT COUNT(*) FROM audit_entries WHERE actor = ? AND action = 'read'",
            (f"member:{member}",),
        )
    assert row is not None
    assert row[0] == expected, (row[0], expected)


def _requests(rt: Runtime, refs: list[str], seed: int) -> int:
    """One request for every tenth person, received over the past year; a third completed."""
    chosen = random.Random(seed).sample(refs, len(refs) // 10)
    now = rt.now()
    kinds = [RequestKind.DISCLOSURE, RequestKind.CORRECTION, RequestKind.CESSATION_OF_USE]
    with rt.db.transaction() as tx:
        for number, ref in enumerate(chosen):
            received = now - timedelta(days=number % 360, hours=number % 7)
            kind = kinds[number % len(kinds)]
            new = NewRequest(kind, Via.PHONE, ref, received_at=received)
            if kind is RequestKind.CORRECTION:
                new = NewRequest(kind, Via.PHONE, ref, values={"user.name": "テスト 太郎"},
                                 received_at=received)  # fmt: skip
            row = create(tx, rt, actor=OFFICER, new=new)
            if number % 3 == 0:
                row.state, row.closed_at = State.COMPLETED, received + timedelta(days=5)
                requests.save(tx, row, now)
    return len(chosen)


def _sessions(rt: Runtime, member: str) -> tuple[str, str]:
    with rt.db.transaction() as tx:
        subject = store.load(tx, member)
        member_cookie = member_sessions.open_session(tx, rt, subject_id=subject.id, ref=member)
        staff_cookie = staff_sessions.open_session(tx, rt, actor=STAFF)
    return member_cookie, staff_cookie


def _result(
    people: int,
    filed: int,
    member_s: list[float],
    bare_s: list[float],
    queue_s: list[float],
    dashboard_s: list[float],
) -> Result:
    member, bare = statistics.median(member_s), statistics.median(bare_s)
    metrics = {
        "member_page_ms": round(member * 1000, 2),
        "member_page_p99_ms": round(sorted(member_s)[int(len(member_s) * 0.99) - 1] * 1000, 2),
        "bare_page_ms": round(bare * 1000, 2),
        "member_page_ratio": round(member / bare, 2),
        "queue_ms": round(statistics.median(queue_s) * 1000, 1),
        "dashboard_ms": round(statistics.median(dashboard_s) * 1000, 1),
    }
    summary = (
        f"/privacy/me {metrics['member_page_ms']} ms (bare {metrics['bare_page_ms']} ms, "
        f"×{metrics['member_page_ratio']}); console queue {metrics['queue_ms']} ms, "
        f"dashboard {metrics['dashboard_ms']} ms over {filed:,} requests of {people:,} people"
    )
    details = {"people": people, "requests": filed, "calls": len(member_s)}
    return Result(NAME, "Member page and console", GOALS, metrics, summary, details)
