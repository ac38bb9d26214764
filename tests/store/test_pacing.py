"""bot.jobs.pacing: Azure's per-minute quota as a GCRA shared through one database row.

The property that matters: however late each caller sends after reserving (as long as one that is told
its slot is no longer valid reserves again, as the runner does), no sliding 10-second window ever holds
more than `per_window` sends. A plain fixed-window limiter fails that property at a window's edge; the
same simulation shows it, so the test is known to be able to fail. Time is a fake float clock throughout.
"""

from __future__ import annotations

import bisect
import heapq
import itertools
import math
import threading
from collections.abc import Iterator, Sequence
from typing import Protocol

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import Engine

from bot.jobs.pacing import GRACE_S, WINDOW_S, Pacer
from bot.store.database import create_database_engine

START = 1_800_000_000.0


class FloatClock:
    """Epoch seconds that move only when told to."""

    def __init__(self, now: float = START) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


class Limiter(Protocol):
    per_window: int

    def reserve(self) -> float: ...

    def still_valid(self, slot: float) -> bool: ...


class FixedWindow:
    """The plain limiter the GCRA replaces: `per_window` calls in each aligned 10-second window."""

    def __init__(self, clock: FloatClock, per_window: int) -> None:
        self.per_window = per_window
        self._clock = clock
        self._counts: dict[int, int] = {}

    def reserve(self) -> float:
        now = self._clock()
        window = math.floor(now / WINDOW_S)
        while self._counts.get(window, 0) >= self.per_window:
            window += 1
        self._counts[window] = self._counts.get(window, 0) + 1
        return max(now, window * WINDOW_S)

    def still_valid(self, slot: float) -> bool:
        return self._clock() <= slot + GRACE_S


def simulate(
    limiters: Sequence[Limiter], clock: FloatClock, *, delays: Iterator[float], starts: Sequence[float], sends: int
) -> list[float]:
    """Workers (one per start time, using the limiters in turn) each reserve a slot, wait for it, are late
    by the next injected delay, then send if the slot is still valid, or else reserve again. Returns the
    send times, once `sends` were made (or a bound on the work is reached)."""
    sequence = itertools.count()
    events: list[tuple[float, int, int, float | None]] = [
        (start, next(sequence), worker, None) for worker, start in enumerate(starts)
    ]
    heapq.heapify(events)
    sent: list[float] = []
    for _ in range(sends * 20):
        if len(sent) >= sends or not events:
            break
        at, _, worker, slot = heapq.heappop(events)
        clock.now = at
        limiter = limiters[worker % len(limiters)]
        if slot is None:  # reserve, then go when the slot comes, late by the injected delay
            slot = limiter.reserve()
            heapq.heappush(events, (max(slot, at) + next(delays), next(sequence), worker, slot))
            continue
        if limiter.still_valid(slot):
            sent.append(at)
        heapq.heappush(events, (at, next(sequence), worker, None))  # the next call, or a fresh reservation
    return sent


def busiest_window(sent: Sequence[float]) -> int:
    """The most sends in any half-open window [t, t + 10 s)."""
    times = sorted(sent)
    return max((bisect.bisect_left(times, t + WINDOW_S) - i for i, t in enumerate(times)), default=0)


@pytest.mark.parametrize(("per_minute", "per_window"), [(1, 1), (6, 1), (11, 1), (12, 2), (60, 10), (61, 10)])
def test_the_window_follows_azures_ten_second_enforcement(engine: Engine, per_minute: int, per_window: int) -> None:
    pacer = Pacer(engine, name="x", per_minute=per_minute)
    assert pacer.per_window == per_window
    assert pacer.interval_s * per_window > WINDOW_S + GRACE_S  # the spacing carries the grace


def test_a_quota_below_one_a_minute_is_refused(engine: Engine) -> None:
    with pytest.raises(ValueError, match="at least 1"):
        Pacer(engine, name="x", per_minute=0)


def test_slots_are_spaced_by_the_interval_and_free_time_is_not_banked(engine: Engine) -> None:
    clock = FloatClock()
    pacer = Pacer(engine, name="azure:d", per_minute=12, clock=clock)

    assert [pacer.reserve() for _ in range(3)] == pytest.approx(
        [START, START + pacer.interval_s, START + 2 * pacer.interval_s]
    )
    clock.now = START + 1000  # a quiet spell: the next call goes at once, but no burst follows
    assert pacer.reserve() == START + 1000
    assert pacer.reserve() == pytest.approx(START + 1000 + pacer.interval_s)


def test_a_slot_is_valid_until_the_grace_runs_out(engine: Engine) -> None:
    clock = FloatClock()
    pacer = Pacer(engine, name="azure:d", per_minute=6, clock=clock)
    slot = pacer.reserve()

    clock.now = slot + GRACE_S
    assert pacer.still_valid(slot)
    clock.now = slot + GRACE_S + 0.001
    assert not pacer.still_valid(slot)


