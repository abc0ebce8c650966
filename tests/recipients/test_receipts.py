"""Receipts from a third party: registered like any registration, with the Art. 30 record.

Both backends. The co-host's attendee list is registered through the
``cohost_attendee_list`` channel; a list with any bad line is refused whole
and reported line by line without a value; an undeclared provider is refused
and audited with nothing registered.
"""

from __future__ import annotations

import json
from datetime import date
from typing import Any

import pytest

from mamori.errors import Denied, NotFound, ValidationFailed
from mamori.recipients import receipt_files, receipts
from mamori.runtime import Runtime
from mamori.subjects import service
from tests.conftest import actor
from tests.factories import customer_values, register_customer

CHANNEL = "cohost_attendee_list"
HOW = "Application form of the Japan Software Expo, with the attendees' consent to share"
HEADER = "user.name,user.contact.email,user.contact.organization"


def _attendees(rt: Runtime, count: int) -> list[dict[str, str]]:
    wanted = ("user.name", "user.contact.email", "user.contact.organization")
    out = []
    for _ in range(count):
        values = customer_values(rt, purpose="event_registration")
        out.append({c: values[c] for c in wanted if c in values})
    return out


def _csv(rows: list[dict[str, str]]) -> str:
    lines = [HEADER]
    for r in rows:
        lines.append(",".join(r.get(c, "") for c in HEADER.split(",")))
    return "\n".join(lines) + "\n"


def _counts(rt: Runtime) -> tuple[int, int, int]:
    with rt.db.transaction() as tx:
        return tuple(  # type: ignore[return-value]
            tx.fetchone(f"SELECT count(*) FROM {t}")[0]
            for t in ("subjects", "receipts", "receipt_subjects")
        )


def _receive(rt: Runtime, **kw: Any) -> receipts.ReceiptResult:
    args: dict[str, Any] = {
        "actor": actor("officer"),
        "provider": "event_cohost",
        "channel": CHANNEL,
        "obtained_how": HOW,
    }
    args.update(kw)
    with rt.db.transaction() as tx:
        return receipts.receive(tx, rt, **args)


def _last(rt: Runtime) -> tuple[str, str, str, dict[str, Any]]:
    with rt.db.transaction() as tx:
        row = tx.fetchone(
            "SELECT outcome, rule, action, detail FROM audit_entries ORDER BY seq DESC LIMIT 1"
        )
    return row[0], row[1], row[2], json.loads(row[3] or "{}")


def test_a_receipt_registers_everyone_and_writes_its_record(rt: Runtime) -> None:
    people = _attendees(rt, 3)
    got = _receive(rt, csv_source=_csv(people).encode("utf-8"))
    assert got.ref.startswith("c") and len(got.ref) == 17
    assert got.purpose == "event_registration"
    assert len(got.subjects) == 3
    record = got.record
    assert record["provider"]["key"] == "event_cohost"
    declared = rt.policy.recipient("event_cohost")
    assert record["provider"]["address"] == declared.address.model_dump()
    assert record["provider"]["representative"] == declared.representative.model_dump()
    assert record["provider"]["name"]["en"].startswith("Japan Software Expo")
    assert record["obtained_how"] == HOW
    assert record["channel"] == CHANNEL
    assert record["categories"] == sorted(HEADER.split(","))
    assert (record["subject_count"], record["rejected_count"]) == (3, 0)
    assert record["keep_until"].startswith("2029-11-30T15:00")  # through 30 Nov 2029, Tokyo
    assert sorted(record["subjects"]) == sorted(got.subjects)
    assert _counts(rt) == (3, 1, 3)
    with rt.db.transaction() as tx:
        entry = tx.fetchone(
            "SELECT detail FROM audit_entries WHERE action = 'write' ORDER BY seq DESC LIMIT 1"
        )
    assert json.loads(entry[0])["received_from"] == "event_cohost"  # where the data entered
    # Registered under the channel's purposes: readable for event registration, as given.
    with rt.db.transaction() as tx:
        view = service.read(
            tx, rt, actor=actor("officer"), ref=got.subjects[0], purpose="event_registration"
        )
    assert view.values == people[0]
    assert view.channel == CHANNEL and view.kind == "attendee"


