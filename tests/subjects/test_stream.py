"""Registering a stream: the same records, problems and rows with workers as without.

``prepare`` is held to the implementation it replaced (consents first, then
``subjects.service.normalize_values`` record by record). ``register_stream``
is run with its worker processes made to take every batch they can and
without them, and must hand ``write_batch`` the same values and report the
same problems; a worker that dies leaves its batches to the parent.
"""

from __future__ import annotations

import csv
import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mamori.demo import EXAMPLE_POLICY
from mamori.errors import ValidationFailed
from mamori.policy.compiled import CompiledPolicy
from mamori.policy.loader import load_policy
from mamori.policy.schemas import Channel
from mamori.runtime import Runtime
from mamori.subjects import bulk, intake, pipeline, service, store
from mamori.subjects.intake import InvalidRecords, Registration, register_stream
from mamori.synthetic import Population
from tests.conftest import actor
from tests.subjects.test_validation import BAD

CHANNEL = "product_purchase"
PURPOSE = "purchase_fulfillment"


class _PolicyOnly:
    """What ``prepare`` reads of a runtime: the policy."""

    def __init__(self) -> None:
        self.policy = CompiledPolicy.build(load_policy(EXAMPLE_POLICY))


POLICY_ONLY = _PolicyOnly()


def _old_prepare(rt: Any, channel: Channel, records: Sequence[Registration]) -> intake.Prepared:
    """``intake.prepare`` as it was before the fast paths, for comparison."""
    prepared = intake.Prepared()
    for index, record in enumerate(records):
        try:
            for purpose in record.consents:
                rule = rt.policy.rules.get(purpose)
                if rule is None or not rule.needs_consent:
                    raise ValidationFailed(f"'{purpose}' is not a purpose that rests on consent")
                if purpose not in channel.purposes:
                    raise ValidationFailed(
                        f"channel '{channel.key}' does not ask for consent to '{purpose}'"
                    )
            prepared.values.append(service.normalize_values(rt, record.values))
            prepared.refs.append(store.new_ref())
        except ValidationFailed as exc:
            prepared.problems.append(
                intake.BatchProblem(index, exc.fields.get("problems") or [exc.message])
            )
    return prepared


_PEOPLE = [p.values for p in Population(seed=41, pool=60).people(60)]
_BAD_VALUES = [raw for _, raw, _ in BAD]
_CONSENTS = ["satisfaction_research", "service_improvement", "email_delivery", "nonsense"]


@st.composite
def _registration(draw: st.DrawFn) -> Registration:
    values = dict(draw(st.sampled_from(_PEOPLE)))
    for category in draw(st.lists(st.sampled_from(sorted(values)), max_size=3)):
        values[category] = draw(st.sampled_from(_BAD_VALUES))
    if draw(st.integers(0, 9)) == 0:
        values["user.no_such_category"] = "x"
    consents = draw(st.lists(st.sampled_from(_CONSENTS), max_size=2))
    return Registration(values, tuple(consents), draw(st.booleans()))


@settings(max_examples=150, deadline=None)
@given(st.lists(_registration(), max_size=25), st.sampled_from([CHANNEL, "email_subscription"]))
def test_prepare_is_what_it_was(records: list[Registration], channel: str) -> None:
    rt: Any = POLICY_ONLY
    spec = rt.policy.channel(channel)
    new, old = intake.prepare(rt, spec, records), _old_prepare(rt, spec, records)
    assert new.values == old.values
    assert new.problems == old.problems
    assert len(new.refs) == len(set(new.refs)) == len(old.refs)
    assert all(store.REF_PATTERN.fullmatch(r) for r in new.refs)


# The stream, with and without workers.


