"""``mamori systems`` as an operator runs it, on SQLite: registering systems, their
secrets, and delivering the outbox to a real receiver on loopback.

The sub-app is run on its own here (``mamori.cli.main`` mounts it as ``systems``).
Each refusal is one sentence on stderr with exit status 1, and writes nothing.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner, Result

from mamori import boot
from mamori.config import load_settings
from mamori.dsr.outbox import enqueue, verify_signature
from mamori.dsr.systems_commands import app
from mamori.runtime import Runtime
from tests.cli.test_cli import CLEAN_ENV, CUSTOMER, OFFICER, add_customer, audit_tail, ok
from tests.dsr.receiver import running_receiver


def systems(home: Path, *args: str) -> Result:
    result = CliRunner().invoke(app, list(args), env={**CLEAN_ENV, "MAMORI_HOME": str(home)})
    assert result.exception is None or isinstance(result.exception, SystemExit), (
        repr(result.exception),
        result.output,
    )
    assert "Traceback" not in result.output
    return result


def done(home: Path, *args: str) -> Any:
    result = systems(home, *args, "--json")
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def refused(home: Path, *args: str) -> dict[str, Any]:
    """A refusal: exit 1 and one JSON error on stderr; returns it."""
    result = systems(home, *args, "--json")
    assert result.exit_code == 1, result.output
    assert result.stdout == ""
    error: dict[str, Any] = json.loads(result.stderr)
    return error


@pytest.fixture
def home(tmp_path: Path) -> Path:
    where = tmp_path / "home"
    ok(where, "init")
    ok(where, "staff", "add", OFFICER, "--role", "privacy_officer")
    ok(where, "staff", "add", "sales.tanaka", "--role", "sales")
    ok(where, "policy", "publish", "--actor", OFFICER)
    return where


@contextmanager
def opened(home: Path) -> Iterator[Runtime]:
    rt = boot.start(load_settings({"MAMORI_HOME": str(home)}))
    try:
        yield rt
    finally:
        rt.close()


def queue_for_customer(home: Path, event: str = "erasure") -> str:
    """A customer added through the CLI, and a webhook queued about them."""
    added = add_customer(home, CUSTOMER, "--json")
    assert added.exit_code == 0, added.output
    ref: str = json.loads(added.stdout)["ref"]
    with opened(home) as rt, rt.db.transaction() as tx:
        enqueue(tx, rt, event=event, subject_ref=ref, request_id=None, detail={"purposes": ["*"]})
    return ref


def stored_bytes(home: Path) -> bytes:
    return b"".join(p.read_bytes() for p in home.rglob("*") if p.is_file())


def test_add_prints_the_secret_once_and_keeps_it_sealed(home: Path) -> None:
    added = done(
        home, "add", "webshop", "--url", "https://shop.example.jp/hooks", "--title", "Web shop",
        "--event", "erasure", "--event", "correction", "--event", "erasure",
    )  # fmt: skip
    secret = added["secret"]
    assert added == {"key": "webshop", "events": ["correction", "erasure"], "secret": secret}
    assert len(secret) >= 40
    (listed,) = done(home, "list")
    assert listed["key"] == "webshop"
    assert listed["title"] == "Web shop"
    assert listed["url"] == "https://shop.example.jp/hooks"
    assert listed["events"] == ["correction", "erasure"]
    assert (listed["active"], listed["pending"], listed["dead"]) == (True, 0, 0)
    assert listed["created_by"].startswith("cli:")
    assert secret not in json.dumps(listed)
    assert secret.encode() not in stored_bytes(home)
    (entry,) = [e for e in audit_tail(home) if e["action"] == "system_register"]
    assert entry["purpose"] == "system.admin"
    assert entry["actor"].startswith("cli:")
    assert entry["detail"] == {"system": "webshop", "events": ["correction", "erasure"]}
    assert secret not in json.dumps(audit_tail(home))


def test_the_table_output_reads(home: Path) -> None:
    result = systems(home, "add", "mailer", "--url", "http://localhost:8025/", "--event", "erasure")
    assert result.exit_code == 0, result.output
    assert "signing secret for mailer (shown once" in result.stdout
    listing = systems(home, "list")
    assert "mailer" in listing.stdout
    assert "http://localhost:8025/" in listing.stdout


@pytest.mark.parametrize(
    ("url", "code"),
    [
        ("ftp://files.example.jp/", "system_url_invalid"),
        ("shop.example.jp/hooks", "system_url_invalid"),
        ("https://", "system_url_invalid"),
        ("https://shop.example.jp:99999/", "system_url_invalid"),
        ("https://shop.example.jp/\nX-Injected: 1", "system_url_invalid"),
        ("http://shop.example.jp/hooks", "system_url_insecure"),
        ("http://10.0.0.5/hooks", "system_url_insecure"),
        ("https://user:pass@shop.example.jp/", "system_url_credentials"),
    ],
)
def test_add_refuses_a_bad_url(home: Path, url: str, code: str) -> None:
    error = refused(home, "add", "webshop", "--url", url, "--event", "erasure")
    assert error["code"] == code
    assert error["message"].startswith("a system's URL must")
    assert done(home, "list") == []


@pytest.mark.parametrize("url", ["http://127.0.0.1:9/x", "http://[::1]:8080/", "http://localhost/"])
def test_plain_http_is_accepted_for_loopback(home: Path, url: str) -> None:
    assert done(home, "add", "local", "--url", url, "--event", "erasure")["key"] == "local"


def test_add_refuses_bad_keys_events_and_duplicates(home: Path) -> None:
    url = "https://shop.example.jp/hooks"
    error = refused(home, "add", "webshop", "--url", url, "--event", "deletion")
    assert error["code"] == "system_event_invalid"
    assert "unknown event deletion" in error["message"]
    assert refused(home, "add", "Web Shop", "--url", url, "--event", "erasure")["code"] == (
        "system_key_invalid"
    )
    assert refused(home, "add", "x", "--url", url, "--event", "erasure")["code"] == (
        "system_key_invalid"
    )
    blank = refused(home, "add", "webshop", "--url", url, "--event", "erasure", "--title", " ")
    assert blank["code"] == "system_title_invalid"
    done(home, "add", "webshop", "--url", url, "--event", "erasure")
    again = refused(home, "add", "webshop", "--url", url, "--event", "correction")
    assert again == {
        "code": "system_exists",
        "message": "a system 'webshop' is already registered",
    }
    assert systems(home, "add", "other", "--url", url).exit_code == 2  # --event is required
    assert [s["key"] for s in done(home, "list")] == ["webshop"]


def test_disable_enable_and_rotate(home: Path) -> None:
    first = done(home, "add", "shop", "--url", "http://127.0.0.1:9/", "--event", "erasure")
    assert done(home, "disable", "shop") == {"key": "shop", "active": False}
    assert done(home, "list")[0]["active"] is False
    assert done(home, "enable", "shop") == {"key": "shop", "active": True}
    rotated = done(home, "rotate", "shop")
    assert rotated["key"] == "shop"
    assert rotated["secret"] != first["secret"]
    actions = [e["action"] for e in audit_tail(home) if e["purpose"] == "system.admin"]
    assert actions == ["system_rotate_secret", "system_enable", "system_disable", "system_register"]
    for command in ("disable", "enable", "rotate"):
        error = refused(home, command, "nosuch")
        assert error == {"code": "unknown_system", "message": "there is no system 'nosuch'"}


def test_deliver_posts_what_is_due_and_outbox_lists_it(home: Path) -> None:
    with running_receiver() as hook:
        secret = done(home, "add", "shop", "--url", hook.url, "--event", "erasure")["secret"]
        ref = queue_for_customer(home)
        (waiting,) = done(home, "outbox", "--pending")
        assert (waiting["system"], waiting["subject"], waiting["attempts"]) == ("shop", ref, 0)
        assert done(home, "deliver") == {"claimed": 1, "delivered": 1, "retrying": 0, "dead": 0}
        assert done(home, "deliver")["claimed"] == 0
    (post,) = hook.posts
    stamp, signature = post.headers["Mamori-Timestamp"], post.headers["Mamori-Signature"]
    assert verify_signature(secret, stamp, post.body, signature, now=datetime.now(UTC))
    assert CUSTOMER["user.contact.email"].encode() not in post.body
    assert done(home, "outbox", "--pending") == []
    assert done(home, "outbox", "--dead") == []
    (message,) = done(home, "outbox")
    assert (message["state"], message["attempts"], message["last_status"]) == ("delivered", 1, 200)
    assert message["message"] == post.headers["Mamori-Webhook-Id"]
    error = refused(home, "outbox", "--pending", "--dead")
    assert error["message"] == "choose --pending or --dead, not both"
    table = systems(home, "outbox").stdout
    assert "shop" in table
    assert "…" not in table  # long cells (ids) wrap on a narrow terminal, never cut short


def test_deliver_to_a_system_that_is_down_keeps_the_message(home: Path) -> None:
    with running_receiver(up=False) as hook:
        done(home, "add", "shop", "--url", hook.url, "--event", "correction")
        queue_for_customer(home, "correction")
        assert done(home, "deliver")["retrying"] == 1
        result = systems(home, "deliver")
        assert result.exit_code == 0
        assert "0 delivered, 0 to retry, 0 given up" in result.stdout  # not due yet
    (waiting,) = done(home, "outbox", "--pending")
    assert (waiting["attempts"], waiting["last_error"]) == (1, "ConnectionRefusedError")
    assert done(home, "list")[0]["pending"] == 1


def test_deliver_loop_runs_until_terminated(home: Path) -> None:
    with running_receiver() as hook:
        done(home, "add", "shop", "--url", hook.url, "--event", "erasure")
        code = "from mamori.dsr.systems_commands import app; app(prog_name='mamori systems')"
        env = {k: v for k, v in os.environ.items() if k not in CLEAN_ENV}
        worker = subprocess.Popen(
            [sys.executable, "-c", code, "deliver", "--loop", "--interval", "0.2", "--json"],
            env={**env, "MAMORI_HOME": str(home)},
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
        )
        try:
            queue_for_customer(home)
            deadline = time.monotonic() + 20
            while not hook.delivered and time.monotonic() < deadline:
                time.sleep(0.05)
            assert hook.delivered
        finally:
            worker.send_signal(signal.SIGTERM)
            try:
                out, err = worker.communicate(timeout=30)
            except subprocess.TimeoutExpired:
                worker.kill()
                out, err = worker.communicate()
                pytest.fail(f"the loop did not stop on SIGTERM: {err.decode()[-2000:]}")
    assert worker.returncode == 0, err
    assert json.loads(out) == {"claimed": 1, "delivered": 1, "retrying": 0, "dead": 0}
    assert b"Traceback" not in err
