"""The audit chain: every access leaves one entry, and every kind of tampering is found.

The tampering is done the way an intruder with access to the database but not to
the key file would do it: raw SQL on ``audit_entries``, edits of the checkpoint
file. Each test checks that ``verify`` names the entry and the kind of break,
not just that something is wrong somewhere.
"""

from __future__ import annotations

import json
import sqlite3
import tracemalloc
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import psycopg
import pytest

from mamori.audit.chain import link
from mamori.audit.service import AuditLog, Checkpoint
from mamori.audit.verify import Report, verify
from mamori.config import load_settings
from mamori.consents import service as consents
from mamori.demo import EXAMPLE_POLICY
from mamori.errors import Denied, MamoriError, NotFound
from mamori.install import initialise
from mamori.policy import service as notices
from mamori.policy.schemas import Action
from mamori.runtime import Runtime, open_runtime
from mamori.staff import service as staff
from mamori.subjects import changes, service, shredding
from tests.conftest import actor
from tests.factories import PURPOSE, register_customer

ENTRY_COLUMNS = (
    "seq, at, actor, purpose, action, subjects, categories, outcome, rule, detail, prev, hash"
)


# -- helpers -----------------------------------------------------------------


def check(rt: Runtime) -> Report:
    with rt.db.transaction() as tx:
        return verify(tx, rt.audit)


def kinds(report: Report) -> list[tuple[int, str]]:
    return [(f.seq, f.kind) for f in report.findings]


def sql(rt: Runtime, statement: str, params: tuple[Any, ...] = ()) -> None:
    with rt.db.transaction() as tx:
        tx.execute(statement, params)


def entries(rt: Runtime, after: int = 0) -> list[dict[str, Any]]:
    with rt.db.transaction() as tx:
        rows = tx.fetchall(
            f"SELECT {ENTRY_COLUMNS} FROM audit_entries WHERE seq > ? ORDER BY seq", (after,)
        )
    names = [c.strip() for c in ENTRY_COLUMNS.split(",")]
    out = []
    for row in rows:
        entry = dict(zip(names, row, strict=True))
        for name in ("subjects", "categories", "detail"):
            entry[name] = json.loads(entry[name])
        entry["prev"], entry["hash"] = bytes(entry["prev"]), bytes(entry["hash"])
        out.append(entry)
    return out


def last_seq(rt: Runtime) -> int:
    with rt.db.transaction() as tx:
        return int(tx.fetchone("SELECT MAX(seq) FROM audit_entries")[0])


def entry_row(entry: dict[str, Any]) -> tuple[Any, ...]:
    """An entry's signed fields in chain order, as the database stores them."""
    return (
        entry["seq"],
        entry["at"],
        entry["actor"],
        entry["purpose"],
        entry["action"],
        json.dumps(entry["subjects"], separators=(",", ":")),
        json.dumps(sorted(entry["categories"]), separators=(",", ":")),
        entry["outcome"],
        entry["rule"],
        json.dumps(entry["detail"], separators=(",", ":"), sort_keys=True, ensure_ascii=False),
    )


def insert_entry(rt: Runtime, row: tuple[Any, ...], prev: bytes, digest: bytes) -> None:
    sql(
        rt,
        f"INSERT INTO audit_entries ({ENTRY_COLUMNS}) VALUES (?,?,?,?,?,?,?,?,?,?,?,?)",
        (*row, prev, digest),
    )


@dataclass
class Activity:
    """What the ``busy`` fixture did, for the tests to refer to."""

    ref: str
    denied_seq: int
    read_seq: int


