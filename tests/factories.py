"""Factories: register subjects with synthetic values, for any test that needs people.

Values come from ``mamori.synthetic.Population`` (Faker ``ja_JP`` names, reserved
e-mail domains, phone numbers of the retired 020-0 pager block, real postal
codes), filtered to the categories the purpose covers. Each call takes the next
person of one population per process, so e-mail addresses never repeat.

    ref, values = register_customer(rt)
    ref, values = register_customer(rt, **{"user.contact.email": "a@example.jp"})
    refs = register_customers(rt, 50)
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from functools import cache

from mamori.db.engine import Tx
from mamori.guard.rules import Actor
from mamori.runtime import Runtime
from mamori.subjects.intake import Registration, register_many
from mamori.synthetic import Population
from tests.conftest import actor

CHANNEL = "product_purchase"
PURPOSE = "purchase_fulfillment"
_numbers = itertools.count(1)


@cache
def population() -> Population:
    """One population per process: building Faker's pools costs a fraction of a second."""
    return Population(seed=20261130, pool=300)


def customer_values(
    rt: Runtime, *, purpose: str = PURPOSE, **overrides: str | None
) -> dict[str, str]:
    """A synthetic person's values for ``purpose``; an override of None drops a category."""
    covered = rt.policy.categories_of(purpose)
    person = population().person(next(_numbers))
    values = {k: v for k, v in person.values.items() if k in covered}
    for category, value in overrides.items():
        if value is None:
            values.pop(category, None)
        else:
            values[category] = value
    return values


def register_customer(
    rt: Runtime,
    *,
    by: Actor | None = None,
    channel: str = CHANNEL,
    purpose: str = PURPOSE,
    consents: Sequence[str] = (),
    explicit: bool = False,
    tx: Tx | None = None,
    **overrides: str | None,
) -> tuple[str, dict[str, str]]:
    """Register one synthetic customer; returns its reference and the values as typed."""
    values = customer_values(rt, purpose=purpose, **overrides)
    refs = register_records(
        rt,
        [Registration(values, tuple(consents), explicit)],
        by=by,
        channel=channel,
        purpose=purpose,
        tx=tx,
    )
    return refs[0], values


def register_customers(
    rt: Runtime,
    count: int,
    *,
    by: Actor | None = None,
    channel: str = CHANNEL,
    purpose: str = PURPOSE,
    consents: Sequence[str] = (),
    tx: Tx | None = None,
) -> list[str]:
    """Register ``count`` synthetic customers in one batch; returns their references."""
    records = [
        Registration(customer_values(rt, purpose=purpose), tuple(consents)) for _ in range(count)
    ]
    return register_records(rt, records, by=by, channel=channel, purpose=purpose, tx=tx)


def register_records(
    rt: Runtime,
    records: Sequence[Registration],
    *,
    by: Actor | None = None,
    channel: str = CHANNEL,
    purpose: str = PURPOSE,
    tx: Tx | None = None,
) -> list[str]:
    """Register prepared records, in ``tx`` or in a unit of work of their own."""
    who = by or actor("sales")
    if tx is not None:
        return register_many(tx, rt, actor=who, channel=channel, purpose=purpose, records=records)
    with rt.db.transaction() as own:
        return register_many(own, rt, actor=who, channel=channel, purpose=purpose, records=records)
