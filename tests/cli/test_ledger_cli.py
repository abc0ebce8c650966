"""``mamori ledger`` end to end on SQLite: export, review, records, data map, and misuse."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import pytest
import yaml
from fideslang.parse import load_manifests_into_taxonomy

from tests.cli.test_cli import OFFICER, SALES, add_customer, audit_tail, mamori, ok, refused

__all__ = ["home"]  # the CLI home fixture, shared
from tests.cli.test_cli import home

AUDITOR = "audit.kimura"


@pytest.fixture
def auditor(home: Path) -> str:
    ok(home, "staff", "add", AUDITOR, "--role", "auditor")
    return AUDITOR


def test_the_ledger_is_exported_as_csv_html_and_json(
    home: Path, auditor: str, tmp_path: Path
) -> None:
    assert add_customer(home).exit_code == 0
    out = tmp_path / "ledger.csv"
    made = ok(home, "ledger", "export", "--format", "csv", "--out", str(out), "--actor", auditor)
    content = out.read_bytes()
    assert content.startswith(b"\xef\xbb\xbf") and made["sha256"] == made["ledger_digest"]
    rows = {r[0]: r for r in csv.reader(io.StringIO(content[3:].decode("utf-8")))}
    assert rows["purchase_fulfillment"][6] == "1" and rows["email_delivery"][6] == "0"
    page = tmp_path / "ledger.html"
    ok(home, "ledger", "export", "--format", "html", "--out", str(page), "--actor", OFFICER)
    assert "個人情報管理台帳" in page.read_text(encoding="utf-8")
    data = tmp_path / "ledger.json"
    ok(home, "ledger", "export", "--format", "json", "--out", str(data), "--actor", OFFICER)
    assert json.loads(data.read_text())["digest"] == made["ledger_digest"]
    reads = [e for e in audit_tail(home) if e["action"] == "read_ledger"]
    assert [e["actor"] for e in reads] == [OFFICER, OFFICER, auditor]


def test_a_review_is_recorded_listed_and_refused_when_wrong(home: Path, auditor: str) -> None:
    made = ok(
        home, "ledger", "review", "--on", "2026-11-27", "--findings", "照合済み", "--actor", OFFICER
    )
    assert (made["reviewer"], made["next_due"]) == (OFFICER, "2027-11-27")
    listed = ok(home, "ledger", "reviews", "--actor", auditor)
    assert [r["id"] for r in listed["reviews"]] == [made["id"]]
    assert listed["overdue"] is False
    refused(home, "ledger", "review", "--on", "27/11/2026", "--findings", "x", "--actor", OFFICER)
    refused(home, "ledger", "review", "--on", "2026-11-27", "--findings", "x", "--actor", auditor)
    refused(
        home, "ledger", "review", "--on", "2026-11-27", "--findings", "x" * 4001, "--actor", OFFICER
    )
    refused(
        home,
        "ledger",
        "review",
        "--on",
        "2026-11-27",
        "--findings",
        "x",
        "--digest",
        "nothex",
        "--actor",
        OFFICER,
    )
    assert len(ok(home, "ledger", "reviews", "--actor", OFFICER)["reviews"]) == 1
    assert "not_privileged" in {e["rule"] for e in audit_tail(home, "--outcome", "denied")}


def test_records_of_processing_and_the_data_map(home: Path, auditor: str, tmp_path: Path) -> None:
    records = json.loads(mamori(home, "ledger", "ropa", "--actor", auditor).stdout)
    partners = next(a for a in records["activities"] if a["key"] == "partner_information")
    assert partners["transfers"][0]["country"] == "SG"
    page = tmp_path / "ropa.html"
    ok(
        home,
        "ledger",
        "ropa",
        "--format",
        "html",
        "--lang",
        "ja",
        "--out",
        str(page),
        "--actor",
        auditor,
    )
    assert "処理活動の記録" in page.read_text(encoding="utf-8")
    manifest = tmp_path / "datamap.yml"
    made = ok(home, "ledger", "datamap", "--out", str(manifest), "--actor", auditor)
    assert made["systems"] >= 3
    taxonomy = load_manifests_into_taxonomy(yaml.safe_load(manifest.read_text()))
    assert {str(s.fides_key) for s in taxonomy.system} >= {"mamori_registry"}


def test_misuse_is_one_sentence_and_exit_one(home: Path, tmp_path: Path) -> None:
    out = str(tmp_path / "x.csv")
    refused(home, "ledger", "export", "--format", "xlsx", "--out", out, "--actor", OFFICER)
    refused(home, "ledger", "export", "--out", out, "--actor", SALES)
    refused(home, "ledger", "export", "--out", out)
    refused(home, "ledger", "export", "--out", out, "--actor", "nobody")
    refused(home, "ledger", "export", "--out", str(tmp_path / "no" / "dir.csv"), "--actor", OFFICER)
    refused(home, "ledger", "ropa", "--lang", "fr", "--actor", OFFICER)
    refused(home, "ledger", "datamap", "--actor", SALES)
    assert not (tmp_path / "x.csv").exists()
    rules = {e["rule"] for e in audit_tail(home, "--outcome", "denied")}
    assert {"not_ledger_reader", "unknown_actor"} <= rules
