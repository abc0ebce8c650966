"""Authentication tests hash with argon2 at its cheapest: the parameters, not the code, differ."""

from __future__ import annotations

import pytest
from argon2 import PasswordHasher

from mamori.auth import passwords

FAST = PasswordHasher(time_cost=1, memory_cost=8, parallelism=1)


@pytest.fixture(autouse=True)
def fast_argon2(monkeypatch: pytest.MonkeyPatch) -> PasswordHasher:
    monkeypatch.setattr(passwords, "HASHER", FAST)
    return FAST
