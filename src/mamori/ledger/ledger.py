"""The management ledger (個人情報管理台帳, JIS Q 15001 A.3.3.1): one row per purpose.

A row says, for one purpose of use, what is held, how it came in, for how
many people, where and how it is stored, who may touch it, how long it is
kept, how it is disposed of, who handles it for us and who may receive it.
The grain is the purpose because the policy is written per purpose: every
role, processor, recipient and retention period is declared against one.

Counts come from SQL aggregates over plain columns (``subjects.channel``,
``subjects.erased_at``, ``consent_events``); no sealed value is ever opened,
so the ledger costs two grouped scans however large the registry. Reading it
is for privileged and auditor roles, and every reading (or refusal) is
audited. The ledger never names a person.
"""

from __future__ import annotations

import csv
import hashlib
import io
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from mamori.audit.service import Entry
from mamori.db.engine import Tx
from mamori.errors import Denied
from mamori.guard.rules import Actor
from mamori.guard.service import refuse
from mamori.policy.schemas import Purpose, Text
from mamori.runtime import Runtime

AUDIT_PURPOSE = "system.ledger"
READER_RULE = "not_ledger_reader"
BOM = b"\xef\xbb\xbf"
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")

COUNT_DEFINITION = Text(
    ja=(
        "本人の数：消去されていない本人のうち、この利用目的を公表した取得経路で登録された方と、"
        "他の経路で登録され、その後この利用目的に同意し撤回していない方の合計"
        "（法令上の保存義務により一部を保管中の方を含む）。"
        "同意中の数：この利用目的への最新の同意記録が「同意」である、消去されていない本人の数。"
    ),
    en=(
        "Persons: people not erased whose data was registered through a channel announcing "
        "this purpose, plus people registered through another channel who consented to it "
        "since and have not withdrawn (people partly kept under a legal retention duty "
        "included). Consenting: people not erased whose latest consent record for this "
        "purpose is a grant."
    ),
)
DISPOSAL = Text(
    ja="暗号化による消去（クリプトシュレッディング）：本人ごとのデータ鍵を破棄し、暗号化された値を削除します。",
    en="Crypto-shredding: the person's own data key is destroyed and the sealed values deleted.",
)


@dataclass(frozen=True)
class Named:
    """A key from the policy with its title in both languages."""

    key: str
    title: Text
    note: str = ""


@dataclass(frozen=True)
class LedgerRow:
    purpose: Named
    legal_basis: str
    categories: list[Named]
    channels: list[Named]  # note: the method of acquisition
    subject_kinds: list[Named]
    persons: int
    consenting: int
    storage: Text
    access: list[Named]  # note: the actions, comma-separated
    retention: str
    retention_duty: Text | None
    disposal: Text
    processors: list[Named]  # note: contract end, if any
    recipients: list[Named]  # note: country
    joint_uses: list[Named]  # note: joint users


@dataclass(frozen=True)
class Ledger:
    company: Text
    database: str
    generated_at: datetime
    rows: list[LedgerRow] = field(default_factory=list)
    count_definition: Text = COUNT_DEFINITION


def require_reader(tx: Tx, rt: Runtime, actor: Actor, what: str) -> None:
    """Only privileged and auditor roles read the ledger; a refusal is audited."""
    roles = [rt.policy.roles[r] for r in actor.roles if r in rt.policy.roles]
    if actor.active and any(r.privileged or r.auditor for r in roles):
        return
    denied = Denied(
        f"'{actor.name}' has no privileged or auditor role and may not read the {what}",
        rule=READER_RULE,
    )
    entry = Entry(actor.name, AUDIT_PURPOSE, f"read_{what}"[:32], [], [], "denied", denied.rule)
    raise refuse(rt, denied, entry)


def record_read(tx: Tx, rt: Runtime, actor: Actor, what: str, detail: dict[str, Any]) -> None:
    """The audit entry of a reading: who read which register, in which form."""
    entry = Entry(actor.name, AUDIT_PURPOSE, f"read_{what}"[:32], [], [], "done", "read", detail)
    rt.audit.append(tx, entry, at=rt.now())


def database_kind(rt: Runtime) -> str:
    """SQLite or PostgreSQL, from the settings; the URL itself (and its password) is never shown."""
    return "SQLite" if rt.settings.is_sqlite else "PostgreSQL"


