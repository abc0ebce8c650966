"""``mamori receipts`` end to end on SQLite: an attendee list received, and bad files.

Every mistake ends with exit 1, one sentence (plus one line per problem), no
traceback, no value from the file repeated, and nothing registered.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.cli.test_cli import OFFICER, SALES, audit_tail, mamori, ok, refused, subject_count_for

__all__ = ["home"]
from tests.cli.test_cli import home

HOW = "Application form of the Japan Software Expo, with the attendees' consent to share"
GOOD = (
    "user.name,user.contact.email,user.contact.organization\n"
    "試験 一郎,ichiro.shiken@example.jp,例示ソフト株式会社\n"
    "試験 二郎,jiro.shiken@example.com,\n"
)
ARGS = ("--from", "event_cohost", "--channel", "cohost_attendee_list", "--obtained", HOW)


def _registered(home: Path) -> int:
    return subject_count_for(home, "event_registration")


def _file(tmp_path: Path, content: str | bytes, name: str = "list.csv") -> str:
    path = tmp_path / name
    if isinstance(content, str):
        path.write_text(content, encoding="utf-8")
    else:
        path.write_bytes(content)
    return str(path)


def test_an_attendee_list_is_received_listed_and_shown(home: Path, tmp_path: Path) -> None:
    got = ok(home, "receipts", "import", _file(tmp_path, GOOD), *ARGS, "--actor", OFFICER)
    assert got["purpose"] == "event_registration"
    assert got["subject_count"] == 2 and len(got["subjects"]) == 2
    assert got["provider"]["address"]["en"].startswith("3-11-1 Ariake")
    assert got["obtained_how"] == HOW
    assert _registered(home) == 2
    listed = ok(home, "receipts", "list", "--actor", OFFICER)
    assert [r["ref"] for r in listed] == [got["ref"]]
    shown = ok(home, "receipts", "show", got["ref"], "--actor", OFFICER)
    assert sorted(shown["subjects"]) == sorted(got["subjects"])
    plain = mamori(home, "receipts", "show", got["ref"], "--actor", OFFICER)
    assert plain.exit_code == 0 and got["ref"] in plain.stdout
    assert ok(home, "audit", "verify")["ok"] is True


def test_a_malformed_file_is_reported_line_by_line(home: Path, tmp_path: Path) -> None:
    bad = GOOD + "試験 三郎,saburo-at-example.jp,\n,,\n試験 四郎\n"
    error = refused(home, "receipts", "import", _file(tmp_path, bad), *ARGS, "--actor", OFFICER)
    assert "nothing was registered" in error
    assert "line 5: has no values" in error
    assert "line 6: has 1 fields where the header has 3" in error
    assert "line 4: user.contact.email is not a valid e-mail address" in error
    for value in ("試験", "saburo", "ichiro", "例示"):
        assert value not in error
    assert _registered(home) == 0


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        (b"", "the file is empty"),
        (b"user.name\n\xff\xfe\n", "not UTF-8"),
        ("試験 一郎,ichiro@example.jp\n試験 二郎,jiro@example.jp\n", "column 1 is not a data"),
        ("user.name,user.contact.address.street\nx,y\n", "not used by the purposes"),
    ],
)
def test_bad_files_are_refused_whole(
    home: Path, tmp_path: Path, content: str | bytes, expected: str
) -> None:
    path = _file(tmp_path, content)
    error = refused(home, "receipts", "import", path, *ARGS, "--actor", OFFICER)
    assert expected in error
    assert "試験" not in error and "ichiro" not in error
    assert _registered(home) == 0


def test_an_undeclared_provider_is_refused_and_audited(home: Path, tmp_path: Path) -> None:
    path = _file(tmp_path, GOOD)
    args = ["--from", "some_company", *ARGS[2:]]
    error = refused(home, "receipts", "import", path, *args, "--actor", OFFICER)
    assert "some_company" in error
    assert _registered(home) == 0
    last = audit_tail(home, "--outcome", "denied")[0]
    assert (last["rule"], last["detail"]["provider"]) == ("unknown_recipient", "some_company")


def test_other_misuse(home: Path, tmp_path: Path) -> None:
    path = _file(tmp_path, GOOD)
    assert "--actor" in refused(home, "receipts", "import", path, *ARGS)
    missing = str(tmp_path / "missing.csv")
    assert "cannot be read" in refused(
        home, "receipts", "import", missing, *ARGS, "--actor", OFFICER
    )
    error = refused(home, "receipts", "import", path, *ARGS, "--actor", SALES)
    assert "may not use personal data" in error
    long = ["--from", "event_cohost", "--channel", "cohost_attendee_list", "--obtained", "x" * 1001]
    assert "1000 characters" in refused(home, "receipts", "import", path, *long, "--actor", OFFICER)
    assert "may not read receipt records" in refused(home, "receipts", "list", "--actor", SALES)
    assert "no receipt record" in refused(
        home, "receipts", "show", "c" + "a" * 16, "--actor", OFFICER
    )
    assert _registered(home) == 0
