"""Create the generations table: queue, delivery guard and usage log in one row per job.

Revision ID: 0001
Revises:
Create Date: 2026-11-20 22:32:41.668546
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "generations",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("trigger_id", sa.String(length=255), nullable=True),
        sa.Column("team_id", sa.String(length=32), nullable=False),
        sa.Column("channel_id", sa.String(length=32), nullable=False),
        sa.Column("user_id", sa.String(length=32), nullable=False),
        sa.Column("response_url", sa.Text(), nullable=True),
        sa.Column("prompt", sa.Text(), nullable=False),
        sa.Column("revised_prompt", sa.Text(), nullable=True),
        sa.Column("model", sa.String(length=64), nullable=False),
        sa.Column("deployment", sa.String(length=128), nullable=False),
        sa.Column("size", sa.String(length=16), nullable=False),
        sa.Column("quality", sa.String(length=16), nullable=True),
        sa.Column("style", sa.String(length=16), nullable=True),
        sa.Column("n", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("error_code", sa.String(length=64), nullable=True),
        sa.Column("error_detail", sa.Text(), nullable=True),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("not_before", sa.DateTime(timezone=True), nullable=False),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("lease_owner", sa.String(length=128), nullable=True),
        sa.Column("lease_expires_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("delivered_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("delivered_channel_id", sa.String(length=32), nullable=True),
        sa.Column("delivered_file_ids", sa.Text(), nullable=True),
        sa.Column("response_url_uses", sa.Integer(), nullable=False),
        sa.Column("azure_latency_ms", sa.Integer(), nullable=True),
        sa.Column("input_tokens", sa.Integer(), nullable=True),
        sa.Column("output_tokens", sa.Integer(), nullable=True),
        sa.Column("total_tokens", sa.Integer(), nullable=True),
        sa.Column("estimated_cost_usd", sa.Numeric(precision=12, scale=6), nullable=True),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("trigger_id"),
    )
    with op.batch_alter_table("generations", schema=None) as batch_op:
        batch_op.create_index("ix_generations_claim", ["status", "not_before"], unique=False)
        batch_op.create_index("ix_generations_lease", ["status", "lease_expires_at"], unique=False)
        batch_op.create_index("ix_generations_team_created", ["team_id", "created_at"], unique=False)
        batch_op.create_index("ix_generations_user_created", ["user_id", "created_at"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("generations", schema=None) as batch_op:
        batch_op.drop_index("ix_generations_user_created")
        batch_op.drop_index("ix_generations_team_created")
        batch_op.drop_index("ix_generations_lease")
        batch_op.drop_index("ix_generations_claim")

    op.drop_table("generations")