def storage_text(rt: Runtime) -> Text:
    kind = database_kind(rt)
    return Text(
        ja=f"{kind} データベースに電子データとして保管。本人ごとの鍵により AES-256-GCM で暗号化。",
        en=f"Electronic records in a {kind} database, encrypted per person with AES-256-GCM.",
    )


def build(tx: Tx, rt: Runtime) -> Ledger:
    """The ledger as it stands: the policy's purposes with their live counts."""
    persons, consenting = counts(tx, rt)
    storage = storage_text(rt)
    rows = [
        _row(rt, p, persons.get(p.key, 0), consenting.get(p.key, 0), storage)
        for p in rt.policy.source.purposes
    ]
    return Ledger(rt.policy.source.company.name, database_kind(rt), rt.now(), rows)


def counts(tx: Tx, rt: Runtime) -> tuple[dict[str, int], dict[str, int]]:
    """Persons and consenting people per purpose, as ``COUNT_DEFINITION`` says."""
    by_channel = _held_by_channel(tx)
    granted = tx.fetchall(
        "SELECT ce.purpose, s.channel, COUNT(*) FROM consent_events ce"
        " JOIN subjects s ON s.id = ce.subject_id"
        " WHERE s.erased_at IS NULL AND ce.state = 'granted'"
        " AND ce.id = (SELECT MAX(c2.id) FROM consent_events c2"
        "  WHERE c2.subject_id = ce.subject_id AND c2.purpose = ce.purpose)"
        " GROUP BY ce.purpose, s.channel"
    )
    announced = rt.policy.channel_purposes
    persons: dict[str, int] = {}
    consenting: dict[str, int] = {}
    for purpose in rt.policy.source.purposes:
        persons[purpose.key] = sum(
            int(n) for ch, n in by_channel.items() if purpose.key in announced.get(ch, ())
        )
    for purpose_key, channel, n in granted:
        consenting[purpose_key] = consenting.get(purpose_key, 0) + int(n)
        if purpose_key in persons and purpose_key not in announced.get(channel, ()):
            persons[purpose_key] += int(n)
    return persons, consenting


def _held_by_channel(tx: Tx) -> dict[str, int]:
    """People not erased, per registration channel.

    All rows minus the erased ones: the first count reads only the channel
    index, and the second only the erased rows once they are indexed (see
    ``ix_subjects_erased`` in the report), so neither reads a sealed row.
    """
    held = {
        str(ch): int(n)
        for ch, n in tx.fetchall("SELECT channel, COUNT(*) FROM subjects GROUP BY channel")
    }
    for ch, n in tx.fetchall(
        "SELECT channel, COUNT(*) FROM subjects WHERE erased_at IS NOT NULL GROUP BY channel"
    ):
        held[str(ch)] = held.get(str(ch), 0) - int(n)
    return held


def _row(rt: Runtime, purpose: Purpose, persons: int, consenting: int, storage: Text) -> LedgerRow:
    policy = rt.policy
    source = policy.source
    channels = [c for c in source.channels if purpose.key in c.purposes]
    kinds = {k.key: k for k in source.subject_kinds}
    kind_keys = sorted({c.subject_kind for c in channels})
    return LedgerRow(
        purpose=Named(purpose.key, purpose.title),
        legal_basis=purpose.legal_basis.value,
        categories=[Named(k, policy.categories[k].title) for k in purpose.categories],
        channels=[Named(c.key, c.title, c.method) for c in channels],
        subject_kinds=[Named(k, kinds[k].title) for k in kind_keys if k in kinds],
        persons=persons,
        consenting=consenting,
        storage=storage,
        access=_access(rt, purpose.key),
        retention=purpose.retention,
        retention_duty=purpose.retention_duty,
        disposal=DISPOSAL,
        processors=[
            Named(p.key, p.name, str(p.contract_until or ""))
            for p in source.processors
            if purpose.key in p.purposes
        ],
        recipients=[
            Named(r.key, r.name, r.country) for r in source.recipients if purpose.key in r.purposes
        ],
        joint_uses=[
            Named(j.key, j.title, ",".join(j.users))
            for j in source.joint_uses
            if purpose.key in j.purposes
        ],
    )


