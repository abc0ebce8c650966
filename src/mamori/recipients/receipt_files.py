"""Reading what a third party sent: a CSV file whose header names data categories,
or a list of records, each kept with where it came from.

Nothing here decides whether a record is acceptable beyond its shape; every
problem is named by its line or record number and never repeats a value
(a column that is not a category is named by its position, since a file
without a header would otherwise echo its first person).
"""

from __future__ import annotations

import csv
import io
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import IO

from mamori.errors import ValidationFailed
from mamori.runtime import Runtime

MAX_RECORDS = 100_000
MAX_BYTES = 64 * 1024 * 1024

CsvSource = str | bytes | IO[bytes] | IO[str]


@dataclass
class Lines:
    """Records read from a file or a request, each with where it came from."""

    places: list[str] = field(default_factory=list)  # "line 3" / "record 2"
    values: list[dict[str, str]] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)


def from_records(records: Sequence[Mapping[str, str]] | None) -> Lines:
    lines = Lines()
    if not records:
        lines.problems.append("there are no records")
    if records and len(records) > MAX_RECORDS:
        raise ValidationFailed(
            f"at most {MAX_RECORDS} records may be received at once; split the list",
            code="too_many_records",
        )
    for number, record in enumerate(records or (), 1):
        _add(lines, f"record {number}", {k: v for k, v in record.items() if v not in (None, "")})
    return lines


def _add(lines: Lines, place: str, values: dict[str, str]) -> None:
    if values:
        lines.places.append(place)
        lines.values.append(values)
    else:
        lines.problems.append(f"{place}: has no values")


def read_csv(rt: Runtime, source: CsvSource) -> Lines:
    """The records of a CSV file whose header names data categories; bad lines are listed."""
    reader = csv.reader(io.StringIO(_text(source)))
    lines = Lines()
    try:
        header = next(reader, None)
        if header is None:
            raise ValidationFailed("the file is empty", code="file_empty")
        columns = _columns(rt, header)
        for row in reader:
            if not row:
                continue
            if len(lines.places) + len(lines.problems) >= MAX_RECORDS:
                raise ValidationFailed(
                    f"the file has more than {MAX_RECORDS} records; split it",
                    code="too_many_records",
                )
            _add_row(lines, reader.line_num, columns, row)
    except csv.Error as exc:
        raise ValidationFailed(
            f"line {reader.line_num + 1} cannot be read as CSV ({exc})", code="file_malformed"
        ) from None
    if not lines.places and not lines.problems:
        raise ValidationFailed("the file has a header but no records", code="file_empty")
    return lines


def _text(source: CsvSource) -> str:
    data = source if isinstance(source, str | bytes) else source.read(MAX_BYTES + 1)
    if len(data) > MAX_BYTES:
        raise ValidationFailed(
            f"the file is larger than {MAX_BYTES // (1024 * 1024)} MB; split it",
            code="file_too_large",
        )
    if isinstance(data, str):
        return data.removeprefix("\ufeff")
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        raise ValidationFailed(
            f"the file is not UTF-8 text (line {line}); save it as UTF-8", code="file_not_utf8"
        ) from None


def _columns(rt: Runtime, header: list[str]) -> list[str]:
    """The header's categories; a column is named by its position unless it is a category."""
    names = [name.strip() for name in header]
    problems = []
    for position, name in enumerate(names, 1):
        if name not in rt.policy.categories:
            problems.append(f"line 1: column {position} is not a data category of the policy")
        elif names.index(name) != position - 1:
            problems.append(f"line 1: column {position} repeats {name}")
    if problems:
        raise ValidationFailed(
            "the header must name data categories of the policy, each once",
            code="header_invalid",
            problems=problems,
        )
    return names


def _add_row(lines: Lines, number: int, columns: list[str], row: list[str]) -> None:
    place = f"line {number}"
    if len(row) != len(columns):
        lines.problems.append(f"{place}: has {len(row)} fields where the header has {len(columns)}")
        return
    _add(lines, place, {c: v for c, v in zip(columns, row, strict=True) if v.strip()})
