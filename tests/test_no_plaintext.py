"""No plaintext at rest: every value written is absent from every byte Mamori stores.

Subjects are registered with synthetic values, corrected (so old values go to
history), given consents and read (so the audit log has work to record); then
every file of the home (database, WAL, shared memory, audit checkpoint,
erasure ledger) and every column of every table is searched for each value,
as UTF-8, as normalized, lower-cased, JSON-escaped and UTF-16. Erasure is
then checked to leave nothing any road can open.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from mamori import boot
from mamori.consents import service as consents
from mamori.db.engine import Tx
from mamori.dsr import fulfil, systems, verification, workflow
from mamori.dsr.arrival import NewRequest, create
from mamori.dsr.inquiries import receive
from mamori.dsr.states import IdentityMethod, Via
from mamori.errors import Denied, ValidationFailed
from mamori.policy.schemas import RequestKind
from mamori.runtime import Runtime
from mamori.subjects import changes, service, shredding
from mamori.subjects.intake import Registration, register
from tests.backups import backup_sqlite, restore_sqlite
from tests.conftest import actor
from tests.factories import CHANNEL, PURPOSE, register_customer

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


def _baseline(rt: Runtime) -> list[bytes]:
    return [*table_bytes(rt).values(), *file_bytes(rt.settings.home).values()]


def _assert_absent(needles: dict[str, set[bytes]], places: dict[str, bytes], what: str) -> None:
    found = [
        (where, text)
        for where, blob in places.items()
        for text, variants in needles.items()
        if any(v in blob for v in variants)
    ]
    # Name where, never what: a failing test must not print the values either.
    assert not found, f"{what}: plaintext found in {sorted({w for w, _ in found})}"


def test_no_value_is_stored_in_plaintext(rt: Runtime, caplog: pytest.LogCaptureFixture) -> None:
    baseline = _baseline(rt)
    with caplog.at_level(logging.DEBUG):
        written = populate(rt)
    needles = written.needles(baseline)
    # The distinctive values must survive the baseline filter, or the test proves nothing.
    assert len(needles) >= 4 * 6 + 8
    for values in written.values.values():
        assert values["user.name"] in needles
        assert values["user.contact.email"] in needles
    tables = table_bytes(rt)
    _assert_absent(needles, tables, "tables")
    _assert_absent(needles, {"audit_entries": tables["audit_entries"]}, "audit log")
    files = file_bytes(rt.settings.home)
    if rt.settings.is_sqlite:
        assert {"mamori.db", "mamori.db-wal"} <= set(files)
    _assert_absent(needles, files, "files")
    _assert_absent(needles, {"log": caplog.text.encode()}, "log records")


def test_no_value_is_left_in_the_database_files_after_closing(rt: Runtime) -> None:
    if not rt.settings.is_sqlite:
        pytest.skip("the database files are the PostgreSQL server's own")
    baseline = _baseline(rt)
    needles = populate(rt).needles(baseline)
    rt.close()  # checkpoints the WAL into the main file
    files = file_bytes(rt.settings.home)
    _assert_absent(needles, files, "files after close")


@pytest.mark.parametrize(
    ("category", "bad"),
    [
        ("user.contact.email", "shiken..mamori@@example.jp"),
        ("user.contact.phone_number", "020-0123-456789012"),
        ("user.contact.address.postal_code", "999-9999"),
        ("user.name.kana", "シケンHanakoTarou"),
    ],
)
def test_a_refused_value_is_not_repeated_nor_stored(rt: Runtime, category: str, bad: str) -> None:
    values = {"user.name": "拒否 試験子", category: bad}
    with pytest.raises(ValidationFailed) as refused, rt.db.transaction() as tx:
        register(
            tx,
            rt,
            actor=actor("sales"),
            channel=CHANNEL,
            purpose=PURPOSE,
            registration=Registration(values),
        )
    text = json.dumps(refused.value.to_dict(), ensure_ascii=False) + str(refused.value)
    assert bad not in text
    assert "拒否 試験子" not in text
    assert category in text
    _assert_absent({bad: forms(bad)}, table_bytes(rt), "tables after a refusal")


# -- erasure -------------------------------------------------------------------


def _shred(rt: Runtime, ref: str) -> None:
    with rt.db.transaction() as tx:
        shredding.shred(tx, rt, actor=actor("officer"), ref=ref)


def _subject_columns(rt: Runtime, ref: str) -> tuple[object, ...]:
    with rt.db.transaction() as tx:
        return tuple(
            tx.fetchone(
                "SELECT wrapped_key, kek_version, sealed, erased_at FROM subjects WHERE ref = ?",
                (ref,),
            )
        )


@pytest.mark.parametrize(
    "purpose", [PURPOSE, "dsr.disclosure", "invoicing_payment", "email_delivery"]
)
def test_an_erased_subject_is_refused_to_every_reader(rt: Runtime, purpose: str) -> None:
    ref, _ = register_customer(rt)
    _shred(rt, ref)
    with pytest.raises(Denied) as refused, rt.db.transaction() as tx:
        service.read(tx, rt, actor=actor("officer"), ref=ref, purpose=purpose)
    assert refused.value.rule == "subject_erased"
    with pytest.raises(Denied) as refused_again, rt.db.transaction() as tx:
        service.read(
            tx, rt, actor=actor("officer"), ref=ref, purpose=purpose, categories=["user.name"]
        )
    assert refused_again.value.rule == "subject_erased"


def test_erasure_leaves_nothing_to_open_or_find(rt: Runtime) -> None:
    ref, values = register_customer(rt)
    kept, _ = register_customer(rt)
    with rt.db.transaction() as tx:
        changes.correct(
            tx,
            rt,
            actor=actor("officer"),
            ref=ref,
            purpose=CORRECTION,
            values={"user.name": "消去前 試験花子"},
        )
    _shred(rt, ref)
    wrapped, kek_version, sealed, erased_at = _subject_columns(rt, ref)
    assert (wrapped, kek_version, sealed) == (None, None, None)
    assert erased_at is not None
    with rt.db.transaction() as tx:
        sid = tx.fetchone("SELECT id FROM subjects WHERE ref = ?", (ref,))[0]
        history = tx.fetchall(
            "SELECT sealed FROM subject_value_history WHERE subject_id = ?", (sid,)
        )
        blind = tx.fetchall("SELECT id FROM blind_indexes WHERE subject_id = ?", (sid,))
    assert history and all(h[0] is None for h in history)
    assert blind == []
    officer = actor("officer")
    with rt.db.transaction() as tx:
        for category, key in (
            ("user.contact.email", "email"),
            ("user.contact.phone_number", "phone"),
        ):
            found = service.find(
                tx, rt, actor=officer, purpose="dsr.disclosure", **{key: values[category]}
            )
            assert found == []
        views, refusals = service.read_many(
            tx,
            rt,
            actor=officer,
            refs=[ref, kept],
            purpose="dsr.disclosure",
            categories=["user.name"],
        )
        listed, _ = service.list_refs(tx, rt, actor=officer, purpose=PURPOSE, limit=1000)
    assert [v.ref for v in views] == [kept]
    assert [(r.ref, r.rule) for r in refusals] == [(ref, "subject_erased")]
    assert ref not in {row["ref"] for row in listed}


def _correct_erased(tx: Tx, rt: Runtime, ref: str) -> None:
    changes.correct(
        tx,
        rt,
        actor=actor("officer"),
        ref=ref,
        purpose=CORRECTION,
        values={"user.name": "復活 試験"},
    )


def _consent_erased(tx: Tx, rt: Runtime, ref: str) -> None:
    consents.record(
        tx,
        rt,
        actor=actor("officer"),
        ref=ref,
        purpose="email_delivery",
        state=consents.GRANTED,
        channel="staff",
    )


def _shred_erased(tx: Tx, rt: Runtime, ref: str) -> None:
    shredding.shred(tx, rt, actor=actor("officer"), ref=ref)


WRITES_BACK = {"correct": _correct_erased, "consent": _consent_erased, "shred": _shred_erased}


@pytest.mark.parametrize("operation", sorted(WRITES_BACK))
def test_an_erased_subject_cannot_be_written_back(rt: Runtime, operation: str) -> None:
    ref, _ = register_customer(rt)
    _shred(rt, ref)
    with pytest.raises(Denied) as refused, rt.db.transaction() as tx:
        WRITES_BACK[operation](tx, rt, ref)
    assert refused.value.rule == "subject_erased"
    assert _subject_columns(rt, ref)[:3] == (None, None, None)


def test_a_restored_backup_does_not_bring_an_erased_subject_back(rt: Runtime) -> None:
    """The backup taken before the erasure still holds the wrapped key; start-up re-erases."""
    if not rt.settings.is_sqlite:
        pytest.skip("a file backup is the SQLite case; PostgreSQL restores work the same way")
    ref, values = register_customer(rt)
    kept, kept_values = register_customer(rt)
    backup = backup_sqlite(rt)
    _shred(rt, ref)
    restore_sqlite(rt, backup)
    restored = boot.start(rt.settings, clock=rt.clock)
    try:
        with pytest.raises(Denied) as refused, restored.db.transaction() as tx:
            service.read(tx, restored, actor=actor("officer"), ref=ref, purpose="dsr.disclosure")
        assert refused.value.rule == "subject_erased"
        assert _subject_columns(restored, ref)[:3] == (None, None, None)
        with restored.db.transaction() as tx:
            view = service.read(tx, restored, actor=actor("sales"), ref=kept, purpose=PURPOSE)
            email = values["user.contact.email"]
            assert (
                service.find(
                    tx, restored, actor=actor("officer"), purpose="dsr.disclosure", email=email
                )
                == []
            )
        assert view.values["user.name"] == kept_values["user.name"]
    finally:
        restored.close()


def test_a_provision_leaves_no_value_in_the_database(rt: Runtime) -> None:
    """The record, its subject rows and the audit entry hold references, never values."""
    from tests.recipients.conftest import exported, provide, subscriber

    baseline = _baseline(rt)
    written = Written()
    for _ in range(3):
        ref, values = subscriber(rt)
        written.values[ref] = values
    result = provide(rt, list(written.values))
    assert set(exported(result)) == set(written.values)  # the values did leave, in the file
    needles = written.needles(baseline)
    assert needles
    tables = table_bytes(rt)
    assert tables["provisions"] and tables["provision_subjects"]
    _assert_absent(needles, tables, "tables after a provision")
    _assert_absent(needles, file_bytes(rt.settings.home), "files after a provision")