def test_records_as_json_and_an_earlier_day(rt: Runtime) -> None:
    people = _attendees(rt, 2)
    got = _receive(rt, records=people, received_on=date(2026, 11, 2))
    assert got.record["at"].startswith("2026-11-01T15:00")
    assert got.record["keep_until"].startswith("2029-11-02T15:00")  # through 2 Nov 2029
    with rt.db.transaction() as tx:
        listed = receipts.list_receipts(tx, rt, actor=actor("auditor"))
        shown = receipts.show_receipt(tx, rt, actor=actor("officer"), ref=got.ref)
    assert [r["ref"] for r in listed] == [got.ref]
    assert "subjects" not in listed[0]
    assert sorted(shown["subjects"]) == sorted(got.subjects)


def test_an_undeclared_provider_is_refused_audited_and_nothing_registered(rt: Runtime) -> None:
    with pytest.raises(Denied) as refused:
        _receive(rt, provider="unknown_cohost", records=_attendees(rt, 2))
    assert refused.value.rule == "unknown_recipient"
    outcome, rule, action, detail = _last(rt)
    assert (outcome, rule, action) == ("denied", "unknown_recipient", "write")
    assert detail["provider"] == "unknown_cohost" and detail["channel"] == CHANNEL
    assert _counts(rt) == (0, 0, 0)


def test_a_provider_named_by_a_value_is_not_echoed(rt: Runtime) -> None:
    with pytest.raises(Denied) as refused:
        _receive(rt, provider="taro@example.jp", records=_attendees(rt, 1))
    assert "taro" not in refused.value.message
    assert _last(rt)[3]["provider"] == "<malformed>"


def test_a_malformed_file_is_reported_line_by_line_without_values(rt: Runtime) -> None:
    good, other = _attendees(rt, 2)
    bad_email = {**other, "user.contact.email": "not-an-address"}
    text = "\n".join(
        [
            HEADER,
            ",".join(good.values()),
            ",".join(bad_email.values()),
            ",,",
            "only,two",
        ]
    )
    with pytest.raises(ValidationFailed) as invalid:
        _receive(rt, csv_source=text)
    problems = invalid.value.fields["problems"]
    assert problems[0].startswith("line 4: has no values")
    assert problems[1].startswith("line 5: has 2 fields where the header has 3")
    assert problems[2].startswith("line 3: user.contact.email")
    assert len(problems) == 3
    shown = invalid.value.message + " ".join(problems)
    for value in (*good.values(), *bad_email.values()):
        assert value not in shown
    assert _counts(rt) == (0, 0, 0)


@pytest.mark.parametrize(
    ("content", "code"),
    [
        (b"", "file_empty"),
        (HEADER.encode() + b"\n", "file_empty"),
        (HEADER.encode() + b"\n\xff\xfe,x,y\n", "file_not_utf8"),
        ("山田 太郎,taro@example.jp\n".encode(), "header_invalid"),
        (b"user.name,user.name\nx,y\n", "header_invalid"),
        (b"user.name,user.contact.address.street\nx,y\n", "records_invalid"),
    ],
)
def test_files_refused_whole(rt: Runtime, content: bytes, code: str) -> None:
    with pytest.raises(ValidationFailed) as invalid:
        _receive(rt, csv_source=content)
    assert invalid.value.code == code
    text = invalid.value.message + " ".join(invalid.value.fields.get("problems", []))
    assert "山田" not in text and "taro" not in text
    assert _counts(rt) == (0, 0, 0)


