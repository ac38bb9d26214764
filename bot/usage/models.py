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


# The columns a usage report groups by or sums, besides created_at and team_id.
_REPORTED = ("user_id", "channel_id", "model", "status", "n", "estimated_cost_usd")


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
    background: Mapped[str | None] = mapped_column(String(16))  # gpt-image only
    output_format: Mapped[str | None] = mapped_column(String(8))  # gpt-image only; None is PNG

    # How the job came to be: a command, a button under an earlier result, or the message shortcut.
    origin: Mapped[str] = mapped_column(String(16), default="command")
    parent_job_id: Mapped[int | None] = mapped_column(Integer)
    # `--n 3` on a model that makes one image per call is three jobs sharing the first one's id.
    group_id: Mapped[int | None] = mapped_column(Integer)
    group_index: Mapped[int] = mapped_column(Integer, default=1)
    group_size: Mapped[int] = mapped_column(Integer, default=1)

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
    # The image message's ts (for threads and links) and the ts of the buttons under it (for Delete).
    delivered_message_ts: Mapped[str | None] = mapped_column(String(32))
    controls_message_ts: Mapped[str | None] = mapped_column(String(32))
    deleted_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    deleted_by: Mapped[str | None] = mapped_column(String(32))

    azure_latency_ms: Mapped[int | None] = mapped_column(Integer)
    input_tokens: Mapped[int | None] = mapped_column(Integer)
    output_tokens: Mapped[int | None] = mapped_column(Integer)
    total_tokens: Mapped[int | None] = mapped_column(Integer)
    estimated_cost_usd: Mapped[Decimal | None] = mapped_column(Numeric(12, 6))

    __table_args__ = (
        # The claim query: the next due queued job, or a running one whose lease ran out.
        Index("ix_generations_claim", "status", "not_before"),
        Index("ix_generations_lease", "status", "lease_expires_at"),
        # Per-user limits read by user and time.
        Index("ix_generations_user_created", "user_id", "created_at"),
        # Usage reports (bot/usage/report.py) read a created_at window, for everyone or for one team,
        # from the index alone: it holds every column a report sums or groups by.
        Index("ix_generations_report", "created_at", *_REPORTED),
        Index("ix_generations_team_report", "team_id", "created_at", *_REPORTED),
        Index("ix_generations_group", "group_id"),
    )

    @property
    def status_enum(self) -> Status:
        return Status(self.status)


class RateLimit(Base):
    """One row per shared limit: locking it serialises every process's admission decision."""

    __tablename__ = "rate_limits"

    name: Mapped[str] = mapped_column(String(64), primary_key=True)
    touched_at: Mapped[datetime] = mapped_column(UTCDateTime())


class RateLimitEvent(Base):
    """A call admitted under a shared limit; rows older than the window are pruned as they age out."""

    __tablename__ = "rate_limit_events"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    name: Mapped[str] = mapped_column(String(64))
    at: Mapped[datetime] = mapped_column(UTCDateTime())

    __table_args__ = (Index("ix_rate_limit_events_name_at", "name", "at"),)
