"""End-to-end: the real bot as processes (`python -m bot …`, devkit/harness.py) between the emulators.

Only what a process proves lives here: the ack path over HTTP into a child worker, SIGTERM drain,
kill -9 recovery, Socket Mode, PostgreSQL scale-out, start-up, /healthz, logs.
"""

from __future__ import annotations

import signal
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from devkit.azure import AzureEmulator
from devkit.harness import BotProcess, bot_environment, start_bot
from devkit.slack import SlackEmulator
from tests.conftest import CHANNEL

BotFactory = Callable[..., BotProcess]
# Generous: a loaded machine starts processes slowly. Waits end as soon as their condition holds.
WAIT = 60.0


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if "/e2e/" in str(item.fspath):
            item.add_marker(pytest.mark.e2e)


@pytest.fixture(scope="module")
def _azure_emulator() -> Iterator[AzureEmulator]:
    with AzureEmulator() as emulator:
        yield emulator


@pytest.fixture
def azure(_azure_emulator: AzureEmulator) -> AzureEmulator:
    _azure_emulator.reset()
    return _azure_emulator


@pytest.fixture
def run_bot(slack: SlackEmulator, azure: AzureEmulator, database_url: str, tmp_path: Path) -> Iterator[BotFactory]:
    """Start the real bot against the emulators; every process is stopped when the test ends."""
    started: list[BotProcess] = []

    def factory(command: str = "serve", *, wait: bool = True, **settings: Any) -> BotProcess:
        env = bot_environment(
            slack, azure, database_url=database_url, **{k.upper(): str(v) for k, v in settings.items()}
        )
        bot = start_bot(env, command, cwd=tmp_path, wait=wait, timeout=WAIT)
        started.append(bot)
        return bot

    yield factory
    for bot in started:
        bot.stop(signal.SIGKILL if bot.process.poll() is None else signal.SIGTERM, timeout=10)


def has_image(message: object) -> bool:
    """The message shows a finished image (a preview's image block is titled "Preview …")."""
    blocks = getattr(message, "blocks", None) or []
    return any(b.get("type") == "image" and "Preview" not in str(b.get("title")) for b in blocks)


def top_level(slack: SlackEmulator, channel: str = CHANNEL) -> list[Any]:
    return [m for m in slack.messages(channel) if m.user == slack.bot_user_id and not m.thread_ts]
