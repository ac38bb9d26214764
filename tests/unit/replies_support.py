"""Jobs, figures and reports for the replies' tests, built without a database."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

from bot.images.request import ImageRequest
from bot.store.spec import Job, JobSpec, MessageState, Origin, OriginKind, PromptStorage, Status
from bot.store.usage import Report, ReportRow, Tally, UserFigures
from bot.usage.limits import LimitSettings

REQUESTER = "U0USER0001"
CHANNEL = "C0CHAN0001"
TEAM = "T0TEAM0001"
NOW = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)
PERMALINK = f"https://emulated.slack.com/archives/{CHANNEL}/p1764590400000100"
FIGURES = UserFigures(Tally(1, Decimal("0.04")), Tally(2, Decimal("0.08")), Tally(3, Decimal("0.12")), 1, 0)
LIMITS = LimitSettings(images_per_user_per_day=10, jobs_in_flight_per_user=2, monthly_budget_usd=Decimal(50))


def make_job(
    prompt: str = "a fox in the snow",
    *,
    job_id: int = 12,
    model: str = "gpt-image-2",
    deployment: str = "images",
    size: str = "1024x1024",
    n: int = 1,
    kind: OriginKind = OriginKind.COMMAND,
    user: str = REQUESTER,
    channel: str = CHANNEL,
    status: Status = Status.RUNNING,
    quality: str | None = "medium",
    parent_job_id: int | None = None,
    prompt_storage: PromptStorage = PromptStorage.KEPT,
    message_state: MessageState = MessageState.POSTED,
    deleted_at: datetime | None = None,
    created_at: datetime = NOW,
) -> Job:
    request = ImageRequest(prompt, size, quality, n)
    origin = Origin(kind, TEAM, channel, user, parent_job_id=parent_job_id)
    spec = JobSpec(request, origin, deployment, model, message_state)
    return Job(
        job_id,
        spec,
        status,
        1,
        created_at,
        created_at,
        prompt_storage=prompt_storage,
        message_state=message_state,
        deleted_at=deleted_at,
    )


def report(*keys: str) -> Report:
    """A usage report whose keys (user ids, channel ids, model names, read back from rows) are the given ones."""
    rows = tuple(ReportRow(key, 3 + i, 1, 0, 4 + i, Decimal("0.12")) for i, key in enumerate(keys))
    total = ReportRow("total", sum(r.images for r in rows), len(rows), 0, sum(r.requests for r in rows), Decimal(1))
    return Report(NOW - timedelta(days=30), NOW, rows, total)


def file_ids(count: int) -> tuple[str, ...]:
    return tuple(f"F0FILE{index:04d}" for index in range(count))
