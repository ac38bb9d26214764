"""Slack's pace per channel (bot/slack/pacing.py): a burst of three, then one message a second; what can
go now (`ready`) and where nothing could (`crowded`), read without taking anything."""

from __future__ import annotations

from bot.slack.pacing import ChannelPacing


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.now += seconds


def test_a_burst_of_three_then_one_a_second() -> None:
    clock = Clock()
    pacing = ChannelPacing(clock=clock, sleep=clock.sleep)
    for _ in range(3):
        pacing.wait("C1")
    assert clock.now == 100.0  # the burst went at once
    pacing.wait("C1")
    assert clock.now == 101.0


def test_crowded_names_the_channels_that_could_not_take_a_message_and_spare_ones() -> None:
    clock = Clock()
    pacing = ChannelPacing(clock=clock, sleep=clock.sleep)
    for _ in range(3):
        pacing.wait("C1")
    pacing.wait("C2")
    assert pacing.crowded() == ["C1"] and not pacing.ready("C1")
    assert sorted(pacing.crowded(spare=1)) == ["C1"]  # C2 has two left
    assert sorted(pacing.crowded(spare=2)) == ["C1", "C2"]
    clock.now += 1.0
    assert pacing.crowded() == [] and pacing.crowded(spare=1) == ["C1"]
    assert pacing.crowded(spare=1) == ["C1"]  # reading took nothing
