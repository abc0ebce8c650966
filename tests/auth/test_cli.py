"""``mamori staff passwd|totp`` and ``mamori tokens create|list|revoke``, as a user runs them."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pyotp
import pytest
from typer.testing import CliRunner, Result

from mamori.cli.main import app
from tests.cli.test_cli import CLEAN_ENV, mamori, ok, refused

PASSWORD = "correct horse battery"


@pytest.fixture
def home(tmp_path: Path) -> Path:
    where = tmp_path / "home"
    ok(where, "init")
    ok(where, "staff", "add", "officer", "--role", "privacy_officer")
    ok(where, "staff", "add", "sales.tanaka", "--role", "sales")
    return where


def typed(home: Path, text: str, *args: str) -> Result:
    """Run a command with ``text`` on its standard input."""
    return CliRunner().invoke(
        app, list(args), input=text, env={**CLEAN_ENV, "MAMORI_HOME": str(home)}
    )


def audit(home: Path) -> list[dict[str, Any]]:
    return ok(home, "audit", "tail", "--limit", "100")  # type: ignore[no-any-return]


def test_passwd_prompts_twice_hidden(home: Path) -> None:
    result = typed(home, f"{PASSWORD}\n{PASSWORD}\n", "staff", "passwd", "sales.tanaka")
    assert result.exit_code == 0, result.output
    assert PASSWORD not in result.output
    assert "password set for sales.tanaka" in result.output


def test_passwd_refuses_two_different_entries(home: Path) -> None:
    result = typed(
        home, f"{PASSWORD}\nsomething else entirely\n", "staff", "passwd", "sales.tanaka"
    )
    assert result.exit_code != 0
    assert not [e for e in audit(home) if e["action"] == "staff_passwd"]


def test_passwd_reads_stdin_for_scripts(home: Path) -> None:
    result = typed(
        home, PASSWORD + "\n", "staff", "passwd", "sales.tanaka", "--password-stdin", "--json"
    )
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout) == {"handle": "sales.tanaka", "password_set": True}
    assert audit(home)[0]["action"] == "staff_passwd"
    assert PASSWORD not in json.dumps(audit(home))


def test_passwd_says_why_a_password_is_refused(home: Path) -> None:
    result = typed(home, "too short\n", "staff", "passwd", "sales.tanaka", "--password-stdin")
    assert result.exit_code == 1
    assert "at least 12 characters" in result.stderr
    assert "too short" not in result.output
    unknown = typed(home, PASSWORD + "\n", "staff", "passwd", "nobody.here", "--password-stdin")
    assert unknown.exit_code == 1
    assert "no staff account" in unknown.stderr


def test_totp_enrols_then_confirms(home: Path) -> None:
    shown = mamori(home, "staff", "totp", "officer")
    assert shown.exit_code == 0, shown.output
    assert "shown once" in shown.stdout
    uri = next(line for line in shown.stdout.splitlines() if line.startswith("otpauth://"))
    app_view = pyotp.parse_uri(uri)
    assert isinstance(app_view, pyotp.TOTP)
    refused(home, "staff", "totp", "officer", "--code", "abcdef")
    confirmed = ok(home, "staff", "totp", "officer", "--code", app_view.now())
    assert confirmed == {"handle": "officer", "totp": "confirmed"}
    actions = [e["action"] for e in audit(home)[:3]]
    assert actions == ["totp_confirm", "totp_confirm", "totp_enroll"]


def test_tokens_are_created_listed_and_revoked(home: Path) -> None:
    human = mamori(home, "tokens", "create", "--label", "web shop", "--role", "integration")
    assert human.exit_code == 0, human.output
    assert "shown once" in human.stderr
    assert "mmr_" in human.stdout
    made = ok(
        home, "tokens", "create", "--label", "[bold]mailer", "--role", "marketing", "--days", "7"
    )
    assert made["secret"].startswith(f"mmr_{made['id']}_")
    assert made["role"] == "marketing"
    listed = ok(home, "tokens", "list")
    assert [t["state"] for t in listed] == ["active", "active"]
    assert all("secret" not in t for t in listed)
    table = mamori(home, "tokens", "list")
    assert "[bold]mailer" in table.stdout
    assert made["secret"] not in table.stdout
    revoked = ok(home, "tokens", "revoke", made["id"])
    assert revoked["revoked_at"] is not None
    states = {t["id"]: t["state"] for t in ok(home, "tokens", "list")}
    assert states[made["id"]] == "revoked"


def test_token_mistakes_are_one_sentence(home: Path) -> None:
    assert "unknown role" in refused(home, "tokens", "create", "--label", "x", "--role", "boss")
    assert "1 to 3650 days" in refused(
        home, "tokens", "create", "--label", "x", "--role", "integration", "--days", "0"
    )
    assert "no token with that id" in refused(home, "tokens", "revoke", "0123abcd")
