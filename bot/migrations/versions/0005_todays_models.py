"""Today's models and one message per request: the job's origin, thread, source files and message;
token usage by kind; prompt storage as a column; the shared quota as a GCRA row.

Existing rows are carried over: trigger_id → dedupe_key, origin → kind, the delivered channel, message
and comma-separated file ids → message_channel, message_ts and a JSON list, a "sha256:" prompt →
prompt_storage "hashed", an empty (purged) one → "erased". `--n` groups and the separate buttons
message are gone: each request is one job and one message.

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-01
"""

from __future__ import annotations

import json

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None

_OLD_REPORTED = ("user_id", "channel_id", "model", "status", "n", "estimated_cost_usd")
_REPORTED = ("user_id", "channel_id", "model", "kind", "status", "n", "estimated_cost_usd")


def upgrade() -> None:
    with op.batch_alter_table("generations", schema=None) as batch_op:
        batch_op.add_column(sa.Column("raw", sa.Boolean(), server_default=sa.false(), nullable=False))
        batch_op.add_column(sa.Column("kind", sa.String(length=16), server_default="command", nullable=False))
        batch_op.add_column(sa.Column("thread_ts", sa.String(length=32), nullable=True))
        batch_op.add_column(sa.Column("dedupe_key", sa.String(length=255), nullable=True))
        batch_op.add_column(sa.Column("parent_image", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("source_files", sa.JSON(), server_default="[]", nullable=False))
        batch_op.add_column(sa.Column("source_message", sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column("message_state", sa.String(length=16), server_default="private", nullable=False))
        batch_op.add_column(sa.Column("message_owner", sa.String(length=128), nullable=True))
        batch_op.add_column(sa.Column("message_claimed_at", sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column("message_channel", sa.String(length=32), nullable=True))
        batch_op.add_column(sa.Column("message_ts", sa.String(length=32), nullable=True))
        batch_op.add_column(sa.Column("channel_refusal", sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column("file_ids", sa.JSON(), server_default="[]", nullable=False))
        batch_op.add_column(sa.Column("partial_file_ids", sa.JSON(), server_default="[]", nullable=False))
        batch_op.add_column(sa.Column("prompt_storage", sa.String(length=16), server_default="kept", nullable=False))
        batch_op.add_column(sa.Column("text_input_tokens", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("image_input_tokens", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("chat_model", sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column("chat_input_tokens", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("chat_output_tokens", sa.Integer(), nullable=True))

    connection = op.get_bind()
    connection.execute(
        sa.text(
            "UPDATE generations SET kind = origin, dedupe_key = trigger_id, message_channel = delivered_channel_id,"
            " message_ts = delivered_message_ts, text_input_tokens = input_tokens,"
            " message_state = CASE WHEN delivered_message_ts IS NOT NULL THEN 'posted' ELSE 'private' END,"
            " prompt_storage = CASE WHEN prompt LIKE 'sha256:%' THEN 'hashed'"
            " WHEN prompt = '' THEN 'erased' ELSE 'kept' END"
        )
    )
    rows = connection.execute(
        sa.text("SELECT id, delivered_file_ids FROM generations WHERE delivered_file_ids IS NOT NULL")
    ).all()
    for job_id, ids in rows:
        files = [part for part in str(ids).split(",") if part]
        connection.execute(
            sa.text("UPDATE generations SET file_ids = :files WHERE id = :id"),
            {"files": json.dumps(files), "id": job_id},
        )

    with op.batch_alter_table("generations", schema=None) as batch_op:
        batch_op.drop_index("ix_generations_group")
        batch_op.drop_index("ix_generations_report")
        batch_op.drop_index("ix_generations_team_report")
        for column in (
            "trigger_id",
            "origin",
            "group_id",
            "group_index",
            "group_size",
            "delivered_channel_id",
            "delivered_file_ids",
            "delivered_message_ts",
            "controls_message_ts",
            "input_tokens",
            "total_tokens",
        ):
            batch_op.drop_column(column)
        batch_op.alter_column("kind", server_default=None)
        batch_op.alter_column("message_state", server_default=None)
        batch_op.alter_column("prompt_storage", server_default=None)
        batch_op.alter_column("raw", server_default=None)
        batch_op.alter_column("source_files", server_default=None)
        batch_op.alter_column("file_ids", server_default=None)
        batch_op.alter_column("partial_file_ids", server_default=None)
        batch_op.create_unique_constraint("uq_generations_dedupe_key", ["dedupe_key"])
        batch_op.create_index("ix_generations_message", ["message_state", "id"], unique=False)
        batch_op.create_index("ix_generations_thread", ["channel_id", "thread_ts"], unique=False)
        batch_op.create_index("ix_generations_posted", ["message_channel", "message_ts"], unique=False)
        batch_op.create_index("ix_generations_report", ["created_at", *_REPORTED], unique=False)
        batch_op.create_index("ix_generations_team_report", ["team_id", "created_at", *_REPORTED], unique=False)

    op.drop_index("ix_rate_limit_events_name_at", table_name="rate_limit_events")
    op.drop_table("rate_limit_events")
    op.drop_table("rate_limits")
    op.create_table(
        "pacing",
        sa.Column("name", sa.String(length=64), nullable=False),
        sa.Column("next_at", sa.Float(), nullable=False),
        sa.PrimaryKeyConstraint("name"),
    )


def downgrade() -> None:
    raise NotImplementedError("0005 reshapes rows; restore a backup taken before `imagine-bot migrate` to go back")
