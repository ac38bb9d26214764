"""Columns for brainstorming: job origin and parent, fan-out groups, gpt-image options, posts, deletion.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-20
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("generations", schema=None) as batch_op:
        batch_op.add_column(sa.Column("background", sa.String(length=16), nullable=True))
        batch_op.add_column(sa.Column("output_format", sa.String(length=8), nullable=True))
        batch_op.add_column(sa.Column("origin", sa.String(length=16), server_default="command", nullable=False))
        batch_op.add_column(sa.Column("parent_job_id", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("group_id", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("group_index", sa.Integer(), server_default="1", nullable=False))
        batch_op.add_column(sa.Column("group_size", sa.Integer(), server_default="1", nullable=False))
        batch_op.add_column(sa.Column("delivered_message_ts", sa.String(length=32), nullable=True))
        batch_op.add_column(sa.Column("controls_message_ts", sa.String(length=32), nullable=True))
        batch_op.add_column(sa.Column("deleted_at", sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column("deleted_by", sa.String(length=32), nullable=True))
        batch_op.create_index("ix_generations_group", ["group_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("generations", schema=None) as batch_op:
        batch_op.drop_index("ix_generations_group")
        for column in (
            "deleted_by",
            "deleted_at",
            "controls_message_ts",
            "delivered_message_ts",
            "group_size",
            "group_index",
            "group_id",
            "parent_job_id",
            "origin",
            "output_format",
            "background",
        ):
            batch_op.drop_column(column)
