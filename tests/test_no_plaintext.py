"""No plaintext at rest: every value written is absent from every byte Mamori stores.

Subjects are registered with synthetic values, corrected (so old values go to
history), given consents and read (so the audit log has work to record); then
every file of the home (database, WAL, shared memory, audit checkpoint,
erasure ledger) and every column of every table is searched for each value,
as UTF-8, as normalized, lower-cased, JSON-escaped and UTF-16. That erasure
leaves nothing any road can open is in ``test_erasure_leaves_nothing``.
"""

from __future__ import annotations

import json
import logging

import pytest

from mamori.errors import ValidationFailed
from mamori.runtime import Runtime
from mamori.subjects.intake import Registration, register
from tests.conftest import actor
from tests.factories import CHANNEL, PURPOSE
from tests.plaintext import (
    Written,
    assert_absent,
    file_bytes,
    forms,
    populate,
    stored_before,
    table_bytes,
)


def test_no_value_is_stored_in_plaintext(rt: Runtime, caplog: pytest.LogCaptureFixture) -> None:
    baseline = stored_before(rt)
    with caplog.at_level(logging.DEBUG):
        written = populate(rt)
    needles = written.needles(baseline)
    # The distinctive values must survive the baseline filter, or the test proves nothing.
    assert len(needles) >= 4 * 6 + 8
    for values in written.values.values():
        assert values["user.name"] in needles
        assert values["user.contact.email"] in needles
    tables = table_bytes(rt)
    assert_absent(needles, tables, "tables")
    assert_absent(needles, {"audit_entries": tables["audit_entries"]}, "audit log")
    files = file_bytes(rt.settings.home)
    if rt.settings.is_sqlite:
        assert {"mamori.db", "mamori.db-wal"} <= set(files)
    assert_absent(needles, files, "files")
    assert_absent(needles, {"log": caplog.text.encode()}, "log records")


def test_no_value_is_left_in_the_database_files_after_closing(rt: Runtime) -> None:
    if not rt.settings.is_sqlite:
        pytest.skip("the database files are the PostgreSQL server's own")
    baseline = stored_before(rt)
    needles = populate(rt).needles(baseline)
    rt.close()  # checkpoints the WAL into the main file
    files = file_bytes(rt.settings.home)
    assert_absent(needles, files, "files after close")


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
    assert_absent({bad: forms(bad)}, table_bytes(rt), "tables after a refusal")


def test_a_provision_leaves_no_value_in_the_database(rt: Runtime) -> None:
    """The record, its subject rows and the audit entry hold references, never values."""
    from tests.recipients.conftest import exported, provide, subscriber

    baseline = stored_before(rt)
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
    assert_absent(needles, tables, "tables after a provision")
    assert_absent(needles, file_bytes(rt.settings.home), "files after a provision")
