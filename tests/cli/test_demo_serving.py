"""What a served demo hands its operator: a console login with a second factor, a member, a mailbox."""

from __future__ import annotations

import smtplib
from email.message import EmailMessage
from pathlib import Path

import pytest

from mamori import boot, demo_mailbox
from mamori.auth.login import verify_login
from mamori.config import load_settings
from mamori.demo import run_demo
from mamori.demo_access import current_code, make_demo_access
from mamori.errors import ConfigError, Denied
from tests.cli.test_cli import mamori


@pytest.fixture(scope="module")
def demo_home(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str]:
    home = tmp_path_factory.mktemp("served") / "demo"
    return home, run_demo(home=home, people=60, seed=7)


def test_the_console_login_needs_its_password_and_the_code_demo_code_prints(
    demo_home: tuple[Path, str],
) -> None:
    home, member = demo_home
    access = make_demo_access(load_settings({"MAMORI_HOME": str(home)}), member)
    assert access.member_email is not None and "@" in access.member_email
    rt = boot.start(load_settings({"MAMORI_HOME": str(home)}))
    try:
        with pytest.raises(Denied), rt.db.transaction() as tx:  # the code is required
            verify_login(
                tx, rt, handle=access.console_handle, password=access.console_password,
                totp_code=None, now=rt.now(),
            )  # fmt: skip
        code = current_code(home)
        with rt.db.transaction() as tx:
            actor = verify_login(
                tx, rt, handle=access.console_handle, password=access.console_password,
                totp_code=code, now=rt.now(),
            )  # fmt: skip
        assert "privacy_officer" in actor.roles
    finally:
        rt.close()
    printed = mamori(home, "demo-code", "--home", str(home))
    assert printed.exit_code == 0 and printed.output.strip().isdigit()


def test_codes_are_printed_for_demo_homes_only(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="not a Mamori demo home"):
        current_code(tmp_path)


def test_the_demo_mailbox_keeps_each_message_in_the_home(tmp_path: Path) -> None:
    started = demo_mailbox.start(tmp_path)
    assert started is not None  # aiosmtpd is a development dependency
    controller, url = started
    try:
        message = EmailMessage()
        message["From"], message["To"] = "privacy@example.jp", "member@example.com"
        message["Subject"] = "code"
        message.set_content("123456")
        host, port = url.removeprefix("smtp://").split(":")
        with smtplib.SMTP(host, int(port), timeout=10) as smtp:
            smtp.send_message(message)
    finally:
        controller.stop()
    kept = sorted((tmp_path / "mailbox").glob("*.eml"))
    assert len(kept) == 1 and b"123456" in kept[0].read_bytes()
