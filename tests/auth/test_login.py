"""Staff login: passwords, lockout, the second factor, and the audit trail of every attempt."""

from __future__ import annotations

from datetime import timedelta

import pytest
from argon2 import PasswordHasher

from mamori.audit.verify import verify
from mamori.auth import passwords, totp
from mamori.auth.login import BAD_CREDENTIALS, verify_login
from mamori.errors import Denied, NotFound, ValidationFailed
from mamori.runtime import Runtime
from mamori.staff import service as staff
from tests.auth.support import PASSWORD, enrol, entries, login, refusal, set_password, wrong_code
from tests.conftest import Clock


def test_a_good_password_logs_in_as_the_staff_actor(rt: Runtime) -> None:
    set_password(rt, "sales")
    actor = login(rt, "sales")
    assert (actor.name, actor.roles, actor.kind, actor.active) == (
        "sales",
        ("sales",),
        "staff",
        True,
    )


def test_a_wrong_password_and_an_unknown_name_get_the_same_answer(rt: Runtime) -> None:
    set_password(rt, "sales")
    wrong = refusal(rt, "sales", "not the password at all")
    unknown = refusal(rt, "nobody.here", PASSWORD)
    no_password = refusal(rt, "support", PASSWORD)  # an account with no password yet
    for denied in (wrong, unknown, no_password):
        assert denied.rule == "bad_credentials"
        assert denied.message == BAD_CREDENTIALS
        assert denied.to_dict() == {
            "code": "access_denied",
            "message": BAD_CREDENTIALS,
            "rule": "bad_credentials",
        }


class CountingHasher(PasswordHasher):
    def __init__(self) -> None:
        super().__init__(time_cost=1, memory_cost=8, parallelism=1)
        self.verified = 0

    def verify(self, hash: str | bytes, password: str | bytes) -> bool:
        self.verified += 1
        return super().verify(hash, password)


def test_an_unknown_name_costs_an_argon2_verification_too(
    rt: Runtime, monkeypatch: pytest.MonkeyPatch
) -> None:
    counting = CountingHasher()
    monkeypatch.setattr(passwords, "HASHER", counting)
    refusal(rt, "nobody.here")
    refusal(rt, "x" * 500)
    refusal(rt, "nul\x00name")
    assert counting.verified == 3


def test_what_was_typed_as_a_name_is_not_written_to_the_audit_log(rt: Runtime) -> None:
    refusal(rt, "Hanako.Typed-Her-Password!")
    last = entries(rt, "auth.login")[-1]
    assert last["actor"] == "auth:unknown"
    assert "Hanako" not in str(last)


def test_five_failures_lock_the_account_for_fifteen_minutes(rt: Runtime, clock: Clock) -> None:
    set_password(rt, "sales")
    for attempt in range(1, 6):
        assert refusal(rt, "sales", f"wrong password {attempt}").rule == "bad_credentials"
    locked = refusal(rt, "sales")  # even the right password is refused now
    assert locked.rule == "account_locked"
    assert "sales" not in locked.message
    assert locked.fields["retry_after_s"] == 15 * 60 + 1
    clock.moment += timedelta(minutes=14, seconds=59)
    assert refusal(rt, "sales").rule == "account_locked"
    clock.moment += timedelta(seconds=1)
    assert login(rt, "sales").name == "sales"


def test_a_good_login_resets_the_failure_count(rt: Runtime) -> None:
    set_password(rt, "sales")
    for _ in range(4):
        refusal(rt, "sales", "wrong password!")
    login(rt, "sales")
    for _ in range(4):
        refusal(rt, "sales", "wrong password!")
    assert login(rt, "sales").name == "sales"


def test_a_disabled_account_cannot_log_in(rt: Runtime) -> None:
    set_password(rt, "sales")
    with rt.db.transaction() as tx:
        staff.set_active(tx, rt, handle="sales", active=False, by="cli:test")
    assert refusal(rt, "sales").rule == "actor_disabled"
    # Without the password, a disabled account looks like any wrong password.
    assert refusal(rt, "sales", "wrong password!").rule == "bad_credentials"


def test_every_attempt_is_audited_with_its_rule(rt: Runtime, clock: Clock) -> None:
    set_password(rt, "sales")
    set_password(rt, "officer")
    before = len(entries(rt, "auth.login"))
    login(rt, "sales")
    refusal(rt, "sales", "wrong password!")
    refusal(rt, "nobody.here")
    refusal(rt, "officer")  # privileged, no second factor yet
    app = enrol(rt, "officer")
    clock.moment += timedelta(seconds=30)
    refusal(rt, "officer", code=wrong_code(app, rt))
    login(rt, "officer", code=app.at(clock.moment))
    trail = entries(rt, "auth.login")[before:]
    assert [(e["actor"], e["action"], e["outcome"], e["rule"]) for e in trail] == [
        ("sales", "login", "allowed", "authenticated"),
        ("sales", "login", "denied", "bad_credentials"),
        ("auth:unknown", "login", "denied", "bad_credentials"),
        ("officer", "login", "denied", "totp_required"),
        ("officer", "login", "denied", "bad_totp"),
        ("officer", "login", "allowed", "authenticated"),
    ]
    assert trail[1]["detail"] == {"failures": 1}
    for entry in trail:
        assert PASSWORD not in str(entry)


