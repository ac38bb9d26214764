"""The worker process's threads: `concurrency` runners draining the queue (an idle one takes a new job
as it comes, message and all), one announcer posting the placeholders of jobs that wait, and one
heartbeat renewing the leases of running jobs."""

from __future__ import annotations

import logging
import os
import socket
import threading
import time
import uuid
from collections.abc import Callable, Collection
from datetime import timedelta

from bot.jobs.queue import JobQueue
from bot.store.spec import Job
from bot.worker.announcer import Announcer
from bot.worker.messages import to_post
from bot.worker.runner import JobRunner

log = logging.getLogger(__name__)


def worker_identity() -> str:
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:6]}"


class WorkerPool:
    def __init__(
        self,
        queue: JobQueue,
        make_runner: Callable[[str, threading.Event], JobRunner],
        announcer: Callable[[str], Announcer] | None,
        *,
        concurrency: int,
        lease_s: float,
        poll_s: float,
        owner: str | None = None,
        crowded: Callable[[], Collection[str]] = lambda: (),
    ) -> None:
        self.owner = owner or worker_identity()
        self._queue = queue
        self._stopping = threading.Event()
        self._runner = make_runner(self.owner, self._stopping)
        self._announcer = announcer(self.owner) if announcer is not None else None
        self._concurrency = concurrency
        self._lease = timedelta(seconds=lease_s)
        self._poll_s = poll_s
        self._crowded = crowded  # channels Slack's pace holds back: their new jobs wait for the announcer
        self._doorbell = Doorbell(concurrency)
        self._announce = threading.Event()
        self._handover = threading.Event()  # a wake-up went to an idle worker instead of the announcer
        self._stopped = threading.Event()  # the heartbeat outlives the workers' last jobs
        self._in_flight: set[int] = set()
        self._lock = threading.Lock()
        self._threads: list[threading.Thread] = []
        self._last_heartbeat = time.monotonic()

    def start(self) -> None:
        for index in range(self._concurrency):
            self._spawn(self._work, f"worker-{index}")
        if self._announcer is not None:
            self._spawn(self._announce_loop, "announcer")
        self._heartbeat_thread = threading.Thread(target=self._heartbeat, name="heartbeat", daemon=True)
        self._heartbeat_thread.start()
        log.info("%d workers started as %s", self._concurrency, self.owner)

    def _spawn(self, target: Callable[[], None], name: str) -> None:
        thread = threading.Thread(target=target, name=name, daemon=True)
        thread.start()
        self._threads.append(thread)

    def wake(self) -> None:
        """A job was just queued. An idle worker takes it at once and posts its message saying "Drawing"
        beside the call; when every worker is busy, the announcer posts its "Queued" placeholder now, not
        at the next poll (and a worker that takes a job so hands the rest of a burst on to the announcer)."""
        if self._announcer is None:
            self._doorbell.ring()
        elif self._doorbell.ring_idle():
            self._handover.set()  # whichever job the woken worker takes, the new one is not left waiting
        else:
            self._announce.set()

    def alive(self) -> bool:
        heartbeat_fresh = time.monotonic() - self._last_heartbeat < 3 * self._lease.total_seconds()
        threads = [*self._threads, self._heartbeat_thread] if self._threads else []
        return bool(threads) and all(t.is_alive() for t in threads) and heartbeat_fresh

    def idle(self) -> bool:
        """Whether a worker is waiting for work (the next job that comes is taken at once)."""
        return self._doorbell.idle

    def in_flight(self) -> set[int]:
        with self._lock:
            return set(self._in_flight)

    def stop(self, grace_s: float) -> None:
        """Stop claiming, let running jobs finish within `grace_s`, then hand the rest back to the queue."""
        self._stopping.set()
        self._doorbell.ring_all()
        self._announce.set()
        deadline = time.monotonic() + grace_s
        for thread in self._threads:
            thread.join(max(0.0, deadline - time.monotonic()))
        unfinished = self.in_flight()
        self._stopped.set()
        if unfinished:
            released = self._queue.release(self.owner, unfinished)
            log.warning("released %d unfinished job(s) back to the queue: %s", released, sorted(unfinished))
        log.info("workers stopped")

    def _work(self) -> None:
        posts = self._announcer is not None  # a job's message is in its channel: posted with the drawing
        while not self._stopping.is_set():
            try:
                # A read first: when there is nothing to do, an idle worker takes no write lock.
                crowded = self._crowded() if posts else ()
                due = self._queue.has_due(post_message=posts, crowded=crowded)
                job = self._queue.claim(self.owner, self._lease, post_message=posts, crowded=crowded) if due else None
            except Exception:
                log.exception("could not claim a job; the database may be down")
                self._stopping.wait(self._poll_s * 4)
                continue
            if job is None:
                if self._handover.is_set():  # the wake-up found nothing this worker may take: the announcer's
                    self._handover.clear()
                    self._announce.set()
                self._doorbell.wait(self._poll_s)
                continue
            # There may be more: the next idle worker looks. After a wake-up (or a new job taken with its
            # message, perhaps the first of a burst) with no worker left idle, the announcer puts up the
            # placeholders of the rest.
            if not self._doorbell.ring_idle() and (to_post(job) or self._handover.is_set()):
                self._handover.clear()
                self._announce.set()
            self._run(job)

    def _run(self, job: Job) -> None:
        with self._lock:
            self._in_flight.add(job.id)
        try:
            self._runner.run(job)
        finally:
            with self._lock:
                self._in_flight.discard(job.id)
            self._announce.set()  # a place in line moved; other placeholders may go up now

    def _announce_loop(self) -> None:
        assert self._announcer is not None
        while not self._stopping.is_set():
            posted = moved = 0
            try:
                # Each job can run as soon as its message is up, not after the whole pass.
                posted = self._announcer.announce_pending(posted=self._doorbell.ring)
            except Exception:
                log.exception("could not post placeholders; trying again shortly")
            try:
                moved = self._announcer.refresh_places()  # jobs held back while their place was shown
            except Exception:
                log.exception("could not show places in line; trying again shortly")
            if moved or not posted:  # and jobs that need no message (after a post, the woken worker rings)
                self._doorbell.ring()
            self._announce.wait(self._poll_s)
            self._announce.clear()

    def _heartbeat(self) -> None:
        interval = self._lease.total_seconds() / 3
        while not self._stopped.wait(interval):
            try:
                self._queue.renew(self.owner, self.in_flight(), self._lease)
                self._last_heartbeat = time.monotonic()
            except Exception:
                log.exception("could not renew leases; jobs may be taken over by other workers")


