"""The key file: made owner-only, refused when exposed or malformed, never replaced.

These tests build their own homes on SQLite (the key file is the same whatever
the database); the PostgreSQL half of ``initialise`` is covered through ``settings``.
"""

from __future__ import annotations

import base64
import json
import os
import re
import stat
from dataclasses import replace
from pathlib import Path

import pytest

from mamori import boot
from mamori.config import Settings, load_settings
from mamori.crypto.keys import KEY_BYTES, generate, parse, read_key_file, write_key_file
from mamori.db.engine import Database
from mamori.demo import EXAMPLE_POLICY
from mamori.errors import ConfigError, Conflict, KeyFileError
from mamori.install import initialise
from mamori.policy import service as notices
from mamori.runtime import open_runtime
from mamori.subjects import service
from tests.conftest import actor
from tests.factories import PURPOSE, register_customer


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def home(tmp_path: Path, **env: str) -> Settings:
    return load_settings(
        {"MAMORI_HOME": str(tmp_path / "home"), "MAMORI_CHECKPOINT_EVERY_S": "0", **env}
    )


def key_doc(**changes: object) -> str:
    doc = json.loads(generate().to_json())
    doc.update(changes)
    return json.dumps(doc)


def files_of(settings: Settings) -> dict[str, bytes]:
    return {
        str(p.relative_to(settings.home)): p.read_bytes()
        for p in sorted(settings.home.rglob("*"))
        if p.is_file() and not p.name.startswith("mamori.db")
    }


def audit_rows(settings: Settings) -> list[tuple[object, ...]]:
    rt = open_runtime(settings)
    try:
        with rt.db.transaction() as tx:
            return [tuple(r) for r in tx.fetchall("SELECT seq, hash FROM audit_entries")]
    finally:
        rt.close()


# -- making the key file -----------------------------------------------------


def test_init_makes_an_owner_only_key_file(tmp_path: Path) -> None:
    settings = home(tmp_path)
    initialise(settings, policy_source=EXAMPLE_POLICY, by="cli:test")
    mode = stat.S_IMODE(settings.key_file.stat().st_mode)
    assert mode == 0o600
    assert stat.S_IMODE(settings.audit_head_file.stat().st_mode) & 0o077 == 0
    keys = read_key_file(settings.key_file)
    assert len(keys.keks[1]) == len(keys.blind[1]) == len(keys.audit) == KEY_BYTES
    assert len({keys.keks[1], keys.blind[1], keys.audit}) == 3


def test_init_makes_an_owner_only_key_file_under_a_permissive_umask(tmp_path: Path) -> None:
    old = os.umask(0o000)
    try:
        settings = home(tmp_path)
        initialise(settings, policy_source=EXAMPLE_POLICY, by="cli:test")
    finally:
        os.umask(old)
    assert stat.S_IMODE(settings.key_file.stat().st_mode) == 0o600
    assert stat.S_IMODE(settings.audit_head_file.stat().st_mode) & 0o077 == 0


def test_each_home_gets_keys_of_its_own(tmp_path: Path) -> None:
    one, two = home(tmp_path / "1"), home(tmp_path / "2")
    for settings in (one, two):
        initialise(settings, policy_source=EXAMPLE_POLICY, by="cli:test")
    assert read_key_file(one.key_file) != read_key_file(two.key_file)


def test_write_key_file_never_overwrites(tmp_path: Path) -> None:
    path = tmp_path / "mamori.key"
    write_key_file(path, generate())
    before = path.read_bytes()
    with pytest.raises(KeyFileError):
        write_key_file(path, generate())
    assert path.read_bytes() == before


def test_the_key_material_round_trips(tmp_path: Path) -> None:
    keys = generate()
    assert parse(keys.to_json()) == keys


# -- reading the key file ----------------------------------------------------


@pytest.mark.parametrize("mode", [0o640, 0o604, 0o660, 0o644, 0o620])
def test_a_key_file_others_can_reach_is_refused(tmp_path: Path, mode: int) -> None:
    settings = home(tmp_path)
    initialise(settings, policy_source=EXAMPLE_POLICY, by="cli:test")
    settings.key_file.chmod(mode)
    with pytest.raises(KeyFileError) as refused:
        read_key_file(settings.key_file)
    assert refused.value.code == "key_file_exposed"
    with pytest.raises(KeyFileError) as refused_again:
        open_runtime(settings)
    assert refused_again.value.code == "key_file_exposed"


def test_a_missing_key_file_is_named(tmp_path: Path) -> None:
    with pytest.raises(KeyFileError) as missing:
        read_key_file(tmp_path / "nowhere.key")
    assert missing.value.code == "key_file_missing"
    assert "mamori init" in missing.value.message


