"""The place in line a queued job's placeholder shows, so that it can be brought up to date as the
jobs ahead of it finish.

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-01
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("generations") as table:
        table.add_column(sa.Column("shown_position", sa.Integer(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("generations") as table:
        table.drop_column("shown_position")