@pytest.fixture
def busy(rt: Runtime) -> Activity:
    """A home after a registration, a read, a denied read and a consent change."""
    ref, _ = register_customer(rt)
    with rt.db.transaction() as tx:
        service.read(tx, rt, actor=actor("sales"), ref=ref, purpose=PURPOSE)
    read_seq = last_seq(rt)
    with pytest.raises(Denied), rt.db.transaction() as tx:
        service.read(tx, rt, actor=actor("marketing"), ref=ref, purpose=PURPOSE)
    denied_seq = last_seq(rt)
    with rt.db.transaction() as tx:
        consents.record(
            tx,
            rt,
            actor=actor("officer"),
            ref=ref,
            purpose="email_delivery",
            state=consents.GRANTED,
            channel="staff",
        )
    with rt.db.transaction() as tx:
        consents.record(
            tx,
            rt,
            actor=actor("officer"),
            ref=ref,
            purpose="email_delivery",
            state=consents.WITHDRAWN,
            channel="unsubscribe_link",
        )
    return Activity(ref, denied_seq, read_seq)


# -- an untouched chain ------------------------------------------------------


def test_real_operations_leave_an_intact_chain(rt: Runtime, busy: Activity) -> None:
    report = check(rt)
    assert report.ok, kinds(report)
    assert report.entries == report.last_seq == last_seq(rt)
    assert report.checkpoint_seq == report.last_seq
    outcomes = {e["outcome"] for e in entries(rt)}
    assert {"allowed", "denied", "done"} <= outcomes


# -- tampering in the database -----------------------------------------------


def test_a_changed_field_is_found_in_its_entry(rt: Runtime, busy: Activity) -> None:
    sql(rt, "UPDATE audit_entries SET outcome = 'allowed' WHERE seq = ?", (busy.denied_seq,))
    report = check(rt)
    assert kinds(report) == [(busy.denied_seq, "changed")]
    assert f"entry {busy.denied_seq}" in report.findings[0].message


@pytest.mark.parametrize(
    ("column", "value"),
    [
        ("actor", "officer"),
        ("purpose", "dsr.disclosure"),
        ("rule", "role_not_permitted"),
        ("subjects", "[]"),
        ("categories", '["user.name"]'),
        ("detail", '{"note":"nothing happened"}'),
        ("at", "2020-01-01T00:00:00.000000Z"),
    ],
)
def test_any_signed_field_changed_is_found(
    rt: Runtime, busy: Activity, column: str, value: str
) -> None:
    sql(rt, f"UPDATE audit_entries SET {column} = ? WHERE seq = ?", (value, busy.read_seq))
    assert kinds(check(rt)) == [(busy.read_seq, "changed")]


def test_an_entry_deleted_from_the_middle_is_found(rt: Runtime, busy: Activity) -> None:
    gone = busy.denied_seq
    sql(rt, "DELETE FROM audit_entries WHERE seq = ?", (gone,))
    report = check(rt)
    assert sorted(kinds(report)) == [(gone + 1, "out_of_sequence"), (gone + 1, "unlinked")]
    missing = next(f for f in report.findings if f.kind == "out_of_sequence")
    assert f"entry {gone} missing" in missing.message


def test_an_entry_forged_at_the_end_with_another_key_is_found(rt: Runtime, busy: Activity) -> None:
    tip = entries(rt)[-1]
    forged = {
        **tip,
        "seq": tip["seq"] + 1,
        "actor": "officer",
        "outcome": "done",
        "rule": "nothing_to_see",
    }
    row = entry_row(forged)
    insert_entry(rt, row, tip["hash"], link(b"k" * 32, tip["hash"], row))
    assert kinds(check(rt)) == [(tip["seq"] + 1, "changed")]


def test_an_entry_inserted_in_the_middle_is_found(rt: Runtime, busy: Activity) -> None:
    """The intruder makes room by renumbering and links the forgery to its neighbour."""
    at = busy.denied_seq
    before = entries(rt)[at - 2]  # the entry the forgery follows (seq at - 1)
    sql(rt, "UPDATE audit_entries SET seq = -(seq + 1) WHERE seq >= ?", (at,))
    sql(rt, "UPDATE audit_entries SET seq = -seq WHERE seq < 0")
    forged = {**before, "seq": at, "outcome": "allowed", "rule": "granted"}
    row = entry_row(forged)
    insert_entry(rt, row, before["hash"], link(b"k" * 32, before["hash"], row))
    found = kinds(check(rt))
    assert found[0] == (at, "changed")
    assert (at + 1, "unlinked") in found
    assert all(seq >= at for seq, _ in found)


