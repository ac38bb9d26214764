"""Accepting jobs: the columns a new job starts with, and the statements a burst of acks runs (which
dedupe keys exist, the insert, the new jobs' place in line). `JobQueue.enqueue_many` runs them inside
its own transaction.

On SQLite they run on the driver's own cursor: SQLAlchemy's per-statement work (compiling, caching,
result set-up) cost more than SQLite itself, and it is paid once per commit, so it was most of the cost
of a small batch (BENCHMARKS.md, "profiles"). Driver errors are raised as SQLAlchemy's, as Core would.
PostgreSQL keeps Core statements.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import datetime
from typing import Any, Protocol

from sqlalchemy import JSON, Connection, Dialect, and_, func, insert, select
from sqlalchemy.exc import DBAPIError

from bot.store.spec import Job, JobSpec, PromptStorage, Status
from bot.store.tables import Generation

_Processors = tuple[tuple[int, Callable[[Any], Any]], ...]  # (column index, bind processor), where there is one


class JobInserts(Protocol):
    def existing_keys(self, connection: Connection, keys: set[str]) -> set[str]: ...
    def insert(self, connection: Connection, rows: list[dict[str, Any]]) -> list[int]: ...
    def ahead(self, connection: Connection, now: datetime, first_id: int) -> int: ...


def inserts_for(dialect: Dialect) -> JobInserts:
    return SqliteInserts(dialect) if dialect.name == "sqlite" else CoreInserts()


def new_row(now: datetime) -> dict[str, Any]:
    """The columns every new job starts with, besides its spec's."""
    return {
        "status": Status.QUEUED,
        "attempts": 0,
        "created_at": now,
        "not_before": now,
        "response_url_uses": 0,
        "file_ids": [],
        "partial_file_ids": [],
        "prompt_storage": PromptStorage.KEPT,
    }


def new_job(job_id: int, spec: JobSpec, now: datetime) -> Job:
    """The job as its freshly inserted row reads, without reading it back."""
    return Job(
        id=job_id,
        spec=spec,
        status=Status.QUEUED,
        attempts=0,
        created_at=now,
        not_before=now,
        message_state=spec.message_state,
    )


class CoreInserts:
    def existing_keys(self, connection: Connection, keys: set[str]) -> set[str]:
        found = connection.execute(select(Generation.dedupe_key).where(Generation.dedupe_key.in_(keys)))
        return {str(key) for (key,) in found}

    def insert(self, connection: Connection, rows: list[dict[str, Any]]) -> list[int]:
        # One multi-row INSERT … RETURNING id, in the order given (insertmanyvalues).
        statement = insert(Generation).returning(Generation.id, sort_by_parameter_order=True)
        return [int(row_id) for row_id in connection.execute(statement, rows).scalars()]

    def ahead(self, connection: Connection, now: datetime, first_id: int) -> int:
        """Queued jobs due before `first_id`: its place in line, less one."""
        due = and_(Generation.status == Status.QUEUED, Generation.not_before <= now, Generation.id < first_id)
        return int(connection.scalar(select(func.count()).where(due)) or 0)


class SqliteInserts:
    def __init__(self, dialect: Dialect) -> None:
        self._dialect = dialect
        self._plans: dict[tuple[str, ...], tuple[str, _Processors]] = {}

    def existing_keys(self, connection: Connection, keys: set[str]) -> set[str]:
        sql = f"SELECT dedupe_key FROM generations WHERE dedupe_key IN ({', '.join('?' * len(keys))})"
        with _driver_cursor(connection, sql) as cursor:
            cursor.execute(sql, tuple(keys))
            return {str(key) for (key,) in cursor.fetchall()}

    def insert(self, connection: Connection, rows: list[dict[str, Any]]) -> list[int]:
        # executemany in C, each value through its column type's own bind processor (the values stored are
        # exactly those Core would store). The transaction holds the database's one write lock, so the new
        # rowids are consecutive and end at the largest.
        names = tuple(rows[0])
        sql, processors = self._plan(names)
        with _driver_cursor(connection, sql) as cursor:
            cursor.executemany(sql, [_bound(processors, [row[name] for name in names]) for row in rows])
            cursor.execute("SELECT max(id) FROM generations")
            last = int(cursor.fetchone()[0] or 0)
        return list(range(last - len(rows) + 1, last + 1))

    def ahead(self, connection: Connection, now: datetime, first_id: int) -> int:
        _, processors = self._plan(("status", "not_before"))
        status, not_before = _bound(processors, [Status.QUEUED, now])
        sql = "SELECT count(*) FROM generations WHERE status = ? AND not_before <= ? AND id < ?"
        with _driver_cursor(connection, sql) as cursor:
            cursor.execute(sql, (status, not_before, first_id))
            return int(cursor.fetchone()[0] or 0)

    def _plan(self, names: tuple[str, ...]) -> tuple[str, _Processors]:
        """The INSERT for these columns and each column's bind processor, made once per set of names."""
        made = self._plans.get(names)
        if made is None:
            columns = Generation.__table__.c
            processors = []
            for index, name in enumerate(names):
                process = columns[name].type.bind_processor(self._dialect)
                if process is not None:
                    processors.append((index, _quick(process) if isinstance(columns[name].type, JSON) else process))
            sql = f"INSERT INTO generations ({', '.join(names)}) VALUES ({', '.join('?' * len(names))})"
            made = self._plans[names] = (sql, tuple(processors))
        return made


@contextmanager
def _driver_cursor(connection: Connection, sql: str) -> Iterator[Any]:
    """A cursor of the DB-API connection under `connection`, in its transaction; a driver error comes out
    as SQLAlchemy's (an `IntegrityError` for a duplicate dedupe key, which the writer retries)."""
    cursor = connection.connection.driver_connection.cursor()  # type: ignore[union-attr]
    try:
        yield cursor
    except sqlite3.Error as error:
        raise DBAPIError.instance(sql, None, error, sqlite3.Error) from error
    finally:
        cursor.close()


def _bound(processors: _Processors, values: list[Any]) -> list[Any]:
    """The values as the driver takes them: each through its column's bind processor, where it has one."""
    for index, process in processors:
        values[index] = process(values[index])
    return values


def _quick(process: Callable[[Any], Any]) -> Callable[[Any], Any]:
    """A JSON column's processor, with the empty list every new row has answered without the encoder."""

    def bound(value: Any) -> Any:
        return "[]" if value == [] and isinstance(value, list) else process(value)

    return bound
