"""A Mamori home set up as a new user would, served by ``mamori serve`` on loopback.

``build_home`` runs the ``mamori`` command itself (init, a privacy officer
with a password and a confirmed second factor, the notice published, a service
token for the officer's role): once per test process, because each command
starts a Python. ``Server`` copies that home into a directory of its own,
starts ``mamori serve`` as a subprocess on a free port with mail going to a
test SMTP server, waits for ``/health/ready``, and reads the recorded facts
back through the HTTP API with the token.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pyotp

from mamori.synthetic import Population
from tests.dsr.smtp import Mailbox, free_port, running_smtp

MAMORI = str(Path(sys.executable).with_name("mamori"))
OFFICER = "officer"
PASSWORD = "e2e-Kagami-mochi-2026"  # a test account's password, on a throwaway home
MEMBER_CHANNEL = "membership_registration"
MEMBER_KEYS = (
    "user.name",
    "user.name.kana",
    "user.contact.email",
    "user.contact.phone_number",
    "user.contact.address.postal_code",
    "user.contact.address.prefecture",
    "user.contact.address.municipality",
    "user.contact.address.street",
)
_CODE = re.compile(r"\b(\d{6})\b")


def clean_env(home: Path, **extra: str) -> dict[str, str]:
    """The environment without any MAMORI_* of the caller's (SQLite, own limiter), plus ours."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("MAMORI_")}
    env.update(MAMORI_HOME=str(home), **extra)
    return env