def _malformed_cases() -> dict[str, str]:
    short = _b64(b"\x01" * 16)
    return {
        "not_json": "{this is not json",
        "empty": "",
        "a_list": "[]",
        "wrong_format": key_doc(format="mamori-keys/2"),
        "no_format": key_doc(format=None),
        "short_kek": key_doc(kek={"1": short}),
        "short_blind": key_doc(blind_index={"1": short}),
        "short_audit": key_doc(audit=short),
        "no_kek": key_doc(kek={}),
        "kek_as_list": key_doc(kek=[_b64(b"\x01" * 32)]),
        "bad_base64": key_doc(kek={"1": "!!!not base64!!!"}),
        "version_not_a_number": key_doc(kek={"one": _b64(b"\x01" * 32)}),
        "audit_not_text": key_doc(audit=12345),
    }


@pytest.mark.parametrize("case", sorted(_malformed_cases()))
def test_a_malformed_key_file_is_one_clear_sentence(tmp_path: Path, case: str) -> None:
    text = _malformed_cases()[case]
    path = tmp_path / "mamori.key"
    path.write_text(text, encoding="utf-8")
    path.chmod(0o600)
    with pytest.raises(KeyFileError) as bad:
        read_key_file(path)
    message = bad.value.message
    assert message and "\n" not in message and len(message) < 200
    assert "Traceback" not in message
    # The message never repeats key material, good or bad.
    secrets = re.findall(r"[A-Za-z0-9+/=!]{16,}", text)
    assert secrets or not text.startswith('{"')
    assert not any(secret in message for secret in secrets)


def test_a_key_file_that_is_not_text_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "mamori.key"
    path.write_bytes(b"\xff\xfe\x00garbage")
    path.chmod(0o600)
    with pytest.raises(KeyFileError):
        read_key_file(path)


# -- MAMORI_KEYS instead of a file ---------------------------------------------


def test_keys_from_the_environment_work_without_a_key_file(tmp_path: Path) -> None:
    settings = home(tmp_path, MAMORI_KEYS=generate().to_json())
    initialise(settings, policy_source=EXAMPLE_POLICY, by="cli:test")
    assert not settings.key_file.exists()
    rt = boot.start(settings)
    try:
        with rt.db.transaction() as tx:
            notices.publish(tx, rt, actor=actor("officer"))
        ref, values = register_customer(rt, by=actor("officer"))
        with rt.db.transaction() as tx:
            view = service.read(tx, rt, actor=actor("officer"), ref=ref, purpose=PURPOSE)
        assert view.values["user.name"] == values["user.name"]
    finally:
        rt.close()
    assert not settings.key_file.exists()


def test_malformed_keys_in_the_environment_are_refused(tmp_path: Path) -> None:
    settings = home(tmp_path, MAMORI_KEYS=generate().to_json())
    initialise(settings, policy_source=EXAMPLE_POLICY, by="cli:test")
    with pytest.raises(KeyFileError):
        open_runtime(replace(settings, keys_env='{"format": "mamori-keys/1"}'))


# -- initialising twice --------------------------------------------------------


def test_a_second_init_is_refused_and_changes_nothing(settings: Settings) -> None:
    first = initialise(settings, policy_source=EXAMPLE_POLICY, by="cli:test")
    files, rows = files_of(settings), audit_rows(settings)
    with pytest.raises(Conflict) as again:
        initialise(settings, policy_source=EXAMPLE_POLICY, by="cli:test")
    assert again.value.code == "already_initialised"
    assert files_of(settings) == files
    assert audit_rows(settings) == rows
    rt = open_runtime(settings)
    try:
        assert rt.installation == first
    finally:
        rt.close()


def test_a_database_whose_key_file_is_gone_cannot_get_a_new_key(settings: Settings) -> None:
    initialise(settings, policy_source=EXAMPLE_POLICY, by="cli:test")
    rows = audit_rows(settings)
    settings.key_file.unlink()
    with pytest.raises(KeyFileError) as missing:
        initialise(settings, policy_source=EXAMPLE_POLICY, by="cli:test")
    assert missing.value.code == "key_file_missing"
    assert not settings.key_file.exists()
    settings.key_file.parent.mkdir(exist_ok=True)
    write_key_file(settings.key_file, generate())
    # Some other key file cannot stand in for the lost one...
    with pytest.raises(KeyFileError) as foreign:
        open_runtime(settings)
    assert foreign.value.code == "key_file_mismatch"
    # ...and the database is still the one it was.
    db = Database(settings.database_url)
    try:
        with db.transaction() as tx:
            assert [tuple(r) for r in tx.fetchall("SELECT seq, hash FROM audit_entries")] == rows
    finally:
        db.dispose()


def test_an_init_that_fails_late_can_be_run_again(tmp_path: Path) -> None:
    settings = home(tmp_path, MAMORI_POLICY=str(tmp_path / "missing-dir" / "policy.yaml"))
    with pytest.raises(ConfigError) as failed:
        initialise(settings, policy_source=EXAMPLE_POLICY, by="cli:test")
    assert failed.value.code == "policy_copy_failed"
    assert not settings.key_file.exists()
    (tmp_path / "missing-dir").mkdir()
    initialise(settings, policy_source=EXAMPLE_POLICY, by="cli:test")
    open_runtime(settings).close()