def test_two_swapped_entries_are_found(rt: Runtime, busy: Activity) -> None:
    a = busy.read_seq
    sql(rt, "UPDATE audit_entries SET seq = -1 WHERE seq = ?", (a,))
    sql(rt, "UPDATE audit_entries SET seq = ? WHERE seq = ?", (a, a + 1))
    sql(rt, "UPDATE audit_entries SET seq = ? WHERE seq = -1", (a + 1,))
    found = set(kinds(check(rt)))
    assert {(a, "unlinked"), (a, "changed"), (a + 1, "unlinked"), (a + 1, "changed")} <= found
    assert {seq for seq, _ in found} <= {a, a + 1, a + 2}


def test_a_tail_cut_off_is_found_through_the_checkpoint(rt: Runtime, busy: Activity) -> None:
    end = last_seq(rt)
    sql(rt, "DELETE FROM audit_entries WHERE seq > ?", (end - 2,))
    report = check(rt)
    assert kinds(report) == [(end - 1, "truncated")]
    assert report.checkpoint_seq == end
    assert f"entry {end} was recorded" in report.findings[0].message


def test_a_chain_recomputed_with_another_key_flags_every_entry(rt: Runtime, busy: Activity) -> None:
    """Even with the checkpoint rewritten to match, no entry verifies under the real key."""
    other = b"\x42" * 32
    old = entries(rt)
    prev = old[0]["prev"]
    with rt.db.transaction() as tx:
        for entry in old:
            digest = link(other, prev, entry_row(entry))
            tx.execute(
                "UPDATE audit_entries SET prev = ?, hash = ? WHERE seq = ?",
                (prev, digest, entry["seq"]),
            )
            prev = digest
    rt.audit.head_file.write_bytes(Checkpoint(rt.installation, old[-1]["seq"], prev).encode(other))
    report = check(rt)
    assert kinds(report) == [(0, "checkpoint")] + [(e["seq"], "changed") for e in old]
    assert "audit key" in report.findings[0].message
    assert len(old) < 19  # below the report's cap, so every entry must be named


def test_a_checkpoint_forged_to_hide_a_cut_tail_is_found(rt: Runtime, busy: Activity) -> None:
    """Whoever can write the files but not read the key cannot move the checkpoint back."""
    end = last_seq(rt)
    sql(rt, "DELETE FROM audit_entries WHERE seq > ?", (end - 2,))
    new_tip = entries(rt)[-1]
    forged = Checkpoint(rt.installation, new_tip["seq"], new_tip["hash"]).encode(b"\x07" * 32)
    rt.audit.head_file.write_bytes(forged)
    report = check(rt)
    assert kinds(report) == [(0, "checkpoint")]
    assert "audit key" in report.findings[0].message


# -- tampering with the checkpoint file --------------------------------------


def test_a_deleted_checkpoint_is_found(rt: Runtime, busy: Activity) -> None:
    rt.audit.head_file.unlink()
    report = check(rt)
    assert kinds(report) == [(0, "checkpoint")]
    assert "missing" in report.findings[0].message


def test_a_checkpoint_naming_another_hash_is_found(rt: Runtime, busy: Activity) -> None:
    point = rt.audit.read_checkpoint()
    assert point is not None
    rt.audit.head_file.write_bytes(
        Checkpoint(point.installation, point.seq, b"\1" * 32).encode(rt.audit.key)
    )
    assert kinds(check(rt)) == [(point.seq, "checkpoint")]


