"""What the erasure tests share: a buyer, a subscriber, the erasure, the rows."""

from __future__ import annotations

from typing import Any

import msgpack

from mamori.dsr import erasure
from mamori.runtime import Runtime
from tests.conftest import actor
from tests.factories import register_customer

INVOICING = "invoicing_payment"
KANA = "user.name.kana"
EMAIL = "user.contact.email"


def customer(rt: Runtime) -> tuple[str, dict[str, str]]:
    """A buyer: every value came through product_purchase, which announces invoicing."""
    return register_customer(rt)


def subscriber(rt: Runtime) -> tuple[str, dict[str, str]]:
    """A newsletter subscriber: nothing a retention duty keeps."""
    return register_customer(
        rt,
        by=actor("officer"),
        channel="email_subscription",
        purpose="email_delivery",
        consents=["email_delivery"],
    )


def erase(rt: Runtime, ref: str) -> erasure.ErasureResult:
    with rt.db.transaction() as tx:
        return erasure.erase(tx, rt, actor=actor("officer"), ref=ref)


def row_of(rt: Runtime, ref: str) -> tuple[Any, ...]:
    with rt.db.transaction() as tx:
        return tuple(
            tx.fetchone(
                "SELECT wrapped_key, sealed, suspended, erased_at, retained_until"
                " FROM subjects WHERE ref = ?",
                (ref,),
            )
        )


def sealed_tokens(rt: Runtime, ref: str, categories: set[str]) -> set[bytes]:
    """The sealed bytes of ``categories``, in the row and in history."""
    with rt.db.transaction() as tx:
        sid, sealed = tx.fetchone("SELECT id, sealed FROM subjects WHERE ref = ?", (ref,))
        history = tx.fetchall(
            "SELECT category, sealed FROM subject_value_history WHERE subject_id = ?", (sid,)
        )
    tokens = {bytes(e[3]) for c, e in msgpack.unpackb(sealed).items() if c in categories}
    return tokens | {bytes(s) for c, s in history if c in categories and s is not None}


def audit_rows(rt: Runtime, rule: str) -> list[tuple[Any, ...]]:
    with rt.db.transaction() as tx:
        return tx.fetchall(
            "SELECT actor, purpose, action, subjects, outcome, detail FROM audit_entries"
            " WHERE rule = ? ORDER BY seq",
            (rule,),
        )
