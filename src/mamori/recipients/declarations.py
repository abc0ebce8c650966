"""The policy's recipients, joint uses and processors, kept in the database with history.

At every start the declarations in the policy file are compared with the
newest version stored for each party; a changed declaration becomes the next
version, a removed one is marked withdrawn. A provision, receipt or hand-over
record names the version it was made under, so the record keeps saying what
the party was on that day after the policy file has moved on.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel

from mamori.db.base import to_utc_text
from mamori.db.engine import Tx
from mamori.errors import NotFound
from mamori.runtime import Runtime

RECIPIENT, JOINT_USE, PROCESSOR = "recipient", "joint_use", "processor"
KINDS = (RECIPIENT, JOINT_USE, PROCESSOR)


@dataclass(frozen=True)
class PartyVersionView:
    kind: str
    key: str
    version: int
    recorded_at: str
    withdrawn_at: str | None
    declaration: dict[str, Any]

    def to_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


def _declared(rt: Runtime) -> Iterator[tuple[str, str, BaseModel]]:
    source = rt.policy.source
    for kind, items in (
        (RECIPIENT, source.recipients),
        (JOINT_USE, source.joint_uses),
        (PROCESSOR, source.processors),
    ):
        for item in items:
            yield kind, item.key, item


def _snapshot(item: BaseModel) -> tuple[str, str]:
    text = json.dumps(item.model_dump(mode="json"), sort_keys=True, ensure_ascii=False)
    return text, hashlib.sha256(text.encode()).hexdigest()


def sync(rt: Runtime) -> int:
    """Store every changed or new declaration as its next version; returns how many."""
    with rt.db.transaction() as tx:
        return sync_in(tx, rt)


def sync_in(tx: Tx, rt: Runtime) -> int:
    latest = {
        (r[0], r[1]): (r[2], r[3], r[4])
        for r in tx.fetchall(
            "SELECT p.kind, p.key, p.version, p.digest, p.withdrawn_at FROM party_versions p"
            " JOIN (SELECT kind, key, MAX(version) AS v FROM party_versions GROUP BY kind, key) m"
            " ON p.kind = m.kind AND p.key = m.key AND p.version = m.v"
        )
    }
    now = to_utc_text(rt.now())
    written, seen = 0, set()
    for kind, key, item in _declared(rt):
        seen.add((kind, key))
        text, digest = _snapshot(item)
        version, stored_digest, withdrawn = latest.get((kind, key), (0, None, None))
        if stored_digest == digest and withdrawn is None:
            continue
        tx.execute(
            "INSERT INTO party_versions (kind, key, version, digest, snapshot, recorded_at)"
            " VALUES (?,?,?,?,?,?)",
            (kind, key, version + 1, digest, text, now),
        )
        written += 1
    for (kind, key), (version, _digest, withdrawn) in latest.items():
        if (kind, key) not in seen and withdrawn is None:
            tx.execute(
                "UPDATE party_versions SET withdrawn_at = ? WHERE kind = ? AND key = ? AND version = ?",
                (now, kind, key, version),
            )
    return written


def current_version(tx: Tx, rt: Runtime, kind: str, key: str) -> int:
    """The stored version of a declared party, storing the declaration first if needed."""
    sql = (
        "SELECT MAX(version) FROM party_versions"
        " WHERE kind = ? AND key = ? AND withdrawn_at IS NULL"
    )
    row = tx.fetchone(sql, (kind, key))
    if row is None or row[0] is None:
        sync_in(tx, rt)  # a policy loaded since the start may declare it
        row = tx.fetchone(sql, (kind, key))
    if row is None or row[0] is None:
        raise NotFound(
            f"the policy declares no {kind.replace('_', ' ')} '{key}'", code=f"unknown_{kind}"
        )
    return int(row[0])


def history(tx: Tx, kind: str, key: str) -> list[PartyVersionView]:
    """Every stored version of one party, oldest first."""
    rows = tx.fetchall(
        "SELECT kind, key, version, recorded_at, withdrawn_at, snapshot FROM party_versions"
        " WHERE kind = ? AND key = ? ORDER BY version",
        (kind, key),
    )
    return [PartyVersionView(r[0], r[1], r[2], r[3], r[4], json.loads(r[5])) for r in rows]
