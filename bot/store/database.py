"""Engine creation and schema migration: the only place that knows about database backends."""

from __future__ import annotations

import multiprocessing
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.pool import ConnectionPoolEntry

if TYPE_CHECKING:
    from alembic.config import Config

_MIGRATIONS = Path(__file__).parent.parent / "migrations"


def create_database_engine(url: str, *, pool_size: int = 10) -> Engine:
    if make_url(url).get_backend_name() == "sqlite":
        # A busy timeout instead of "database is locked": web and worker threads share one file.
        engine = create_engine(url, connect_args={"timeout": 30, "check_same_thread": False})
        event.listen(engine, "connect", _tune_sqlite)
        return engine
    engine = create_engine(url, pool_size=pool_size, max_overflow=pool_size, pool_pre_ping=True)
    event.listen(engine, "connect", _tune_postgresql)
    return engine


def _tune_sqlite(dbapi_connection: Any, _record: ConnectionPoolEntry) -> None:
    cursor = dbapi_connection.cursor()
    # WAL lets readers proceed during a write; NORMAL sync is durable across a process crash,
    # which is what "the row is committed before the ack" needs (a power cut may lose the last ms).
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    # Each connection keeps its own page cache (2 MB by default), and the worker's threads hold several
    # connections at once (runners, the announcer, helpers posting messages): 512 KiB each kept its peak
    # 6–8 MB lower with 10,000 jobs queued (bench: memory); the usage report over 1M rows took the same
    # 0.37 s (bench/report.py), the operating system's page cache serving what SQLite's does not hold.
    cursor.execute("PRAGMA cache_size=-512")
    # A large GROUP BY (the usage report over a long log) sorts its rows; one helper thread merges while
    # the query reads: 1M rows 460 → 335 ms on two cores (bench/report.py). Small sorts never start it.
    cursor.execute("PRAGMA threads=1")
    cursor.close()


def _tune_postgresql(dbapi_connection: Any, _record: ConnectionPoolEntry) -> None:
    # The bot's statements are short, and its one long one, the usage report, runs in a fraction of a
    # second: JIT compiling it cost more than it saved (1M rows, first run 670 → 292 ms, bench/report.py).
    with dbapi_connection.cursor() as cursor:
        cursor.execute("SET jit = off")
    dbapi_connection.commit()


def alembic_config(url: str) -> Config:
    from alembic.config import Config  # Alembic is only needed to migrate: a quarter second saved per process

    config = Config()
    config.set_main_option("script_location", str(_MIGRATIONS))
    # `%` is ConfigParser interpolation syntax; URL-encoded passwords contain it.
    config.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return config


def migrate(url: str, revision: str = "head") -> str | None:
    """Upgrade the schema; returns the revision the database is at afterwards."""
    from alembic import command
    from alembic.migration import MigrationContext

    command.upgrade(alembic_config(url), revision)
    engine = create_engine(url)
    try:
        with engine.connect() as connection:
            return MigrationContext.configure(connection).get_current_revision()
    finally:
        engine.dispose()


class MigrationFailed(Exception):
    pass


def migrate_in_child(url: str) -> None:
    """`migrate` in a forked child, for a process that lives on: it then never holds Alembic's modules
    (about 11 MB, and `serve` would count them again in the worker it forks). The child's own error, if
    any, is on stderr; this raises MigrationFailed with its exit code. Call it before any thread starts."""
    child = multiprocessing.get_context("fork").Process(target=migrate, args=(url,), name="migrate")
    child.start()
    child.join()
    if child.exitcode != 0:
        raise MigrationFailed(f"the database migration failed (exit {child.exitcode}); its error is above")
