"""Fixtures for the storage tests: a queue on the migrated database with the frozen clock, job specs, and
rows written straight into `generations` for the readers (reports, figures, limits)."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any

import pytest
from sqlalchemy import Engine, insert

from bot.images.request import ImageRequest
from bot.jobs.queue import JobQueue
from bot.store.spec import JobSpec, MessageState, Origin, OriginKind, PromptStorage, Status
from bot.store.tables import Generation
from tests.conftest import FrozenClock


def new_spec(
    key: str | None = None,
    *,
    prompt: str = "a fox",
    user: str = "U1",
    channel: str = "C1",
    team: str = "T1",
    state: MessageState = MessageState.PRIVATE,
    kind: OriginKind = OriginKind.COMMAND,
    thread_ts: str | None = None,
) -> JobSpec:
    """A job as the intake makes it; PRIVATE by default, so it is claimable at once."""
    return JobSpec(
        ImageRequest(prompt=prompt, size="1024x1024", quality="medium"),
        Origin(kind, team, channel, user, thread_ts=thread_ts, response_url="https://hooks.example/r", dedupe_key=key),
        deployment="images",
        model="gpt-image-2",
        message_state=state,
    )


@pytest.fixture
def queue(engine: Engine, clock: FrozenClock) -> JobQueue:
    return JobQueue(engine, clock=clock)


def row(
    created_at: datetime,
    *,
    user: str = "U1",
    channel: str = "C1",
    team: str = "T1",
    model: str = "gpt-image-2",
    kind: OriginKind = OriginKind.COMMAND,
    n: int = 1,
    status: Status = Status.SUCCEEDED,
    cost: str | None = None,
) -> dict[str, Any]:
    """A `generations` row as the worker leaves it, for the readers' tests."""
    return {
        "team_id": team,
        "channel_id": channel,
        "user_id": user,
        "kind": kind,
        "prompt": "a fox",
        "model": model,
        "deployment": "images",
        "size": "1024x1024",
        "quality": "medium",
        "n": n,
        "raw": False,
        "source_files": [],
        "status": status,
        "attempts": 1,
        "created_at": created_at,
        "not_before": created_at,
        "message_state": MessageState.POSTED,
        "file_ids": [],
        "partial_file_ids": [],
        "response_url_uses": 0,
        "prompt_storage": PromptStorage.KEPT,
        "estimated_cost_usd": None if cost is None else Decimal(cost),
    }


def seed(engine: Engine, rows: list[dict[str, Any]]) -> None:
    with engine.begin() as connection:
        connection.execute(insert(Generation), rows)
