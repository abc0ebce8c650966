"""The audit entries of authentication: every attempt, allowed or refused.

Entries name the account (or ``token:<id>``) and the rule; they never carry
a password, a code, a token, a cookie, or a name that matched no account
(what someone typed into the name field may be their password).

A refusal rolls back the unit of work it ends; what must outlast it (its
audit entry, a failed-login count) travels on the ``Denied`` as ``keep``
callbacks, which the unit of work writes in a fresh transaction after the
rollback (``mamori.db.engine.Handle.transaction``).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from mamori.audit.service import Entry
from mamori.db.engine import Tx
from mamori.errors import Denied
from mamori.runtime import Runtime

UNKNOWN = "auth:unknown"


def record(
    tx: Tx,
    rt: Runtime,
    *,
    actor: str,
    purpose: str,
    action: str,
    outcome: str,
    rule: str,
    detail: dict[str, Any] | None = None,
) -> None:
    """Append one authentication entry in ``tx``."""
    entry = Entry(actor, purpose, action, [], [], outcome, rule, detail)
    rt.audit.append(tx, entry, at=rt.now())


def refuse(
    rt: Runtime,
    message: str,
    *,
    rule: str,
    actor: str,
    purpose: str,
    action: str,
    detail: dict[str, Any] | None = None,
    before: Callable[[Tx], dict[str, Any]] | None = None,
    **fields: Any,
) -> Denied:
    """A ``Denied`` that keeps its audit entry past the rollback.

    ``before`` runs first in the same after-rollback transaction (to count a
    failure, say) and returns more detail for the entry.
    """
    denied = Denied(message, rule=rule, **fields)

    def keep(tx: Tx) -> None:
        extra = before(tx) if before is not None else {}
        full = {**(detail or {}), **extra}
        record(
            tx,
            rt,
            actor=actor,
            purpose=purpose,
            action=action,
            outcome="denied",
            rule=rule,
            detail=full or None,
        )

    denied.keeping(keep)
    return denied
