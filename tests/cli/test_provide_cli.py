"""``mamori provide`` and ``mamori recipients`` end to end on SQLite, and their misuse."""

from __future__ import annotations

import json
import stat
from pathlib import Path

import pytest

from tests.cli.test_cli import MARKETING, OFFICER, mamori, ok, refused

__all__ = ["home"]  # the CLI home fixture, shared
from tests.cli.test_cli import home

PARTNER = "partner_information"


def _subscriber(home: Path, n: int, *, consent: bool = True) -> str:
    values = {"user.name": f"提供 試験{n}", "user.contact.email": f"provide{n}.shiken@example.jp"}
    pairs = [arg for c, v in values.items() for arg in ("--value", f"{c}={v}")]
    consents = ["--consent", PARTNER] if consent else ["--consent", "email_delivery"]
    purpose = PARTNER if consent else "email_delivery"
    made = ok(
        home, "subjects", "add", "--channel", "email_subscription", "--actor", OFFICER,
        "--purpose", purpose, *consents, *pairs,
    )  # fmt: skip
    return str(made["ref"])


@pytest.fixture
def people(home: Path) -> tuple[str, str]:
    return _subscriber(home, 1), _subscriber(home, 2, consent=False)


def _provide(home: Path, out: Path, *extra: str) -> list[str]:
    return [
        "provide", "partner_kanto", "--purpose", PARTNER, "--format", "csv",
        "--out", str(out), "--actor", OFFICER, *extra,
    ]  # fmt: skip


def test_provide_writes_the_file_0600_and_the_record(
    home: Path, tmp_path: Path, people: tuple[str, str]
) -> None:
    ok_ref, never = people
    out = tmp_path / "to-kanto.csv"
    made = ok(home, *_provide(home, out, "--ref", ok_ref, "--ref", never))
    assert stat.S_IMODE(out.stat().st_mode) == 0o600
    text = out.read_text(encoding="utf-8-sig")
    assert ok_ref in text and never not in text
    assert made["refused"] == [
        {"ref": never, "rule": "consent_missing", "message": made["refused"][0]["message"]}
    ]
    record = made["record"]
    assert record["subject_count"] == 1 and record["refused_count"] == 1
    listed = ok(home, "recipients", "records", "--actor", OFFICER, "--subject", ok_ref)
    assert [r["ref"] for r in listed] == [record["ref"]]
    shown = ok(home, "recipients", "record", record["ref"], "--actor", OFFICER)
    assert [s["ref"] for s in shown["subjects"]] == [ok_ref]
    assert shown["subjects"][0]["consent_at"]
    assert ok(home, "audit", "verify")["ok"] is True


def test_without_json_the_refused_are_printed(
    home: Path, tmp_path: Path, people: tuple[str, str]
) -> None:
    ok_ref, never = people
    result = mamori(home, *_provide(home, tmp_path / "a.csv", "--ref", ok_ref, "--ref", never))
    assert result.exit_code == 0, result.output
    assert "provided 1 subject(s)" in result.stdout
    assert never in result.stdout and "consent_missing" in result.stdout


def test_an_existing_file_is_kept_unless_forced(
    home: Path, tmp_path: Path, people: tuple[str, str]
) -> None:
    out = tmp_path / "exists.csv"
    out.write_text("keep me")
    error = refused(home, *_provide(home, out, "--ref", people[0]))
    assert "--force" in error
    assert out.read_text() == "keep me"
    assert ok(home, "recipients", "records", "--actor", OFFICER) == []
    ok(home, *_provide(home, out, "--ref", people[0], "--force"))
    assert people[0] in out.read_text(encoding="utf-8-sig")


def test_refs_file_and_all(home: Path, tmp_path: Path, people: tuple[str, str]) -> None:
    refs = tmp_path / "refs.txt"
    refs.write_text(f"# chosen\n{people[0]}\n\n")
    made = ok(home, *_provide(home, tmp_path / "f.csv", "--refs-file", str(refs)))
    assert made["record"]["subject_count"] == 1
    every = ok(
        home, *_provide(home, tmp_path / "g.csv", "--all", "--channel", "email_subscription")
    )
    assert every["record"]["subject_count"] == 1
    assert [r["rule"] for r in every["refused"]] == ["consent_missing"]


@pytest.mark.parametrize(
    ("extra", "words"),
    [
        ((), "--ref or --refs-file, or with --all"),
        (("--all", "--ref", "s" + "a" * 16), "--ref or --refs-file, or with --all"),
        (("--ref", "hanako@example.jp"), "not a subject reference"),
        (("--ref", "s" + "a" * 16, "--kind", "customer"), "--all only"),
    ],
)
def test_bad_selections_are_one_sentence(
    home: Path, tmp_path: Path, extra: tuple[str, ...], words: str
) -> None:
    error = refused(home, *_provide(home, tmp_path / "x.csv", *extra))
    assert words in error
    assert "hanako" not in error


def test_a_bad_refs_file_names_lines_not_values(home: Path, tmp_path: Path) -> None:
    refs = tmp_path / "refs.txt"
    refs.write_text("s" + "a" * 16 + "\nhanako@example.jp\n")
    error = refused(home, *_provide(home, tmp_path / "x.csv", "--refs-file", str(refs)))
    assert "line 2" in error and "hanako" not in error


def test_refusals_are_one_sentence_and_leave_no_file(
    home: Path, tmp_path: Path, people: tuple[str, str]
) -> None:
    out = tmp_path / "none.csv"
    error = refused(home, *_provide(home, out, "--ref", people[1]))
    assert "nobody may be provided" in error and "consent_missing 1" in error
    wrong = _provide(home, out, "--ref", people[0])
    wrong[wrong.index(OFFICER)] = MARKETING
    assert "provide" in refused(home, *wrong)
    exc = _provide(home, out, "--ref", people[0], "--basis", "exception", "--exception", "art99")
    assert "Art. 27(1)" in refused(home, *exc)
    assert not out.exists()
    assert not list(tmp_path.glob(".mamori-provide-*"))


def test_a_failing_record_write_leaves_no_file(
    home: Path, tmp_path: Path, people: tuple[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    from mamori.errors import StorageError
    from mamori.recipients import provision

    def broken(*args: object, **kwargs: object) -> None:
        raise StorageError("the record could not be written", code="storage_error")

    monkeypatch.setattr(provision, "_consents_rested_on", broken)
    out = tmp_path / "never.csv"
    refused(home, *_provide(home, out, "--ref", people[0]))
    assert not out.exists() and not list(tmp_path.glob(".mamori-provide-*"))
    assert ok(home, "recipients", "records", "--actor", OFFICER) == []


def test_recipients_list_and_show(home: Path) -> None:
    listed = ok(home, "recipients", "list")
    keys = {r["key"] for r in listed["recipients"]}
    assert {"partner_kanto", "partner_singapore", "seminar_exhibitors"} <= keys
    assert [j["key"] for j in listed["joint_uses"]] == ["group_support"]
    shown = ok(home, "recipients", "show", "partner_singapore")
    assert shown["country"] == "SG" and shown["foreign"]["system"]["en"]
    assert shown["history"][0]["version"] == 1
    assert "no recipient" in refused(home, "recipients", "show", "nobody")


def test_records_are_refused_to_a_role_that_does_not_provide(home: Path) -> None:
    error = refused(home, "recipients", "records", "--actor", MARKETING)
    assert "may not read provision records" in error
    tail = ok(home, "audit", "tail", "--limit", "1")
    assert tail[0]["rule"] == "records_not_permitted"
    assert json.dumps(tail)
