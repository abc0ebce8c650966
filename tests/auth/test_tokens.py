"""Service tokens: made once, stored as a digest, refused when expired, revoked or altered."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest

from mamori.auth import tokens
from mamori.auth.tokens import TokenInfo
from mamori.errors import Denied, NotFound, ValidationFailed
from mamori.guard.rules import Actor
from mamori.runtime import Runtime
from tests.auth.support import entries
from tests.conftest import Clock


def create(rt: Runtime, *, role: str = "integration", days: int = 90) -> tuple[TokenInfo, str]:
    with rt.db.transaction() as tx:
        return tokens.create_token(
            tx, rt, label="web shop", role=role, expires_in_days=days, by="cli:test"
        )


def authenticate(rt: Runtime, secret: str) -> Actor:
    with rt.db.transaction() as tx:
        return tokens.authenticate_token(tx, rt, secret=secret, now=rt.now())


def refused(rt: Runtime, secret: str) -> str:
    with pytest.raises(Denied) as caught:
        authenticate(rt, secret)
    return caught.value.rule


def revoke(rt: Runtime, token_id: str) -> TokenInfo:
    with rt.db.transaction() as tx:
        return tokens.revoke_token(tx, rt, token_id=token_id, by="cli:test")


def test_a_token_is_shown_once_in_its_format_and_acts_with_its_role(rt: Runtime) -> None:
    info, secret = create(rt)
    assert re.fullmatch(rf"mmr_{info.id}_[A-Za-z0-9_-]{{43}}", secret)
    assert info.role == "integration"
    assert info.expires_at == rt.now() + timedelta(days=90)
    actor = authenticate(rt, secret)
    assert actor == Actor(f"token:{info.id}", ("integration",), "token", True)


def test_the_database_keeps_only_the_digest(rt: Runtime) -> None:
    info, secret = create(rt)
    random_part = secret.split("_", 2)[2]  # the 43 characters after "mmr_<id>_"
    with rt.db.transaction() as tx:
        row = tx.fetchone("SELECT * FROM service_tokens WHERE id = ?", (info.id,))
    stored = " ".join(str(v) for v in row)
    assert random_part not in stored
    assert secret not in stored


def test_an_expired_token_is_refused(rt: Runtime, clock: Clock) -> None:
    _, secret = create(rt, days=1)
    clock.moment += timedelta(hours=23, minutes=59)
    authenticate(rt, secret)
    clock.moment += timedelta(minutes=1)
    assert refused(rt, secret) == "token_expired"


def test_a_revoked_token_is_refused_and_revoking_again_changes_nothing(rt: Runtime) -> None:
    info, secret = create(rt)
    authenticate(rt, secret)
    revoked = revoke(rt, info.id)
    assert revoked.revoked_at == rt.now()
    assert refused(rt, secret) == "token_revoked"
    assert revoke(rt, info.id) == revoked
    assert [e["action"] for e in entries(rt, "auth.token")].count("token_revoke") == 1


@pytest.mark.parametrize(
    "tamper",
    [
        lambda s: s[:-1] + ("A" if s[-1] != "A" else "B"),  # one character of the secret
        lambda s: s[:4] + "0" * 8 + s[12:],  # another id
        lambda s: s + "\n",
        lambda s: s.upper(),
        lambda s: s[:-2],
        lambda s: "",
        lambda s: "mmr_zzzzzzzz_" + "a" * 43,
        lambda s: "Bearer " + s,
        lambda s: s.replace("_", "\x00", 1),
    ],
)
def test_an_altered_secret_is_refused(rt: Runtime, tamper: object) -> None:
    _, secret = create(rt)
    assert callable(tamper)
    assert refused(rt, tamper(secret)) == "token_invalid"


def test_refused_authentications_are_audited_good_ones_are_not(rt: Runtime) -> None:
    info, secret = create(rt)
    authenticate(rt, secret)
    refused(rt, secret[:-1] + "x")
    refused(rt, "garbage")
    trail = entries(rt, "auth.token")
    assert [(e["actor"], e["action"], e["outcome"], e["rule"]) for e in trail] == [
        ("cli:test", "token_create", "done", "token_created"),
        (f"token:{info.id}", "token_use", "denied", "token_invalid"),
        ("auth:unknown", "token_use", "denied", "token_invalid"),
    ]
    assert trail[0]["detail"]["role"] == "integration"
    assert secret[12:] not in str(trail)


def test_last_use_is_recorded_at_most_once_a_minute(rt: Runtime, clock: Clock) -> None:
    info, secret = create(rt)
    authenticate(rt, secret)
    first = rt.now()
    clock.moment += timedelta(seconds=59)
    authenticate(rt, secret)
    with rt.db.transaction() as tx:
        assert tokens.get_token(tx, token_id=info.id).last_used_at == first
    clock.moment += timedelta(seconds=1)
    authenticate(rt, secret)
    with rt.db.transaction() as tx:
        assert tokens.get_token(tx, token_id=info.id).last_used_at == rt.now()


def test_tokens_are_listed_without_secrets(rt: Runtime, clock: Clock) -> None:
    first, _ = create(rt)
    clock.moment += timedelta(seconds=1)
    second, _ = create(rt, role="marketing", days=1)
    revoke(rt, first.id)
    clock.moment += timedelta(days=2)
    with rt.db.transaction() as tx:
        listed = tokens.list_tokens(tx)
    assert [t.id for t in listed] == [second.id, first.id]
    assert [t.state(rt.now()) for t in listed] == ["expired", "revoked"]
    assert set(listed[0].to_dict()) == {
        "id",
        "label",
        "role",
        "created_by",
        "created_at",
        "expires_at",
        "revoked_at",
        "last_used_at",
    }


@pytest.mark.parametrize(
    ("label", "role", "days", "code"),
    [
        ("web shop", "no_such_role", 90, "unknown_role"),
        ("", "integration", 90, "bad_label"),
        ("x" * 101, "integration", 90, "bad_label"),
        ("line\nbreak", "integration", 90, "bad_label"),
        ("web shop", "integration", 0, "bad_expiry"),
        ("web shop", "integration", 3651, "bad_expiry"),
    ],
)
def test_bad_token_requests_are_refused(
    rt: Runtime, label: str, role: str, days: int, code: str
) -> None:
    with pytest.raises(ValidationFailed) as caught, rt.db.transaction() as tx:
        tokens.create_token(tx, rt, label=label, role=role, expires_in_days=days, by="cli:test")
    assert caught.value.code == code


@pytest.mark.parametrize("token_id", ["0123abcd", "nothex!!", "", "x" * 500])
def test_revoking_an_unknown_token_is_not_found(rt: Runtime, token_id: str) -> None:
    with pytest.raises(NotFound) as caught:
        revoke(rt, token_id)
    assert token_id not in caught.value.message or not token_id
