"""When a job's drawing starts: its turn within Azure's quota, shared by every process, and the
message's "Drawing" update, sent beside the call so that Slack never holds the drawing back."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from concurrent.futures import Executor, Future
from typing import Generic, TypeVar

from bot.jobs.pacing import Pacer
from bot.logs import job_context

log = logging.getLogger(__name__)

# How long before its quota slot a job's message may say "Drawing": about one Slack update's time.
_ANNOUNCE_AHEAD_S = 1.0


def wait_for_turn(
    pacer: Pacer | None,
    stopping: threading.Event,
    announce: Callable[[], None],
    *,
    waiting: Callable[[float], None] = lambda wait_s: None,
    now: Callable[[], float] = time.time,
) -> bool:
    """A slot within Azure's quota, shared by every process; False if the worker is stopping.

    `announce` runs shortly before the slot, never between the slot and the call: anything slow there
    would send the call late, past the pacing's grace. (The runner's `announce` only starts the "Drawing"
    update beside the call, with `Beside`.) `waiting` runs once, first, when the slot is further off
    than that, with the seconds until it: the job waits its turn in view. `now` is the pacer's clock
    (epoch seconds); the waits are `stopping.wait`.
    """
    if pacer is None:
        announce()
        return True
    announced = False
    told = False
    while True:
        slot = pacer.reserve()
        while (wait := slot - now()) > 0 or not announced:
            if not told and not announced and wait > _ANNOUNCE_AHEAD_S:
                waiting(wait)  # once, and never after "Drawing" (a missed slot's next one may be far off too)
                told = True
                continue
            if not announced and wait <= _ANNOUNCE_AHEAD_S:
                announce()
                announced = True
                continue
            until = wait if announced else wait - _ANNOUNCE_AHEAD_S
            if stopping.wait(min(until, 1.0)):
                pacer.refund(slot)
                return False
        if pacer.still_valid(slot):
            return True
        log.info("missed the quota slot by over a moment (a busy machine); taking the next one")


T = TypeVar("T")


class Beside(Generic[T]):
    """Steps of a job sent on a helper thread while the job goes on, one after another, each given what
    the one before gave (None for the first); `wait()` before anything that must come after them, and for
    what the last gave (None if it failed or none started). A step's own failure is logged, never raised:
    it is progress, not the job."""

    def __init__(self, helpers: Executor, job_id: int) -> None:
        self._helpers = helpers
        self._job_id = job_id
        self._sent: Future[T | None] | None = None

    def start(self, step: Callable[[T | None], T]) -> None:
        self._sent = self._helpers.submit(self._after, self._sent, step)

    def wait(self) -> T | None:
        return self._sent.result() if self._sent is not None else None

    def landed(self, within_s: float) -> bool:
        """Whether the step is over (or was never started), waiting at most `within_s` for it."""
        if self._sent is None:
            return True
        try:
            self._sent.result(timeout=within_s)
        except TimeoutError:
            return False
        return True

    def _after(self, before: Future[T | None] | None, step: Callable[[T | None], T]) -> T | None:
        previous = before.result() if before is not None else None
        with job_context(self._job_id):
            try:
                return step(previous)
            except Exception:
                log.exception("could not show that the drawing started; it goes on")
                return None
