"""Download links: stored as digests, expiring, and good for exactly one download."""

from __future__ import annotations

import hashlib
import threading
import time
from datetime import timedelta
from typing import Any

import pytest

from mamori.db.base import to_utc_text
from mamori.dsr import downloads
from mamori.dsr.downloads import Redeemed
from mamori.errors import Gone, MamoriError, NotFound, ValidationFailed
from mamori.runtime import Runtime
from tests.conftest import Clock


def request_row(ref: str, now: str) -> tuple[Any, ...]:
    received = ("disclosure", "completed", "api", now, 0.0, "officer")
    return (ref, *received, "[]", "[]", "ja", 0, "{}", "officer", now)


def new_request(rt: Runtime, ref: str = "r_test_0001") -> int:
    """A minimal disclosure request row: every NOT NULL column and nothing else."""
    now = to_utc_text(rt.now())
    with rt.db.transaction() as tx:
        tx.execute(
            "INSERT INTO dsr_requests (ref, kind, state, received_via, received_at,"
            " paused_seconds, assigned_to, purposes, categories, language, fee_yen, outcome,"
            " created_by, updated_at) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
            request_row(ref, now),
        )
        row = tx.fetchone("SELECT id FROM dsr_requests WHERE ref = ?", (ref,))
    return int(row[0])


def issue(rt: Runtime, request_id: int, format: str = "html", language: str = "ja") -> str:
    with rt.db.transaction() as tx:
        return downloads.issue(
            tx, rt, request_id=request_id, format=format, language=language, now=rt.now()
        )


def redeem(rt: Runtime, token: str) -> Redeemed:
    with rt.db.transaction() as tx:
        return downloads.redeem(tx, rt, token=token)


def test_only_the_digest_of_a_link_is_kept(rt: Runtime) -> None:
    request_id = new_request(rt)
    token = issue(rt, request_id, "json", "en")
    assert len(token) >= 43
    with rt.db.transaction() as tx:
        rows = tx.fetchall("SELECT * FROM dsr_downloads")
    assert len(rows) == 1
    assert token not in repr(rows)
    with rt.db.transaction() as tx:
        row = tx.fetchone(
            "SELECT request_id, digest, format, language, created_at, expires_at, used_at"
            " FROM dsr_downloads"
        )
    assert row == (
        request_id,
        hashlib.sha256(token.encode()).hexdigest(),
        "json",
        "en",
        "2026-11-30T01:00:00.000000Z",
        "2026-12-14T01:00:00.000000Z",  # download_valid_days: 14
        None,
    )


def test_links_are_random(rt: Runtime) -> None:
    request_id = new_request(rt)
    tokens = {issue(rt, request_id) for _ in range(20)}
    assert len(tokens) == 20


def test_a_link_works_once(rt: Runtime) -> None:
    request_id = new_request(rt)
    token = issue(rt, request_id, "html", "en")
    assert redeem(rt, token) == Redeemed(request_id, "html", "en")
    with pytest.raises(Gone) as caught:
        redeem(rt, token)
    assert caught.value.code == "download_used"
    with rt.db.transaction() as tx:
        used = tx.fetchone("SELECT used_at FROM dsr_downloads")[0]
    assert used == "2026-11-30T01:00:00.000000Z"


def test_an_unknown_link_is_not_found(rt: Runtime) -> None:
    new_request(rt)
    with pytest.raises(NotFound) as caught:
        redeem(rt, "not-a-token-anyone-was-given")
    assert caught.value.message == "this download link is not known"
    with pytest.raises(NotFound):
        redeem(rt, "")


def test_a_link_expires_after_the_days_the_policy_allows(rt: Runtime, clock: Clock) -> None:
    request_id = new_request(rt)
    early, late = issue(rt, request_id), issue(rt, request_id)
    start = clock.moment
    clock.moment = start + timedelta(days=14) - timedelta(seconds=1)
    assert redeem(rt, early).request_id == request_id
    clock.moment = start + timedelta(days=14)
    with pytest.raises(Gone) as caught:
        redeem(rt, late)
    assert caught.value.code == "download_expired"
    with rt.db.transaction() as tx:
        unused = tx.fetchone("SELECT COUNT(*) FROM dsr_downloads WHERE used_at IS NULL")[0]
    assert unused == 1  # an expired link is not marked used


def test_a_used_link_that_also_expired_says_it_was_used(rt: Runtime, clock: Clock) -> None:
    token = issue(rt, new_request(rt))
    redeem(rt, token)
    clock.moment += timedelta(days=30)
    with pytest.raises(Gone) as caught:
        redeem(rt, token)
    assert caught.value.code == "download_used"


def test_a_download_that_fails_afterwards_leaves_the_link_usable(rt: Runtime) -> None:
    token = issue(rt, new_request(rt))

    def redeem_then_fail() -> None:
        with rt.db.transaction() as tx:
            downloads.redeem(tx, rt, token=token)
            raise MamoriError("the report could not be built")

    with pytest.raises(MamoriError):
        redeem_then_fail()
    assert redeem(rt, token).format == "html"


@pytest.mark.parametrize(
    ("format", "language"), [("pdf", "ja"), ("", "ja"), ("json", "fr"), ("html", "")]
)
def test_a_link_is_only_for_a_known_format_and_language(
    rt: Runtime, format: str, language: str
) -> None:
    request_id = new_request(rt)
    with pytest.raises(ValidationFailed):
        issue(rt, request_id, format, language)
    with rt.db.transaction() as tx:
        assert tx.fetchone("SELECT COUNT(*) FROM dsr_downloads")[0] == 0


def test_two_redeems_in_overlapping_transactions_one_wins(rt: Runtime) -> None:
    """The first holds its claim uncommitted while the second tries: the second must lose."""
    token = issue(rt, new_request(rt))
    claimed = threading.Event()
    outcomes: dict[str, Any] = {}

    def first() -> None:
        with rt.db.transaction() as tx:
            outcomes["first"] = downloads.redeem(tx, rt, token=token)
            claimed.set()
            time.sleep(0.3)  # the second is now waiting on this transaction

    def second() -> None:
        claimed.wait(5)
        try:
            outcomes["second"] = redeem(rt, token)
        except Gone as gone:
            outcomes["second"] = gone.code

    threads = [threading.Thread(target=first), threading.Thread(target=second)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(10)
    assert isinstance(outcomes["first"], Redeemed)
    assert outcomes["second"] == "download_used"


def race(rt: Runtime, token: str, racers: int) -> list[str]:
    """``racers`` threads released at once, each redeeming ``token`` in its own transaction."""
    start = threading.Barrier(racers)
    results: list[str] = []

    def attempt() -> None:
        start.wait(5)
        try:
            redeem(rt, token)
            results.append("won")
        except Gone as gone:
            results.append(gone.code)

    threads = [threading.Thread(target=attempt) for _ in range(racers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(10)
    return sorted(results)


def test_racing_redeems_never_both_win(rt: Runtime) -> None:
    request_id = new_request(rt)
    for _ in range(5):
        token = issue(rt, request_id)
        assert race(rt, token, 3) == ["download_used", "download_used", "won"]
