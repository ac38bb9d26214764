"""A job's turn within Azure's quota (bot/worker/turns.py): "Drawing" is announced shortly before the
slot, never after it; a slot further off is waited for in view; a stopping worker gives its slot back."""

from __future__ import annotations

import threading

from bot.worker.turns import wait_for_turn


class Clock:
    def __init__(self) -> None:
        self.now = 1_000.0

    def __call__(self) -> float:
        return self.now


class Stopping(threading.Event):
    """Waits move the clock; the wait after the first `stop_after` ones says stop."""

    def __init__(self, clock: Clock, stop_after: int | None = None) -> None:
        super().__init__()
        self._clock = clock
        self._left = stop_after

    def wait(self, timeout: float | None = None) -> bool:
        self._clock.now += timeout or 0.0
        if self._left is not None:
            self._left -= 1
            return self._left < 0
        return False


class Slots:
    def __init__(self, clock: Clock, ahead_s: float) -> None:
        self._clock, self._ahead_s = clock, ahead_s
        self.refunded: list[float] = []

    def reserve(self) -> float:
        return self._clock.now + self._ahead_s

    def still_valid(self, slot: float) -> bool:
        return self._clock.now <= slot + 0.5

    def refund(self, slot: float) -> None:
        self.refunded.append(slot)


def run(ahead_s: float, stop_after: int | None = None) -> tuple[bool, list[tuple[str, float]], Slots]:
    clock = Clock()
    slots = Slots(clock, ahead_s)
    steps: list[tuple[str, float]] = []
    turn = wait_for_turn(
        slots,  # type: ignore[arg-type]
        Stopping(clock, stop_after),
        lambda: steps.append(("drawing", clock.now)),
        waiting=lambda wait_s: steps.append(("queued", clock.now)),
        now=clock,
    )
    return turn, steps, slots


def test_a_slot_that_is_now_is_announced_and_taken_at_once() -> None:
    assert run(0.0)[:2] == (True, [("drawing", 1_000.0)])


def test_a_slot_within_a_second_is_announced_at_once_without_a_queued_step() -> None:
    turn, steps, _ = run(0.8)
    assert turn and steps == [("drawing", 1_000.0)]


def test_a_slot_further_off_is_waited_for_in_view_then_announced_a_second_before() -> None:
    turn, steps, _ = run(5.0)
    assert turn and [name for name, _ in steps] == ["queued", "drawing"]
    assert waits_told(5.0) == [5.0]  # the caller learns how far off its slot is
    assert steps[0][1] == 1_000.0 and 1_004.0 <= steps[1][1] < 1_005.0


def test_a_worker_stopping_while_it_waits_gives_the_slot_back() -> None:
    turn, steps, slots = run(5.0, stop_after=1)
    assert not turn and slots.refunded == [1_005.0] and steps == [("queued", 1_000.0)]


class MissedFirst(Slots):
    """The first slot, half a second off, is missed (a busy machine); the next is ten seconds off."""

    def __init__(self, clock: Clock) -> None:
        super().__init__(clock, 0.5)
        self._reserved = 0

    def reserve(self) -> float:
        self._reserved += 1
        return self._clock.now + (0.5 if self._reserved == 1 else 10.0)

    def still_valid(self, slot: float) -> bool:
        return self._reserved > 1


def test_after_a_missed_slot_a_far_one_is_waited_for_without_saying_queued_after_drawing() -> None:
    clock = Clock()
    steps: list[tuple[str, float]] = []
    turn = wait_for_turn(
        MissedFirst(clock),  # type: ignore[arg-type]
        Stopping(clock),
        lambda: steps.append(("drawing", clock.now)),
        waiting=lambda wait_s: steps.append(("queued", clock.now)),
        now=clock,
    )
    assert turn and steps == [("drawing", 1_000.0)]
    assert clock.now >= 1_010.0  # it did wait for the second slot


def waits_told(ahead_s: float) -> list[float]:
    clock = Clock()
    told: list[float] = []
    wait_for_turn(Slots(clock, ahead_s), Stopping(clock), lambda: None, waiting=told.append, now=clock)  # type: ignore[arg-type]
    return told
