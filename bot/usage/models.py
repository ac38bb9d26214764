"""The `generations` table: one row per requested job, from `queued` to a final status.

The same row is the job in the queue (status, not_before, lease), the delivery guard (delivered_at),
and the usage log that reports and limits read (who, where, what, how long, what it cost).
Change it only through an Alembic migration in `bot/migrations/versions/`.
"""

from __future__ import annotations

import enum
from datetime import UTC, datetime
from decimal import Decimal

from sqlalchemy import DateTime, Index, Integer, Numeric, String, Text, TypeDecorator
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column


class UTCDateTime(TypeDecorator[datetime]):
    """Timezone-aware UTC datetimes on every backend.

    PostgreSQL keeps `timestamptz`; SQLite has no time zones, so values are stored as naive UTC and
    given their zone back on the way out. Comparisons in SQL then agree on both.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


class Status(enum.StrEnum):
    QUEUED = "queued"
    RUNNING = "running"
    SUCCEEDED = "succeeded"
    REJECTED = "rejected"  # Azure's content policy refused the prompt or the image
    FAILED = "failed"

    @property
    def is_final(self) -> bool:
        return self in (Status.SUCCEEDED, Status.REJECTED, Status.FAILED)


class Base(DeclarativeBase):
    pass


class Generation(Base):
    __tablename__ = "generations"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    # Slack's trigger_id is unique per invocation: the same one twice is the same request.
    trigger_id: Mapped[str | None] = mapped_column(String(255), unique=True)

    team_id: Mapped[str] = mapped_column(String(32))
    channel_id: Mapped[str] = mapped_column(String(32))
    user_id: Mapped[str] = mapped_column(String(32))
    response_url: Mapped[str | None] = mapped_column(Text)

    prompt: Mapped[str] = mapped_column(Text)
    revised_prompt: Mapped[str | None] = mapped_column(Text)
    model: Mapped[str] = mapped_column(String(64))
    deployment: Mapped[str] = mapped_column(String(128))
    size: Mapped[str] = mapped_column(String(16))
    quality: Mapped[str | None] = mapped_column(String(16))
    style: Mapped[str | None] = mapped_column(String(16))
    n: Mapped[int] = mapped_column(Integer, default=1)

    status: Mapped[str] = mapped_column(String(16), default=Status.QUEUED.value)
    error_code: Mapped[str | None] = mapped_column(String(64))
    # Operator-facing detail of the last failure; never shown in Slack.
    error_detail: Mapped[str | None] = mapped_column(Text)
    attempts: Mapped[int] = mapped_column(Integer, default=0)

    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    not_before: Mapped[datetime] = mapped_column(UTCDateTime())
    started_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    lease_owner: Mapped[str | None] = mapped_column(String(128))
    lease_expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    # Written before the job is finished, so a job reclaimed after a crash does not post twice.
    delivered_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    delivered_channel_id: Mapped[str | None] = mapped_column(String(32))
    delivered_file_ids: Mapped[str | None] = mapped_column(Text)
    response_url_uses: Mapped[int] = mapped_column(Integer, default=0)

    azure_latency_ms: Mapped[int | None] = mapped_column(Integer)
    input_tokens: Mapped[int | None] = mapped_column(Integer)
    output_tokens: Mapped[int | None] = mapped_column(Integer)
    total_tokens: Mapped[int | None] = mapped_column(Integer)
    estimated_cost_usd: Mapped[Decimal | None] = mapped_column(Numeric(12, 6))

    __table_args__ = (
        # The claim query: the next due queued job, or a running one whose lease ran out.
        Index("ix_generations_claim", "status", "not_before"),
        Index("ix_generations_lease", "status", "lease_expires_at"),
        # Reports and per-user limits read by team/user and time.
        Index("ix_generations_team_created", "team_id", "created_at"),
        Index("ix_generations_user_created", "user_id", "created_at"),
    )

    @property
    def status_enum(self) -> Status:
        return Status(self.status)
