"""Changing a downstream system after it is registered: a new address, other events,
and a fresh start for the messages it was given up on once it is mended.
"""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest

from mamori.dsr import systems
from mamori.dsr.delivery import deliver_due
from mamori.errors import NotFound, ValidationFailed
from mamori.runtime import Runtime
from tests.conftest import Clock
from tests.dsr.outbox_support import add_system, entries, messages, queue
from tests.dsr.receiver import running_receiver
from tests.dsr.test_systems_cli import done, refused
from tests.dsr.test_systems_cli import home as home  # the CLI's home fixture
from tests.factories import register_customer


def _update(rt: Runtime, **changes: object) -> dict[str, object]:
    with rt.db.transaction() as tx:
        return systems.update(tx, rt, key="shop", by="test", **changes)  # type: ignore[arg-type]


def test_a_moved_system_gets_its_queued_message_at_the_new_address(rt: Runtime) -> None:
    with running_receiver() as old, running_receiver() as new:
        add_system(rt, "shop", old.url)
        ref, _ = register_customer(rt)
        queue(rt, ref)  # queued for the old address, not yet sent
        row = _update(rt, url=new.url)
        assert row["url"] == new.url
        assert deliver_due(rt).delivered == 1
    assert (len(old.posts), len(new.posts)) == (0, 1)
    (entry,) = entries(rt, "system_update")
    assert entry["detail"] == {"system": "shop", "changed": ["url"]}


def test_new_events_apply_to_events_from_now_on(rt: Runtime) -> None:
    add_system(rt, "shop", "https://shop.example.jp/hooks", events=["erasure"])
    ref, _ = register_customer(rt)
    assert queue(rt, ref, event="correction") == []
    row = _update(rt, events=["correction", "erasure"], title="Web shop")
    assert (row["events"], row["title"]) == (["correction", "erasure"], "Web shop")
    assert queue(rt, ref, event="correction") != []


@pytest.mark.parametrize(
    ("changes", "code"),
    [
        ({"url": "http://shop.example.jp/hooks"}, "system_url_insecure"),
        ({"events": ["everything"]}, "system_event_invalid"),
        ({}, "nothing_to_change"),
    ],
)
def test_a_bad_change_is_refused_and_changes_nothing(
    rt: Runtime, changes: dict[str, object], code: str
) -> None:
    add_system(rt, "shop", "https://shop.example.jp/hooks")
    with pytest.raises(ValidationFailed) as refusal:
        _update(rt, **changes)
    assert refusal.value.code == code
    with rt.db.transaction() as tx:
        (row,) = systems.list_systems(tx)
    assert row["url"] == "https://shop.example.jp/hooks"
    assert entries(rt, "system_update") == []


def test_an_unknown_system_is_not_found(rt: Runtime) -> None:
    with pytest.raises(NotFound), rt.db.transaction() as tx:
        systems.update(tx, rt, key="nowhere", by="test", title="x")
    with pytest.raises(NotFound), rt.db.transaction() as tx:
        systems.requeue_dead(tx, rt, key="nowhere", by="test")


def test_dead_messages_start_again_once_the_system_is_mended(rt: Runtime, clock: Clock) -> None:
    with running_receiver(fail_first=100, fail_status=503) as broken:
        add_system(rt, "shop", broken.url)
        ref, _ = register_customer(rt)
        queue(rt, ref)
        for _ in range(12):
            deliver_due(rt)
            clock.moment += timedelta(hours=7)
    (dead,) = messages(rt, "dead")
    with running_receiver() as mended:
        _update(rt, url=mended.url)
        with rt.db.transaction() as tx:
            assert systems.requeue_dead(tx, rt, key="shop", by="test") == 1
        (pending,) = messages(rt, "pending")
        assert (pending["message"], pending["attempts"]) == (dead["message"], 0)
        assert deliver_due(rt).delivered == 1
    (post,) = mended.posts
    assert post.headers["Mamori-Webhook-Id"] == dead["message"]  # the same idempotency id
    with rt.db.transaction() as tx:
        assert systems.requeue_dead(tx, rt, key="shop", by="test") == 0
    assert sorted(e["detail"]["messages"] for e in entries(rt, "system_requeue")) == [0, 1]


def test_update_and_requeue_from_the_terminal(home: Path) -> None:
    done(home, "add", "shop", "--url", "https://shop.example.jp/a", "--event", "erasure")
    row = done(
        home, "update", "shop", "--url", "https://shop.example.jp/b", "--event", "correction"
    )
    assert (row["url"], row["events"]) == ("https://shop.example.jp/b", ["correction"])
    assert done(home, "requeue", "shop") == {"key": "shop", "requeued": 0}
    assert refused(home, "update", "shop")["code"] == "nothing_to_change"
    assert refused(home, "requeue", "nowhere")["code"] == "unknown_system"
