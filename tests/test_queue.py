"""The queue against a real migrated database (SQLite, or PostgreSQL with TEST_DATABASE_URL)."""

from __future__ import annotations

import threading
from datetime import timedelta

import pytest
from sqlalchemy import Engine

from bot.jobs.queue import RESPONSE_URL_USES, JobQueue, NewJob, Outcome
from bot.request import ImageRequest
from bot.usage.models import Status
from tests.conftest import FrozenClock

LEASE = timedelta(seconds=30)


def new_job(trigger: str | None = None, prompt: str = "a fox") -> NewJob:
    return NewJob(
        team_id="T1",
        channel_id="C1",
        user_id="U1",
        response_url="http://127.0.0.1:1/response/x",
        trigger_id=trigger,
        request=ImageRequest(prompt=prompt, size="1024x1024", quality="standard", style="vivid", n=1),
        model="dall-e-3",
        deployment="dalle3",
    )


@pytest.fixture
def clock() -> FrozenClock:
    return FrozenClock()


@pytest.fixture
def queue(engine: Engine, clock: FrozenClock) -> JobQueue:
    return JobQueue(engine, clock=clock)


def test_enqueue_then_claim_returns_the_job_with_its_request(queue: JobQueue) -> None:
    enqueued = queue.enqueue(new_job("t-1"))
    [job], created = enqueued.jobs, enqueued.created

    claimed = queue.claim("w1", LEASE)

    assert created
    assert claimed is not None
    assert claimed.id == job.id
    assert claimed.status is Status.RUNNING
    assert claimed.attempts == 1
    assert claimed.request == new_job().request
    assert queue.claim("w2", LEASE) is None


def test_same_trigger_id_is_one_job(queue: JobQueue) -> None:
    first_call, second_call = queue.enqueue(new_job("same")), queue.enqueue(new_job("same"))
    [first], created_first = first_call.jobs, first_call.created
    [second], created_second = second_call.jobs, second_call.created

    assert (created_first, created_second) == (True, False)
    assert first.id == second.id


def test_jobs_are_claimed_in_order(queue: JobQueue, clock: FrozenClock) -> None:
    ids = []
    for n in range(3):
        ids.append(queue.enqueue(new_job(f"t{n}")).jobs[0].id)
        clock.advance(1)

    claimed = [queue.claim("w", LEASE) for _ in ids]

    assert [job.id for job in claimed if job] == ids


def test_a_rescheduled_job_waits_until_it_is_due(queue: JobQueue, clock: FrozenClock) -> None:
    queue.enqueue(new_job())
    job = queue.claim("w1", LEASE)
    assert job is not None

    assert queue.reschedule(job.id, "w1", 10, "rate_limited", "429")
    assert queue.claim("w1", LEASE) is None
    clock.advance(11)
    again = queue.claim("w2", LEASE)

    assert again is not None
    assert again.id == job.id
    assert again.attempts == 2
    assert again.error_code == "rate_limited"


def test_an_expired_lease_is_taken_over_and_the_old_owner_cannot_finish(queue: JobQueue, clock: FrozenClock) -> None:
    queue.enqueue(new_job())
    job = queue.claim("dead-worker", LEASE)
    assert job is not None

    clock.advance(LEASE.total_seconds() + 1)
    taken = queue.claim("live-worker", LEASE)

    assert taken is not None
    assert taken.id == job.id
    assert not queue.finish(job.id, "dead-worker", Outcome(Status.SUCCEEDED))
    assert not queue.record_delivery(job.id, "dead-worker", "C1", ["F1"])
    assert queue.finish(job.id, "live-worker", Outcome(Status.SUCCEEDED))
    finished = queue.get(job.id)
    assert finished is not None
    assert finished.status is Status.SUCCEEDED


def test_renewing_the_lease_keeps_the_job(queue: JobQueue, clock: FrozenClock) -> None:
    queue.enqueue(new_job())
    job = queue.claim("w1", LEASE)
    assert job is not None

    for _ in range(4):
        clock.advance(20)
        assert queue.renew("w1", [job.id], LEASE) == 1
        assert queue.claim("w2", LEASE) is None


def test_delivery_is_recorded_once_and_survives_a_reclaim(queue: JobQueue, clock: FrozenClock) -> None:
    queue.enqueue(new_job())
    job = queue.claim("w1", LEASE)
    assert job is not None

    assert queue.record_delivery(job.id, "w1", "C1", ["F1", "F2"])
    assert not queue.record_delivery(job.id, "w1", "C1", ["F3"])
    clock.advance(LEASE.total_seconds() + 1)
    reclaimed = queue.claim("w2", LEASE)

    assert reclaimed is not None
    assert reclaimed.delivered_at is not None
    assert reclaimed.delivered_channel_id == "C1"


def test_release_puts_running_jobs_back_at_once(queue: JobQueue) -> None:
    queue.enqueue(new_job())
    job = queue.claim("w1", LEASE)
    assert job is not None

    assert queue.release("w1", [job.id]) == 1
    again = queue.claim("w2", LEASE)

    assert again is not None
    assert again.id == job.id


def test_response_url_budget_keeps_the_last_use_for_the_outcome(queue: JobQueue) -> None:
    [job] = queue.enqueue(new_job()).jobs

    progress = [queue.use_response_url(job.id, final=False) for _ in range(RESPONSE_URL_USES + 1)]
    final = [queue.use_response_url(job.id, final=True) for _ in range(2)]

    assert progress == [True] * (RESPONSE_URL_USES - 1) + [False, False]
    assert final == [True, False]


def test_finish_refuses_a_status_that_is_not_final(queue: JobQueue) -> None:
    with pytest.raises(ValueError, match="not a final status"):
        queue.finish(1, "w", Outcome(Status.QUEUED))


def test_concurrent_claims_never_hand_one_job_to_two_workers(engine: Engine) -> None:
    queue = JobQueue(engine)
    total = 40
    for n in range(total):
        queue.enqueue(new_job(f"c{n}"))
    claimed: list[int] = []
    lock = threading.Lock()

    def drain(owner: str) -> None:
        while (job := queue.claim(owner, LEASE)) is not None:
            with lock:
                claimed.append(job.id)

    threads = [threading.Thread(target=drain, args=(f"w{n}",)) for n in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert sorted(claimed) == sorted(set(claimed))
    assert len(claimed) == total


def test_enqueue_reports_the_place_in_line_of_the_new_job(queue: JobQueue, clock: FrozenClock) -> None:
    positions = []
    for n in range(3):
        positions.append(queue.enqueue(new_job(f"line{n}")).position)
        clock.advance(1)
    queue.claim("w", LEASE)  # the first one starts running
    later = queue.enqueue(new_job("line3"))
    repeat = queue.enqueue(new_job("line3"))

    assert positions == [1, 2, 3]
    assert later.position == 3
    assert (repeat.created, repeat.position) == (False, 0)
