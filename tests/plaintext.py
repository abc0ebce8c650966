"""What the plaintext tests share: a populated home, every byte it stores, and the search."""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from mamori.consents import service as consents
from mamori.dsr import fulfil, systems, verification, workflow
from mamori.dsr.arrival import NewRequest, create
from mamori.dsr.inquiries import receive
from mamori.dsr.states import IdentityMethod, Via
from mamori.errors import Denied
from mamori.policy.schemas import RequestKind
from mamori.runtime import Runtime
from mamori.subjects import changes, service
from tests.conftest import actor
from tests.factories import PURPOSE, register_customer

CORRECTION = "registration_correction"
LOOKUP = ("user.contact.email", "user.contact.phone_number")


def forms(value: str) -> set[bytes]:
    """The ways a value could sit in a file or a column."""
    texts = {value, value.strip(), value.lower(), value.upper()}
    out: set[bytes] = set()
    for text in texts:
        out.add(text.encode())
        out.add(json.dumps(text).strip('"').encode())  # \\uXXXX escapes
        out.add(text.encode("utf-16-le"))
    return {b for b in out if len(b) >= 6}


def table_bytes(rt: Runtime) -> dict[str, bytes]:
    """Every column of every table, as stored bytes, per table."""
    with rt.db.transaction() as tx:
        if tx.is_pg:
            names = [
                r[0]
                for r in tx.fetchall(
                    "SELECT table_name FROM information_schema.tables"
                    " WHERE table_schema = current_schema() AND table_type = 'BASE TABLE'"
                )
            ]
        else:
            names = [
                r[0] for r in tx.fetchall("SELECT name FROM sqlite_master WHERE type = 'table'")
            ]
        assert {"subjects", "audit_entries", "subject_value_history"} <= set(names)
        dumps = {}
        for name in names:
            if tx.is_pg:
                chunks = []
                with tx.raw.cursor().copy(f'COPY "{name}" TO STDOUT (FORMAT binary)') as copy:
                    chunks.extend(bytes(c) for c in copy)
                dumps[name] = b"".join(chunks)
            else:
                rows = tx.fetchall(f'SELECT * FROM "{name}"')
                dumps[name] = b"\x00".join(_cell(v) for row in rows for v in row)
        return dumps


def _cell(value: object) -> bytes:
    if isinstance(value, bytes | bytearray | memoryview):
        return bytes(value)
    return str(value).encode()


def file_bytes(home: Path) -> dict[str, bytes]:
    """Every file of the home, by name (the SQLite database, its -wal and -shm included)."""
    return {str(p.relative_to(home)): p.read_bytes() for p in home.rglob("*") if p.is_file()}


@dataclass
class Written:
    """Values written, per subject; ``extra`` holds values no longer current."""

    values: dict[str, dict[str, str]] = field(default_factory=dict)
    extra: list[str] = field(default_factory=list)

    def needles(self, baseline: Iterable[bytes]) -> dict[str, set[bytes]]:
        """Each value's forms, minus those already present before any value was written."""
        seen = b"\x00".join(baseline)
        out: dict[str, set[bytes]] = {}
        for text in [v for vs in self.values.values() for v in vs.values()] + self.extra:
            kept = {f for f in forms(text) if f not in seen}
            if kept:
                out[text] = kept
        return out


