"""The tables. `generations` holds one row per job, from `queued` to a final status: it is the queue
(status, not_before, lease), the delivery guard (message, files, delivered_at) and the usage log that
reports and limits read. Column names match `bot.store.spec`'s fields. Change the schema only through
an Alembic migration in `bot/migrations/versions/`.
"""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from enum import StrEnum

from sqlalchemy import (
    JSON,
    Boolean,
    DateTime,
    Enum,
    Float,
    Index,
    Integer,
    Numeric,
    String,
    Text,
    TypeDecorator,
    UniqueConstraint,
)
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from bot.store.spec import MessageState, OriginKind, PromptStorage, Status


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


def _enum(kind: type[StrEnum]) -> Enum:
    # Stored as the value text in a plain VARCHAR: no database enum type to migrate when one is added.
    return Enum(
        kind, native_enum=False, create_constraint=False, length=16, values_callable=lambda e: [m.value for m in e]
    )


# The columns a usage report groups by or sums, besides created_at and team_id.
REPORTED = ("user_id", "channel_id", "model", "kind", "status", "n", "estimated_cost_usd")


class Base(DeclarativeBase):
    pass


class Generation(Base):
    __tablename__ = "generations"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)

    # --- the request (bot.images.request.ImageRequest)
    prompt: Mapped[str] = mapped_column(Text)
    size: Mapped[str] = mapped_column(String(16))
    quality: Mapped[str | None] = mapped_column(String(16))
    n: Mapped[int] = mapped_column(Integer, default=1)
    style: Mapped[str | None] = mapped_column(String(16))
    background: Mapped[str | None] = mapped_column(String(16))
    output_format: Mapped[str | None] = mapped_column(String(8))
    raw: Mapped[bool] = mapped_column(Boolean, default=False)

    # --- where it came from (bot.store.spec.Origin)
    kind: Mapped[OriginKind] = mapped_column(_enum(OriginKind))
    team_id: Mapped[str] = mapped_column(String(32))
    channel_id: Mapped[str] = mapped_column(String(32))
    user_id: Mapped[str] = mapped_column(String(32))
    thread_ts: Mapped[str | None] = mapped_column(String(32))
    response_url: Mapped[str | None] = mapped_column(Text)
    # Slack's trigger_id or event_id is unique per invocation: the same one twice is the same request.
    dedupe_key: Mapped[str | None] = mapped_column(String(255))
    parent_job_id: Mapped[int | None] = mapped_column(Integer)
    parent_image: Mapped[int | None] = mapped_column(Integer)
    source_files: Mapped[list[str]] = mapped_column(JSON, default=list)
    source_message: Mapped[str | None] = mapped_column(String(64))
    deployment: Mapped[str] = mapped_column(String(128))
    model: Mapped[str] = mapped_column(String(64))

    # --- the queue
    status: Mapped[Status] = mapped_column(_enum(Status), default=Status.QUEUED)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    error_code: Mapped[str | None] = mapped_column(String(64))
    error_detail: Mapped[str | None] = mapped_column(Text)  # for operators; never shown in Slack
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    not_before: Mapped[datetime] = mapped_column(UTCDateTime())
    started_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    lease_owner: Mapped[str | None] = mapped_column(String(128))
    lease_expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    # --- the message in Slack and what it shows
    message_state: Mapped[MessageState] = mapped_column(_enum(MessageState), default=MessageState.PENDING)
    message_owner: Mapped[str | None] = mapped_column(String(128))
    message_claimed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    message_channel: Mapped[str | None] = mapped_column(String(32))
    message_ts: Mapped[str | None] = mapped_column(String(32))
    shown_position: Mapped[int | None] = mapped_column(Integer)
    # Slack's code when the channel refused the message or its files (the result then goes by DM).
    channel_refusal: Mapped[str | None] = mapped_column(String(64))
    # Written as soon as the files are uploaded, so a job taken over after a crash reuses them.
    file_ids: Mapped[list[str]] = mapped_column(JSON, default=list)
    partial_file_ids: Mapped[list[str]] = mapped_column(JSON, default=list)
    delivered_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    response_url_uses: Mapped[int] = mapped_column(Integer, default=0)
    deleted_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    deleted_by: Mapped[str | None] = mapped_column(String(32))

    # --- the outcome and its cost
    revised_prompt: Mapped[str | None] = mapped_column(Text)
    prompt_storage: Mapped[PromptStorage] = mapped_column(_enum(PromptStorage), default=PromptStorage.KEPT)
    azure_latency_ms: Mapped[int | None] = mapped_column(Integer)
    text_input_tokens: Mapped[int | None] = mapped_column(Integer)
    image_input_tokens: Mapped[int | None] = mapped_column(Integer)
    output_tokens: Mapped[int | None] = mapped_column(Integer)
    chat_model: Mapped[str | None] = mapped_column(String(64))
    chat_input_tokens: Mapped[int | None] = mapped_column(Integer)
    chat_output_tokens: Mapped[int | None] = mapped_column(Integer)
    estimated_cost_usd: Mapped[Decimal | None] = mapped_column(Numeric(12, 6))

    __table_args__ = (
        UniqueConstraint("dedupe_key", name="uq_generations_dedupe_key"),
        # The claim query: the next due queued job, or a running one whose lease ran out.
        Index("ix_generations_claim", "status", "not_before"),
        Index("ix_generations_lease", "status", "lease_expires_at"),
        # The placeholders still to post.
        Index("ix_generations_message", "message_state", "id"),
        # A mention in a thread finds the result it is about.
        Index("ix_generations_thread", "channel_id", "thread_ts"),
        Index("ix_generations_posted", "message_channel", "message_ts"),
        # Per-user limits read by user and time.
        Index("ix_generations_user_created", "user_id", "created_at"),
        # Usage reports read a created_at window, for everyone or for one team, from the index alone.
        Index("ix_generations_report", "created_at", *REPORTED),
        Index("ix_generations_team_report", "team_id", "created_at", *REPORTED),
    )


class Pacing(Base):
    """One row per shared quota: the theoretical arrival time of the next call (GCRA, bot.jobs.pacing)."""

    __tablename__ = "pacing"

    name: Mapped[str] = mapped_column(String(64), primary_key=True)
    next_at: Mapped[float] = mapped_column(Float)  # epoch seconds; a float keeps the arithmetic in SQL simple
