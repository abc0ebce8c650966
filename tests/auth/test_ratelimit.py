"""Rate limits, in process and in Redis: the same answers, and Redis shares one count.

The Redis half runs against the server at 127.0.0.1:6379 (database 15 by
default, ``MAMORI_TEST_REDIS`` to change it). Where it is not running, those
tests are skipped with a loud reason, except when ``MAMORI_REQUIRE_REDIS`` is
set (as CI does): then they fail.
"""

from __future__ import annotations

import os
import re
import threading
import uuid
from collections.abc import Iterator

import pytest
import redis

from mamori.auth.ratelimit import (
    PREFIX,
    MemoryRateLimiter,
    RateLimiter,
    RedisRateLimiter,
    Verdict,
    _digest,
    limiter_from_env,
)
from mamori.config import load_settings
from mamori.errors import ConfigError, StorageError

REDIS_URL = os.environ.get("MAMORI_TEST_REDIS", "redis://127.0.0.1:6379/15")


class Ticks:
    """A monotonic clock tests can move."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def _redis_up() -> bool:
    try:
        client = redis.Redis.from_url(REDIS_URL, socket_connect_timeout=1)
        try:
            return bool(client.ping())
        finally:
            client.close()
    except redis.RedisError:
        return False


@pytest.fixture
def redis_url() -> str:
    if not _redis_up():
        if os.environ.get("MAMORI_REQUIRE_REDIS"):
            pytest.fail(
                f"Redis is required (MAMORI_REQUIRE_REDIS) but {REDIS_URL} is not reachable"
            )
        pytest.skip(f"Redis is not running at {REDIS_URL}: the Redis rate-limit tests are SKIPPED")
    return REDIS_URL


@pytest.fixture
def secret() -> bytes:
    """A key secret per test, so tests sharing the Redis server never share a count."""
    return uuid.uuid4().bytes


@pytest.fixture
def redis_limiters(redis_url: str, secret: bytes) -> Iterator[tuple[RedisRateLimiter, ...]]:
    """Two limiters on one Redis, as two worker processes would have."""
    pair = (
        RedisRateLimiter.from_url(redis_url, key_secret=secret),
        RedisRateLimiter.from_url(redis_url, key_secret=secret),
    )
    yield pair
    for limiter in pair:
        limiter.close()


@pytest.fixture(params=["memory", "redis"])
def limiter(request: pytest.FixtureRequest, secret: bytes) -> RateLimiter:
    if request.param == "memory":
        return MemoryRateLimiter(key_secret=secret)
    limiters: tuple[RedisRateLimiter, ...] = request.getfixturevalue("redis_limiters")
    return limiters[0]


def test_the_limit_allows_so_many_then_refuses_with_a_wait(limiter: RateLimiter) -> None:
    verdicts = [limiter.hit("login:account:sales", limit=3, window_s=60) for _ in range(5)]
    assert [v.allowed for v in verdicts] == [True, True, True, False, False]
    assert [v.remaining for v in verdicts] == [2, 1, 0, 0, 0]
    assert verdicts[0].retry_after_s == 0
    assert 55 <= verdicts[3].retry_after_s <= 60


def test_keys_and_windows_are_counted_apart(limiter: RateLimiter) -> None:
    assert limiter.hit("a", limit=1, window_s=60).allowed
    assert not limiter.hit("a", limit=1, window_s=60).allowed
    assert limiter.hit("b", limit=1, window_s=60).allowed
    assert limiter.hit("a", limit=1, window_s=3600).allowed


def test_a_new_window_starts_when_the_old_one_ends() -> None:
    ticks = Ticks()
    limiter = MemoryRateLimiter(clock=ticks)
    assert limiter.hit("k", limit=2, window_s=10).allowed
    ticks.now += 4
    assert limiter.hit("k", limit=2, window_s=10).allowed
    refused = limiter.hit("k", limit=2, window_s=10)
    assert refused == Verdict(False, 6, 0)
    ticks.now += 6
    assert limiter.hit("k", limit=2, window_s=10) == Verdict(True, 0, 1)


def test_memory_holds_at_most_max_keys() -> None:
    ticks = Ticks()
    limiter = MemoryRateLimiter(max_keys=100, clock=ticks)
    for i in range(1000):
        limiter.hit(f"address:{i}", limit=5, window_s=60)
        ticks.now += 0.01
    assert len(limiter._windows) <= 100
    # The newest keys are the ones kept.
    assert not limiter.hit("address:999", limit=1, window_s=60).allowed


def test_memory_counts_exactly_under_threads() -> None:
    limiter = MemoryRateLimiter()
    allowed: list[bool] = []

    def worker() -> None:
        for _ in range(250):
            allowed.append(limiter.hit("shared", limit=500, window_s=60).allowed)

    threads = [threading.Thread(target=worker) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert allowed.count(True) == 500


def test_two_redis_limiters_share_one_count(redis_limiters: tuple[RedisRateLimiter, ...]) -> None:
    first, second = redis_limiters
    answers = [
        (first if i % 2 else second).hit("login:address:192.0.2.1", limit=4, window_s=30).allowed
        for i in range(6)
    ]
    assert answers == [True, True, True, True, False, False]


def test_redis_holds_a_keyed_digest_with_an_expiry(
    redis_url: str, redis_limiters: tuple[RedisRateLimiter, ...], secret: bytes
) -> None:
    redis_limiters[0].hit("login:address:192.0.2.55", limit=4, window_s=30)
    client = redis.Redis.from_url(redis_url)
    try:
        keys = [k.decode() for k in client.scan_iter(match="mamori:rl:*", count=1000)]
        assert not any("192.0.2.55" in k for k in keys)
        ours = PREFIX + _digest(secret, "login:address:192.0.2.55", 30)
        assert ours in keys
        assert re.fullmatch(r"mamori:rl:[0-9a-f]{32}", ours)
        assert client.get(ours) == b"1"
        assert 0 < client.ttl(ours) <= 30
    finally:
        client.close()


def test_an_unreachable_redis_fails_closed_unless_asked_to_fail_open() -> None:
    down = RedisRateLimiter.from_url("redis://127.0.0.1:1/0")
    with pytest.raises(StorageError) as caught:
        down.hit("login:account:sales", limit=5, window_s=60)
    assert caught.value.code == "rate_limit_unavailable"
    assert caught.value.status == 503
    with pytest.raises(StorageError):
        down.ping()
    assert down.hit("page", limit=5, window_s=60, fail_open=True) == Verdict(True, 0, 5)
    down.close()


def test_the_environment_chooses_the_backend(redis_url: str) -> None:
    assert isinstance(limiter_from_env({}), MemoryRateLimiter)
    chosen = limiter_from_env({"MAMORI_REDIS_URL": redis_url})
    assert isinstance(chosen, RedisRateLimiter)
    chosen.ping()
    chosen.close()
    with pytest.raises(ConfigError):
        limiter_from_env({"MAMORI_REDIS_URL": "http://example.com/"})


def test_settings_fall_back_to_the_process_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("MAMORI_REDIS_URL", raising=False)
    assert isinstance(limiter_from_env(load_settings({})), MemoryRateLimiter)


@pytest.mark.parametrize(("limit", "window"), [(0, 60), (5, 0)])
def test_a_meaningless_limit_is_a_programming_error(limit: int, window: int) -> None:
    with pytest.raises(ValueError, match="rate limit"):
        MemoryRateLimiter().hit("k", limit=limit, window_s=window)
