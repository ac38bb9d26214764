"""The in-process bot for these tests (tests/harness.py), one per test, closed afterwards."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest

from devkit.slack import SlackEmulator
from tests.conftest import FrozenClock
from tests.harness import Bot

MakeBot = Callable[..., Bot]


@pytest.fixture
def make_bot(slack: SlackEmulator, database_url: str, clock: FrozenClock) -> Iterator[MakeBot]:
    made: list[Bot] = []

    def make(**settings: Any) -> Bot:
        bot = Bot(slack, database_url, clock=clock, **settings)
        made.append(bot)
        return bot

    yield make
    for bot in made:
        bot.close()


@pytest.fixture
def bot(make_bot: MakeBot) -> Bot:
    return make_bot()