def test_a_checkpoint_moved_back_to_an_earlier_entry_must_match_it(
    rt: Runtime, busy: Activity
) -> None:
    point = rt.audit.read_checkpoint()
    assert point is not None
    tip = point.hash
    rt.audit.head_file.write_bytes(
        Checkpoint(point.installation, point.seq - 3, tip).encode(rt.audit.key)
    )
    assert kinds(check(rt)) == [(point.seq - 3, "checkpoint")]


def test_a_checkpoint_moved_forward_reads_as_a_cut_log(rt: Runtime, busy: Activity) -> None:
    point = rt.audit.read_checkpoint()
    assert point is not None
    rt.audit.head_file.write_bytes(
        Checkpoint(point.installation, point.seq + 5, point.hash).encode(rt.audit.key)
    )
    assert kinds(check(rt)) == [(point.seq + 1, "truncated")]


def test_a_checkpoint_of_another_installation_is_found(rt: Runtime, busy: Activity) -> None:
    point = rt.audit.read_checkpoint()
    assert point is not None
    rt.audit.head_file.write_bytes(Checkpoint("0" * 32, point.seq, point.hash).encode(rt.audit.key))
    report = check(rt)
    assert kinds(report) == [(0, "checkpoint")]
    assert "another installation" in report.findings[0].message


@pytest.mark.parametrize(
    "garbage", [b"not a checkpoint at all\n", b'{"seq": "x"}\n', b"\xff\xfe\x00", b"mamori"]
)
def test_a_garbled_checkpoint_is_a_finding_and_the_chain_is_still_walked(
    rt: Runtime, busy: Activity, garbage: bytes
) -> None:
    rt.audit.head_file.write_bytes(garbage)
    report = check(rt)
    assert kinds(report) == [(0, "checkpoint")]
    assert "malformed" in report.findings[0].message
    assert report.entries == last_seq(rt)


def test_appends_keep_the_checkpoint_at_the_tip(rt: Runtime, busy: Activity) -> None:
    point = rt.audit.read_checkpoint()
    tip = entries(rt)[-1]
    assert point == Checkpoint(rt.installation, tip["seq"], tip["hash"])


# -- one entry per access ----------------------------------------------------


def test_a_read_leaves_exactly_one_entry(rt: Runtime) -> None:
    ref, values = register_customer(rt)
    before = last_seq(rt)
    with rt.db.transaction() as tx:
        view = service.read(tx, rt, actor=actor("sales"), ref=ref, purpose=PURPOSE)
    new = entries(rt, before)
    assert len(new) == 1
    entry = new[0]
    assert (entry["actor"], entry["purpose"], entry["action"]) == ("sales", PURPOSE, "read")
    assert (entry["outcome"], entry["rule"]) == ("allowed", "granted")
    assert entry["subjects"] == [ref]
    assert entry["categories"] == sorted(view.values) == sorted(values)


def test_a_registration_leaves_exactly_one_entry(rt: Runtime) -> None:
    before = last_seq(rt)
    ref, values = register_customer(rt)
    new = entries(rt, before)
    assert len(new) == 1
    entry = new[0]
    assert (entry["actor"], entry["purpose"], entry["action"]) == ("sales", PURPOSE, "write")
    assert (entry["outcome"], entry["rule"], entry["subjects"]) == ("allowed", "granted", [ref])
    assert entry["categories"] == sorted(values)


def _withdraw_newsletter(rt: Runtime, ref: str) -> None:
    with rt.db.transaction() as tx:
        consents.record(
            tx,
            rt,
            actor=actor("officer"),
            ref=ref,
            purpose="email_delivery",
            state=consents.WITHDRAWN,
            channel="staff",
        )


def _erase(rt: Runtime, ref: str) -> None:
    with rt.db.transaction() as tx:
        shredding.shred(tx, rt, actor=actor("officer"), ref=ref)


