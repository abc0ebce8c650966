"""``mamori processors`` end to end on SQLite: status, a hand-over to a file, supervision.

Runs on the real clock: ``call_center``'s contract lapsed on 2026-09-30 and
``mail_delivery``'s has no end date, so the answers hold on any later day.
"""

from __future__ import annotations

import json
import stat
from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from tests.cli.test_cli import MARKETING, OFFICER, SALES, audit_tail, mamori, ok, refused

__all__ = ["home"]
from tests.cli.test_cli import home

SUBSCRIBER = {"user.name": "試験 花子", "user.contact.email": "hanako.shiken@example.jp"}


def _subscriber(home: Path, values: dict[str, str] = SUBSCRIBER) -> str:
    pairs = [arg for c, v in values.items() for arg in ("--value", f"{c}={v}")]
    made = ok(
        home,
        "subjects",
        "add",
        "--channel",
        "email_subscription",
        "--purpose",
        "email_delivery",
        "--consent",
        "email_delivery",
        "--actor",
        OFFICER,
        *pairs,
    )
    return str(made["ref"])


def _handover(home: Path, out: Path, *extra: str) -> list[str]:
    return [
        "processors",
        "handover",
        "mail_delivery",
        "--purpose",
        "email_delivery",
        "--format",
        "json",
        "--out",
        str(out),
        "--actor",
        MARKETING,
        *extra,
    ]


def test_status_of_the_processors(home: Path) -> None:
    listed = {p["key"]: p for p in ok(home, "processors", "list", "--actor", SALES)}
    assert listed["call_center"]["usable"] is False
    assert listed["mail_delivery"]["usable"] is True
    assert listed["call_center"]["supervision"]["overdue"] is True
    shown = ok(home, "processors", "show", "cloud_hosting", "--actor", SALES)
    assert shown["contract"]["until"] is None
    plain = mamori(home, "processors", "list", "--actor", SALES)
    assert plain.exit_code == 0 and "NOT USABLE" in plain.stdout
    assert "no processor" in refused(home, "processors", "show", "nobody", "--actor", SALES)


def test_a_handover_writes_a_private_file_and_its_record(home: Path, tmp_path: Path) -> None:
    one = _subscriber(home)
    out = tmp_path / "handover.json"
    got = ok(home, *_handover(home, out, "--ref", one, "--ref", "s" + "a" * 16))
    assert got["record"]["subject_count"] == 1
    assert [r["rule"] for r in got["refused"]] == ["unknown_subject"]
    assert stat.S_IMODE(out.stat().st_mode) == 0o600
    content = json.loads(out.read_text(encoding="utf-8"))
    assert content["subjects"] == [
        {
            "subject": one,
            "values": {
                "user.contact.email": SUBSCRIBER["user.contact.email"],
                "user.name": "試験 花子",
            },
        }
    ]
    # Never over an existing file unless forced.
    error = refused(home, *_handover(home, out, "--ref", one))
    assert "exists" in error and "--force" in error
    again = ok(home, *_handover(home, out, "--all", "--force"))
    assert again["record"]["ref"] != got["record"]["ref"]
    records = ok(home, "processors", "handovers", "mail_delivery", "--actor", OFFICER)
    assert [r["ref"] for r in records] == [again["record"]["ref"], got["record"]["ref"]]


def test_a_lapsed_contract_is_refused_with_no_file(home: Path, tmp_path: Path) -> None:
    out = tmp_path / "calls.csv"
    args = ["processors", "handover", "call_center", "--purpose", "product_support"]
    error = refused(home, *args, "--format", "csv", "--out", str(out), "--all", "--actor", OFFICER)
    assert "not in force" in error
    assert not out.exists()
    assert audit_tail(home, "--outcome", "denied")[0]["rule"] == "contract_lapsed"


def test_a_refs_file_with_bad_lines(home: Path, tmp_path: Path) -> None:
    refs = tmp_path / "refs.txt"
    refs.write_text(f"{_subscriber(home)}\nhanako.shiken@example.jp\n\n", encoding="utf-8")
    out = tmp_path / "out.json"
    error = refused(home, *_handover(home, out, "--refs-file", str(refs)))
    assert "line 2 is not a subject reference" in error
    assert "hanako" not in error and not out.exists()


@pytest.mark.parametrize(
    ("extra", "expected"),
    [
        ((), "exactly one"),
        (("--all", "--ref", "s" + "a" * 16), "exactly one"),
        (("--ref", "s" + "a" * 16, "--kind", "customer"), "go with --all"),
        (("--all", "--category", "user.contact.organization"), "not entrusted"),
        (("--ref", "s" + "a" * 16), "nobody asked for"),
    ],
)
def test_handover_misuse(home: Path, tmp_path: Path, extra: tuple[str, ...], expected: str) -> None:
    out = tmp_path / "out.json"
    assert expected in refused(home, *_handover(home, out, *extra))
    assert not out.exists()


def test_supervision_from_the_terminal(home: Path) -> None:
    today = datetime.now(ZoneInfo("Asia/Tokyo")).date()
    on = today - timedelta(days=1)
    args = ["processors", "supervise", "call_center", "--on", on.isoformat(), "--kind", "on_site"]
    done = ok(
        home,
        *args,
        "--outcome",
        "findings",
        "--findings",
        "Logs kept too long.",
        "--actor",
        OFFICER,
    )
    # call_center is checked every six months (P6M: 180 days).
    assert done["next_due"] == (on + timedelta(days=180)).isoformat()
    listed = ok(home, "processors", "supervisions", "call_center", "--actor", OFFICER)
    assert [s["outcome"] for s in listed] == ["findings"]
    status = ok(home, "processors", "show", "call_center", "--actor", SALES)
    assert status["supervision"]["overdue"] is False
    assert "no privileged role" in refused(
        home, *args, "--outcome", "satisfactory", "--actor", SALES
    )
    assert "needs its findings" in refused(home, *args, "--outcome", "findings", "--actor", OFFICER)
    bad_day = ["processors", "supervise", "call_center", "--on", "yesterday", "--kind", "audit"]
    assert "date like" in refused(home, *bad_day, "--outcome", "satisfactory", "--actor", OFFICER)
    assert len(ok(home, "processors", "supervisions", "call_center", "--actor", OFFICER)) == 1