class Doorbell:
    """Wakes idle workers one at a time. A ring wakes one; a worker that finds a job rings again for the
    next, so a burst fans out as fast as jobs are claimed. Waking every idle worker at once made them
    all read and try to claim the same row, contending for the GIL and SQLite's lock: traced, 15 ms from
    a job's message going up to its drawing starting, 7.7 ms with this (BENCHMARKS.md, overhead per image).
    Rings that find no one waiting are kept (up to one per worker), so none is lost in between a
    worker's look at the queue and its wait."""

    def __init__(self, workers: int) -> None:
        self._ready = threading.Condition()
        self._rings = 0
        self._waiting = 0
        self._most = max(1, workers)

    def ring(self) -> None:
        with self._ready:
            self._rings = min(self._rings + 1, self._most)
            self._ready.notify()

    @property
    def idle(self) -> bool:
        """Whether a worker is waiting and no ring is on its way to it."""
        with self._ready:
            return self._waiting > self._rings

    def ring_idle(self) -> bool:
        """Ring if a worker is idle, and say whether one was (False: every worker is busy or already rung;
        nothing rung)."""
        with self._ready:
            if self._waiting <= self._rings:
                return False
            self._rings += 1
            self._ready.notify()
            return True

    def ring_all(self) -> None:
        with self._ready:
            self._rings = self._most
            self._ready.notify_all()

    def wait(self, timeout_s: float) -> bool:
        """Until a ring (True) or `timeout_s` (False: the poll, for jobs that come due by the clock)."""
        with self._ready:
            if not self._rings:
                self._waiting += 1
                try:
                    self._ready.wait(timeout_s)
                finally:
                    self._waiting -= 1
            rung = self._rings > 0
            self._rings = max(0, self._rings - 1)
            return rung
