"""One thread writes every accepted job, many per transaction (group commit).

A burst of acks then costs one commit per batch instead of one per request, and no request thread
waits on the database's write lock: each waits on its own future, answered once its row is durable.
The ack still means "committed".
"""

from __future__ import annotations

import asyncio
import logging
import queue
import threading
from collections.abc import Callable
from concurrent.futures import Future
from typing import Protocol

from sqlalchemy.exc import IntegrityError

from bot.jobs.queue import Enqueued, JobQueue
from bot.store.spec import JobSpec

log = logging.getLogger(__name__)


class JobCommitter(Protocol):
    def submit(self, spec: JobSpec) -> Future[Enqueued]:
        """The job's place once its row is committed; the future holds the exception if it could not be."""
        ...


class DirectCommitter:
    """Commits each job at once in the caller's thread: for tests, tools and quiet processes."""

    def __init__(self, queue: JobQueue) -> None:
        self._queue = queue

    def submit(self, spec: JobSpec) -> Future[Enqueued]:
        future: Future[Enqueued] = Future()
        try:
            result = self._queue.enqueue(spec)
        except Exception as error:
            future.set_exception(error)
            return future
        future.set_result(result)
        _log_committed([result])
        return future


_Sink = Future[Enqueued] | asyncio.Future[Enqueued]


class GroupCommitWriter:
    """The production committer: a background thread that drains what has arrived into one batch.

    `submit_async` is the event loop's way in (the HTTP front's /imagine): its futures are settled on
    their loop with one hand-back per batch, not one per job, and `on_created` (the workers' wake-up)
    runs once per commit that created a job. A burst then costs the loop one wake-up per batch instead
    of a cross-thread call and a pipe write per request (BENCHMARKS.md, "profiles").
    """

    def __init__(
        self, queue_: JobQueue, *, max_batch: int = 500, on_created: Callable[[], None] = lambda: None
    ) -> None:
        self._queue = queue_
        self._max_batch = max_batch
        self._on_created = on_created
        self._pending: queue.SimpleQueue[tuple[JobSpec, _Sink] | None] = queue.SimpleQueue()
        self._thread = threading.Thread(target=self._run, name="job-writer", daemon=True)
        self.batches = 0  # how many commits (the tests check that a burst takes few)

    def start(self) -> GroupCommitWriter:
        self._thread.start()
        return self

    def submit(self, spec: JobSpec) -> Future[Enqueued]:
        future: Future[Enqueued] = Future()
        self._pending.put((spec, future))
        return future

    def submit_async(self, spec: JobSpec) -> asyncio.Future[Enqueued]:
        """Like `submit`, from a coroutine: the future belongs to the running loop and is settled there."""
        future: asyncio.Future[Enqueued] = asyncio.get_running_loop().create_future()
        self._pending.put((spec, future))
        return future

    def stop(self, timeout: float = 10.0) -> None:
        """Commit what has been accepted so far, then end the thread."""
        self._pending.put(None)
        self._thread.join(timeout)

    def _run(self) -> None:
        while True:
            first = self._pending.get()
            if first is None:
                return
            batch = [first]
            stopping = False
            while len(batch) < self._max_batch:
                try:
                    item = self._pending.get_nowait()
                except queue.Empty:
                    break
                if item is None:
                    stopping = True
                    break
                batch.append(item)
            self._commit(batch)
            if stopping:
                return

    def _commit(self, batch: list[tuple[JobSpec, _Sink]]) -> None:
        specs = [spec for spec, _ in batch]
        try:
            try:
                results: list[Enqueued | BaseException] = list(self._queue.enqueue_many(specs))
            except IntegrityError:
                # Another web process committed one of these dedupe keys between our check and insert:
                # the retry's check sees it.
                results = list(self._queue.enqueue_many(specs))
        except Exception as error:
            log.exception("could not commit %d accepted request(s)", len(batch))
            _settle([future for _, future in batch], [error] * len(batch))
            return
        self.batches += 1
        _settle([future for _, future in batch], results)
        committed = [r for r in results if isinstance(r, Enqueued)]
        if any(r.created for r in committed):
            self._on_created()
        _log_committed(committed)


def _settle(futures: list[_Sink], outcomes: list[Enqueued | BaseException]) -> None:
    """Thread futures at once; loop futures in one call per loop, on that loop's thread."""
    by_loop: dict[asyncio.AbstractEventLoop, list[tuple[asyncio.Future[Enqueued], Enqueued | BaseException]]] = {}
    for future, outcome in zip(futures, outcomes, strict=True):
        if isinstance(future, asyncio.Future):
            by_loop.setdefault(future.get_loop(), []).append((future, outcome))
        elif isinstance(outcome, BaseException):
            future.set_exception(outcome)
        else:
            future.set_result(outcome)
    for loop, pairs in by_loop.items():
        try:
            loop.call_soon_threadsafe(_settle_on_loop, pairs)
        except RuntimeError:  # the loop has closed: nobody is waiting any more
            log.warning("%d accepted request(s) committed after their event loop closed", len(pairs))


def _settle_on_loop(pairs: list[tuple[asyncio.Future[Enqueued], Enqueued | BaseException]]) -> None:
    for future, outcome in pairs:
        if future.done():  # timed out (the front answered "not accepted") or cancelled
            continue
        if isinstance(outcome, BaseException):
            future.set_exception(outcome)
        else:
            future.set_result(outcome)


def _log_committed(results: list[Enqueued]) -> None:
    """One line per commit, not per request: a burst is logged in a few lines, each job id in them."""
    created = [r.job for r in results if r.created]
    if created:
        log.info(
            "queued job(s) %s (%s)",
            ", ".join(str(job.id) for job in created),
            ", ".join(sorted({f"{job.origin.kind} in {job.origin.channel_id}" for job in created})),
        )
