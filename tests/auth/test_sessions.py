"""Browser sessions and their CSRF tokens: lifetimes, logout, disabled accounts, replays."""

from __future__ import annotations

from datetime import timedelta

import pytest

from mamori.auth import sessions
from mamori.auth.sealing import digest
from mamori.errors import Denied, ValidationFailed
from mamori.guard.rules import Actor
from mamori.runtime import Runtime
from mamori.staff import service as staff
from tests.auth.support import entries, login, set_password
from tests.conftest import Clock


def open_for(rt: Runtime, handle: str = "sales") -> str:
    set_password(rt, handle)
    actor = login(rt, handle)
    with rt.db.transaction() as tx:
        return sessions.open_session(tx, rt, actor=actor)


def who(rt: Runtime, cookie: str) -> Actor:
    with rt.db.transaction() as tx:
        return sessions.session_actor(tx, rt, cookie=cookie, now=rt.now())


def session_rule(rt: Runtime, cookie: str) -> str:
    with pytest.raises(Denied) as caught:
        who(rt, cookie)
    return caught.value.rule


def issue(rt: Runtime, cookie: str) -> str:
    with rt.db.transaction() as tx:
        return sessions.issue_csrf(tx, rt, cookie=cookie)


def check(rt: Runtime, cookie: str, token: str | None) -> str:
    """'ok', or the rule that refused the token."""
    try:
        with rt.db.transaction() as tx:
            sessions.check_csrf(tx, rt, cookie=cookie, token=token)
    except Denied as denied:
        return denied.rule
    return "ok"


def test_a_session_stands_for_its_account(rt: Runtime) -> None:
    cookie = open_for(rt)
    assert len(cookie) >= 43
    assert who(rt, cookie) == Actor("sales", ("sales",), "staff", True)
    with rt.db.transaction() as tx:
        stored = tx.fetchall("SELECT id FROM staff_sessions")
    assert [r[0] for r in stored] == [digest(cookie)]


@pytest.mark.parametrize("cookie", ["", "made-up", "x" * 5000, "caf\u00e9", "\ud800"])
def test_an_unknown_cookie_is_invalid(rt: Runtime, cookie: str) -> None:
    open_for(rt)
    assert session_rule(rt, cookie) == "session_invalid"


def test_a_session_ends_after_thirty_idle_minutes(rt: Runtime, clock: Clock) -> None:
    cookie = open_for(rt)
    for _ in range(4):  # used every 29 minutes, it lives on
        clock.moment += timedelta(minutes=29)
        who(rt, cookie)
    clock.moment += timedelta(minutes=30)
    assert session_rule(rt, cookie) == "session_expired"


def test_a_session_ends_twelve_hours_after_it_opened(rt: Runtime, clock: Clock) -> None:
    cookie = open_for(rt)
    ends = clock.moment + timedelta(hours=12)
    while clock.moment + timedelta(minutes=29) < ends:  # used all along, it still ends
        clock.moment += timedelta(minutes=29)
        who(rt, cookie)
    clock.moment = ends - timedelta(microseconds=1)
    who(rt, cookie)
    clock.moment = ends
    assert session_rule(rt, cookie) == "session_expired"


def test_logout_ends_the_session(rt: Runtime) -> None:
    cookie = open_for(rt)
    with rt.db.transaction() as tx:
        sessions.close_session(tx, rt, cookie=cookie)
        sessions.close_session(tx, rt, cookie=cookie)  # twice changes nothing
        sessions.close_session(tx, rt, cookie="never-issued")
    assert session_rule(rt, cookie) == "session_invalid"
    trail = entries(rt, "auth.session")
    assert [e["action"] for e in trail] == ["session_open", "session_close"]


def test_a_disabled_account_cannot_use_its_session(rt: Runtime) -> None:
    cookie = open_for(rt)
    with rt.db.transaction() as tx:
        staff.set_active(tx, rt, handle="sales", active=False, by="cli:test")
    assert session_rule(rt, cookie) == "actor_disabled"
    with rt.db.transaction() as tx:
        staff.set_active(tx, rt, handle="sales", active=True, by="cli:test")
    assert session_rule(rt, cookie) == "session_invalid"  # it was ended, not paused


