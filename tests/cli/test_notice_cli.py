"""``mamori notice`` end to end, on SQLite and PostgreSQL: show, write, list, and misuse.

The notice is public, so no command here needs ``--actor``. Every mistake is
one sentence on stderr and exit status 1, and leaves no file behind.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from mamori.config import Settings
from tests.cli.test_cli import OFFICER, mamori, ok, refused
from tests.ledger.test_notice import outline, plain


@pytest.fixture
def env(settings: Settings) -> dict[str, str | None]:
    return {"MAMORI_DATABASE_URL": settings.database_url}


@pytest.fixture
def home(settings: Settings, env: dict[str, str | None]) -> Path:
    """A home on the test's backend, initialised through the CLI; no notice published yet."""
    where = settings.home
    ok(where, "init", env=env)
    ok(where, "staff", "add", OFFICER, "--role", "privacy_officer", env=env)
    return where


def test_show_and_versions(home: Path, env: dict[str, str | None], tmp_path: Path) -> None:
    assert ok(home, "notice", "versions", env=env) == []
    nothing = refused(home, "notice", "show", env=env)
    assert "no privacy notice is in force yet" in nothing
    ok(home, "policy", "publish", "--actor", OFFICER, env=env)
    listed = ok(home, "notice", "versions", env=env)
    assert [(v["version"], v["in_force"]) for v in listed] == [(1, True)]

    text = mamori(home, "notice", "show", "--lang", "en", env=env)
    assert text.exit_code == 0, text.output
    assert "QualitySoft Corporation" in text.stdout
    assert "Disclosure of retained personal data" in text.stdout and "1,000 yen" in text.stdout
    assert "Singapore" in text.stdout and "## Joint use" in text.stdout

    as_json = mamori(home, "notice", "show", "--version", "1", "--format", "json", env=env)
    assert as_json.exit_code == 0, as_json.output
    data = json.loads(as_json.stdout)
    assert (data["lang"], data["version"]) == ("ja", 1)
    assert data["company"]["name"] == "クオリティソフト株式会社"

    folder = tmp_path / "out"
    folder.mkdir()
    out = folder / "notice.html"
    wrote = mamori(home, "notice", "show", "--format", "html", "--out", str(out), env=env)
    assert wrote.exit_code == 0, wrote.output
    html = out.read_text(encoding="utf-8")
    assert outline(html).tags[0] == ("html", {"lang": "ja"})
    assert "個人情報の取扱いに関する公表事項" in plain(html) and "<script" not in html
    assert [p.name for p in folder.iterdir()] == ["notice.html"]  # no partial file left


@pytest.mark.parametrize(
    ("args", "says"),
    [
        (("--version", "7"), "notice version 7 has not been published"),
        (("--version", "0"), "notice version 0 has not been published"),
        (("--lang", "fr"), "--lang must be ja or en"),
        (("--lang", "EN"), "--lang must be ja or en"),
        (("--format", "pdf"), "--format must be one of html, json, text"),
    ],
)
def test_bad_input_is_one_sentence(
    home: Path, env: dict[str, str | None], args: tuple[str, ...], says: str
) -> None:
    ok(home, "policy", "publish", "--actor", OFFICER, env=env)
    assert says in refused(home, "notice", "show", *args, env=env)


def test_a_file_that_cannot_be_written(
    home: Path, env: dict[str, str | None], tmp_path: Path
) -> None:
    ok(home, "policy", "publish", "--actor", OFFICER, env=env)
    missing = tmp_path / "no" / "such" / "notice.html"
    said = refused(home, "notice", "show", "--out", str(missing), env=env)
    assert "does not exist" in said and not missing.exists()
    said = refused(home, "notice", "show", "--out", str(tmp_path), env=env)
    assert "it is a folder" in said
    # A version that does not exist writes nothing either.
    target = tmp_path / "v9.html"
    refused(home, "notice", "show", "--version", "9", "--out", str(target), env=env)
    assert not target.exists()


def test_a_version_that_is_not_a_number(home: Path, env: dict[str, str | None]) -> None:
    result = mamori(home, "notice", "show", "--version", "latest", env=env)
    assert result.exit_code == 2  # Typer's own usage error: not a number
    assert "Traceback" not in result.output
