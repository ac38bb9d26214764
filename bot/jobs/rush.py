"""Acks go first: while the HTTP front answers a burst, the worker process holds back its own work.

Slack fails a slash command not answered within 3 seconds; a delivery has no deadline. Under `serve`
both processes share the machine's cores, and a worker decoding and uploading images at full speed
takes CPU that a burst of acks needs (BENCHMARKS.md, "While delivering"). So the front marks a rush
(several requests open at once) as one number both processes map: a deadline on the monotonic clock,
which every process on the machine reads alike (CLOCK_MONOTONIC). Before each step that costs CPU
(claiming a job, a pass of the announcer, every database transaction and call to Slack, each piece of
Azure's stream it reads), a worker gives way until that deadline has passed, but never longer than
`most_s` at a time, so a flood of requests slows the deliveries without stopping them.

The mapping is a memfd: the forked worker inherits it, a restarted one is handed its descriptor.
Workers on other machines (scale-out on PostgreSQL) share no cores with the front and see no rush.
"""

from __future__ import annotations

import mmap
import os
import struct
import threading
import time
from collections.abc import Callable

_DEADLINE = struct.Struct("d")

# Requests open at once from which the front counts as rushed: a burst, not the steady trickle of
# single commands (one open at a time), which must not hold the deliveries back.
RUSH_OPEN = 3
# How long after the last sign of a rush the workers keep giving way: the burst's last answers.
RUSH_TAIL_S = 0.1
# The longest a worker waits at one step, however long the rush.
MOST_S = 0.25

GiveWay = Callable[[], object]


def never_give_way() -> None:
    """For a worker with no front beside it (or a test that is not about the rush)."""


class Rush:
    """One shared deadline: raised by the front (`hold`), waited out by the workers (`give_way`)."""

    def __init__(
        self,
        fd: int | None = None,
        *,
        now: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        if fd is None:
            fd = os.memfd_create("imagine-rush", os.MFD_CLOEXEC)
            os.ftruncate(fd, _DEADLINE.size)  # zero: no rush
        self.fd = fd
        self._map = mmap.mmap(fd, _DEADLINE.size)
        self._now = now
        self._sleep = sleep

    def hold(self, until: float) -> None:
        """Ask the workers to give way until `until` (on `now`'s clock)."""
        _DEADLINE.pack_into(self._map, 0, until)

    def held_until(self) -> float:
        return float(_DEADLINE.unpack_from(self._map, 0)[0])

    def give_way(self, most_s: float = MOST_S) -> float:
        """Wait while the front is rushed, at most `most_s`; the seconds waited. The deadline is read
        again after each wait: a burst still going holds the worker on."""
        began = self._now()
        while (left := min(self.held_until(), began + most_s) - self._now()) > 0:
            self._sleep(left)
        return self._now() - began


class OpenRequests:
    """The count of Slack requests open, from the HTTP front's event loop or Socket Mode's threads; from
    `rush_at` open at once it holds the rush until `RUSH_TAIL_S` after the last request began or ended."""

    def __init__(
        self, rush: Rush | None, *, rush_at: int = RUSH_OPEN, now: Callable[[], float] = time.monotonic
    ) -> None:
        self._rush = rush
        self._rush_at = rush_at
        self._now = now
        self._lock = threading.Lock()
        self.open = 0

    def began(self) -> None:
        with self._lock:
            self.open += 1
            self._mark()

    def ended(self) -> None:
        with self._lock:
            self._mark()
            self.open -= 1

    def _mark(self) -> None:
        if self._rush is not None and self.open >= self._rush_at:
            self._rush.hold(self._now() + RUSH_TAIL_S)