DENIALS: dict[str, tuple[Callable[[Runtime, str], None] | None, str, str, str | None]] = {
    # rule: (set-up, actor, purpose, category asked for)
    "role_not_permitted": (None, "marketing", PURPOSE, None),
    "unknown_purpose": (None, "sales", "telemarketing", None),
    "category_outside_purpose": (None, "sales", PURPOSE, "user.health_and_medical"),
    "action_not_permitted": (None, "sales", "invoicing_payment", None),
    "consent_withdrawn": (_withdraw_newsletter, "marketing", "email_delivery", None),
    "consent_missing": (None, "marketing", "email_delivery", None),
    "subject_erased": (_erase, "sales", PURPOSE, None),
}


@pytest.mark.parametrize("rule", sorted(DENIALS))
def test_a_denial_leaves_exactly_one_entry(rt: Runtime, rule: str) -> None:
    setup, who, purpose, category = DENIALS[rule]
    ref, _ = register_customer(rt)
    if setup is not None:
        setup(rt, ref)
    before = last_seq(rt)
    action = Action.EXPORT if rule == "action_not_permitted" else Action.READ
    with pytest.raises(Denied) as denied, rt.db.transaction() as tx:
        service.read(
            tx,
            rt,
            actor=actor(who),
            ref=ref,
            purpose=purpose,
            categories=[category] if category else None,
            action=action,
        )
    assert denied.value.rule == rule
    new = entries(rt, before)
    assert len(new) == 1, new
    entry = new[0]
    assert (entry["actor"], entry["purpose"]) == (who, purpose)
    assert (entry["outcome"], entry["rule"]) == ("denied", rule)
    assert entry["subjects"] == [ref]
    assert check(rt).ok


def test_an_unknown_actor_is_refused_with_one_entry(rt: Runtime) -> None:
    before = last_seq(rt)
    with pytest.raises(Denied) as denied, rt.db.transaction() as tx:
        staff.actor(tx, rt, handle="intruder", purpose=PURPOSE, action="read")
    assert denied.value.rule == "unknown_actor"
    (entry,) = entries(rt, before)
    assert (entry["actor"], entry["purpose"], entry["outcome"], entry["rule"]) == (
        "intruder",
        PURPOSE,
        "denied",
        "unknown_actor",
    )


def test_a_refused_batch_read_leaves_one_entry_naming_the_refusals(rt: Runtime) -> None:
    kept, _ = register_customer(rt)
    erased, _ = register_customer(rt)
    _erase(rt, erased)
    before = last_seq(rt)
    with rt.db.transaction() as tx:
        views, refusals = service.read_many(
            tx,
            rt,
            actor=actor("sales"),
            refs=[kept, erased],
            purpose=PURPOSE,
            categories=["user.name"],
        )
    assert [v.ref for v in views] == [kept]
    assert [(r.ref, r.rule) for r in refusals] == [(erased, "subject_erased")]
    (entry,) = entries(rt, before)
    assert entry["subjects"] == [kept]
    assert entry["detail"]["refused"] == {erased: "subject_erased"}


def test_a_read_of_an_unknown_reference_leaves_a_trace(rt: Runtime) -> None:
    before = last_seq(rt)
    unknown = "s" + "a" * 16
    with pytest.raises(NotFound), rt.db.transaction() as tx:
        service.read(tx, rt, actor=actor("sales"), ref=unknown, purpose=PURPOSE)
    (entry,) = entries(rt, before)
    assert (entry["outcome"], entry["rule"]) == ("denied", "unknown_subject")
    assert entry["detail"] == {"unknown_subject": unknown}


def test_a_malformed_reference_is_not_copied_into_the_log(rt: Runtime) -> None:
    before = last_seq(rt)
    typed = "taro.yamada@example.jp"
    with pytest.raises(NotFound), rt.db.transaction() as tx:
        service.read(tx, rt, actor=actor("sales"), ref=typed, purpose=PURPOSE)
    (entry,) = entries(rt, before)
    assert entry["detail"] == {"unknown_subject": "<malformed>"}


# -- no work without its trace -----------------------------------------------


