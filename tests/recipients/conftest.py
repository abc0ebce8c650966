"""Helpers for provision tests: subscribers who consented (or not), one provision call,
and what the audit log and the record tables hold afterwards."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from mamori.guard.rules import Actor
from mamori.policy.schemas import ProvisionBasis
from mamori.recipients import provision
from mamori.recipients.export import ExportFormat
from mamori.runtime import Runtime
from tests.api.conftest import client, token_for
from tests.conftest import actor
from tests.factories import register_customer

PARTNER = "partner_information"
__all__ = ["client", "token_for"]  # the API fixtures, shared with the API tests here


def subscriber(rt: Runtime, *, consent: bool = True) -> tuple[str, dict[str, str]]:
    """A newsletter subscriber; with ``consent`` they agreed to partner information."""
    if consent:
        return register_customer(
            rt,
            by=actor("officer"),
            channel="email_subscription",
            purpose=PARTNER,
            consents=[PARTNER, "email_delivery"],
        )
    return register_customer(
        rt,
        by=actor("officer"),
        channel="email_subscription",
        purpose="email_delivery",
        consents=["email_delivery"],
    )


def supported(rt: Runtime) -> tuple[str, dict[str, str]]:
    """A customer who asked for support (no consent to anything)."""
    return register_customer(
        rt, by=actor("officer"), channel="support_request", purpose="product_support"
    )


def provide(
    rt: Runtime,
    refs: Sequence[str] | None,
    *,
    recipient: str = "partner_kanto",
    purpose: str = PARTNER,
    basis: ProvisionBasis = ProvisionBasis.CONSENT,
    by: Actor | None = None,
    fmt: ExportFormat = ExportFormat.JSON,
    **kwargs: Any,
) -> provision.ProvisionResult:
    selection = kwargs.pop("selection", None) or provision.Selection(refs=refs)
    with rt.db.transaction() as tx:
        return provision.provide(
            tx,
            rt,
            actor=by or actor("officer"),
            recipient=recipient,
            purpose=purpose,
            basis=basis,
            selection=selection,
            fmt=fmt,
            **kwargs,
        )


def last_entry(rt: Runtime) -> dict[str, Any]:
    with rt.db.transaction() as tx:
        row = tx.fetchone(
            "SELECT actor, purpose, action, subjects, outcome, rule, detail"
            " FROM audit_entries ORDER BY seq DESC LIMIT 1"
        )
    keys = ("actor", "purpose", "action", "subjects", "outcome", "rule", "detail")
    entry = dict(zip(keys, row, strict=True))
    entry["detail"] = json.loads(entry["detail"] or "{}")
    entry["subjects"] = json.loads(entry["subjects"] or "[]")
    return entry


def audit_count(rt: Runtime) -> int:
    with rt.db.transaction() as tx:
        return int(tx.fetchone("SELECT count(*) FROM audit_entries")[0])


def counts(rt: Runtime) -> tuple[int, int]:
    """How many provision records and provision subject rows there are."""
    with rt.db.transaction() as tx:
        records = tx.fetchone("SELECT count(*) FROM provisions")[0]
        subjects = tx.fetchone("SELECT count(*) FROM provision_subjects")[0]
    return int(records), int(subjects)


def exported(result: provision.ProvisionResult) -> dict[str, dict[str, str]]:
    """A JSON export as subject reference → values."""
    data = json.loads(result.export.content)
    return {item["subject"]: item["values"] for item in data["subjects"]}