def _access(rt: Runtime, purpose: str) -> list[Named]:
    out = []
    for role in rt.policy.source.roles:
        actions = rt.policy.permissions.get((role.key, purpose))
        if actions:
            ordered = [a.value for a in sorted(actions, key=lambda a: a.value)]
            out.append(Named(role.key, role.title, ",".join(ordered)))
    return out


# --- output ------------------------------------------------------------------

HEADERS: list[tuple[str, str]] = [
    ("利用目的キー", "Purpose key"),
    ("利用目的", "Purpose"),
    ("法的根拠", "Legal basis"),
    ("データ項目", "Data items"),
    ("取得経路・方法", "Channels and method of acquisition"),
    ("本人の区分", "Kinds of persons"),
    ("本人の数", "Number of persons"),
    ("同意中の数", "Consenting"),
    ("保管場所・形態", "Storage location and form"),
    ("アクセス権限者", "Who has access"),
    ("保存期間", "Retention period"),
    ("保存義務", "Duty to retain"),
    ("廃棄・消去方法", "Disposal method"),
    ("委託先", "Entrustment (processors)"),
    ("第三者提供先", "Provision (recipients)"),
    ("共同利用", "Joint use"),
    ("件数の定義", "What the counts mean"),
]


def both(text: Text | None) -> str:
    return f"{text.ja} / {text.en}" if text else ""


def _names(items: Iterable[Named]) -> str:
    return "; ".join(f"{both(n.title)}{f' ({n.note})' if n.note else ''}" for n in items)


def csv_cells(row: LedgerRow, definition: Text) -> list[str]:
    return [
        row.purpose.key,
        both(row.purpose.title),
        row.legal_basis,
        _names(row.categories),
        _names(row.channels),
        _names(row.subject_kinds),
        str(row.persons),
        str(row.consenting),
        both(row.storage),
        _names(row.access),
        row.retention,
        both(row.retention_duty),
        both(row.disposal),
        _names(row.processors),
        _names(row.recipients),
        _names(row.joint_uses),
        both(definition),
    ]


def _cell(value: str) -> str:
    """A cell a spreadsheet would run as a formula gets an apostrophe in front."""
    return "'" + value if value.startswith(_FORMULA_START) else value


def to_csv(ledger: Ledger) -> bytes:
    """UTF-8 with a byte-order mark, both languages; no moment inside, so the digest is stable."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow([f"{ja} / {en}" for ja, en in HEADERS])
    for row in ledger.rows:
        writer.writerow([_cell(c) for c in csv_cells(row, ledger.count_definition)])
    return BOM + buffer.getvalue().encode("utf-8")


def digest(content: bytes) -> str:
    return hashlib.sha256(content).hexdigest()


def _named(
    items: Sequence[Named], note: str | None = None, split: bool = False
) -> list[dict[str, Any]]:
    """Items as plain data; ``note`` names the note's field (a list when ``split``)."""
    out: list[dict[str, Any]] = []
    for n in items:
        item: dict[str, Any] = {"key": n.key, "title": n.title.model_dump()}
        if note is not None:
            item[note] = (n.note.split(",") if n.note else []) if split else (n.note or None)
        out.append(item)
    return out


def to_json(ledger: Ledger) -> dict[str, Any]:
    """The ledger as plain data: the JSON form and the page's input."""
    return {
        "company": ledger.company.model_dump(),
        "database": ledger.database,
        "generated_at": ledger.generated_at.isoformat(),
        "count_definition": ledger.count_definition.model_dump(),
        "digest": digest(to_csv(ledger)),
        "rows": [_row_json(r) for r in ledger.rows],
    }


def _row_json(row: LedgerRow) -> dict[str, Any]:
    return {
        "purpose": row.purpose.key,
        "title": row.purpose.title.model_dump(),
        "legal_basis": row.legal_basis,
        "categories": _named(row.categories),
        "channels": _named(row.channels, "method"),
        "subject_kinds": _named(row.subject_kinds),
        "persons": row.persons,
        "consenting": row.consenting,
        "storage": row.storage.model_dump(),
        "access": _named(row.access, "actions", split=True),
        "retention": row.retention,
        "retention_duty": row.retention_duty.model_dump() if row.retention_duty else None,
        "disposal": row.disposal.model_dump(),
        "processors": _named(row.processors, "contract_until"),
        "recipients": _named(row.recipients, "country"),
        "joint_uses": _named(row.joint_uses, "users", split=True),
    }