def populate(rt: Runtime) -> Written:
    """Registrations, a correction, consents and reads: the full life of a few subjects."""
    written = Written()
    for _ in range(3):
        ref, values = register_customer(rt)
        written.values[ref] = values
    ref, values = register_customer(
        rt,
        by=actor("officer"),
        channel="email_subscription",
        purpose="email_delivery",
        consents=["email_delivery", "partner_information"],
        explicit=True,
        **{"user.contact.email": "Shiken.Mamori.Hanako@Example.JP"},
    )
    written.values[ref] = values
    first = next(iter(written.values))
    new = {
        "user.name": "訂正後 試験太郎",
        "user.contact.address.postal_code": "〒１００－０００１",
        "user.contact.address.street": "丸の内試験町九丁目8番7号",
    }
    with rt.db.transaction() as tx:
        changes.correct(tx, rt, actor=actor("officer"), ref=first, purpose=CORRECTION, values=new)
    written.extra += list(new.values())
    with rt.db.transaction() as tx:
        for state in (consents.GRANTED, consents.WITHDRAWN):
            consents.record(
                tx,
                rt,
                actor=actor("officer"),
                ref=first,
                purpose="email_delivery",
                state=state,
                channel="staff",
                evidence={"form": "paper", "clerk": "officer"},
            )
    for each in written.values:
        with rt.db.transaction() as tx:
            service.read(tx, rt, actor=actor("officer"), ref=each, purpose="dsr.disclosure")
    with rt.db.transaction() as tx:
        email = written.values[first]["user.contact.email"]
        assert service.find(tx, rt, actor=actor("sales"), purpose=PURPOSE, email=email) == [first]
    with pytest.raises(Denied), rt.db.transaction() as tx:
        service.read(tx, rt, actor=actor("marketing"), ref=first, purpose=PURPOSE)
    _requests(rt, written, list(written.values))
    return written


def _requests(rt: Runtime, written: Written, refs: list[str]) -> None:
    """The privacy desk at work: a pending correction, an applied one (with a webhook queued),
    a disclosure downloaded, and an inquiry whose writer is registered on arrival."""
    officer = actor("officer")
    with rt.db.transaction() as tx:
        systems.register(
            tx,
            rt,
            key="web_shop",
            title="Web shop",
            url="http://127.0.0.1:9/hooks",
            events=["correction", "erasure"],
            by="cli:test",
        )
    pending = {"user.contact.address.street": "保留中試験町一丁目2番3号"}
    applied = {"user.contact.address.building": "試験ビル別館三階"}
    with rt.db.transaction() as tx:
        create(
            tx,
            rt,
            actor=officer,
            new=NewRequest(RequestKind.CORRECTION, Via.LETTER, refs[1], values=pending),
        )
        row = create(
            tx,
            rt,
            actor=officer,
            new=NewRequest(RequestKind.CORRECTION, Via.API, refs[2], values=applied),
        )
        verification.record_identity(
            tx, rt, actor=officer, ref=row.ref, method=IdentityMethod.DOCUMENT_SEEN
        )
        fulfil.complete(tx, rt, actor=officer, ref=row.ref)
        shown = create(
            tx, rt, actor=officer, new=NewRequest(RequestKind.NOTIFICATION, Via.API, refs[0])
        )
        verification.record_identity(
            tx, rt, actor=officer, ref=shown.ref, method=IdentityMethod.DOCUMENT_SEEN
        )
        workflow.record_payment(tx, rt, actor=officer, ref=shown.ref, amount_yen=shown.fee_yen)
        token = fulfil.complete(tx, rt, actor=officer, ref=shown.ref).download_token
    assert token is not None
    with rt.db.transaction() as tx:
        fulfil.download(tx, rt, token=token)
        assert tx.fetchone("SELECT count(*) FROM outbox")[0] == 1
    inquiry = {
        "name": "問合 試験次郎",
        "company": "試験商事株式会社",
        "division": "試験推進部",
        "email": "Toiawase.Shiken@Example.JP",
        "phone": "020-0987-6543",
        "description": "試験用の問い合わせ本文です。会員番号の確認をお願いします。",
    }
    with rt.db.transaction() as tx:
        receive(
            tx, rt, actor=actor("support"), kind=RequestKind.INQUIRY, via=Via.EMAIL, fields=inquiry
        )
    written.extra += [*pending.values(), *applied.values(), *inquiry.values()]


def stored_before(rt: Runtime) -> list[bytes]:
    return [*table_bytes(rt).values(), *file_bytes(rt.settings.home).values()]


def assert_absent(needles: dict[str, set[bytes]], places: dict[str, bytes], what: str) -> None:
    found = [
        (where, text)
        for where, blob in places.items()
        for text, variants in needles.items()
        if any(v in blob for v in variants)
    ]
    # Name where, never what: a failing test must not print the values either.
    assert not found, f"{what}: plaintext found in {sorted({w for w, _ in found})}"
