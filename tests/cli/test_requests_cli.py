"""``mamori requests`` as staff use it: a phone call entered, worked and closed, and misuse.

Runs the real command on SQLite with a real SMTP server for the identity code.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from tests.cli.test_cli import CUSTOMER, OFFICER, SALES, add_customer, mamori, ok, refused
from tests.dsr.smtp import Mailbox, running_smtp

__all__ = ["home"]  # the CLI home fixture, shared
from tests.cli.test_cli import home


@pytest.fixture
def subject(home: Path) -> str:
    result = add_customer(home, CUSTOMER, "--json")
    assert result.exit_code == 0, result.output
    import json

    return str(json.loads(result.stdout)["ref"])


def test_a_phone_erasure_request_from_entry_to_completion(home: Path, subject: str) -> None:
    made = ok(home, "requests", "new", "erasure", "--subject", subject, "--actor", OFFICER)
    assert made["state"] == "received"
    assert made["due_at"]
    listed = ok(home, "requests", "list", "--actor", OFFICER)
    assert [r["ref"] for r in listed] == [made["ref"]]
    preview = ok(home, "requests", "preview", made["ref"], "--actor", OFFICER)
    assert {e["category"] for e in preview["erased"]} | {k["category"] for k in preview["kept"]}
    verified = ok(
        home, "requests", "verify", made["ref"], "--method", "phone_callback", "--actor", OFFICER
    )
    assert verified["identity"] == {"method": "phone_callback", "by": OFFICER}
    done = ok(home, "requests", "complete", made["ref"], "--actor", OFFICER)
    assert done["state"] == "completed"
    shown = ok(home, "requests", "show", made["ref"], "--actor", OFFICER)
    assert [h["action"] for h in shown["history"]] == [
        "request_received",
        "identity_verified",
        "completed",
    ]
    assert ok(home, "requests", "metrics", "--actor", OFFICER)["by_state"] == {"completed": 1}
    # The whole session is in the audit trail, and it verifies.
    assert ok(home, "audit", "verify")["ok"] is True


def test_a_disclosure_waits_for_its_fee_and_gives_a_link(home: Path, subject: str) -> None:
    made = ok(
        home,
        "requests",
        "new",
        "disclosure",
        "--subject",
        subject,
        "--identity",
        "document_seen",
        "--via",
        "visit",
        "--actor",
        OFFICER,
    )
    assert made["state"] == "in_progress"
    held = ok(home, "requests", "complete", made["ref"], "--actor", OFFICER)
    assert held["state"] == "awaiting_fee"
    wrong = refused(home, "requests", "pay", made["ref"], "--amount", "10", "--actor", OFFICER)
    assert "1000 yen" in wrong
    ok(home, "requests", "pay", made["ref"], "--amount", "1000", "--actor", OFFICER)
    done = ok(home, "requests", "complete", made["ref"], "--actor", OFFICER)
    assert done["state"] == "completed"
    assert re.fullmatch(r"/downloads/[A-Za-z0-9_-]{40,}", done["download"])


def test_an_identity_code_by_mail(home: Path, subject: str) -> None:
    with running_smtp() as box:
        env = {"MAMORI_SMTP_URL": box.url}
        made = ok(home, "requests", "new", "erasure", "--subject", subject, "--actor", OFFICER)
        ok(home, "requests", "code", made["ref"], "--actor", OFFICER, env=env)
        assert CUSTOMER["user.contact.email"].lower() in str(box.messages[-1]["To"]).lower()
        code = re.search(r"\b(\d{6})\b", Mailbox.text(box.messages[-1]))
        assert code is not None
        bad = refused(
            home, "requests", "verify", made["ref"], "--code", "12345x", "--actor", OFFICER
        )
        assert "wrong" in bad
        good = ok(
            home, "requests", "verify", made["ref"], "--code", code.group(1), "--actor", OFFICER
        )
        assert good["state"] == "in_progress"


def test_mail_server_down_is_one_sentence_and_nothing_changes(home: Path, subject: str) -> None:
    from tests.dsr.smtp import free_port

    made = ok(home, "requests", "new", "erasure", "--subject", subject, "--actor", OFFICER)
    env = {"MAMORI_SMTP_URL": f"smtp://127.0.0.1:{free_port()}"}
    said = refused(home, "requests", "code", made["ref"], "--actor", OFFICER, env=env)
    assert "did not take the message" in said
    assert ok(home, "requests", "show", made["ref"], "--actor", OFFICER)["state"] == "received"


def test_an_inquiry_by_phone_names_what_is_missing(home: Path) -> None:
    said = refused(home, "requests", "inquiry", "--name", "山田 太郎", "--actor", OFFICER)
    assert "phone is required" in said
    assert "description is required" in said
    made = ok(
        home,
        "requests",
        "inquiry",
        "--name",
        "山田 太郎",
        "--phone",
        "020-0123-4569",
        "--description",
        "会員情報について",
        "--received-at",
        "2026-11-22T12:00+09:00",
        "--actor",
        OFFICER,
    )
    assert made["hours"]["open"] is False
    # Sunday 22 November; Monday 23 is Labour Thanksgiving Day.
    assert made["hours"]["next_opening"].startswith("2026-11-24T09:00")


def test_misuse_is_refused_in_one_sentence(home: Path, subject: str) -> None:
    assert "role" in refused(
        home, "requests", "new", "erasure", "--subject", subject, "--actor", SALES
    )
    refused(home, "requests", "new", "erasure", "--subject", "s" + "a" * 16, "--actor", OFFICER)
    refused(home, "requests", "show", "r" + "a" * 16, "--actor", OFFICER)
    refused(
        home,
        "requests",
        "new",
        "erasure",
        "--subject",
        subject,
        "--received-at",
        "yesterday",
        "--actor",
        OFFICER,
    )
    made = ok(home, "requests", "new", "erasure", "--subject", subject, "--actor", OFFICER)
    ok(home, "requests", "withdraw", made["ref"], "--actor", OFFICER)
    said = refused(home, "requests", "complete", made["ref"], "--actor", OFFICER)
    assert "withdrawn" in said
    assert (
        mamori(
            home, "requests", "reject", made["ref"], "--reason", "nonsense", "--actor", OFFICER
        ).exit_code
        == 2
    )
