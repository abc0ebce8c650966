"""The file handed to a recipient or processor: exactly the permitted items.

CSV (UTF-8 with a byte-order mark, so spreadsheet software in Japan reads it
as UTF-8) or JSON. A CSV cell that a spreadsheet would run as a formula
(starting with =, +, -, @, a tab or a carriage return) is prefixed with an
apostrophe. The digest of the bytes goes into the record, so what left can
be proven later without keeping a copy.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum


class ExportFormat(StrEnum):
    CSV = "csv"
    JSON = "json"


MEDIA_TYPES = {ExportFormat.CSV: "text/csv; charset=utf-8", ExportFormat.JSON: "application/json"}
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


@dataclass(frozen=True)
class ExportFile:
    format: ExportFormat
    content: bytes
    digest: str  # sha256 hex of content
    rows: int

    @property
    def media_type(self) -> str:
        return MEDIA_TYPES[self.format]


def _cell(value: str) -> str:
    return "'" + value if value.startswith(_FORMULA_START) else value


def build(
    fmt: ExportFormat,
    categories: Sequence[str],
    rows: Iterable[tuple[str, Mapping[str, str]]],
) -> ExportFile:
    """The export of ``rows`` (subject reference, values by category) in ``fmt``."""
    if fmt is ExportFormat.CSV:
        content, count = _csv(categories, rows)
    else:
        content, count = _json(categories, rows)
    return ExportFile(fmt, content, hashlib.sha256(content).hexdigest(), count)


def _csv(
    categories: Sequence[str], rows: Iterable[tuple[str, Mapping[str, str]]]
) -> tuple[bytes, int]:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(["subject", *categories])
    count = 0
    for ref, values in rows:
        writer.writerow([ref, *(_cell(values.get(c, "")) for c in categories)])
        count += 1
    return b"\xef\xbb\xbf" + buffer.getvalue().encode("utf-8"), count


def _json(
    categories: Sequence[str], rows: Iterable[tuple[str, Mapping[str, str]]]
) -> tuple[bytes, int]:
    items = [
        {"subject": ref, "values": {c: values[c] for c in categories if c in values}}
        for ref, values in rows
    ]
    text = json.dumps({"categories": list(categories), "subjects": items}, ensure_ascii=False)
    return text.encode("utf-8"), len(items)
