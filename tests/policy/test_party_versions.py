"""The policy's third parties kept in the database with history.

Every start stores a declaration that changed as the next version and marks a
removed one withdrawn, so a record can name the party as it was on its day.
"""

from __future__ import annotations

from datetime import timedelta

import pytest
import yaml

from mamori import boot
from mamori.errors import NotFound
from mamori.policy.compiled import CompiledPolicy
from mamori.policy.loader import load_policy
from mamori.recipients import declarations
from mamori.recipients.declarations import JOINT_USE, PROCESSOR, RECIPIENT
from mamori.runtime import Runtime
from tests.conftest import Clock


def _rewrite(rt: Runtime, change: object) -> None:
    """Edit the home's policy file with ``change(data)`` and load it as a restart would."""
    path = rt.settings.policy_file
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    change(data)  # type: ignore[operator]
    path.write_text(yaml.safe_dump(data, allow_unicode=True, sort_keys=False), encoding="utf-8")
    rt.policy = CompiledPolicy.build(load_policy(path))


def test_every_declared_party_is_stored_at_start(rt: Runtime) -> None:
    with rt.db.transaction() as tx:
        for kind, items in (
            (RECIPIENT, rt.policy.recipients),
            (JOINT_USE, rt.policy.joint_uses),
            (PROCESSOR, rt.policy.processors),
        ):
            for key in items:
                assert declarations.current_version(tx, rt, kind, key) == 1
        (first,) = declarations.history(tx, RECIPIENT, "partner_singapore")
    assert first.declaration["country"] == "SG"
    assert first.declaration["foreign"]["system"]["en"].startswith("Singapore")
    assert declarations.sync(rt) == 0  # nothing changed: nothing written


def test_a_changed_declaration_becomes_the_next_version(rt: Runtime, clock: Clock) -> None:
    def move(data: dict) -> None:  # type: ignore[type-arg]
        partner = next(r for r in data["recipients"] if r["key"] == "partner_kanto")
        partner["representative"] = {"ja": "代表取締役 田中 二郎", "en": "Jiro Tanaka, President"}

    _rewrite(rt, move)
    clock.moment += timedelta(days=1)
    assert declarations.sync(rt) == 1
    with rt.db.transaction() as tx:
        old, new = declarations.history(tx, RECIPIENT, "partner_kanto")
        assert declarations.current_version(tx, rt, RECIPIENT, "partner_kanto") == 2
    assert old.declaration["representative"]["en"] == "Ichiro Yamamoto, President"
    assert new.declaration["representative"]["en"] == "Jiro Tanaka, President"
    assert new.recorded_at > old.recorded_at


def test_a_removed_party_is_withdrawn_and_comes_back_as_a_new_version(rt: Runtime) -> None:
    kept: list[dict] = []  # type: ignore[type-arg]

    def remove(data: dict) -> None:  # type: ignore[type-arg]
        kept.extend(p for p in data["processors"] if p["key"] == "call_center")
        data["processors"] = [p for p in data["processors"] if p["key"] != "call_center"]

    _rewrite(rt, remove)
    declarations.sync(rt)
    with rt.db.transaction() as tx:
        (only,) = declarations.history(tx, PROCESSOR, "call_center")
        assert only.withdrawn_at is not None
        with pytest.raises(NotFound):
            declarations.current_version(tx, rt, PROCESSOR, "call_center")
    _rewrite(rt, lambda data: data["processors"].extend(kept))
    assert declarations.sync(rt) == 1
    with rt.db.transaction() as tx:
        assert declarations.current_version(tx, rt, PROCESSOR, "call_center") == 2


def test_a_restart_stores_the_versions_once(rt: Runtime) -> None:
    rt.close()
    again = boot.start(rt.settings, clock=rt.clock)
    try:
        with again.db.transaction() as tx:
            count = tx.fetchone("SELECT COUNT(*) FROM party_versions")[0]
        declared = len(again.policy.recipients) + len(again.policy.joint_uses)
        assert count == declared + len(again.policy.processors)
    finally:
        again.close()