def test_a_privileged_role_needs_a_second_factor(rt: Runtime, clock: Clock) -> None:
    assert rt.policy.roles["privacy_officer"].privileged
    assert not rt.policy.roles["sales"].privileged
    set_password(rt, "officer")
    assert refusal(rt, "officer").rule == "totp_required"
    app = enrol(rt, "officer")
    clock.moment += timedelta(seconds=30)
    asked = refusal(rt, "officer")
    assert asked.rule == "totp_required"
    assert "authenticator" in asked.message
    assert login(rt, "officer", code=app.at(clock.moment)).name == "officer"


def test_an_enrolled_second_factor_is_required_of_any_role(rt: Runtime, clock: Clock) -> None:
    set_password(rt, "sales")
    app = enrol(rt, "sales")
    clock.moment += timedelta(seconds=30)
    assert refusal(rt, "sales").rule == "totp_required"
    assert login(rt, "sales", code=app.at(clock.moment)).name == "sales"


def test_a_code_is_accepted_one_step_either_side_and_not_beyond(rt: Runtime, clock: Clock) -> None:
    set_password(rt, "officer")
    app = enrol(rt, "officer")
    clock.moment += timedelta(minutes=5)
    assert refusal(rt, "officer", code=app.at(clock.moment - timedelta(seconds=60))).rule == (
        "bad_totp"
    )
    assert login(rt, "officer", code=app.at(clock.moment - timedelta(seconds=30))).name
    clock.moment += timedelta(minutes=5)
    assert login(rt, "officer", code=app.at(clock.moment + timedelta(seconds=30))).name


def test_a_code_cannot_be_used_twice(rt: Runtime, clock: Clock) -> None:
    set_password(rt, "officer")
    app = enrol(rt, "officer")
    clock.moment += timedelta(seconds=30)
    code = app.at(clock.moment)
    login(rt, "officer", code=code)
    reused = refusal(rt, "officer", code=code)
    assert reused.rule == "bad_totp"
    assert "used already" in reused.message
    # Nor can an older code, still inside the window, after a newer one was used.
    clock.moment += timedelta(seconds=30)
    login(rt, "officer", code=app.at(clock.moment))
    assert refusal(rt, "officer", code=app.at(clock.moment - timedelta(seconds=30))).rule == (
        "bad_totp"
    )


def test_the_confirmation_code_cannot_be_used_to_log_in(rt: Runtime) -> None:
    set_password(rt, "officer")
    app = enrol(rt, "officer")
    assert refusal(rt, "officer", code=app.at(rt.now())).rule == "bad_totp"


def test_wrong_codes_count_towards_the_lockout(rt: Runtime, clock: Clock) -> None:
    set_password(rt, "officer")
    app = enrol(rt, "officer")
    clock.moment += timedelta(seconds=30)
    good = app.at(clock.moment)
    wrong = wrong_code(app, rt)
    for _ in range(5):
        assert refusal(rt, "officer", code=wrong).rule == "bad_totp"
    assert refusal(rt, "officer", code=good).rule == "account_locked"


@pytest.mark.parametrize("code", ["12345", "1234567", "abcdef", "١٢٣٤٥٦", "", "12 34 5x"])
def test_malformed_codes_are_refused_not_crashed_on(rt: Runtime, clock: Clock, code: str) -> None:
    set_password(rt, "officer")
    enrol(rt, "officer")
    clock.moment += timedelta(seconds=30)
    expected = "totp_required" if code == "" else "bad_totp"
    assert refusal(rt, "officer", code=code).rule == expected


def test_a_wrong_confirmation_code_leaves_the_enrolment_pending(rt: Runtime) -> None:
    set_password(rt, "sales")
    with rt.db.transaction() as tx:
        uri = totp.enroll_totp(tx, rt, handle="sales")
    assert uri.startswith("otpauth://totp/Mamori:sales?")
    assert "issuer=Mamori" in uri
    with pytest.raises(Denied) as caught, rt.db.transaction() as tx:
        totp.confirm_totp(tx, rt, handle="sales", code="000000", now=rt.now())
    assert caught.value.rule == "bad_totp"
    assert login(rt, "sales").name == "sales"  # a pending factor is not yet asked for