@pytest.fixture
def eager_workers(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """Workers for any stream, each waited for, so that they take every batch they can.

    Returns a list that grows by one for every batch a worker validated.
    """
    monkeypatch.setattr(pipeline, "POOL_THRESHOLD", 1)
    monkeypatch.setattr(pipeline, "POOLED_BATCH", 1)
    taken: list[int] = []
    take, results = pipeline._Worker.take, pipeline._Worker.results

    def waiting_take(self: pipeline._Worker, *args: Any) -> bool:
        if not self.up and not self.conn.closed:
            assert self.conn.poll(60), "the validation worker did not start"
        return take(self, *args)

    def counted_results(self: pipeline._Worker, chunk: list[Registration]) -> Any:
        answer = results(self, chunk)
        if answer is not None:
            taken.append(len(chunk))
        return answer

    monkeypatch.setattr(pipeline._Worker, "take", waiting_take)
    monkeypatch.setattr(pipeline._Worker, "results", counted_results)
    return taken


def _written(monkeypatch: pytest.MonkeyPatch) -> list[list[dict[str, str]]]:
    """The values of each batch ``write_batch`` is given, from now on."""
    batches: list[list[dict[str, str]]] = []
    write = intake.write_batch

    def recording(*args: Any, **kwargs: Any) -> list[str]:
        batches.append([dict(v) for v in kwargs["prepared"].values])
        return write(*args, **kwargs)

    monkeypatch.setattr(intake, "write_batch", recording)
    return batches


def _people(rt: Runtime, count: int, seed: int = 7) -> list[Registration]:
    covered = rt.policy.categories_of(PURPOSE)
    return [
        Registration({k: v for k, v in p.values.items() if k in covered})
        for p in Population(seed=seed, pool=80).people(count)
    ]


def _stream(rt: Runtime, records: Sequence[Registration], *, workers: int, batch: int = 40) -> int:
    with rt.db.transaction() as tx:
        return register_stream(
            tx,
            rt,
            actor=actor("sales"),
            channel=CHANNEL,
            purpose=PURPOSE,
            records=iter(records),
            batch=batch,
            workers=workers,
        )


def test_workers_hand_over_the_values_validation_here_would(
    rt: Runtime, monkeypatch: pytest.MonkeyPatch, eager_workers: list[int]
) -> None:
    records = _people(rt, 330)
    written = _written(monkeypatch)
    before = _audit_count(rt)
    assert _stream(rt, records, workers=2) == 330
    pooled = list(written)
    assert sum(eager_workers) >= 330 - 2 * 40, "the workers validated almost nothing"
    assert _audit_count(rt) == before + 9  # one entry per batch of 40
    written.clear()
    assert _stream(rt, records, workers=0) == 330
    assert written == pooled
    assert [len(b) for b in pooled] == [40] * 8 + [10]


def test_a_streamed_subject_reads_back_its_normalized_values(
    rt: Runtime, eager_workers: list[int]
) -> None:
    records = _people(rt, 120, seed=8)
    assert _stream(rt, records, workers=2, batch=30) == 120
    assert eager_workers
    with rt.db.transaction() as tx:
        refs = [r[0] for r in tx.fetchall("SELECT ref FROM subjects")]
    expected = [service.normalize_values(rt, r.values) for r in records]
    with rt.db.transaction() as tx:
        views, refused = service.read_many(
            tx,
            rt,
            actor=actor("sales"),
            refs=refs,
            purpose=PURPOSE,
            categories=sorted({c for v in expected for c in v}),
        )
    assert not refused
    by_ref = {v.ref: v.values for v in views}
    assert sorted(map(_key, by_ref.values())) == sorted(map(_key, expected))


def _key(values: dict[str, str]) -> str:
    return json.dumps(values, sort_keys=True, ensure_ascii=False)


def _with_problems(rt: Runtime) -> list[Registration]:
    records = _people(rt, 260, seed=9)
    for n in range(0, 260, 4):  # 65 invalid records, more than are reported
        values = dict(records[n].values)
        values["user.contact.email"] = "not-an-address"
        if n % 3 == 0:
            values["user.no_such_category"] = "x"
        records[n] = Registration(values)
    records[201] = Registration(records[201].values, ("email_delivery",))
    return records


def test_every_problem_is_counted_and_the_first_are_shown_with_or_without_workers(
    rt: Runtime, eager_workers: list[int]
) -> None:
    records = _with_problems(rt)
    caught = []
    for workers in (2, 0):
        with pytest.raises(InvalidRecords) as refused:
            _stream(rt, records, workers=workers)
        caught.append(refused.value)
    pooled, here = caught
    assert eager_workers
    assert pooled.to_dict() == here.to_dict()
    assert (
        pooled.message == "66 of 260 records are invalid; nothing was registered (first 50 shown)"
    )
    problems = pooled.fields["problems"]
    assert len(problems) == intake.MAX_REPORTED
    assert problems[1] == "record 5: user.contact.email is not a valid e-mail address"
    assert problems[3] == (
        "record 13: user.contact.email is not a valid e-mail address;"
        " the policy declares no data category 'user.no_such_category'"
    )
    assert all("not-an-address" not in p for p in problems)
    with rt.db.transaction() as tx:
        assert tx.fetchone("SELECT count(*) FROM subjects")[0] == 0


def test_a_small_stream_or_small_batches_start_no_worker(
    rt: Runtime, monkeypatch: pytest.MonkeyPatch
) -> None:
    def no_worker() -> None:
        raise AssertionError("a small stream started a worker")

    monkeypatch.setattr(pipeline, "_Worker", no_worker)
    assert _stream(rt, _people(rt, 100), workers=2) == 100
    assert _stream(rt, [], workers=2) == 0
    monkeypatch.setattr(pipeline, "POOL_THRESHOLD", 1)
    assert _stream(rt, _people(rt, 100), workers=2, batch=pipeline.POOLED_BATCH - 1) == 100


def test_the_parent_takes_over_from_a_worker_that_dies(
    rt: Runtime, monkeypatch: pytest.MonkeyPatch, eager_workers: list[int]
) -> None:
    results = pipeline._Worker.results

    def dying(self: pipeline._Worker, chunk: list[Registration]) -> Any:
        assert self.process is not None
        self.process.kill()
        self.process.wait()
        return results(self, chunk)

    monkeypatch.setattr(pipeline._Worker, "results", dying)
    written = _written(monkeypatch)
    records = _people(rt, 200, seed=10)
    assert _stream(rt, records, workers=2) == 200
    assert [v for batch in written for v in batch] == [
        service.normalize_values(rt, r.values) for r in records
    ]


def test_a_value_that_breaks_validation_breaks_it_the_same_way_in_a_worker(
    rt: Runtime, eager_workers: list[int]
) -> None:
    records = _people(rt, 100, seed=12)
    records[70] = Registration({"user.name": 42})  # type: ignore[dict-item]
    with pytest.raises(AttributeError):
        _stream(rt, records, workers=2)


def _audit_count(rt: Runtime) -> int:
    with rt.db.transaction() as tx:
        return int(tx.fetchone("SELECT count(*) FROM audit_entries")[0])


# CSV import.


def _csv(path: Path, records: Sequence[Registration]) -> Path:
    columns = sorted({c for r in records for c in r.values})
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.DictWriter(handle, [*columns, "consents"])
        writer.writeheader()
        for record in records:
            writer.writerow({**record.values, "consents": ";".join(record.consents)})
    return path


def _import(rt: Runtime, file: Path, *, workers: int) -> dict[str, Any]:
    with rt.db.transaction() as tx:
        return bulk.import_csv(
            tx,
            rt,
            file=file,
            actor=actor("sales"),
            purpose=PURPOSE,
            channel=CHANNEL,
            batch=40,
            workers=workers,
        )


def test_an_import_reports_the_same_lines_with_or_without_workers(
    rt: Runtime, tmp_path: Path, eager_workers: list[int]
) -> None:
    file = _csv(tmp_path / "people.csv", _with_problems(rt))
    caught = []
    for workers in (2, 0):
        with pytest.raises(ValidationFailed) as refused:
            _import(rt, file, workers=workers)
        caught.append(refused.value)
    assert eager_workers
    assert caught[0].to_dict() == caught[1].to_dict()
    assert caught[0].message == (
        f"66 invalid record(s) in {file}; nothing was registered (first 50 shown)"
    )
    problems = caught[0].fields["problems"]
    assert problems[0] == (
        "line 2: user.contact.email is not a valid e-mail address;"
        " the policy declares no data category 'user.no_such_category'"
    )
    assert problems[1] == "line 6: user.contact.email is not a valid e-mail address"


def test_an_import_registers_every_line_with_workers(
    rt: Runtime, tmp_path: Path, eager_workers: list[int]
) -> None:
    file = _csv(tmp_path / "people.csv", _people(rt, 150, seed=13))
    assert _import(rt, file, workers=2) == {"file": str(file), "registered": 150}
    assert eager_workers