def test_a_new_password_ends_every_session(rt: Runtime) -> None:
    cookie = open_for(rt)
    set_password(rt, "sales", "another long password")
    assert session_rule(rt, cookie) == "session_invalid"


def test_only_active_staff_open_sessions(rt: Runtime) -> None:
    for actor in (
        Actor("token:0123abcd", ("integration",), "token"),
        Actor("sales", ("sales",), active=False),
    ):
        with pytest.raises(ValidationFailed), rt.db.transaction() as tx:
            sessions.open_session(tx, rt, actor=actor)


def test_ended_sessions_are_purged_after_a_day(rt: Runtime, clock: Clock) -> None:
    old = open_for(rt)
    clock.moment += timedelta(hours=12, minutes=30)
    assert session_rule(rt, old) == "session_expired"
    clock.moment += timedelta(hours=24)
    open_for(rt, "support")
    with rt.db.transaction() as tx:
        left = [r[0] for r in tx.fetchall("SELECT handle FROM staff_sessions")]
    assert left == ["support"]
    assert session_rule(rt, old) == "session_invalid"


# -- CSRF -----------------------------------------------------------------------


def test_a_csrf_token_passes_once(rt: Runtime) -> None:
    cookie = open_for(rt)
    token = issue(rt, cookie)
    assert check(rt, cookie, token) == "ok"
    assert check(rt, cookie, token) == "csrf_replayed"
    assert check(rt, cookie, issue(rt, cookie)) == "ok"


def test_a_token_from_another_session_is_refused(rt: Runtime) -> None:
    mine, theirs = open_for(rt), open_for(rt, "support")
    assert check(rt, mine, issue(rt, theirs)) == "csrf_invalid"


@pytest.mark.parametrize("token", [None, ""])
def test_a_missing_token_is_refused(rt: Runtime, token: str | None) -> None:
    assert check(rt, open_for(rt), token) == "csrf_missing"


def test_a_forged_token_is_refused(rt: Runtime) -> None:
    cookie = open_for(rt)
    token_id, issued, mac = issue(rt, cookie).split(".")
    forged = [
        f"{token_id}.{issued}.{'A' * 43}",
        f"{'B' * 16}.{issued}.{mac}",
        f"{token_id}.{int(issued) + 3600}.{mac}",
        f"{token_id}.{issued}.{mac}x",
        "not a token at all",
        "\ud800",
    ]
    for token in forged:
        assert check(rt, cookie, token) == "csrf_invalid", token


def test_a_token_expires_after_two_hours(rt: Runtime, clock: Clock) -> None:
    cookie = open_for(rt)
    early, late = issue(rt, cookie), None
    for _ in range(4):  # keep the session alive
        clock.moment += timedelta(minutes=29)
        who(rt, cookie)
        late = issue(rt, cookie)
    clock.moment += timedelta(minutes=4)  # 2 h after `early` was issued
    assert late is not None
    assert check(rt, cookie, early) == "csrf_expired"
    assert check(rt, cookie, late) == "ok"


def test_no_token_is_issued_or_accepted_for_an_ended_session(rt: Runtime, clock: Clock) -> None:
    cookie = open_for(rt)
    token = issue(rt, cookie)
    clock.moment += timedelta(minutes=31)
    with pytest.raises(Denied) as caught, rt.db.transaction() as tx:
        sessions.issue_csrf(tx, rt, cookie=cookie)
    assert caught.value.rule == "session_expired"
    assert check(rt, cookie, token) == "session_expired"


def test_csrf_refusals_are_audited_under_the_account(rt: Runtime) -> None:
    cookie = open_for(rt)
    token = issue(rt, cookie)
    check(rt, cookie, token)
    check(rt, cookie, token)
    check(rt, cookie, None)
    trail = entries(rt, "auth.csrf")
    assert [(e["actor"], e["rule"]) for e in trail] == [
        ("sales", "csrf_replayed"),
        ("sales", "csrf_missing"),
    ]