def test_confirming_with_nothing_enrolled_is_refused(rt: Runtime) -> None:
    with pytest.raises(Denied) as caught, rt.db.transaction() as tx:
        totp.confirm_totp(tx, rt, handle="sales", code="123456", now=rt.now())
    assert caught.value.rule == "totp_not_enrolled"
    with pytest.raises(NotFound), rt.db.transaction() as tx:
        totp.enroll_totp(tx, rt, handle="nobody.here")


def test_re_enrolment_replaces_the_factor_only_once_confirmed(rt: Runtime, clock: Clock) -> None:
    set_password(rt, "officer")
    old = enrol(rt, "officer")
    clock.moment += timedelta(seconds=30)
    with rt.db.transaction() as tx:
        totp.enroll_totp(tx, rt, handle="officer")
    assert login(rt, "officer", code=old.at(clock.moment)).name == "officer"
    clock.moment += timedelta(seconds=30)
    new = enrol(rt, "officer")
    clock.moment += timedelta(seconds=30)
    assert refusal(rt, "officer", code=old.at(clock.moment)).rule in ("bad_totp",)
    assert login(rt, "officer", code=new.at(clock.moment)).name == "officer"


@pytest.mark.parametrize(
    ("password", "code"),
    [
        ("short pass", "password_too_short"),
        ("Sales", "password_too_short"),
        ("x" * 1025, "password_too_long"),
        ("tab\there and more", "password_unprintable"),
    ],
)
def test_weak_passwords_are_refused_without_repeating_them(
    rt: Runtime, password: str, code: str
) -> None:
    with pytest.raises(ValidationFailed) as caught, rt.db.transaction() as tx:
        passwords.set_password(tx, rt, handle="sales", password=password, by="cli:test")
    assert caught.value.code == code
    assert password not in caught.value.message


def test_the_handle_is_not_a_password(rt: Runtime) -> None:
    with rt.db.transaction() as tx:
        staff.add(tx, rt, handle="long.handle.name", roles=["sales"], by="cli:test")
    with pytest.raises(ValidationFailed) as caught, rt.db.transaction() as tx:
        passwords.set_password(
            tx, rt, handle="long.handle.name", password="Long.Handle.Name", by="cli:test"
        )
    assert caught.value.code == "password_is_handle"


def test_setting_a_password_is_audited_without_it(rt: Runtime) -> None:
    set_password(rt, "sales")
    last = entries(rt, "staff.admin")[-1]
    assert (last["actor"], last["action"], last["rule"]) == (
        "cli:test",
        "staff_passwd",
        "password_set",
    )
    assert last["detail"] == {"handle": "sales"}
    with pytest.raises(NotFound), rt.db.transaction() as tx:
        passwords.set_password(tx, rt, handle="nobody.here", password=PASSWORD, by="cli:test")


def test_setting_a_password_clears_a_lockout(rt: Runtime) -> None:
    set_password(rt, "sales")
    for _ in range(5):
        refusal(rt, "sales", "wrong password!")
    assert refusal(rt, "sales").rule == "account_locked"
    set_password(rt, "sales", "a brand new password")
    assert login(rt, "sales", "a brand new password").name == "sales"


def test_a_hash_with_old_parameters_is_renewed_at_login(
    rt: Runtime, monkeypatch: pytest.MonkeyPatch
) -> None:
    set_password(rt, "sales")
    stronger = PasswordHasher(time_cost=2, memory_cost=16, parallelism=1)
    monkeypatch.setattr(passwords, "HASHER", stronger)
    login(rt, "sales")
    with rt.db.transaction() as tx:
        stored = tx.fetchone("SELECT password_hash FROM staff_credentials WHERE handle = 'sales'")[
            0
        ]
    assert "m=16,t=2,p=1" in stored
    assert not stronger.check_needs_rehash(stored)
    assert login(rt, "sales").name == "sales"


def test_a_lone_surrogate_is_a_wrong_password_not_a_crash(rt: Runtime) -> None:
    set_password(rt, "sales")
    assert refusal(rt, "sales", "bad \ud800 password").rule == "bad_credentials"


def test_a_refusal_rolls_back_the_work_but_keeps_its_trace_and_count(rt: Runtime) -> None:
    set_password(rt, "sales")
    before = len(entries(rt, "auth.login"))

    def add_then_log_in() -> None:
        with rt.db.transaction() as tx:
            staff.add(tx, rt, handle="made.in.vain", roles=["sales"], by="cli:test")
            verify_login(
                tx, rt, handle="sales", password="wrong password!", totp_code=None, now=rt.now()
            )

    with pytest.raises(Denied):
        add_then_log_in()
    with rt.db.transaction() as tx:
        assert tx.fetchone("SELECT 1 FROM staff_accounts WHERE handle = 'made.in.vain'") is None
        count = tx.fetchone("SELECT failed_attempts FROM staff_credentials WHERE handle = 'sales'")
        assert count[0] == 1
        assert verify(tx, rt.audit).ok
    assert len(entries(rt, "auth.login")) == before + 1
