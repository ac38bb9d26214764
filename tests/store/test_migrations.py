"""The schema is built only through migrations: the models agree with them, and migration 0005 carries
the rows of a 0004 database over to today's columns, on SQLite and (with TEST_DATABASE_URL) PostgreSQL."""

from __future__ import annotations

import sqlite3
import subprocess
import sys
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import Engine, MetaData, Table, create_engine, inspect, text
from sqlalchemy.engine import make_url

from bot.jobs.queue import JobQueue
from bot.store.database import create_database_engine, migrate
from bot.store.spec import MessageState, OriginKind, PromptStorage, Status
from bot.store.tables import Base
from devkit.harness import ROOT
from tests.conftest import postgres_url
from tests.store.conftest import new_spec

CREATED = datetime(2026, 11, 20, 10, 0, tzinfo=UTC)


def test_models_and_migrations_agree(engine: Engine) -> None:
    with engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        assert compare_metadata(context, Base.metadata) == []


def test_migrations_create_todays_tables_and_indexes(engine: Engine) -> None:
    inspector = inspect(engine)
    assert {"generations", "pacing"} <= set(inspector.get_table_names())
    assert not {"rate_limits", "rate_limit_events"} & set(inspector.get_table_names())
    indexes = {index["name"] for index in inspector.get_indexes("generations")}
    assert {
        "ix_generations_claim",
        "ix_generations_lease",
        "ix_generations_message",
        "ix_generations_thread",
        "ix_generations_posted",
        "ix_generations_user_created",
        "ix_generations_report",
        "ix_generations_team_report",
    } <= indexes
    assert "ix_generations_group" not in indexes


def test_migrating_again_changes_nothing(database_url: str) -> None:
    assert migrate(database_url) == "0006"


@contextmanager
def empty_database(directory: Path) -> Iterator[str]:
    """An empty database: a SQLite file in `directory`, or a fresh PostgreSQL schema dropped afterwards."""
    base = postgres_url()
    if base is None:
        yield f"sqlite:///{directory / 'old.sqlite3'}"
        return
    schema = f"m_{uuid.uuid4().hex[:12]}"
    admin = create_engine(base)
    with admin.begin() as connection:
        connection.execute(text(f'CREATE SCHEMA "{schema}"'))
    try:
        yield (
            make_url(base)
            .update_query_dict({"options": f"-csearch_path={schema}"})
            .render_as_string(hide_password=False)
        )
    finally:
        with admin.begin() as connection:
            connection.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


def old_row(job_id: int, **values: object) -> dict[str, object]:
    """A row of the 0004 schema, as the previous release wrote it."""
    return {
        "id": job_id,
        "trigger_id": None,
        "team_id": "T1",
        "channel_id": "C1",
        "user_id": "U1",
        "response_url": "https://hooks.example/r",
        "prompt": "a fox",
        "revised_prompt": None,
        "model": "dall-e-3",
        "deployment": "dalle3",
        "size": "1024x1024",
        "quality": "standard",
        "style": "vivid",
        "n": 1,
        "status": "succeeded",
        "attempts": 1,
        "created_at": CREATED,
        "not_before": CREATED,
        "response_url_uses": 1,
        "origin": "command",
        "group_index": 1,
        "group_size": 1,
        **values,
    }


OLD_ROWS = [
    old_row(
        1,
        trigger_id="trig-1",
        origin="regenerate",
        revised_prompt="A red fox",
        delivered_at=CREATED,
        delivered_channel_id="C1",
        delivered_message_ts="1763632800.000100",
        delivered_file_ids="F0FILE0001,F0FILE0002",
        input_tokens=50,
        output_tokens=1056,
        total_tokens=1106,
        estimated_cost_usd=Decimal("0.04"),
        model="gpt-image-1",
        quality="medium",
        style=None,
        background="transparent",
        output_format="png",
    ),
    old_row(2, prompt="sha256:" + "a" * 64, revised_prompt="sha256:" + "b" * 64, trigger_id="trig-2"),
    old_row(3, prompt="", revised_prompt=None),  # purged
    old_row(4, status="queued", attempts=0, origin="shortcut", delivered_file_ids=None),
]


