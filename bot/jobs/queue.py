"""The durable queue: every state change of a job is one guarded UPDATE of its `generations` row.

- `enqueue_many` commits rows before the ack (many at once: the writer's group commit), so an accepted
  request survives a crash or deploy; the same `dedupe_key` (Slack's trigger_id or event_id) twice is
  one job.
- `claim` is atomic: `FOR UPDATE SKIP LOCKED` on PostgreSQL (many workers, no contention); on SQLite the
  single UPDATE runs under the database's one write lock. It takes the next due queued job whose
  message is in place, or a running job whose lease ran out because its worker died; with
  `post_message`, also a queued job whose message nobody has posted yet, together with the right to
  post it (an idle worker posts the message as "Drawing" beside the call instead of waiting for a
  "Queued" placeholder first). A running job whose message is `POSTING` is its lease holder's to post.
- A worker holds a lease it renews; `reschedule`, `record_*` and `finish` only apply while the caller
  still owns the lease, so a worker that lost its job to another cannot overwrite the result.
- A job's Slack message is posted once: `claim_message` (or `claim`) hands it to one process at a time; so is its
  place in line brought up to date (`claim_refresh`), and the job waits meanwhile, so the refresh can
  never land after the worker's "drawing".
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Sequence
from dataclasses import dataclass, fields
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import ColumnElement, Engine, and_, case, func, or_, select, text, update
from sqlalchemy.orm import sessionmaker

from bot.jobs.inserts import inserts_for, new_job, new_row
from bot.jobs.placeholders import REFRESH_STALE, Placeholders
from bot.store.clock import Clock, utc_now
from bot.store.spec import Job, JobSpec, MessageState, PromptStorage, Status, job_of, spec_columns
from bot.store.tables import Generation

# Slack accepts five posts per response_url; the last is kept for the final outcome.
RESPONSE_URL_USES = 5
# The message states in which a job may run: its placeholder is up, or it needs none before the end.
_RUNNABLE = (MessageState.POSTED, MessageState.PRIVATE, MessageState.UNPOSTABLE)
# A job going back to the queue gives up its message if it never posted it: the placeholder goes up
# as the job waits (the announcer's), or with its next drawing.
_UNCLAIMED_MESSAGE = case(
    (Generation.message_state == MessageState.POSTING, MessageState.PENDING), else_=Generation.message_state
)


@dataclass(frozen=True, slots=True)
class Enqueued:
    job: Job
    created: bool  # False: the same dedupe_key was seen before, and this is that request's job
    position: int  # 1 for the next job to run; 0 when nothing was created


@dataclass(frozen=True, slots=True)
class Outcome:
    """What a finished job records besides its status."""

    status: Status
    error_code: str | None = None
    error_detail: str | None = None
    revised_prompt: str | None = None
    azure_latency_ms: int | None = None
    text_input_tokens: int | None = None
    image_input_tokens: int | None = None
    output_tokens: int | None = None
    chat_model: str | None = None
    chat_input_tokens: int | None = None
    chat_output_tokens: int | None = None
    estimated_cost_usd: Decimal | None = None
    # STORE_PROMPTS=hash: fingerprints to keep instead of the prompts once the job is done.
    hashed_prompt: str | None = None
    hashed_revised_prompt: str | None = None


class JobQueue(Placeholders):
    def __init__(self, engine: Engine, *, clock: Clock = utc_now) -> None:
        self._engine = engine
        self._sessions = sessionmaker(engine, expire_on_commit=False)
        self._clock = clock
        self._skip_locked = engine.dialect.name == "postgresql"
        self._inserts = inserts_for(engine.dialect)

    @property
    def clock(self) -> Clock:
        return self._clock

    # --- accepting ----------------------------------------------------------------------------

    def enqueue(self, spec: JobSpec) -> Enqueued:
        return self.enqueue_many([spec])[0]

    def enqueue_many(self, specs: Sequence[JobSpec]) -> list[Enqueued]:
        """Insert and commit the specs in one transaction, and say where each new job stands in line.

        A spec whose dedupe_key is already in the table (or earlier in the batch) creates nothing and
        answers with that request's job.
        """
        now = self._clock()
        keys = {s.origin.dedupe_key for s in specs if s.origin.dedupe_key}
        fresh: list[JobSpec] = []
        plan: list[str | int] = []  # per spec: the index of its new row, or the dedupe_key it repeats
        with self._engine.begin() as connection:
            seen = self._inserts.existing_keys(connection, keys) if keys else set()
            taken = set(seen)
            for spec in specs:
                key = spec.origin.dedupe_key
                if key is not None and key in taken:
                    plan.append(key)
                else:
                    plan.append(len(fresh))
                    fresh.append(spec)
                    if key is not None:
                        taken.add(key)
            ids: list[int] = []
            ahead = 0
            if fresh:
                rows = [{**spec_columns(spec), **new_row(now)} for spec in fresh]
                ids = self._inserts.insert(connection, rows)
                # Counted in the same transaction: the ack needs no second round trip.
                ahead = self._inserts.ahead(connection, now, ids[0])
        created = [new_job(row_id, spec, now) for row_id, spec in zip(ids, fresh, strict=True)]
        by_key = {str(j.origin.dedupe_key): j for j in created if j.origin.dedupe_key}
        repeats = {key for key in plan if isinstance(key, str) and key in seen}
        earlier = {key: job for key in repeats if (job := self._by_dedupe_key(key)) is not None}
        return [
            Enqueued(created[step], True, ahead + step + 1)
            if isinstance(step, int)
            else Enqueued(earlier.get(step) or by_key[step], False, 0)
            for step in plan
        ]

    def _by_dedupe_key(self, key: str) -> Job | None:
        return self._first(select(Generation).where(Generation.dedupe_key == key))

    # --- reading -----------------------------------------------------------------------------

    def get(self, job_id: int) -> Job | None:
        with self._sessions() as session:
            row = session.get(Generation, job_id)
            return job_of(row) if row is not None else None

    def held(self, job_id: int, owner: str) -> Job | None:
        """The job as it is now, if `owner` still holds its lease (a read: nothing renewed)."""
        return self._first(select(Generation).where(Generation.id == job_id, *self._owned_by(owner)))

    def latest_in_thread(self, channel_id: str, thread_ts: str) -> Job | None:
        """The newest succeeded result in a thread: its root's job, or an edit posted in the thread."""
        return self._first(
            select(Generation)
            .where(
                Generation.status == Status.SUCCEEDED,
                Generation.deleted_at.is_(None),
                Generation.message_channel == channel_id,
                or_(Generation.message_ts == thread_ts, Generation.thread_ts == thread_ts),
            )
            .order_by(Generation.id.desc())
            .limit(1)
        )

    def position(self, job_id: int) -> int:
        """1 for the next job to run."""
        with self._sessions() as session:
            ahead = session.scalar(
                select(func.count()).where(
                    Generation.status == Status.QUEUED, Generation.not_before <= self._clock(), Generation.id < job_id
                )
            )
            return int(ahead or 0) + 1

    def has_due(self, *, post_message: bool = False, crowded: Collection[str] = ()) -> bool:
        """Whether `claim` would find something now (a read; it claims nothing)."""
        due = self._due(self._clock(), post_message=post_message, crowded=crowded)
        with self._sessions() as session:
            return session.scalar(select(Generation.id).where(due).limit(1)) is not None

    def ping(self) -> None:
        with self._engine.connect() as connection:
            connection.execute(text("SELECT 1"))

    # --- working -----------------------------------------------------------------------------

    def _due(self, now: datetime, *, post_message: bool, crowded: Collection[str] = ()) -> ColumnElement[bool]:
        refresh_abandoned = and_(
            Generation.message_state == MessageState.REFRESHING, Generation.message_claimed_at < now - REFRESH_STALE
        )
        runnable = or_(Generation.message_state.in_(_RUNNABLE), refresh_abandoned)
        if post_message:
            fresh = Generation.message_state == MessageState.PENDING
            if crowded:  # their message would wait for Slack's pace, and the drawing with it: the announcer's
                fresh = and_(fresh, Generation.channel_id.not_in(list(crowded)))
            runnable = or_(runnable, fresh)
        return or_(
            and_(Generation.status == Status.QUEUED, Generation.not_before <= now, runnable),
            and_(Generation.status == Status.RUNNING, Generation.lease_expires_at < now),
        )

    def claim(
        self, owner: str, lease: timedelta, *, post_message: bool = False, crowded: Collection[str] = ()
    ) -> Job | None:
        """The next due job, running under `owner`'s lease; None if there is none.

        With `post_message` the claimant also takes queued jobs whose message is not posted yet, except in
        the `crowded` channels (those Slack's pace would make it wait for), and then posts it (the message
        comes back `POSTING`). A job taken over from a dead worker whose message was `POSTING` (it died
        before the post was recorded) passes that right on to the new owner as well.
        """
        now = self._clock()
        due = self._due(now, post_message=post_message, crowded=crowded)
        candidate = select(Generation.id).where(due).order_by(Generation.not_before, Generation.id).limit(1)
        if self._skip_locked:
            candidate = candidate.with_for_update(skip_locked=True)
        to_post = Generation.message_state.in_((MessageState.PENDING, MessageState.POSTING))
        statement = (
            update(Generation)
            .where(Generation.id == candidate.scalar_subquery())
            .values(
                status=Status.RUNNING,
                lease_owner=owner,
                lease_expires_at=now + lease,
                attempts=Generation.attempts + 1,
                started_at=func.coalesce(Generation.started_at, now),
                message_state=case(
                    (Generation.message_state == MessageState.REFRESHING, MessageState.POSTED),
                    (to_post, MessageState.POSTING),
                    else_=Generation.message_state,
                ),
                message_owner=case((to_post, owner), else_=Generation.message_owner),
                message_claimed_at=case((to_post, now), else_=Generation.message_claimed_at),
            )
            .returning(Generation)
        )
        with self._sessions() as session:
            row = session.scalars(statement, execution_options={"synchronize_session": False}).first()
            session.commit()
            return job_of(row) if row is not None else None

    def renew(self, owner: str, job_ids: Iterable[int], lease: timedelta) -> int:
        ids = list(job_ids)
        if not ids:
            return 0
        return self._update(
            and_(Generation.id.in_(ids), *self._owned_by(owner)), lease_expires_at=self._clock() + lease
        )

    def reschedule(self, job_id: int, owner: str, delay_s: float, error_code: str, detail: str) -> bool:
        return self._update_owned(
            job_id,
            owner,
            status=Status.QUEUED,
            not_before=self._clock() + timedelta(seconds=delay_s),
            lease_owner=None,
            lease_expires_at=None,
            error_code=error_code,
            error_detail=detail,
            message_state=_UNCLAIMED_MESSAGE,
        )

    def release(self, owner: str, job_ids: Iterable[int] | None = None) -> int:
        """Hand running jobs back to the queue at once (a graceful shutdown that could not finish them)."""
        condition = and_(*self._owned_by(owner))
        if job_ids is not None:
            condition = and_(condition, Generation.id.in_(list(job_ids)))
        return self._update(
            condition,
            status=Status.QUEUED,
            not_before=self._clock(),
            lease_owner=None,
            lease_expires_at=None,
            message_state=_UNCLAIMED_MESSAGE,
        )

    def record_partials(self, job_id: int, owner: str, file_ids: Sequence[str]) -> bool:
        return self._update_owned(job_id, owner, partial_file_ids=list(file_ids))

    def record_files(self, job_id: int, owner: str, file_ids: Sequence[str], outcome: Outcome) -> bool:
        """The final images are in Slack: a job taken over from here reuses them instead of drawing again."""
        return self._update_owned(job_id, owner, file_ids=list(file_ids), **_outcome_values(outcome))

    def record_delivery(self, job_id: int, owner: str) -> bool:
        return self._update_owned(job_id, owner, delivered_at=self._clock())

    def finish(self, job_id: int, owner: str, outcome: Outcome) -> bool:
        if not outcome.status.is_final:
            raise ValueError(f"{outcome.status} is not a final status")
        values = {
            **_outcome_values(outcome),
            "status": outcome.status,
            "error_code": outcome.error_code,
            "error_detail": outcome.error_detail,
            "finished_at": self._clock(),
            "lease_owner": None,
            "lease_expires_at": None,
        }
        if outcome.hashed_prompt is not None:
            values.update(prompt=outcome.hashed_prompt, prompt_storage=PromptStorage.HASHED)
            values["revised_prompt"] = outcome.hashed_revised_prompt
        return self._update_owned(job_id, owner, **values)

    # --- the message in Slack (the queued placeholder's own steps: bot/jobs/placeholders.py) ------

    def set_message(
        self,
        job_id: int,
        owner: str,
        state: MessageState,
        channel_id: str | None = None,
        ts: str | None = None,
        *,
        refusal: str | None = None,
    ) -> bool:
        """The running job's own message changed (posted at the end, or moved to a direct message)."""
        values: dict[str, Any] = {"message_state": state, "message_owner": owner}
        if refusal is not None:
            values["channel_refusal"] = refusal
        if channel_id is not None and ts is not None:
            values.update(message_channel=channel_id, message_ts=ts)
        return self._update_owned(job_id, owner, **values)

    def mark_deleted(self, job_id: int, user_id: str) -> bool:
        return (
            self._update(
                and_(Generation.id == job_id, Generation.deleted_at.is_(None)),
                deleted_at=self._clock(),
                deleted_by=user_id,
                message_state=MessageState.DELETED,
            )
            == 1
        )

    def use_response_url(self, job_id: int, *, final: bool) -> bool:
        """Count one post to the job's response_url; False when Slack would refuse it as used up."""
        limit = RESPONSE_URL_USES if final else RESPONSE_URL_USES - 1
        return (
            self._update(
                and_(Generation.id == job_id, Generation.response_url_uses < limit),
                response_url_uses=Generation.response_url_uses + 1,
            )
            == 1
        )

    def purge_prompts(self, before: datetime) -> int:
        """Erase the prompts of jobs finished before `before`; counts and costs stay for reports."""
        return self._update(
            and_(Generation.finished_at < before, Generation.prompt_storage != PromptStorage.ERASED),
            prompt="",
            revised_prompt=None,
            prompt_storage=PromptStorage.ERASED,
        )

    # --- helpers ------------------------------------------------------------------------------

    def _owned_by(self, owner: str) -> tuple[ColumnElement[bool], ...]:
        return (Generation.status == Status.RUNNING, Generation.lease_owner == owner)

    def _update_owned(self, job_id: int, owner: str, **values: Any) -> bool:
        return self._update(and_(Generation.id == job_id, *self._owned_by(owner)), **values) == 1

    def _update(self, condition: ColumnElement[bool], **values: Any) -> int:
        with self._sessions() as session:
            result = session.execute(update(Generation).where(condition).values(**values))
            session.commit()
            return int(result.rowcount)  # type: ignore[attr-defined]

    def _first(self, query: Any) -> Job | None:
        with self._sessions() as session:
            row = session.scalars(query).first()
            return job_of(row) if row is not None else None


_NOT_OUTCOME_COLUMNS = ("status", "error_code", "error_detail", "hashed_prompt", "hashed_revised_prompt")


def _outcome_values(outcome: Outcome) -> dict[str, Any]:
    """The outcome's own columns (what `finish` sets besides status, errors and hashed prompts)."""
    return {f.name: getattr(outcome, f.name) for f in fields(Outcome) if f.name not in _NOT_OUTCOME_COLUMNS}