def test_a_category_the_channel_does_not_use_is_named(rt: Runtime) -> None:
    with pytest.raises(ValidationFailed) as invalid:
        _receive(rt, csv_source=b"user.name,user.contact.address.street\nx,y\n")
    assert invalid.value.fields["problems"] == [
        f"line 2: user.contact.address.street is not used by the purposes of channel '{CHANNEL}'"
    ]


def test_too_many_rows(rt: Runtime, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(receipt_files, "MAX_RECORDS", 2)
    with pytest.raises(ValidationFailed) as invalid:
        _receive(rt, csv_source=_csv(_attendees(rt, 3)))
    assert invalid.value.code == "too_many_records"
    assert _counts(rt) == (0, 0, 0)


@pytest.mark.parametrize(
    ("kw", "error"),
    [
        ({"obtained_how": "  "}, ValidationFailed),
        ({"obtained_how": "x" * 1001}, ValidationFailed),
        ({"channel": "product_purchase"}, ValidationFailed),
        ({"channel": "no_such_channel"}, NotFound),
        ({"received_on": date(2026, 12, 1)}, ValidationFailed),
        ({"records": []}, ValidationFailed),
    ],
)
def test_bad_arguments(rt: Runtime, kw: dict[str, Any], error: type[Exception]) -> None:
    args = {"records": _attendees(rt, 1), **kw}
    with pytest.raises(error):
        _receive(rt, **args)
    assert _counts(rt) == (0, 0, 0)


def test_a_role_that_may_not_write_is_refused_by_the_guard(rt: Runtime) -> None:
    with pytest.raises(Denied) as refused:
        _receive(rt, actor=actor("marketing"), records=_attendees(rt, 1))
    assert refused.value.rule == "role_not_permitted"
    assert _last(rt)[:2] == ("denied", "role_not_permitted")
    assert _counts(rt) == (0, 0, 0)


def test_records_are_read_only_by_auditors_and_privileged_roles(rt: Runtime) -> None:
    got = _receive(rt, records=_attendees(rt, 1))
    with pytest.raises(Denied) as refused, rt.db.transaction() as tx:
        receipts.show_receipt(tx, rt, actor=actor("sales"), ref=got.ref)
    assert refused.value.rule == "records_not_permitted"
    assert _last(rt)[:2] == ("denied", "records_not_permitted")
    with pytest.raises(NotFound), rt.db.transaction() as tx:
        receipts.show_receipt(tx, rt, actor=actor("auditor"), ref="c" + "a" * 16)


def test_a_receipt_and_a_handover_leave_no_value_in_the_database(rt: Runtime) -> None:
    """Receipt, hand-over and supervision rows and their audit entries hold no value."""
    from mamori.recipients import processors
    from mamori.recipients.export import ExportFormat
    from tests.plaintext import Written, assert_absent, file_bytes, stored_before, table_bytes

    baseline = stored_before(rt)
    people = _attendees(rt, 3)
    got = _receive(rt, csv_source=_csv(people))
    written = Written()
    written.values.update(zip(got.subjects, people, strict=True))
    ref, values = register_customer(
        rt,
        by=actor("officer"),
        channel="email_subscription",
        purpose="email_delivery",
        consents=["email_delivery"],
    )
    written.values[ref] = values
    with rt.db.transaction() as tx:
        handed = processors.handover(
            tx,
            rt,
            actor=actor("marketing"),
            processor="mail_delivery",
            purpose="email_delivery",
            fmt=ExportFormat.CSV,
            refs=[ref],
        )
    assert handed.export.rows == 1  # the values did leave, in the file
    needles = written.needles(baseline)
    assert needles
    tables = table_bytes(rt)
    assert tables["receipts"] and tables["receipt_subjects"] and tables["handovers"]
    assert_absent(needles, tables, "tables after a receipt and a hand-over")
    assert_absent(needles, file_bytes(rt.settings.home), "files after a receipt and a hand-over")
