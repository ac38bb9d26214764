"""Schema changes are migrations: the tests build the schema only through them."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import Engine, inspect

from bot.usage.models import Base


def test_migrations_create_the_generations_table_with_its_indexes(engine: Engine) -> None:
    inspector = inspect(engine)
    assert "generations" in inspector.get_table_names()
    indexes = {index["name"] for index in inspector.get_indexes("generations")}
    assert {"ix_generations_claim", "ix_generations_lease", "ix_generations_user_created"} <= indexes


def test_models_and_migrations_agree(engine: Engine) -> None:
    with engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        assert compare_metadata(context, Base.metadata) == []
