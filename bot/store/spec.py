"""One job, in one shape: what was asked (`JobSpec`: the request and where it came from) and what
became of it (`Job`: a snapshot of its row). The table's columns carry the same names as these
fields, so the queue writes and reads a job through one mapping (`spec_columns`, `job_of`).

Adding a column: an Alembic migration, the column in `tables.py`, and one field here.
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from datetime import datetime
from decimal import Decimal
from enum import StrEnum
from typing import Any

from bot.images.request import ImageRequest


class OriginKind(StrEnum):
    """How a job came to be; a report can group by it (`imagine-bot report --by origin`)."""

    COMMAND = "command"  # /imagine
    MENTION = "mention"  # @imagine … outside a result's thread
    SHORTCUT = "shortcut"  # "Imagine this" on a message's text
    REGENERATE = "regenerate"  # buttons under a result
    REVISED = "revised"
    EDIT = "edit"  # Edit button, or a mention in a result's thread
    VARY = "vary"
    UPSCALE = "upscale"
    REFERENCE = "reference"  # "Imagine from this image" on someone's picture

    @property
    def edits(self) -> bool:
        """Whether the job starts from pictures (the edits endpoint) rather than from text alone."""
        return self in (OriginKind.EDIT, OriginKind.VARY, OriginKind.UPSCALE, OriginKind.REFERENCE)


class Status(StrEnum):
    QUEUED = "queued"
    RUNNING = "running"
    SUCCEEDED = "succeeded"
    REJECTED = "rejected"  # Azure's content policy refused the prompt or the image
    FAILED = "failed"

    @property
    def is_final(self) -> bool:
        return self in (Status.SUCCEEDED, Status.REJECTED, Status.FAILED)


class MessageState(StrEnum):
    """The job's message in Slack: the placeholder that becomes its result."""

    PENDING = "pending"  # to be posted in the channel (PROGRESS_IN_CHANNEL=true)
    POSTING = "posting"  # a process is posting it (claimed at message_claimed_at)
    POSTED = "posted"  # message_channel / message_ts hold it
    REFRESHING = "refreshing"  # posted; a process is showing its new place in line (the job waits for it)
    PRIVATE = "private"  # progress stays private; the message is posted when the image is ready
    UNPOSTABLE = "unpostable"  # the channel refused it; the result goes by direct message
    DELETED = "deleted"


class PromptStorage(StrEnum):
    KEPT = "kept"
    HASHED = "hashed"  # STORE_PROMPTS=hash: the prompt columns hold SHA-256 fingerprints
    ERASED = "erased"  # purged after PROMPT_RETENTION_DAYS


@dataclass(frozen=True, slots=True)
class Origin:
    """Who asked, where, how to answer them, and what the job starts from."""

    kind: OriginKind
    team_id: str
    channel_id: str
    user_id: str
    thread_ts: str | None = None  # post the message in this thread (mentions and edits in threads)
    response_url: str | None = None
    dedupe_key: str | None = None  # Slack's trigger_id or event_id: the same twice is one request
    parent_job_id: int | None = None  # the job whose image this one edits or repeats
    parent_image: int | None = None  # which of the parent's images (0-based)
    source_files: tuple[str, ...] = ()  # Slack file ids an edit starts from ("Imagine from this image")
    source_message: str | None = None  # "CHANNEL:TS" of the message those files came from


@dataclass(frozen=True, slots=True)
class JobSpec:
    request: ImageRequest
    origin: Origin
    deployment: str
    model: str
    message_state: MessageState = MessageState.PENDING


@dataclass(frozen=True, slots=True)
class Job:
    """A snapshot of one row, safe to hand between threads (no ORM session attached)."""

    id: int
    spec: JobSpec
    status: Status
    attempts: int
    created_at: datetime
    not_before: datetime
    started_at: datetime | None = None
    finished_at: datetime | None = None
    error_code: str | None = None
    revised_prompt: str | None = None
    prompt_storage: PromptStorage = PromptStorage.KEPT
    message_state: MessageState = MessageState.PENDING
    message_channel: str | None = None
    message_ts: str | None = None
    shown_position: int | None = None  # the place in line the queued placeholder shows
    channel_refusal: str | None = None
    file_ids: tuple[str, ...] = ()
    partial_file_ids: tuple[str, ...] = ()
    delivered_at: datetime | None = None
    deleted_at: datetime | None = None
    text_input_tokens: int | None = None
    image_input_tokens: int | None = None
    output_tokens: int | None = None
    chat_model: str | None = None
    chat_input_tokens: int | None = None
    chat_output_tokens: int | None = None
    estimated_cost_usd: Decimal | None = None
    azure_latency_ms: int | None = None

    @property
    def request(self) -> ImageRequest:
        return self.spec.request

    @property
    def origin(self) -> Origin:
        return self.spec.origin

    @property
    def prompt_kept(self) -> bool:
        return self.prompt_storage is PromptStorage.KEPT and bool(self.spec.request.prompt)


_REQUEST_FIELDS = tuple(f.name for f in fields(ImageRequest))
_ORIGIN_FIELDS = tuple(f.name for f in fields(Origin))


def spec_columns(spec: JobSpec) -> dict[str, Any]:
    """The spec as column values (enums and tuples as the column types take them)."""
    values: dict[str, Any] = {}
    for part, names in ((spec.request, _REQUEST_FIELDS), (spec.origin, _ORIGIN_FIELDS)):
        for name in names:
            value = getattr(part, name)
            values[name] = list(value) if isinstance(value, tuple) else value
    values.update(deployment=spec.deployment, model=spec.model, message_state=spec.message_state)
    return values


def job_of(row: Any) -> Job:
    """A row (any object with the columns as attributes) as a `Job`."""

    def part(kind: type[Any]) -> Any:
        return kind(**{f.name: _tuple(getattr(row, f.name)) for f in fields(kind)})

    spec = JobSpec(part(ImageRequest), part(Origin), row.deployment, row.model, row.message_state)
    state = {f.name: _tuple(getattr(row, f.name)) for f in fields(Job) if f.name != "spec"}
    return Job(spec=spec, **state)


def _tuple(value: Any) -> Any:
    return tuple(value) if isinstance(value, list) else value