def _refuse_audit_inserts(rt: Runtime) -> None:
    """A database-side failure of every audit insert, on either backend."""
    with rt.db.transaction() as tx:
        if tx.is_pg:
            tx.execute(
                "CREATE FUNCTION refuse_audit() RETURNS trigger AS "
                "$$ BEGIN RAISE EXCEPTION 'audit refused'; END $$ LANGUAGE plpgsql"
            )
            tx.execute(
                "CREATE TRIGGER refuse_audit BEFORE INSERT ON audit_entries "
                "FOR EACH ROW EXECUTE FUNCTION refuse_audit()"
            )
        else:
            tx.execute(
                "CREATE TRIGGER refuse_audit BEFORE INSERT ON audit_entries "
                "BEGIN SELECT RAISE(ABORT, 'audit refused'); END"
            )


def _allow_audit_inserts(rt: Runtime) -> None:
    sql(rt, "DROP TRIGGER refuse_audit" + (" ON audit_entries" if rt.db.is_pg else ""))


STATE_QUERIES = {
    "subjects": "SELECT ref, sealed, wrapped_key, consents, suspended, erased_at, updated_at"
    " FROM subjects ORDER BY ref",
    "blind": "SELECT subject_id, category, digest FROM blind_indexes ORDER BY id",
    "consents": "SELECT id, subject_id, purpose, state FROM consent_events ORDER BY id",
    "history": "SELECT id, subject_id, category FROM subject_value_history ORDER BY id",
    "staff": "SELECT handle, roles, active FROM staff_accounts ORDER BY handle",
    "notices": "SELECT version FROM notice_versions ORDER BY version",
    "audit": "SELECT seq, hash FROM audit_entries ORDER BY seq",
}


def state(rt: Runtime) -> dict[str, list[tuple[Any, ...]]]:
    with rt.db.transaction() as tx:
        return {
            name: [tuple(bytes(v) if isinstance(v, memoryview) else v for v in row) for row in rows]
            for name, rows in ((name, tx.fetchall(query)) for name, query in STATE_QUERIES.items())
        }


def _op_register(rt: Runtime, ref: str) -> None:
    register_customer(
        rt,
        by=actor("officer"),
        channel="email_subscription",
        purpose="email_delivery",
        consents=["email_delivery"],
        explicit=True,
    )


def _op_correct(rt: Runtime, ref: str) -> None:
    with rt.db.transaction() as tx:
        changes.correct(
            tx,
            rt,
            actor=actor("officer"),
            ref=ref,
            purpose="registration_correction",
            values={"user.name": "訂正 花子", "user.contact.address.postal_code": "100-0001"},
        )


def _op_consent(rt: Runtime, ref: str) -> None:
    with rt.db.transaction() as tx:
        consents.record(
            tx,
            rt,
            actor=actor("officer"),
            ref=ref,
            purpose="email_delivery",
            state=consents.GRANTED,
            channel="staff",
        )


def _op_shred(rt: Runtime, ref: str) -> None:
    _erase(rt, ref)


def _op_staff(rt: Runtime, ref: str) -> None:
    with rt.db.transaction() as tx:
        staff.add(tx, rt, handle="newcomer", roles=["sales"], by="cli:test")


def _op_publish(rt: Runtime, ref: str) -> None:
    with rt.db.transaction() as tx:
        notices.publish(tx, rt, actor=actor("officer"))


OPERATIONS = {
    "register": _op_register,
    "correct": _op_correct,
    "consent": _op_consent,
    "shred": _op_shred,
    "staff_add": _op_staff,
    "publish": _op_publish,
}


@pytest.mark.parametrize("operation", sorted(OPERATIONS))
def test_work_whose_audit_insert_fails_is_not_kept(rt: Runtime, operation: str) -> None:
    ref, _ = register_customer(rt)
    before = state(rt)
    _refuse_audit_inserts(rt)
    with pytest.raises((sqlite3.Error, psycopg.Error, MamoriError)):
        OPERATIONS[operation](rt, ref)
    _allow_audit_inserts(rt)
    assert state(rt) == before
    assert check(rt).ok