def mamori(home: Path, *args: str, stdin: str | None = None) -> Any:
    """Run one ``mamori … --json`` command on ``home``; its JSON answer."""
    done = subprocess.run(
        [MAMORI, *args, "--json"],
        env=clean_env(home),
        input=stdin,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    if done.returncode != 0:
        raise AssertionError(f"mamori {args[0]} {args[1:2]} failed: {done.stderr[-2000:]}")
    return json.loads(done.stdout)


class Codes:
    """TOTP codes for one account, each from a later time step than the last one used."""

    def __init__(self, secret: str, last_step: int) -> None:
        self.totp = pyotp.TOTP(secret)
        self.last_step = last_step

    def next(self) -> str:
        """A code the server will accept once: steps run from one behind now to one ahead."""
        while True:
            now = int(time.time()) // self.totp.interval
            step = max(self.last_step + 1, now - 1)
            if step <= now + 1:
                self.last_step = step
                return str(self.totp.generate_otp(step))
            time.sleep(1)


@dataclass(frozen=True)
class Home:
    """A ready home: the officer's second-factor secret and the last code step it used."""

    path: Path
    token: str
    totp_secret: str
    last_step: int


def build_home(path: Path) -> Home:
    """Set up a home with the ``mamori`` command, as the README shows a new user."""
    mamori(path, "init")
    mamori(path, "staff", "add", OFFICER, "--role", "privacy_officer")
    mamori(path, "policy", "publish", "--actor", OFFICER)
    mamori(path, "staff", "passwd", OFFICER, "--password-stdin", stdin=PASSWORD + "\n")
    uri = mamori(path, "staff", "totp", OFFICER)["uri"]
    secret = str(pyotp.parse_uri(uri).secret)
    # Confirm with the step behind now, leaving now and the next step free for sign-ins.
    step = int(time.time()) // 30 - 1
    mamori(path, "staff", "totp", OFFICER, "--code", pyotp.TOTP(secret).generate_otp(step))
    token = mamori(path, "tokens", "create", "--label", "e2e", "--role", "privacy_officer")
    return Home(path, str(token["secret"]), secret, step)


@dataclass
class Member:
    ref: str
    values: dict[str, str]

    @property
    def email(self) -> str:
        return self.values["user.contact.email"]


@dataclass
class Server:
    """``mamori serve`` on loopback over a copy of a home, mail caught by ``mailbox``."""

    base: str
    home: Home
    mailbox: Mailbox
    codes: Codes
    people: Iterator[int] = field(default_factory=lambda: iter(range(1, 10_000)))
    population: Population = field(default_factory=lambda: Population(seed=20261128, pool=60))

    def api(self, method: str, path: str, body: object = None) -> Any:
        """Call the HTTP API with the officer's token; the JSON answer."""
        data = None if body is None else json.dumps(body).encode()
        call = urllib.request.Request(self.base + path, data=data, method=method)
        call.add_header("Authorization", f"Bearer {self.home.token}")
        call.add_header("Content-Type", "application/json")
        try:
            with urllib.request.urlopen(call, timeout=30) as answer:
                return json.loads(answer.read() or b"null")
        except urllib.error.HTTPError as error:
            raise AssertionError(f"{method} {path}: {error.code} {error.read()[:500]!r}") from None

    def register_member(self, consents: tuple[str, ...] = ()) -> Member:
        """A web member registered through the membership channel, with these consents."""
        person = self.population.person(next(self.people)).values
        values = {k: person[k] for k in MEMBER_KEYS}
        made = self.api(
            "POST",
            "/subjects?purpose=membership",
            {"channel": MEMBER_CHANNEL, "values": values},
        )
        for purpose in consents:
            self.api("POST", f"/subjects/{made['ref']}/consents/grant?purpose={purpose}", {})
        return Member(str(made["ref"]), values)

    def consent_events(self, ref: str) -> list[dict[str, Any]]:
        """The subject's consent history, read by the officer for disclosure."""
        return list(self.api("GET", f"/subjects/{ref}/consents?purpose=dsr.disclosure"))

    def request(self, ref: str) -> dict[str, Any]:
        return dict(self.api("GET", f"/requests/{ref}"))

    def code_for(self, address: str, *, after: int = 0, wait_s: float = 15) -> str:
        """The sign-in code in the newest mail to ``address`` beyond the first ``after`` mails."""
        deadline = time.monotonic() + wait_s
        while time.monotonic() < deadline:
            mails = [m for m in self.mailbox.messages[after:] if address in str(m["To"])]
            if mails:
                match = _CODE.search(self.mailbox.text(mails[-1]))
                assert match is not None, "the sign-in mail carries no six-digit code"
                return match.group(1)
            time.sleep(0.1)
        raise AssertionError("no sign-in mail reached the test SMTP server")


def _wait_ready(base: str, process: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise AssertionError(f"mamori serve exited: {log.read_text()[-3000:]}")
        try:
            with urllib.request.urlopen(base + "/health/ready", timeout=2) as answer:
                if answer.status == 200:
                    return
        except (urllib.error.URLError, OSError):
            pass
        time.sleep(0.1)
    raise AssertionError(f"mamori serve was not ready in 60 s: {log.read_text()[-3000:]}")


@contextmanager
def serving(template: Home, workdir: Path) -> Iterator[Server]:
    """Copy ``template`` into ``workdir`` and serve it; the server is stopped on the way out."""
    home_dir = workdir / "home"
    shutil.copytree(template.path, home_dir)
    home = Home(home_dir, template.token, template.totp_secret, template.last_step)
    with running_smtp() as box:
        port = free_port()
        base = f"http://127.0.0.1:{port}"
        env = clean_env(
            home_dir, MAMORI_SMTP_URL=box.url, MAMORI_PUBLIC_URL=base, MAMORI_OUTBOX_INTERVAL_S="0"
        )
        log = workdir / "serve.log"
        with log.open("wb") as out:
            process = subprocess.Popen(
                [MAMORI, "serve", "--host", "127.0.0.1", "--port", str(port)],
                env=env,
                stdout=out,
                stderr=subprocess.STDOUT,
            )
        try:
            _wait_ready(base, process, log)
            yield Server(base, home, box, Codes(home.totp_secret, home.last_step))
        finally:
            process.terminate()
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
