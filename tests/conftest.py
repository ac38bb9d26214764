"""Shared fixtures: a migrated database, the two emulators, and the real bot as a child process.

Set TEST_DATABASE_URL (e.g. postgresql+psycopg://postgres@127.0.0.1:5432/test) to run every database
test against PostgreSQL: each test then gets a schema of its own, dropped afterwards.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from urllib.parse import quote

import httpx
import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from bot.database import create_database_engine, migrate
from bot.emulators.azure import AzureEmulator
from bot.emulators.environment import bot_environment as emulated_bot_environment
from bot.emulators.slack import SlackEmulator

ROOT = Path(__file__).resolve().parent.parent
CHANNEL = "C0CHAN0001"
USER = "U0USER0001"
DEPLOYMENTS = {"dalle3": "dall-e-3", "gpt-image": "gpt-image-1", "dalle2": "dall-e-2"}
DEPLOYMENT_FOR_MODEL = {"dall-e-3": "dalle3", "gpt-image-1": "gpt-image", "dall-e-2": "dalle2"}


def postgres_url() -> str | None:
    return os.environ.get("TEST_DATABASE_URL") or None


@contextmanager
def migrated_database(directory: Path) -> Iterator[str]:
    """An empty database migrated to head: a SQLite file in `directory`, or a fresh PostgreSQL schema."""
    base = postgres_url()
    if base is None:
        url = f"sqlite:///{directory / 'imagine.sqlite3'}"
        migrate(url)
        yield url
        return
    schema = f"t_{uuid.uuid4().hex[:12]}"
    admin = create_engine(base)
    with admin.begin() as connection:
        connection.execute(text(f'CREATE SCHEMA "{schema}"'))
    url = make_url(base).update_query_dict({"options": f"-csearch_path={schema}"}).render_as_string(hide_password=False)
    try:
        migrate(url)
        yield url
    finally:
        with admin.begin() as connection:
            connection.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


@pytest.fixture
def database_url(tmp_path: Path) -> Iterator[str]:
    with migrated_database(tmp_path) as url:
        yield url


class FrozenClock:
    """A UTC clock that moves only when told to."""

    def __init__(self, start: datetime = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)) -> None:
        self.now = start

    def __call__(self) -> datetime:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += timedelta(seconds=seconds)


@pytest.fixture
def engine(database_url: str) -> Iterator[object]:
    engine = create_database_engine(database_url)
    yield engine
    engine.dispose()


@pytest.fixture
def slack() -> Iterator[SlackEmulator]:
    with SlackEmulator() as emulator:
        emulator.add_channel(CHANNEL, name="general", member=True)
        yield emulator


@pytest.fixture
def azure() -> Iterator[AzureEmulator]:
    with AzureEmulator(deployments=DEPLOYMENTS) as emulator:
        yield emulator


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class BotProcess:
    """The real bot (`python -m bot <command>`) running as a child process, its output captured."""

    process: subprocess.Popen[str]
    url: str
    output: list[str] = field(default_factory=list)

    @property
    def logs(self) -> str:
        return "".join(self.output)

    def stop(self, sig: int = signal.SIGTERM, timeout: float = 30) -> int:
        if self.process.poll() is None:
            self.process.send_signal(sig)
        try:
            return self.process.wait(timeout)
        except subprocess.TimeoutExpired:
            self.process.kill()
            return self.process.wait(5)


def bot_environment(
    *, slack: SlackEmulator, azure: AzureEmulator, database_url: str, model: str, port: int, **extra: str
) -> dict[str, str]:
    defaults = {
        "AZURE_OPENAI_DEPLOYMENT": DEPLOYMENT_FOR_MODEL.get(model, "gpt-image"),
        "IMAGE_MODEL": model,
        "PORT": str(port),
        "LOG_LEVEL": "INFO",
        "QUEUE_POLL_SECONDS": "0.1",
        "AZURE_POLL_SECONDS": "0.05",
    }
    return emulated_bot_environment(slack, azure, database_url=database_url, **{**defaults, **extra})


def start_bot(env: dict[str, str], command: str = "serve", *, cwd: Path | None = None, wait: bool = True) -> BotProcess:
    process = subprocess.Popen(
        [sys.executable, "-m", "bot", command],
        env=env,
        # Outside the checkout: a developer's .env there must not reach the bot under test.
        cwd=cwd or tempfile.mkdtemp(prefix="imagine-bot-test-"),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    bot = BotProcess(process, f"http://127.0.0.1:{env['PORT']}")

    def pump() -> None:
        assert process.stdout is not None
        for line in process.stdout:
            bot.output.append(line)

    threading.Thread(target=pump, daemon=True).start()
    if wait:
        wait_healthy(bot)
    return bot


def wait_healthy(bot: BotProcess, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if bot.process.poll() is not None:
            time.sleep(0.2)  # let the pump thread collect the last lines
            raise AssertionError(f"the bot exited with {bot.process.returncode}:\n{bot.logs}")
        try:
            if httpx.get(f"{bot.url}/healthz", timeout=1).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.1)
    raise AssertionError(f"the bot did not become healthy in {timeout} s:\n{bot.logs}")


BotFactory = Callable[..., BotProcess]


@pytest.fixture
def run_bot(slack: SlackEmulator, azure: AzureEmulator, database_url: str) -> Iterator[BotFactory]:
    """Start the real bot against the emulators; every process is stopped when the test ends."""
    started: list[BotProcess] = []

    def factory(model: str = "dall-e-3", command: str = "serve", **extra: str) -> BotProcess:
        env = bot_environment(
            slack=slack, azure=azure, database_url=database_url, model=model, port=free_port(), **extra
        )
        bot = start_bot(env, command)
        started.append(bot)
        return bot

    yield factory
    for bot in started:
        bot.stop(signal.SIGKILL if bot.process.poll() is None else signal.SIGTERM, timeout=10)


def quoted(text_: str) -> str:
    return quote(text_, safe="")
