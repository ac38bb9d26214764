"""The rush: the front's signal, in memory both processes of `serve` map, that the worker gives way while
a burst of requests is answered (bot/jobs/rush.py)."""

from __future__ import annotations

import subprocess
import sys

import pytest

from bot.jobs.rush import RUSH_TAIL_S, OpenRequests, Rush
from tests.harness import FakeTime


def rush_on(time: FakeTime) -> Rush:
    return Rush(now=time.monotonic, sleep=time.sleep)


def test_a_hold_is_seen_by_a_process_handed_the_descriptor_and_the_other_way_round() -> None:
    """What a worker restarted by `serve` gets: the memfd's number (`--rush-fd`), not a copy."""
    rush = Rush()
    rush.hold(123.5)
    script = (
        "import sys; from bot.jobs.rush import Rush; r = Rush(int(sys.argv[1])); print(r.held_until()); r.hold(456.25)"
    )
    seen = subprocess.run(
        [sys.executable, "-c", script, str(rush.fd)], pass_fds=(rush.fd,), capture_output=True, text=True, check=True
    )
    assert float(seen.stdout) == 123.5
    assert rush.held_until() == 456.25


def test_no_rush_costs_no_wait() -> None:
    time = FakeTime()
    assert rush_on(time).give_way() == 0 and time.slept == []


def test_a_worker_waits_out_the_rush_but_never_longer_than_most_s() -> None:
    time = FakeTime()
    rush = rush_on(time)
    rush.hold(time.now + 0.1)
    assert rush.give_way() == pytest.approx(0.1)
    rush.hold(time.now + 60)
    assert rush.give_way(most_s=0.25) == pytest.approx(0.25)
    assert rush.give_way(most_s=0.25) == pytest.approx(0.25)  # the next step waits again: the rush is still on


def test_a_rush_still_going_holds_the_worker_on() -> None:
    time = FakeTime()

    def sleep(seconds: float) -> None:
        time.sleep(seconds)
        if len(time.slept) == 1:  # more requests came in meanwhile
            rush.hold(time.now + 0.05)

    rush = Rush(now=time.monotonic, sleep=sleep)
    rush.hold(time.now + 0.1)
    assert rush.give_way() == pytest.approx(0.15) and time.slept == pytest.approx([0.1, 0.05])


def test_open_requests_raise_the_rush_from_rush_at_until_a_tail_after_the_last() -> None:
    time = FakeTime()
    rush = rush_on(time)
    front = OpenRequests(rush, rush_at=2, now=time.monotonic)
    front.began()
    front.ended()
    front.began()
    assert rush.held_until() == 0  # one at a time is no rush
    front.began()
    assert rush.held_until() == time.now + RUSH_TAIL_S and front.open == 2
    time.advance(0.03)
    front.ended()  # the burst's answers still going out
    assert rush.held_until() == time.now + RUSH_TAIL_S
    time.advance(0.03)
    front.ended()
    assert rush.held_until() == pytest.approx(time.now - 0.03 + RUSH_TAIL_S) and front.open == 0


def test_a_front_without_a_rush_only_counts() -> None:
    front = OpenRequests(None, rush_at=1)
    front.began()
    assert front.open == 1
