"""The shared RPM limit: a sliding 10-second window, shared by every process through the database."""

from __future__ import annotations

import threading

import pytest
from sqlalchemy import Engine

from bot.jobs.ratelimit import SharedRateLimit
from tests.conftest import FrozenClock


@pytest.mark.parametrize(("rpm", "per_window"), [(1, 1), (6, 1), (12, 2), (60, 10), (61, 10)])
def test_window_size_follows_azures_ten_second_enforcement(engine: Engine, rpm: int, per_window: int) -> None:
    assert SharedRateLimit(engine, name="x", per_minute=rpm).per_window == per_window


def test_admits_up_to_the_window_then_says_how_long_to_wait(engine: Engine) -> None:
    clock = FrozenClock()
    limit = SharedRateLimit(engine, name="azure:d", per_minute=12, clock=clock)

    assert [limit.acquire() for _ in range(2)] == [0.0, 0.0]
    wait = limit.acquire()

    assert 10.0 < wait <= 10.3
    clock.advance(wait)
    assert limit.acquire() == 0.0


def test_a_refund_gives_the_place_back(engine: Engine) -> None:
    clock = FrozenClock()
    limit = SharedRateLimit(engine, name="azure:d", per_minute=6, clock=clock)

    assert limit.acquire() == 0.0
    limit.refund()

    assert limit.acquire() == 0.0


def test_limits_are_independent_by_name(engine: Engine) -> None:
    clock = FrozenClock()
    first = SharedRateLimit(engine, name="azure:a", per_minute=6, clock=clock)
    second = SharedRateLimit(engine, name="azure:b", per_minute=6, clock=clock)

    assert first.acquire() == 0.0
    assert second.acquire() == 0.0
    assert first.acquire() > 0


def test_concurrent_callers_never_exceed_the_window(engine: Engine) -> None:
    clock = FrozenClock()  # frozen: everything happens inside one window
    limits = [SharedRateLimit(engine, name="azure:shared", per_minute=30, clock=clock) for _ in range(6)]
    admitted: list[int] = []
    lock = threading.Lock()

    def hammer(limit: SharedRateLimit) -> None:
        for _ in range(10):
            if limit.acquire() == 0.0:
                with lock:
                    admitted.append(1)

    threads = [threading.Thread(target=hammer, args=(limit,)) for limit in limits]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert len(admitted) == 5
