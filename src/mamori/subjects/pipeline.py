"""Validating a stream's batches ahead of the writing, in worker processes.

A privacy officer importing a customer list of a million rows waits mostly
for the writing; validation costs a seventh of it and needs no grant and no
key, so ``intake.register_stream`` has worker processes validate the
batches ahead while it seals and writes the one before. This module holds
those workers: whether a stream is long enough to start them, how they are
started, what they are given and send back, and how Mamori carries on
validating in its own process when one is not up or fails, so that an
import gives the same result with or without them.
"""

from __future__ import annotations

import itertools
import multiprocessing
import os
import subprocess
import sys
from collections import deque
from collections.abc import Iterable, Iterator
from typing import TYPE_CHECKING

from mamori.policy.schemas import Validator
from mamori.subjects.validation import Problem, normalize_many, serve

if TYPE_CHECKING:  # for annotations only: intake imports this module
    from mamori.subjects.intake import Prepared, Registration, _Checks

# Below this many records a stream is validated here: starting worker processes
# (a fresh interpreter each) costs more than validating them. Smaller batches
# would cost more in messages to the workers than the work they take away.
POOL_THRESHOLD = 20_000
POOLED_BATCH = 100


def _chunks(records: Iterable[Registration], size: int) -> Iterator[list[Registration]]:
    """``records`` in lists of ``size`` (the last may be shorter), read as they are needed."""
    iterator = iter(records)
    while chunk := list(itertools.islice(iterator, size)):
        yield chunk


def stream_validation(
    validators: dict[str, Validator], records: Iterable[Registration], batch: int, workers: int
) -> tuple[Validation, Iterator[list[Registration]]]:
    """The stream's validation and its batches; the first are read ahead to tell whether
    the stream is long enough (``POOL_THRESHOLD``) for workers."""
    chunks = _chunks(records, batch)
    ahead = list(itertools.islice(chunks, max(1, -(-POOL_THRESHOLD // batch))))
    pooled = workers > 0 and batch >= POOLED_BATCH and sum(map(len, ahead)) >= POOL_THRESHOLD
    return Validation(validators, workers if pooled else 0), itertools.chain(ahead, chunks)


class Validation:
    """Validation of a stream's batches, here or ahead in worker processes.

    Each worker is a fresh interpreter that imports only ``validation`` (see
    ``validation.serve``): nothing of this process, its threads, connections
    or keys, is copied into it, and no caller's code runs there. Batches go
    to the workers in turn, one each at a time, ahead of the one being
    written; a worker sends back only what normalization changed, which
    costs this process less than normalizing. Until a worker is up, or if
    it fails, its batches are validated here.
    """

    def __init__(self, validators: dict[str, Validator], workers: int) -> None:
        self.validators = validators
        self.workers: list[_Worker] = []
        self.wanted = workers

    def __enter__(self) -> Validation:
        if self.wanted and sys.executable:
            self.workers = [_Worker() for _ in range(self.wanted)]
        return self

    def __exit__(self, *exc: object) -> None:
        for worker in self.workers:
            worker.close()

    def run(
        self, checks: _Checks, chunks: Iterator[list[Registration]]
    ) -> Iterator[tuple[list[Registration], Prepared]]:
        """Each chunk with what ``prepare`` makes of it, in order; its index runs on."""
        turns = itertools.cycle(self.workers or [None])
        queued: deque[tuple[list[Registration], _Worker | None]] = deque()
        for chunk in itertools.islice(chunks, max(1, len(self.workers))):
            queued.append((chunk, self._hand(next(turns), chunk)))
        offset = 0
        while queued:
            chunk, worker = queued.popleft()
            results = worker.results(chunk) if worker is not None else None
            if results is None:
                results = normalize_many(self.validators, [r.values for r in chunk])
            following = next(chunks, None)
            if following is not None:
                queued.append((following, self._hand(next(turns), following)))
            yield chunk, checks.collect(chunk, results, offset)
            offset += len(chunk)

    def _hand(self, worker: _Worker | None, chunk: list[Registration]) -> _Worker | None:
        """The worker now validating ``chunk``, or None if it is to be validated here."""
        if worker is not None and worker.take(self.validators, chunk):
            return worker
        return None


_SERVE = f"from {serve.__module__} import serve; serve"


def _worker_environment() -> dict[str, str]:
    """This process's environment without Mamori's settings (a key may be among them),
    and with its import path, so that the worker imports the same ``mamori``."""
    kept = {k: v for k, v in os.environ.items() if not k.startswith("MAMORI_")}
    return {**kept, "PYTHONPATH": os.pathsep.join(p for p in sys.path if p)}


class _Worker:
    """One validation process, given one chunk at a time over a pipe."""

    def __init__(self) -> None:
        ours, theirs = multiprocessing.Pipe()
        self.conn = ours
        self.up = False
        self.process: subprocess.Popen[bytes] | None = None
        command = [sys.executable, "-c", f"{_SERVE}({theirs.fileno()})"]
        try:
            # This interpreter and a fixed program: nothing in the command comes from input.
            self.process = subprocess.Popen(  # noqa: S603
                command,
                pass_fds=[theirs.fileno()],
                env=_worker_environment(),
                stdin=subprocess.DEVNULL,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )
        except (OSError, ValueError):  # ValueError: no pass_fds on this platform
            self.conn.close()
        finally:
            theirs.close()

    def take(self, validators: dict[str, Validator], chunk: list[Registration]) -> bool:
        """Send ``chunk`` if this worker is up and idle; False: validate it elsewhere."""
        if self.process is None or self.conn.closed:
            return False
        try:
            if not self.up:
                if not self.conn.poll():
                    return False
                if self.conn.recv() != "ready":
                    raise EOFError("the worker did not start as it should")
                self.up = True
            self.conn.send((validators, [r.values for r in chunk]))
        except Exception:  # a broken pipe, or values that do not pickle: validate them here
            self.conn.close()
            return False
        return True

    def results(self, chunk: list[Registration]) -> list[dict[str, str] | list[Problem]] | None:
        """What the worker made of ``chunk``; None if it failed (it is then not used again)."""
        try:
            changes = self.conn.recv()
        except (OSError, EOFError):
            self.conn.close()
            return None
        if changes is None:  # the worker raised; validating here raises the same
            return None
        return _applied(chunk, changes)

    def close(self) -> None:
        self.conn.close()
        if self.process is not None:
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


def _applied(
    chunk: list[Registration], changes: Iterable[tuple[tuple[str, str], ...] | list[Problem]]
) -> list[dict[str, str] | list[Problem]]:
    """Each record's values with its changes put in, or its problems."""
    results: list[dict[str, str] | list[Problem]] = []
    for record, changed in zip(chunk, changes, strict=True):
        if isinstance(changed, tuple):
            values = dict(record.values)
            values.update(changed)
            results.append(values)
        else:
            results.append(changed)
    return results
