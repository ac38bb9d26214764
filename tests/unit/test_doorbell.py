"""The workers' doorbell (bot/worker/pool.py): one idle worker per ring, and no ring lost."""

from __future__ import annotations

import threading

from bot.worker.pool import Doorbell


def test_a_ring_with_no_one_waiting_is_kept_for_the_next_wait() -> None:
    bell = Doorbell(workers=4)
    bell.ring()
    assert bell.wait(0) is True
    assert bell.wait(0) is False  # one ring, one wake-up


def test_kept_rings_are_capped_at_one_per_worker() -> None:
    bell = Doorbell(workers=2)
    for _ in range(10):
        bell.ring()
    assert [bell.wait(0) for _ in range(3)] == [True, True, False]


def test_ring_all_wakes_every_worker() -> None:
    bell = Doorbell(workers=3)
    woken: list[bool] = []
    waiting = [threading.Thread(target=lambda: woken.append(bell.wait(60))) for _ in range(3)]
    for thread in waiting:
        thread.start()
    bell.ring_all()
    for thread in waiting:
        thread.join(30)
    assert woken == [True, True, True]


def test_a_ring_wakes_a_waiting_worker() -> None:
    bell = Doorbell(workers=1)
    woken: list[bool] = []
    waiter = threading.Thread(target=lambda: woken.append(bell.wait(60)))
    waiter.start()
    bell.ring()  # before or after the wait begins: kept either way
    waiter.join(30)
    assert woken == [True]


def test_ring_idle_rings_only_when_a_worker_is_waiting_for_it() -> None:
    bell = Doorbell(workers=2)
    assert bell.ring_idle() is False  # every worker busy: nothing rung, nothing kept
    assert bell.wait(0) is False
    woken: list[bool] = []
    waiter = threading.Thread(target=lambda: woken.append(bell.wait(60)))
    waiter.start()
    while not bell.ring_idle():  # until the thread is inside its wait (the bell says so, no sleep)
        pass
    waiter.join(30)
    assert woken == [True]
    assert bell.ring_idle() is False  # the one waiting worker took that ring


def test_a_waiting_worker_already_rung_is_not_idle() -> None:
    bell = Doorbell(workers=1)
    woken: list[bool] = []
    waiter = threading.Thread(target=lambda: woken.append(bell.wait(60)))
    waiter.start()
    while not bell.idle:  # until the thread is inside its wait
        pass
    bell.ring()
    assert bell.ring_idle() is False  # whether or not the worker has woken yet: the ring is its
    waiter.join(30)
    assert woken == [True]
    assert bell.wait(0) is False  # and ring_idle kept nothing
