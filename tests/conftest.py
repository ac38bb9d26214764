"""Shared fixtures: a migrated database (SQLite, or PostgreSQL with TEST_DATABASE_URL), a frozen clock,
and the Slack emulator, shared by the tests of one module and reset for each.

TEST_DATABASE_URL=postgresql+psycopg://postgres@127.0.0.1:5432/test runs every database test against
PostgreSQL: each test then gets a schema of its own, dropped afterwards.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import Engine, create_engine, text
from sqlalchemy.engine import make_url

from bot.store.database import create_database_engine, migrate
from devkit.slack import SlackEmulator

ROOT = Path(__file__).resolve().parent.parent
CHANNEL = "C0CHAN0001"
USER = "U0USER0001"


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


@pytest.fixture(scope="session")
def _template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Migrating takes a while; SQLite tests copy one migrated file instead of migrating each time."""
    directory = tmp_path_factory.mktemp("template")
    migrate(f"sqlite:///{directory / 'imagine.sqlite3'}")
    return directory / "imagine.sqlite3"


@pytest.fixture
def database_url(tmp_path: Path, _template: Path) -> Iterator[str]:
    if postgres_url() is None:
        target = tmp_path / "imagine.sqlite3"
        target.write_bytes(_template.read_bytes())
        yield f"sqlite:///{target}"
        return
    with migrated_database(tmp_path) as url:
        yield url


@pytest.fixture
def engine(database_url: str) -> Iterator[Engine]:
    engine = create_database_engine(database_url)
    yield engine
    engine.dispose()


class FrozenClock:
    """A UTC clock that moves only when told to."""

    def __init__(self, start: datetime = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)) -> None:
        self.now = start

    def __call__(self) -> datetime:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += timedelta(seconds=seconds)


@pytest.fixture
def clock() -> FrozenClock:
    return FrozenClock()


@pytest.fixture(scope="module")
def _slack_emulator() -> Iterator[SlackEmulator]:
    with SlackEmulator() as emulator:
        yield emulator


@pytest.fixture
def slack(_slack_emulator: SlackEmulator) -> SlackEmulator:
    _slack_emulator.reset()
    _slack_emulator.add_channel(CHANNEL, name="general", member=True)
    return _slack_emulator


@pytest.hookimpl(trylast=True)  # after pytest-randomly has shuffled
def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """The tests that start processes first: each takes seconds of waiting, so started early they overlap
    with the many quick tests instead of trailing after them on one busy worker."""
    slow = ("/playground/test_browser", "/playground/", "/e2e/")

    def order(item: pytest.Item) -> tuple[int, bool]:
        rank = next((rank for rank, part in enumerate(slow) if part in str(item.fspath)), len(slow))
        return rank, item.name.startswith("test_last_")  # such a test changes what its module shares

    items.sort(key=order)
