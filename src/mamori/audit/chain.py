"""The hash chain: how an audit entry is bound to the one before it.

Each entry's ``hash`` is HMAC-SHA256, under the audit key from the key ring,
of the previous entry's hash followed by the entry's fields joined by the
unit separator. The key lives outside the database, so someone who can edit
the database but not read the key file cannot rewrite the chain to cover a
change: every altered entry is found, not just the end of the chain.

The HMAC is computed with ``mamori.crypto.mac``, which sets the key up once
instead of on every entry; the digests are those of ``hmac.digest``.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from mamori.crypto.mac import hmac_sha256

GENESIS = b"\x00" * 32
SEP = "\x1f"
FIELDS = (
    "seq",
    "at",
    "actor",
    "purpose",
    "action",
    "subjects",
    "categories",
    "outcome",
    "rule",
    "detail",
)


def entry_bytes(row: Sequence[Any]) -> bytes:
    """The signed bytes of an entry given its fields in ``FIELDS`` order."""
    return SEP.join([str(row[0]), *row[1:10]]).encode()


def link(key: bytes, prev: bytes, row: Sequence[Any]) -> bytes:
    """The hash of the entry ``row`` following the entry whose hash is ``prev``."""
    return hmac_sha256(key, prev + entry_bytes(row))
