"""The part of `JobQueue` for a queued job's placeholder: posted by one process at a time
(`claim_message`), and brought up to date as the jobs ahead of it finish (`claim_refresh`). While a
process refreshes a placeholder its job waits (`JobQueue.claim` skips it), so the refresh can never
land in Slack after the worker's "drawing".
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from sqlalchemy import ColumnElement, and_, or_, select
from sqlalchemy.orm import Session, sessionmaker

from bot.store.clock import Clock
from bot.store.spec import Job, MessageState, Status, job_of
from bot.store.tables import Generation

# A process that died while refreshing a placeholder holds its job back no longer than this.
REFRESH_STALE = timedelta(seconds=10)


class Placeholders:
    _sessions: sessionmaker[Session]
    _clock: Clock

    def _update(self, condition: ColumnElement[bool], **values: Any) -> int:
        raise NotImplementedError  # JobQueue's

    def pending_messages(self, stale_after: timedelta, limit: int = 50) -> list[Job]:
        """Queued jobs whose placeholder is still to post (or whose poster died while posting), oldest first.
        (A running job's message is its worker's to post: `JobQueue.claim`.)"""
        stale = self._clock() - stale_after
        query = (
            select(Generation)
            .where(
                Generation.status == Status.QUEUED,
                or_(
                    Generation.message_state == MessageState.PENDING,
                    and_(Generation.message_state == MessageState.POSTING, Generation.message_claimed_at < stale),
                ),
            )
            .order_by(Generation.id)
            .limit(limit)
        )
        with self._sessions() as session:
            return [job_of(row) for row in session.scalars(query)]

    def claim_message(self, job_id: int, owner: str, stale_after: timedelta) -> bool:
        """The right to post a queued job's placeholder, for one process; False if another has it."""
        now = self._clock()
        pending = Generation.message_state == MessageState.PENDING
        abandoned = and_(
            Generation.message_state == MessageState.POSTING, Generation.message_claimed_at < now - stale_after
        )
        return (
            self._update(
                and_(Generation.id == job_id, Generation.status == Status.QUEUED, or_(pending, abandoned)),
                message_state=MessageState.POSTING,
                message_owner=owner,
                message_claimed_at=now,
            )
            == 1
        )

    def record_message(self, job_id: int, owner: str, channel_id: str, ts: str, position: int) -> bool:
        """The claimed placeholder is posted, showing `position` in line; the job may now run."""
        return self._update_claimed(
            job_id,
            owner,
            message_state=MessageState.POSTED,
            message_channel=channel_id,
            message_ts=ts,
            shown_position=position,
        )

    def stale_places(self, first: int) -> list[tuple[Job, int]]:
        """The first `first` jobs in line whose placeholder shows another place, with their place now."""
        query = (
            select(Generation)
            .where(Generation.status == Status.QUEUED, Generation.not_before <= self._clock())
            .order_by(Generation.id)  # as `position` counts
            .limit(first)
        )
        with self._sessions() as session:
            rows = list(session.scalars(query))
        return [
            (job_of(row), place)
            for place, row in enumerate(rows, 1)
            if row.message_state == MessageState.POSTED and row.shown_position not in (None, place)
        ]

    def claim_refresh(self, job: Job, owner: str, place: int) -> bool:
        """The right to show a queued job's new place; False if it moved on or another process has it."""
        unchanged = and_(
            Generation.id == job.id,
            Generation.status == Status.QUEUED,
            Generation.message_state == MessageState.POSTED,
            Generation.shown_position == job.shown_position,
        )
        values = {"message_owner": owner, "message_claimed_at": self._clock(), "shown_position": place}
        return self._update(unchanged, message_state=MessageState.REFRESHING, **values) == 1

    def end_refresh(self, job_id: int, owner: str) -> bool:
        mine = and_(
            Generation.id == job_id,
            Generation.message_owner == owner,
            Generation.message_state == MessageState.REFRESHING,
        )
        return self._update(mine, message_state=MessageState.POSTED) == 1

    def release_message(self, job_id: int, owner: str) -> bool:
        """Give a claimed placeholder back, to be posted later (Slack asked us to wait)."""
        return self._update_claimed(job_id, owner, message_state=MessageState.PENDING, message_owner=None)

    def record_unpostable(self, job_id: int, owner: str, reason: str) -> bool:
        """The channel refused the placeholder; the job still runs and its result goes by direct message."""
        return self._update_claimed(job_id, owner, message_state=MessageState.UNPOSTABLE, channel_refusal=reason)

    def _update_claimed(self, job_id: int, owner: str, **values: Any) -> bool:
        claimed = and_(
            Generation.id == job_id,
            Generation.status == Status.QUEUED,  # a running job's message is its worker's (JobQueue.claim)
            Generation.message_owner == owner,
            Generation.message_state == MessageState.POSTING,
        )
        return self._update(claimed, **values) == 1
