"""Rows of the registry, read and written with plain SQL on the hot paths.

Only the subjects domain reads or writes these tables. The row holds no
plaintext: sealed values (a msgpack map of category → sealed bytes), the
wrapped data key, and per value its source (channel, time, notice version) beside
the sealed bytes in one msgpack map, so a read parses the row once.
"""

from __future__ import annotations

import base64
import json
import re
import secrets
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import msgpack

from mamori.crypto.vault import WrappedKey
from mamori.db.engine import Tx
from mamori.errors import NotFound
from mamori.guard.rules import SubjectFacts

COLUMNS = (
    "id, ref, kind, channel, created_at, kek_version, key_version, wrapped_key, sealed,"
    " consents, suspended, erased_at"
)
SELECT_BY_REF = f"SELECT {COLUMNS} FROM subjects WHERE ref = ?"
INSERT = (
    "INSERT INTO subjects (ref, kind, channel, created_at, updated_at, kek_version, key_version,"
    " wrapped_key, sealed, consents, suspended) VALUES (?,?,?,?,?,?,?,?,?,?,?)"
)


REF_PATTERN = re.compile(r"s[a-z2-7]{16}")


def new_ref() -> str:
    """A public subject reference: 80 random bits, not derived from anything personal."""
    return "s" + base64.b32encode(secrets.token_bytes(10)).decode().lower()


# Positions in a value's entry: [channel, collected_at, notice_version, sealed bytes].
CHANNEL, COLLECTED_AT, NOTICE, TOKEN = range(4)
_EMPTY_MAP, _EMPTY_LIST = "{}", "[]"


@dataclass(slots=True)
class SubjectRow:
    id: int
    ref: str
    kind: str
    channel: str
    created_at: str
    kek_version: int | None
    key_version: int | None
    wrapped_key: bytes | None
    entries: dict[str, list[Any]]
    consents: dict[str, list[int]]
    suspended: list[str]
    erased_at: str | None

    @classmethod
    def from_db(cls, row: Sequence[Any]) -> SubjectRow:
        return cls(
            row[0],
            row[1],
            row[2],
            row[3],
            row[4],
            row[5],
            row[6],
            None if row[7] is None else bytes(row[7]),
            {} if row[8] is None else msgpack.unpackb(row[8]),
            {} if row[9] == _EMPTY_MAP else json.loads(row[9]),
            [] if row[10] == _EMPTY_LIST else json.loads(row[10]),
            row[11],
        )

    def facts(self) -> SubjectFacts:
        return SubjectFacts(
            self.ref,
            self.consents,
            self.suspended,
            self.erased_at is not None,
            self.entries,
            self.channel,
        )

    def wrapped(self) -> WrappedKey:
        if self.wrapped_key is None or self.kek_version is None:
            raise NotFound(f"subject {self.ref} was erased", code="subject_erased")
        return WrappedKey(self.kek_version, self.wrapped_key)

    def sealed_values(self) -> dict[str, bytes]:
        return {c: e[TOKEN] for c, e in self.entries.items()}

    def source(self, category: str) -> list[Any]:
        """Channel, collection time and notice version of one value."""
        return self.entries[category][:TOKEN]


def load(tx: Tx, ref: str, *, for_update: bool = False) -> SubjectRow:
    sql = SELECT_BY_REF + (" FOR UPDATE" if for_update and tx.is_pg else "")
    row = tx.fetchone(sql, (ref,))
    if row is None:
        raise NotFound(f"there is no subject {ref}", code="unknown_subject")
    return SubjectRow.from_db(row)


def load_many(tx: Tx, refs: Sequence[str]) -> list[SubjectRow]:
    """Rows for ``refs`` in the order given; unknown refs are left out."""
    found: dict[str, SubjectRow] = {}
    for start in range(0, len(refs), 500):
        chunk = refs[start : start + 500]
        marks = ",".join("?" * len(chunk))
        for row in tx.fetchall(f"SELECT {COLUMNS} FROM subjects WHERE ref IN ({marks})", chunk):
            found[row[1]] = SubjectRow.from_db(row)
    return [found[r] for r in refs if r in found]


def insert_rows(tx: Tx, rows: Sequence[Sequence[Any]]) -> dict[str, int]:
    """Insert subject rows (``INSERT`` column order); returns ref → id."""
    tx.executemany(INSERT, rows)
    refs = [r[0] for r in rows]
    ids: dict[str, int] = {}
    for start in range(0, len(refs), 500):
        chunk = refs[start : start + 500]
        marks = ",".join("?" * len(chunk))
        for sid, ref in tx.fetchall(f"SELECT id, ref FROM subjects WHERE ref IN ({marks})", chunk):
            ids[ref] = sid
    return ids


def pack(entries: dict[str, list[Any]]) -> bytes:
    return msgpack.packb(entries)  # type: ignore[no-any-return]


def dumps(value: Any) -> str:
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False)


def insert_blind(tx: Tx, rows: Iterable[tuple[int, str, int, bytes]]) -> None:
    tx.executemany(
        "INSERT INTO blind_indexes (subject_id, category, key_version, digest) VALUES (?,?,?,?)",
        list(rows),
    )


def refs_by_digests(tx: Tx, category: str, digests: Sequence[bytes]) -> list[str]:
    marks = ",".join("?" * len(digests))
    rows = tx.fetchall(
        "SELECT DISTINCT s.ref FROM blind_indexes b JOIN subjects s ON s.id = b.subject_id"
        f" WHERE b.digest IN ({marks}) AND b.category = ? ORDER BY s.ref",
        (*digests, category),
    )
    return [r[0] for r in rows]