def test_a_refund_gives_the_slot_back_unless_someone_reserved_after_it(engine: Engine) -> None:
    clock = FloatClock()
    pacer = Pacer(engine, name="azure:d", per_minute=6, clock=clock)

    first = pacer.reserve()
    pacer.refund(first)
    assert pacer.reserve() == first  # given back, and taken again

    second = pacer.reserve()
    third = pacer.reserve()
    pacer.refund(second)  # someone reserved after it: refunding would let two calls share a window
    assert pacer.reserve() == pytest.approx(third + pacer.interval_s)


def test_quotas_are_independent_by_name(engine: Engine) -> None:
    clock = FloatClock()
    first = Pacer(engine, name="azure:a", per_minute=6, clock=clock)
    second = Pacer(engine, name="azure:b", per_minute=6, clock=clock)

    assert first.reserve() == START
    assert second.reserve() == START
    assert first.reserve() > START


def test_a_fixed_window_limiter_lets_twice_the_quota_through_at_a_windows_edge() -> None:
    # The simulation and its measure can fail: four ready workers at t = 5 s get 2 sends at 5 s and 2 at 10 s.
    clock = FloatClock(5.0)
    sent = simulate([FixedWindow(clock, 2)], clock, delays=itertools.repeat(0.0), starts=[5.0] * 4, sends=4)
    assert busiest_window(sent) == 4


def test_the_pacer_holds_the_window_where_a_fixed_window_limiter_does_not(engine: Engine) -> None:
    clock = FloatClock(START + 5.0)
    pacer = Pacer(engine, name="azure:edge", per_minute=12, clock=clock)
    sent = simulate([pacer], clock, delays=itertools.repeat(0.0), starts=[START + 5.0] * 4, sends=4)
    assert len(sent) == 4
    assert busiest_window(sent) <= 2


_names = itertools.count()


@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    per_minute=st.sampled_from([6, 12, 30]),
    delays=st.lists(st.floats(min_value=0.0, max_value=1.5), min_size=1, max_size=12),
    starts=st.lists(st.floats(min_value=0.0, max_value=30.0), min_size=1, max_size=4),
    offset=st.floats(min_value=0.0, max_value=10.0),
)
def test_no_sliding_window_ever_holds_more_than_the_quota_whatever_the_delays(
    engine: Engine, per_minute: int, delays: list[float], starts: list[float], offset: float
) -> None:
    clock = FloatClock(START + offset)
    pacer = Pacer(engine, name=f"azure:{next(_names)}", per_minute=per_minute, clock=clock)  # a fresh row

    sent = simulate(
        [pacer], clock, delays=itertools.cycle(delays), starts=[START + offset + s for s in starts], sends=12
    )

    assert busiest_window(sent) <= pacer.per_window, sent


def test_two_processes_share_one_quota(database_url: str) -> None:
    engines = [create_database_engine(database_url) for _ in range(2)]
    try:
        clock = FloatClock()
        pacers = [Pacer(e, name="azure:shared", per_minute=12, clock=clock) for e in engines]
        delays = itertools.cycle([0.0, 0.3, 0.7, 0.1, 2.0, 0.45])  # some later than the grace
        sent = simulate(pacers, clock, delays=delays, starts=[START, START, START + 1, START + 3], sends=16)
    finally:
        for engine in engines:
            engine.dispose()
    assert len(sent) == 16
    assert busiest_window(sent) <= 2


def test_throughput_is_at_least_90_percent_of_the_quota(engine: Engine) -> None:
    clock = FloatClock()
    pacer = Pacer(engine, name="azure:busy", per_minute=12, clock=clock)

    sent = simulate([pacer], clock, delays=itertools.repeat(0.0), starts=[START] * 4, sends=30)

    assert len(sent) == 30
    per_window = (len(sent) - 1) / (sent[-1] - sent[0]) * WINDOW_S
    assert per_window >= 0.9 * pacer.per_window
    assert busiest_window(sent) <= pacer.per_window


def test_concurrent_first_reservations_get_distinct_spaced_slots(database_url: str) -> None:
    clock = FloatClock()
    engines = [create_database_engine(database_url) for _ in range(4)]
    slots: list[float] = []
    lock = threading.Lock()

    def reserve(engine: Engine) -> None:
        slot = Pacer(engine, name="azure:fresh", per_minute=6, clock=clock).reserve()
        with lock:
            slots.append(slot)

    try:
        threads = [threading.Thread(target=reserve, args=(engine,)) for engine in engines]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=30)
    finally:
        for engine in engines:
            engine.dispose()
    interval = Pacer(engines[0], name="unused", per_minute=6).interval_s
    assert sorted(slots) == pytest.approx([START + k * interval for k in range(4)])
