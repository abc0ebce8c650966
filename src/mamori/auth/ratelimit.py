"""Rate limits: how many attempts one key (an account, an address, a token) may make.

``RateLimiter.hit(key, limit=, window_s=)`` counts one attempt and answers
with a ``Verdict``. Windows are fixed and start at a key's first attempt.
Two backends answer the same way:

- ``MemoryRateLimiter``: in this process, thread-safe, at most ``max_keys``
  keys held (the oldest window is dropped first).
- ``RedisRateLimiter``: in Redis (``MAMORI_REDIS_URL``), so every worker
  process shares one count: ``INCR`` and ``EXPIRE NX`` in one ``MULTI``.

Keys are stored as a keyed digest (``mamori:rl:<digest>`` in Redis), never
as given: an address or a name is personal data.

When Redis is configured but unreachable, ``hit`` fails closed: it raises
``StorageError`` (code ``rate_limit_unavailable``, status 503), which login
and token endpoints must let through. An endpoint that would rather serve
than refuse passes ``fail_open=True`` and is let through uncounted.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Protocol

import redis
from redis.backoff import NoBackoff
from redis.exceptions import RedisError
from redis.retry import Retry

from mamori.config import Settings
from mamori.errors import ConfigError, StorageError

PREFIX = "mamori:rl:"
REDIS_TIMEOUT_S = 0.5


@dataclass(frozen=True)
class Verdict:
    allowed: bool
    retry_after_s: int  # 0 when allowed; else seconds until the window ends
    remaining: int  # attempts left in this window


class RateLimiter(Protocol):
    def hit(self, key: str, *, limit: int, window_s: int, fail_open: bool = False) -> Verdict:
        """Count one attempt for ``key``; at most ``limit`` per ``window_s`` are allowed."""
        ...

    def ping(self) -> None:
        """Raise ``StorageError`` if the counts cannot be reached (for readiness checks)."""
        ...

    def close(self) -> None:
        """Let go of connections (at shutdown)."""
        ...


def _check(limit: int, window_s: int) -> None:
    if limit < 1 or window_s < 1:
        raise ValueError("a rate limit needs limit >= 1 and window_s >= 1")


def _digest(secret: bytes, key: str, window_s: int) -> str:
    message = f"{window_s}\x1f{key}".encode("utf-8", "surrogatepass")
    return hmac.new(secret, message, hashlib.sha256).hexdigest()[:32]


def _verdict(count: int, limit: int, left_s: float) -> Verdict:
    allowed = count <= limit
    retry = 0 if allowed else max(1, int(left_s + 0.999))
    return Verdict(allowed, retry, max(limit - count, 0))


class MemoryRateLimiter:
    """Counts in this process only: right for one worker, or for tests."""

    def __init__(
        self,
        *,
        key_secret: bytes = b"",
        max_keys: int = 100_000,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._secret = key_secret
        self._max = max_keys
        self._clock = clock
        self._lock = threading.Lock()
        self._windows: OrderedDict[str, list[float]] = OrderedDict()  # digest -> [ends, count]

    def hit(self, key: str, *, limit: int, window_s: int, fail_open: bool = False) -> Verdict:
        _check(limit, window_s)
        name = _digest(self._secret, key, window_s)
        with self._lock:
            now = self._clock()
            window = self._windows.get(name)
            if window is None or window[0] <= now:
                self._make_room(now)
                window = self._windows[name] = [now + window_s, 0]
                self._windows.move_to_end(name)
            window[1] += 1
            return _verdict(int(window[1]), limit, window[0] - now)

    def _make_room(self, now: float) -> None:
        if len(self._windows) < self._max:
            return
        for name in [n for n, w in self._windows.items() if w[0] <= now]:
            del self._windows[name]
        while len(self._windows) >= self._max:
            self._windows.popitem(last=False)

    def ping(self) -> None:
        return None

    def close(self) -> None:
        return None


class RedisRateLimiter:
    """Counts in Redis, shared by every process that uses the same server and secret."""

    def __init__(self, client: redis.Redis, *, key_secret: bytes = b"") -> None:
        self._client = client
        self._secret = key_secret

    @classmethod
    def from_url(cls, url: str, *, key_secret: bytes = b"") -> RedisRateLimiter:
        try:
            client = redis.Redis.from_url(
                url,
                socket_timeout=REDIS_TIMEOUT_S,
                socket_connect_timeout=REDIS_TIMEOUT_S,
                retry=Retry(NoBackoff(), 0),
            )
        except ValueError as exc:
            raise ConfigError(
                "MAMORI_REDIS_URL is not a Redis address (redis://host:port/db)",
                code="redis_url_invalid",
            ) from exc
        return cls(client, key_secret=key_secret)

    def hit(self, key: str, *, limit: int, window_s: int, fail_open: bool = False) -> Verdict:
        _check(limit, window_s)
        name = PREFIX + _digest(self._secret, key, window_s)
        try:
            with self._client.pipeline(transaction=True) as pipe:
                pipe.incr(name)
                pipe.expire(name, window_s, nx=True)
                pipe.ttl(name)
                count, _, ttl = pipe.execute()
        except RedisError as exc:
            if fail_open:
                return Verdict(True, 0, limit)
            raise _unavailable() from exc
        return _verdict(int(count), limit, ttl if ttl > 0 else window_s)

    def ping(self) -> None:
        try:
            self._client.ping()
        except RedisError as exc:
            raise _unavailable() from exc

    def close(self) -> None:
        self._client.close()


def _unavailable() -> StorageError:
    return StorageError(
        "the rate-limit store (Redis at MAMORI_REDIS_URL) is not reachable",
        code="rate_limit_unavailable",
    )


def limiter_from_env(
    source: Settings | Mapping[str, str] | None = None, *, key_secret: bytes = b""
) -> RateLimiter:
    """Redis when ``MAMORI_REDIS_URL`` is set, else in-process counts.

    ``source`` is an environment mapping, or settings (their ``redis_url`` if
    they have one, else the process environment). Pass ``key_secret`` (e.g.
    ``sealing.subkey(rt, RATE_LIMIT_LABEL)``) so stored keys cannot be guessed.
    """
    if isinstance(source, Settings):
        url = getattr(source, "redis_url", None) or os.environ.get("MAMORI_REDIS_URL")
    else:
        url = (os.environ if source is None else source).get("MAMORI_REDIS_URL")
    if url:
        return RedisRateLimiter.from_url(url, key_secret=key_secret)
    return MemoryRateLimiter(key_secret=key_secret)