def test_migration_0005_carries_a_0004_database_over(tmp_path: Path) -> None:
    with empty_database(tmp_path) as url:
        assert migrate(url, "0004") == "0004"
        old = create_engine(url)
        try:
            table = Table("generations", MetaData(), autoload_with=old)
            with old.begin() as connection:
                for values in OLD_ROWS:  # one by one: the rows fill different columns
                    connection.execute(table.insert().values(**values))
        finally:
            old.dispose()

        assert migrate(url) == "0006"  # 0006 adds a column only

        engine = create_database_engine(url)
        try:
            queue = JobQueue(engine)
            delivered, hashed, purged, waiting = (queue.get(job_id) for job_id in (1, 2, 3, 4))
            again = queue.enqueue(new_spec("trig-1"))  # the old trigger_id still dedupes
        finally:
            engine.dispose()

    assert delivered is not None
    assert hashed is not None
    assert purged is not None
    assert waiting is not None
    assert delivered.origin.dedupe_key == "trig-1"
    assert delivered.origin.kind is OriginKind.REGENERATE
    assert (delivered.message_state, delivered.message_channel, delivered.message_ts) == (
        MessageState.POSTED,
        "C1",
        "1763632800.000100",
    )
    assert delivered.file_ids == ("F0FILE0001", "F0FILE0002")
    assert (delivered.text_input_tokens, delivered.output_tokens) == (50, 1056)
    assert (delivered.estimated_cost_usd, delivered.revised_prompt) == (Decimal("0.04"), "A red fox")
    assert (delivered.request.background, delivered.request.output_format) == ("transparent", "png")
    assert delivered.prompt_storage is PromptStorage.KEPT
    assert (delivered.request.raw, delivered.origin.source_files, delivered.partial_file_ids) == (False, (), ())
    assert delivered.created_at == CREATED

    assert hashed.prompt_storage is PromptStorage.HASHED
    assert not hashed.prompt_kept
    assert purged.prompt_storage is PromptStorage.ERASED
    assert purged.message_state is MessageState.PRIVATE
    assert purged.file_ids == ()

    assert (waiting.status, waiting.origin.kind, waiting.origin.dedupe_key) == (
        Status.QUEUED,
        OriginKind.SHORTCUT,
        None,
    )
    assert waiting.message_state is MessageState.PRIVATE  # it may run; its result is posted when ready

    assert not again.created
    assert again.job.id == 1


# In a process of its own: the check is on that process's modules, and forking this test process (which
# runs threads under xdist) could inherit a held lock.
_MIGRATE_IN_CHILD = """
import sys
from bot.store.database import MigrationFailed, migrate_in_child
try:
    migrate_in_child(sys.argv[1])
except MigrationFailed as failed:
    print("failed:", failed)
print("alembic loaded:", "alembic" in sys.modules)
"""


def test_serve_migrates_in_a_child_so_the_long_lived_process_never_holds_alembic(tmp_path: Path) -> None:
    def run(url: str) -> subprocess.CompletedProcess[str]:
        command = [sys.executable, "-c", _MIGRATE_IN_CHILD, url]
        return subprocess.run(command, capture_output=True, text=True, timeout=60, cwd=ROOT, check=True)

    database = tmp_path / "serve.db"
    done = run(f"sqlite:///{database}")
    assert done.stdout.splitlines() == ["alembic loaded: False"]
    with sqlite3.connect(database) as connection:
        assert connection.execute("SELECT version_num FROM alembic_version").fetchall() == [("0006",)]

    refused = run(f"sqlite:///{tmp_path / 'no-such-dir' / 'x.db'}")
    assert refused.stdout.splitlines()[0] == "failed: the database migration failed (exit 1); its error is above"
    assert "unable to open database file" in refused.stderr  # the child's own error, for the operator
