"""Rate limits: a general one per address, and tight ones on sign-in and tokens.

Counts live in process, or in Redis when ``MAMORI_REDIS_URL`` is set so that
several workers share them. The limits on sign-in and token creation fail
closed (no count, no attempt); the general limit fails open, so a Redis
outage slows nothing but those two doors. Addresses are personal data: the
limiter stores only keyed digests of them.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

from fastapi import Request

from mamori.auth.ratelimit import RateLimiter
from mamori.errors import RateLimited


@dataclass(frozen=True)
class Limits:
    general: tuple[int, int]  # requests per window (s), per address
    login_per_address: tuple[int, int] = (20, 60)
    login_per_account: tuple[int, int] = (5, 900)

    @classmethod
    def from_env(cls) -> Limits:
        text = os.environ.get("MAMORI_RATE_LIMIT", "6000/60")
        count, _, window = text.partition("/")
        try:
            return cls(general=(int(count), int(window or 60)))
        except ValueError:
            return cls(general=(6000, 60))


def _address(request: Request) -> str:
    return request.client.host if request.client else "unknown"


def _check(limiter: RateLimiter, key: str, rule: tuple[int, int], *, fail_open: bool) -> None:
    verdict = limiter.hit(key, limit=rule[0], window_s=rule[1], fail_open=fail_open)
    if not verdict.allowed:
        raise RateLimited(
            f"too many requests; try again in {verdict.retry_after_s} s",
            retry_after_s=verdict.retry_after_s,
        )


async def limit_general(request: Request) -> None:
    """Every request counts against its address's general limit."""
    state = request.app.state
    _check(state.limiter, "addr:" + _address(request), state.limits.general, fail_open=True)


def limit_login(request: Request, handle: str | None) -> None:
    """Sign-in and token creation: per address, and per account named."""
    state = request.app.state
    _check(
        state.limiter,
        "login-addr:" + _address(request),
        state.limits.login_per_address,
        fail_open=False,
    )
    if handle is not None:
        # Unknown names count too, so the sixth try looks the same for every name.
        _check(
            state.limiter,
            "login-acct:" + handle.lower(),
            state.limits.login_per_account,
            fail_open=False,
        )
