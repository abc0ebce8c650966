"""The real ``mamori`` command, on SQLite: happy paths with ``--json``, and every way to misuse it.

Each mistake must end with a non-zero exit status, one sentence (plus the list
of problems where there are several), no traceback, no personal value repeated,
and nothing half-written. ``CliRunner`` catches what escapes a command, so each
run also checks that no exception other than the exit itself got out.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import stat
import subprocess
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner, Result

from mamori.cli.main import app

RUNNER = CliRunner()
SALES, OFFICER, MARKETING = "sales.tanaka", "officer", "marketing.sato"
FULFILMENT = "purchase_fulfillment"
# Variables a developer's shell may carry that would change what a command does.
CLEAN_ENV: dict[str, str | None] = {
    name: None
    for name in (
        "MAMORI_ACTOR",
        "MAMORI_KEYS",
        "MAMORI_DATABASE_URL",
        "MAMORI_KEY_FILE",
        "MAMORI_POLICY",
        "CI",
    )
}
CUSTOMER = {
    "user.name": "試験 花子",
    "user.name.kana": "しけん はなこ",
    "user.contact.email": "Hanako.Shiken@Example.JP",
    "user.contact.phone_number": "020-0123-4567",
    "user.contact.address.postal_code": "102-0073",
    "user.contact.address.prefecture": "東京都",
    "user.contact.address.municipality": "千代田区",
    "user.contact.address.street": "九段北一丁目2番3号",
}
BIN = Path(sys.executable).parent / "mamori"


def mamori(home: Path, *args: str, env: Mapping[str, str | None] | None = None) -> Result:
    """Run the command as a user would, with ``home`` as MAMORI_HOME."""
    result = RUNNER.invoke(
        app, list(args), env={**CLEAN_ENV, "MAMORI_HOME": str(home), **(env or {})}
    )
    # Anything other than the exit itself escaping the command is a bug.
    assert result.exception is None or isinstance(result.exception, SystemExit), (
        repr(result.exception),
        result.output,
    )
    assert "Traceback" not in result.output
    return result


def ok(home: Path, *args: str, env: Mapping[str, str | None] | None = None) -> Any:
    """Run a command with ``--json``; it must succeed; returns the parsed output."""
    result = mamori(home, *args, "--json", env=env)
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def refused(
    home: Path,
    *args: str,
    code: int = 1,
    env: Mapping[str, str | None] | None = None,
    first: str = "error: ",
    rest: str = "  - ",
) -> str:
    """Run a command that must fail; returns its error output, checked to be one sentence.

    The sentence is the first line; further lines, where there are several
    problems, each name one problem and start with ``rest``.
    """
    result = mamori(home, *args, env=env)
    assert result.exit_code == code, result.output
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert lines, "a refusal must say why"
    if code == 1:
        assert lines[0].startswith(first), lines
        assert all(line.startswith(rest) for line in lines[1:]), lines
    return result.stderr


def add_customer(home: Path, values: Mapping[str, str] = CUSTOMER, *extra: str) -> Result:
    pairs = [arg for c, v in values.items() for arg in ("--value", f"{c}={v}")]
    return mamori(
        home,
        "subjects",
        "add",
        "--channel",
        "product_purchase",
        "--actor",
        SALES,
        "--purpose",
        FULFILMENT,
        *pairs,
        *extra,
    )


def audit_tail(home: Path, *args: str) -> list[dict[str, Any]]:
    return ok(home, "audit", "tail", "--limit", "1000", *args)  # type: ignore[no-any-return]


def subject_count(home: Path) -> int:
    rows = ok(home, "subjects", "list", "--actor", OFFICER, "--purpose", FULFILMENT)
    return len(rows)


@pytest.fixture
def home(tmp_path: Path) -> Path:
    """A home made through the CLI: init, three staff accounts, the notice published."""
    where = tmp_path / "home"
    ok(where, "init")
    for handle, role in ((OFFICER, "privacy_officer"), (SALES, "sales"), (MARKETING, "marketing")):
        ok(where, "staff", "add", handle, "--role", role)
    assert ok(where, "policy", "publish", "--actor", OFFICER)["version"] == 1
    return where


@pytest.fixture
def customer(home: Path) -> str:
    result = add_customer(home, CUSTOMER, "--json")
    assert result.exit_code == 0, result.output
    ref: str = json.loads(result.stdout)["ref"]
    return ref


# -- the happy paths -------------------------------------------------------------


def test_init_reports_where_it_put_things(tmp_path: Path) -> None:
    data = ok(tmp_path / "h", "init")
    assert data["home"] == str(tmp_path / "h")
    assert re.fullmatch(r"[0-9a-f]{32}", data["installation"])
    key_file = Path(data["key_file"])
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    assert ok(tmp_path / "h", "audit", "verify")["ok"] is True


def test_staff_are_listed(home: Path) -> None:
    staff = {s["handle"]: s for s in ok(home, "staff", "list")}
    assert staff[SALES]["roles"] == ["sales"]
    assert staff[SALES]["active"] is True


def test_a_customer_is_registered_shown_found_listed_and_corrected(
    home: Path, customer: str
) -> None:
    shown = ok(home, "subjects", "show", customer, "--actor", SALES, "--purpose", FULFILMENT)
    assert shown["ref"] == customer
    assert shown["kind"] == "customer"
    values = shown["values"]
    assert values["user.name"] == CUSTOMER["user.name"]
    assert values["user.name.kana"] == "シケン ハナコ"
    assert values["user.contact.email"] == "Hanako.Shiken@example.jp"
    assert values["user.contact.phone_number"] == "+812001234567"
    assert shown["sources"]["user.name"]["channel"] == "product_purchase"
    assert shown["sources"]["user.name"]["notice_version"] == 1

    only = ok(
        home,
        "subjects",
        "show",
        customer,
        "--actor",
        SALES,
        "--purpose",
        FULFILMENT,
        "--category",
        "user.name",
    )
    assert list(only["values"]) == ["user.name"]

    for how in (
        ("--email", "HANAKO.SHIKEN@example.jp"),
        ("--phone", "+81 20-0123-4567"),
        ("--phone", "02001234567"),
    ):
        found = ok(home, "subjects", "find", "--actor", SALES, "--purpose", FULFILMENT, *how)
        assert found == {"refs": [customer]}, how
    none = ok(
        home,
        "subjects",
        "find",
        "--actor",
        SALES,
        "--purpose",
        FULFILMENT,
        "--email",
        "nobody@example.jp",
    )
    assert none == {"refs": []}

    listed = ok(home, "subjects", "list", "--actor", SALES, "--purpose", FULFILMENT)
    assert [r["ref"] for r in listed] == [customer]
    assert set(listed[0]) == {"ref", "kind", "channel", "created_at"}

    corrected = ok(
        home,
        "subjects",
        "correct",
        customer,
        "--actor",
        OFFICER,
        "--purpose",
        "registration_correction",
        "--value",
        "user.contact.address.postal_code=〒１００－０００１",
        "--value",
        "user.contact.address.municipality=千代田区",
    )
    assert corrected == {
        "ref": customer,
        "corrected": ["user.contact.address.municipality", "user.contact.address.postal_code"],
    }
    again = ok(home, "subjects", "show", customer, "--actor", SALES, "--purpose", FULFILMENT)
    assert again["values"]["user.contact.address.postal_code"] == "100-0001"
    assert again["values"]["user.name"] == CUSTOMER["user.name"]


def test_consents_are_granted_withdrawn_and_shown(home: Path, customer: str) -> None:
    common = ("--actor", OFFICER, "--purpose", "email_delivery")
    granted = ok(home, "consents", "grant", customer, *common, "--explicit")
    assert granted["changed"] is True
    assert granted["event"]["state"] == "granted"
    assert granted["event"]["explicit"] is True
    assert ok(home, "consents", "grant", customer, *common, "--explicit")["changed"] is False
    withdrawn = ok(home, "consents", "withdraw", customer, *common, "--channel", "unsubscribe_link")
    assert withdrawn["changed"] is True
    events = ok(home, "consents", "show", customer, *common)
    assert [(e["purpose"], e["state"], e["channel"]) for e in events] == [
        ("email_delivery", "granted", "staff"),
        ("email_delivery", "withdrawn", "unsubscribe_link"),
    ]
    assert all(e["actor"] == OFFICER for e in events)
    everything = ok(
        home, "consents", "show", customer, "--actor", OFFICER, "--purpose", "dsr.disclosure"
    )
    assert len(everything) == 2
    denied = refused(
        home,
        "subjects",
        "show",
        customer,
        "--actor",
        MARKETING,
        "--purpose",
        "email_delivery",
    )
    assert "withdrew consent" in denied


def test_the_audit_trail_records_the_session_and_verifies(home: Path, customer: str) -> None:
    ok(home, "subjects", "show", customer, "--actor", SALES, "--purpose", FULFILMENT)
    refused(home, "subjects", "show", customer, "--actor", MARKETING, "--purpose", FULFILMENT)
    entries = audit_tail(home)
    assert entries == sorted(entries, key=lambda e: -e["seq"])
    newest = entries[0]
    assert (newest["actor"], newest["purpose"], newest["outcome"], newest["rule"]) == (
        MARKETING,
        FULFILMENT,
        "denied",
        "role_not_permitted",
    )
    assert newest["subjects"] == [customer]
    read = entries[1]
    assert (read["actor"], read["action"], read["outcome"]) == (SALES, "read", "allowed")
    assert [e["rule"] for e in audit_tail(home, "--outcome", "denied")] == ["role_not_permitted"]
    assert {e["seq"] for e in audit_tail(home, "--subject", customer)} == {
        e["seq"] for e in entries if customer in e["subjects"]
    }
    report = ok(home, "audit", "verify")
    assert report["ok"] is True
    assert report["findings"] == []
    assert report["entries"] == report["last_seq"] == report["checkpoint_seq"] == entries[0]["seq"]
    plain = mamori(home, "audit", "verify")
    assert plain.exit_code == 0
    assert "intact" in plain.stdout


def test_a_tampered_log_fails_verification(home: Path, customer: str) -> None:
    import sqlite3

    conn = sqlite3.connect(home / "mamori.db")
    try:
        with conn:
            conn.execute("UPDATE audit_entries SET actor = 'someone' WHERE seq = 3")
    finally:
        conn.close()
    result = mamori(home, "audit", "verify", "--json")
    assert result.exit_code == 1
    report = json.loads(result.stdout)
    assert report["ok"] is False
    assert [(f["seq"], f["kind"]) for f in report["findings"]] == [(3, "changed")]
    plain = mamori(home, "audit", "verify")
    assert plain.exit_code == 1
    assert "entry 3 was changed" in plain.stderr


def test_policy_check_accepts_the_example(tmp_path: Path) -> None:
    from mamori.demo import EXAMPLE_POLICY

    report = ok(tmp_path, "policy", "check", str(EXAMPLE_POLICY))
    assert report["ok"] is True


# -- refusals ----------------------------------------------------------------------


def test_policy_check_reports_problems_with_their_lines(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text(
        "version: 1\n"
        "company:\n"
        "  name: {ja: 例, en: Example}\n"
        "purposes:\n"
        "  - key: Not A Key\n"
        "    retention: forever\n",
        encoding="utf-8",
    )
    plain = mamori(tmp_path, "policy", "check", str(bad))
    assert plain.exit_code == 1
    text = " ".join(plain.stderr.split())  # one line per problem is checked below
    assert "problem(s)" in text
    assert "line 5: " in text
    result = mamori(tmp_path, "policy", "check", str(bad), "--json")
    assert result.exit_code == 1
    report = json.loads(result.stdout)
    assert report["ok"] is False
    assert report["problems"]
    assert all(set(p) == {"line", "path", "message"} for p in report["problems"])
    assert 5 in {p["line"] for p in report["problems"]}


def test_policy_check_of_a_file_that_is_not_yaml(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("purposes: [unclosed\n  - key: x\n", encoding="utf-8")
    result = mamori(tmp_path, "policy", "check", str(bad), "--json")
    assert result.exit_code == 1
    (problem,) = json.loads(result.stdout)["problems"]
    assert problem["line"] == 2
    assert "not valid YAML" in problem["message"]


def test_policy_check_of_a_missing_file(tmp_path: Path) -> None:
    result = mamori(tmp_path, "policy", "check", str(tmp_path / "nowhere.yaml"), "--json")
    assert result.exit_code == 1
    (problem,) = json.loads(result.stdout)["problems"]
    assert "cannot read" in problem["message"]


def test_policy_check_prints_one_line_per_problem(tmp_path: Path) -> None:
    bad = tmp_path / ("a-policy-file-with-a-rather-long-name-" * 2 + ".yaml")
    bad.write_text("purposes: [unclosed\n  - key: x\n", encoding="utf-8")
    refused(tmp_path, "policy", "check", str(bad), first=str(bad), rest="  line ")


def test_init_with_a_broken_policy_makes_nothing(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("version: 1\n", encoding="utf-8")
    refused(tmp_path / "h", "init", "--policy", str(bad))
    assert not (tmp_path / "h" / "mamori.key").exists()
    assert not (tmp_path / "h" / "mamori.db").exists()


def test_a_second_init_is_refused(home: Path) -> None:
    key = (home / "mamori.key").read_bytes()
    text = refused(home, "init")
    assert "already initialised" in text
    assert (home / "mamori.key").read_bytes() == key


def test_a_missing_actor_is_refused(home: Path, customer: str) -> None:
    before = audit_tail(home)
    text = refused(home, "subjects", "show", customer, "--purpose", FULFILMENT)
    assert "--actor" in text
    result = mamori(home, "subjects", "show", customer, "--purpose", FULFILMENT, "--json")
    assert result.exit_code == 1
    assert json.loads(result.stderr)["code"] == "actor_missing"
    assert audit_tail(home) == before


def test_the_actor_may_come_from_the_environment(home: Path, customer: str) -> None:
    shown = ok(
        home, "subjects", "show", customer, "--purpose", FULFILMENT, env={"MAMORI_ACTOR": SALES}
    )
    assert shown["ref"] == customer


def test_a_missing_purpose_is_refused_with_the_purposes_allowed(home: Path, customer: str) -> None:
    text = refused(home, "subjects", "show", customer, "--actor", SALES)
    assert "--purpose" in text
    for purpose in ("purchase_fulfillment", "business_card_promotion", "invoicing_payment"):
        assert purpose in text
    assert "email_delivery" not in text


def test_an_unknown_actor_is_refused_and_audited(home: Path, customer: str) -> None:
    text = refused(home, "subjects", "show", customer, "--actor", "nobody", "--purpose", FULFILMENT)
    assert "nobody" in text
    denied = audit_tail(home, "--outcome", "denied")
    assert [(e["actor"], e["purpose"], e["rule"]) for e in denied] == [
        ("nobody", FULFILMENT, "unknown_actor")
    ]
    assert ok(home, "audit", "verify")["ok"] is True


def test_an_unknown_purpose_is_refused_and_audited(home: Path, customer: str) -> None:
    text = refused(
        home, "subjects", "show", customer, "--actor", SALES, "--purpose", "telemarketing"
    )
    assert "telemarketing" in text
    denied = audit_tail(home, "--outcome", "denied")
    assert [(e["actor"], e["purpose"], e["rule"]) for e in denied] == [
        (SALES, "telemarketing", "unknown_purpose")
    ]


def test_a_purpose_outside_the_role_is_refused_naming_what_is_allowed(
    home: Path, customer: str
) -> None:
    text = refused(
        home, "subjects", "show", customer, "--actor", MARKETING, "--purpose", FULFILMENT
    )
    assert "email_delivery" in text


@pytest.mark.parametrize(
    ("category", "bad"),
    [
        ("user.contact.email", "hanako..shiken@@example.jp"),
        ("user.contact.phone_number", "020-0123-456789"),
        ("user.contact.phone_number", "call 020-0123-4567"),
        ("user.contact.address.postal_code", "999-9999"),
        ("user.name.kana", "Hanako Shiken"),
        ("user.contact.address.prefecture", "Tokio-to"),
    ],
)
def test_a_value_failing_validation_is_refused_without_repeating_it(
    home: Path, category: str, bad: str
) -> None:
    last = audit_tail(home)[0]["seq"]
    result = add_customer(home, {**CUSTOMER, category: bad})
    assert result.exit_code == 1
    assert bad not in result.output
    assert CUSTOMER["user.name"] not in result.output
    assert category in result.stderr
    assert result.stderr.startswith("error: ")
    json_result = add_customer(home, {**CUSTOMER, category: bad}, "--json")
    assert json_result.exit_code == 1
    assert bad not in json_result.output
    assert json.loads(json_result.stderr)["code"] == "validation_failed"
    assert audit_tail(home)[0]["seq"] == last  # refused before the guard: nothing to audit
    assert subject_count(home) == 0


def test_an_unknown_category_is_refused(home: Path) -> None:
    result = add_customer(home, {**CUSTOMER, "user.shoe_size": "27"})
    assert result.exit_code == 1
    assert "user.shoe_size" in result.stderr
    assert subject_count(home) == 0


def test_a_value_without_a_category_is_refused(home: Path) -> None:
    text = refused(
        home,
        "subjects",
        "add",
        "--channel",
        "product_purchase",
        "--actor",
        SALES,
        "--purpose",
        FULFILMENT,
        "--value",
        "試験 花子",
    )
    assert "試験 花子" not in text
    assert "CATEGORY=VALUE" in text


def test_an_unknown_channel_is_refused(home: Path) -> None:
    pairs = ["--value", "user.name=試験 花子"]
    text = refused(
        home,
        "subjects",
        "add",
        "--channel",
        "carrier_pigeon",
        "--actor",
        SALES,
        "--purpose",
        FULFILMENT,
        *pairs,
    )
    assert "carrier_pigeon" in text
    assert subject_count(home) == 0


def test_an_unknown_subject_is_refused(home: Path) -> None:
    text = refused(
        home, "subjects", "show", "snosuchsubject", "--actor", SALES, "--purpose", FULFILMENT
    )
    assert "snosuchsubject" in text


def test_usage_errors_exit_with_status_2(home: Path) -> None:
    refused(home, "subjects", "add", "--actor", SALES, code=2)  # --channel is required
    refused(home, "subjects", "show", "--no-such-option", code=2)
    refused(home, "no-such-command", code=2)


def test_a_missing_key_file_is_named(home: Path, customer: str) -> None:
    (home / "mamori.key").unlink()
    text = refused(home, "subjects", "show", customer, "--actor", SALES, "--purpose", FULFILMENT)
    assert "key file" in text
    assert "mamori.key" in text


def test_an_exposed_key_file_is_refused(home: Path, customer: str) -> None:
    (home / "mamori.key").chmod(0o644)
    text = refused(home, "subjects", "show", customer, "--actor", SALES, "--purpose", FULFILMENT)
    assert "chmod 600" in text


def test_a_command_before_init_says_to_run_init(tmp_path: Path) -> None:
    text = refused(
        tmp_path / "fresh", "subjects", "list", "--actor", SALES, "--purpose", FULFILMENT
    )
    assert "mamori init" in text
    text = refused(tmp_path / "fresh", "audit", "verify")
    assert "mamori init" in text
    assert not (tmp_path / "fresh" / "mamori.db").exists()


def test_a_missing_database_is_named(home: Path) -> None:
    for suffix in ("", "-wal", "-shm"):
        Path(f"{home / 'mamori.db'}{suffix}").unlink(missing_ok=True)
    text = refused(home, "audit", "tail")
    assert "no Mamori database" in text
    assert "mamori init" in text
    assert not (home / "mamori.db").exists()


def test_another_homes_key_file_gives_a_clear_error(
    tmp_path: Path, home: Path, customer: str
) -> None:
    other = tmp_path / "other"
    ok(other, "init")
    shutil.copyfile(other / "mamori.key", home / "mamori.key")
    text = refused(home, "subjects", "show", customer, "--actor", SALES, "--purpose", FULFILMENT)
    assert "key file" in text
    result = mamori(home, "audit", "verify", "--json")
    assert result.exit_code == 1
    assert json.loads(result.stderr)["code"] == "key_file_mismatch"


def test_another_homes_key_file_is_refused_before_any_write(tmp_path: Path, home: Path) -> None:
    other = tmp_path / "other"
    ok(other, "init")
    shutil.copyfile(other / "mamori.key", home / "mamori.key")
    before = (home / "audit.head").read_bytes()
    result = add_customer(home)
    assert result.exit_code == 1
    assert "key file" in result.stderr
    assert (home / "audit.head").read_bytes() == before


def test_a_database_failure_is_one_sentence(home: Path, customer: str) -> None:
    import sqlite3

    conn = sqlite3.connect(home / "mamori.db")
    try:
        conn.execute("DROP TABLE audit_entries")
    finally:
        conn.close()
    refused(home, "subjects", "show", customer, "--actor", SALES, "--purpose", FULFILMENT)


def test_init_into_an_unwritable_policy_path_is_one_sentence(tmp_path: Path) -> None:
    refused(
        tmp_path / "h",
        "init",
        env={"MAMORI_POLICY": str(tmp_path / "missing" / "policy.yaml")},
    )


def test_erasure_needs_confirmation_and_then_holds(home: Path, customer: str) -> None:
    refused(home, "subjects", "erase", customer, "--actor", OFFICER)
    assert ok(home, "subjects", "show", customer, "--actor", SALES, "--purpose", FULFILMENT)
    assert ok(home, "subjects", "erase", customer, "--actor", OFFICER, "--yes") == {
        "ref": customer,
        "erased": True,
    }
    text = refused(home, "subjects", "show", customer, "--actor", OFFICER, "--purpose", FULFILMENT)
    assert "erased" in text
    email = "Hanako.Shiken@Example.JP"
    found = ok(
        home, "subjects", "find", "--actor", OFFICER, "--purpose", FULFILMENT, "--email", email
    )
    assert found == {"refs": []}


# -- the demo and the installed command ------------------------------------------


def test_the_demo_shows_an_intact_chain_and_no_plaintext(tmp_path: Path) -> None:
    result = mamori(tmp_path, "demo", "--people", "200", "--home", str(tmp_path / "demo"))
    assert result.exit_code == 0, result.output
    assert "chain intact" in result.output
    assert result.output.count("not found") == 3
    assert "FOUND" not in result.output
    assert "refused" in result.output
    # Data leaving the company: the stop is honoured, the lapsed contract refused.
    assert "provision_stopped × 1" in result.output
    assert "rule contract_lapsed" in result.output
    again = mamori(tmp_path, "demo", "--people", "200", "--home", str(tmp_path / "demo"))
    assert again.exit_code == 0  # a demo home is replaced


def test_the_demo_never_replaces_a_home_it_did_not_make(home: Path) -> None:
    key = (home / "mamori.key").read_bytes()
    text = refused(home, "demo", "--people", "10", "--home", str(home))
    assert "not a Mamori demo home" in text
    assert (home / "mamori.key").read_bytes() == key


def _installed(home: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k not in CLEAN_ENV}
    return subprocess.run(
        [str(BIN), *args],
        env={**env, "MAMORI_HOME": str(home)},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


@pytest.mark.skipif(not BIN.exists(), reason="the mamori script is not installed in this venv")
def test_the_installed_command_end_to_end(tmp_path: Path) -> None:
    home = tmp_path / "home"
    early = _installed(home, "subjects", "list", "--actor", SALES, "--purpose", FULFILMENT)
    assert early.returncode == 1
    assert "Traceback" not in early.stderr
    assert early.stderr.startswith("error: ")
    assert len(early.stderr.strip().splitlines()) == 1
    made = _installed(home, "init", "--json")
    assert made.returncode == 0, made.stderr
    assert json.loads(made.stdout)["home"] == str(home)
    verified = _installed(home, "audit", "verify", "--json")
    assert verified.returncode == 0, verified.stderr
    assert json.loads(verified.stdout)["ok"] is True
    unknown = _installed(home, "subjects", "list", "--actor", "nobody", "--purpose", FULFILMENT)
    assert unknown.returncode == 1
    assert "Traceback" not in unknown.stderr
    assert len(unknown.stderr.strip().splitlines()) == 1


def test_use_is_suspended_and_resumed(home: Path, customer: str) -> None:
    show = ("subjects", "show", customer, "--actor", SALES, "--purpose", FULFILMENT)
    suspended = ok(home, "subjects", "suspend", customer, "--actor", OFFICER)
    assert suspended == {"ref": customer, "suspended": ["*"]}
    assert "suspended" in refused(home, *show)
    assert ok(home, "subjects", "suspend", customer, "--actor", OFFICER, "--resume") == {
        "ref": customer,
        "suspended": [],
    }
    assert ok(home, *show)["ref"] == customer
    rules = [e["rule"] for e in audit_tail(home, "--subject", customer)]
    assert rules.count("use_suspended") == 1


def _write_csv(path: Path, rows: list[dict[str, str]]) -> Path:
    header = list(rows[0])
    lines = [",".join(header)] + [",".join(r[h] for h in header) for r in rows]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def _subscribers(consents: list[str]) -> list[dict[str, str]]:
    return [
        {
            "user.name": f"購読 試験{n}",
            "user.contact.email": f"subscriber{n}.shiken@example.jp",
            "consents": consent,
            "explicit": "yes",
        }
        for n, consent in enumerate(consents)
    ]


def test_an_import_registers_every_line(home: Path, tmp_path: Path) -> None:
    csv_file = _write_csv(tmp_path / "ok.csv", _subscribers(["email_delivery"] * 3))
    args = ("--channel", "email_subscription", "--actor", OFFICER, "--purpose", "email_delivery")
    result = ok(home, "subjects", "import", str(csv_file), *args, "--batch", "2")
    assert result["registered"] == 3


def test_an_import_with_an_invalid_line_registers_nothing(home: Path, tmp_path: Path) -> None:
    rows = _subscribers(["email_delivery"] * 3)
    rows[2]["user.contact.email"] = "not-an-address"
    csv_file = _write_csv(tmp_path / "bad.csv", rows)
    args = ("--channel", "email_subscription", "--actor", OFFICER, "--purpose", "email_delivery")
    text = refused(home, "subjects", "import", str(csv_file), *args, "--batch", "2")
    assert "line 4" in text
    assert "not-an-address" not in text
    assert subject_count_for(home, "email_delivery") == 0


def test_an_import_refused_in_a_later_batch_registers_nothing(home: Path, tmp_path: Path) -> None:
    csv_file = _write_csv(tmp_path / "late.csv", _subscribers(["email_delivery"] * 2 + [""]))
    args = ("--channel", "email_subscription", "--actor", OFFICER, "--purpose", "email_delivery")
    text = refused(home, "subjects", "import", str(csv_file), *args, "--batch", "2")
    assert "consent" in text
    assert subject_count_for(home, "email_delivery") == 0


def subject_count_for(home: Path, purpose: str) -> int:
    rows = ok(home, "subjects", "list", "--actor", OFFICER, "--purpose", purpose)
    return len(rows)