@pytest.mark.parametrize("operation", sorted(OPERATIONS))
def test_work_whose_audit_append_raises_is_not_kept(
    rt: Runtime, operation: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    ref, _ = register_customer(rt)
    before = state(rt)

    def broken(self: AuditLog, *args: object, **kwargs: object) -> int:
        raise OSError("the audit log is unavailable")

    monkeypatch.setattr(AuditLog, "append", broken)
    with pytest.raises(OSError, match="audit log is unavailable"):
        OPERATIONS[operation](rt, ref)
    monkeypatch.undo()
    assert state(rt) == before
    assert check(rt).ok


def test_the_audit_table_gone_stops_registration(rt: Runtime) -> None:
    register_customer(rt)
    sql(rt, "DROP TABLE audit_entries")
    with pytest.raises((sqlite3.Error, psycopg.Error, MamoriError)):
        register_customer(rt)
    with rt.db.transaction() as tx:
        assert tx.fetchone("SELECT COUNT(*) FROM subjects")[0] == 1


# -- verification streams -----------------------------------------------------


def _sqlite_home(tmp_path: Path) -> Runtime:
    settings = load_settings({"MAMORI_HOME": str(tmp_path), "MAMORI_CHECKPOINT_EVERY_S": "0"})
    initialise(settings, policy_source=EXAMPLE_POLICY, by="cli:test")
    return open_runtime(settings)


def _grow(rt: Runtime, total: int) -> None:
    """Extend the chain to ``total`` entries, fast: real links, one executemany per chunk."""
    key = rt.audit.key
    with rt.db.transaction() as tx:
        seq, prev = tx.fetchone("SELECT seq, hash FROM audit_entries ORDER BY seq DESC LIMIT 1")
        prev = bytes(prev)
        while seq < total:
            chunk = []
            for n in range(seq + 1, min(total, seq + 20_000) + 1):
                row = (
                    n,
                    "2026-11-30T01:00:00.000000Z",
                    "sales",
                    PURPOSE,
                    "read",
                    f'["s{n:016d}"]',
                    '["user.contact.email","user.name"]',
                    "allowed",
                    "granted",
                    "{}",
                )
                digest = link(key, prev, row)
                chunk.append((*row, prev, digest))
                prev = digest
            tx.executemany(
                f"INSERT INTO audit_entries ({ENTRY_COLUMNS}) VALUES (?,?,?,?,?,?,?,?,?,?,?,?)",
                chunk,
            )
            seq = chunk[-1][0]
    rt.audit.checkpoint(seq, prev)


def _peak_of_verify(rt: Runtime) -> tuple[Report, int]:
    with rt.db.transaction() as tx:
        tracemalloc.start()
        try:
            report = verify(tx, rt.audit)
            _, peak = tracemalloc.get_traced_memory()
        finally:
            tracemalloc.stop()
    return report, peak


@pytest.mark.slow
def test_verification_memory_does_not_grow_with_the_log(tmp_path: Path) -> None:
    """Ten times the entries may not cost anywhere near ten times the memory.

    Verification reads in batches of ``verify.BATCH`` (5,000); a verifier that
    loaded the whole log would peak about ten times higher on the larger one.
    """
    small, large = _sqlite_home(tmp_path / "small"), _sqlite_home(tmp_path / "large")
    try:
        _grow(small, 10_000)
        _grow(large, 100_000)
        small_report, small_peak = _peak_of_verify(small)
        large_report, large_peak = _peak_of_verify(large)
    finally:
        small.close()
        large.close()
    assert small_report.ok and small_report.entries == 10_000
    assert large_report.ok and large_report.entries == 100_000
    assert large_peak < 2 * small_peak, (small_peak, large_peak)
