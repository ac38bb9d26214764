"""bot.jobs.queue against a real migrated database (SQLite, or PostgreSQL with TEST_DATABASE_URL):
accepting in one transaction, dedupe keys, claims and leases, and only the owner changing a job."""

from __future__ import annotations

import dataclasses
import threading
from datetime import timedelta
from decimal import Decimal

import pytest
from sqlalchemy import Engine, func, select
from sqlalchemy.exc import IntegrityError

from bot.jobs.placeholders import REFRESH_STALE
from bot.jobs.queue import RESPONSE_URL_USES, JobQueue, Outcome
from bot.store.spec import MessageState, Status
from bot.store.tables import Generation
from tests.conftest import FrozenClock
from tests.store.conftest import new_spec

LEASE = timedelta(seconds=30)


def count(engine: Engine) -> int:
    with engine.connect() as connection:
        return int(connection.execute(select(func.count()).select_from(Generation)).scalar_one())


def test_enqueue_then_claim_returns_the_job_with_its_spec(queue: JobQueue, clock: FrozenClock) -> None:
    enqueued = queue.enqueue(new_spec("t-1"))

    claimed = queue.claim("w1", LEASE)

    assert enqueued.created
    assert enqueued.position == 1
    assert claimed is not None
    assert claimed.id == enqueued.job.id
    assert claimed.spec == new_spec("t-1")
    assert (claimed.status, claimed.attempts) == (Status.RUNNING, 1)
    assert (claimed.created_at, claimed.started_at) == (clock.now, clock.now)
    assert queue.claim("w2", LEASE) is None


def test_enqueue_many_commits_every_spec_in_order_with_places_in_line(queue: JobQueue) -> None:
    queue.enqueue(new_spec("before"))

    results = queue.enqueue_many([new_spec(f"b{n}") for n in range(4)])

    assert [r.created for r in results] == [True] * 4
    assert [r.position for r in results] == [2, 3, 4, 5]
    assert [r.job.origin.dedupe_key for r in results] == ["b0", "b1", "b2", "b3"]
    ids = [r.job.id for r in results]
    assert ids == sorted(ids)


def test_enqueue_many_is_one_transaction(queue: JobQueue, engine: Engine) -> None:
    good = new_spec("good")
    broken = dataclasses.replace(new_spec("broken"), origin=dataclasses.replace(new_spec().origin, team_id=None))  # type: ignore[arg-type]

    with pytest.raises(IntegrityError):
        queue.enqueue_many([good, broken])

    assert count(engine) == 0  # the good one went with it


def test_the_same_dedupe_key_is_one_job_in_the_table_and_within_a_batch(queue: JobQueue, engine: Engine) -> None:
    first = queue.enqueue(new_spec("same"))
    again = queue.enqueue(new_spec("same", prompt="a different prompt"))
    batch = queue.enqueue_many([new_spec("x"), new_spec("same"), new_spec("x"), new_spec(None), new_spec(None)])

    assert (first.created, again.created) == (True, False)
    assert again.job.id == first.job.id
    assert again.position == 0
    assert again.job.request.prompt == "a fox"  # the first request's job, unchanged
    assert [r.created for r in batch] == [True, False, False, True, True]
    assert batch[1].job.id == first.job.id
    assert batch[2].job.id == batch[0].job.id
    assert [r.position for r in batch] == [2, 0, 0, 3, 4]
    assert count(engine) == 4  # without a key every spec is its own job


def test_a_job_waits_for_its_message_before_it_may_run(queue: JobQueue) -> None:
    job = queue.enqueue(new_spec("m", state=MessageState.PENDING)).job

    assert not queue.has_due()
    assert queue.claim("w", LEASE) is None
    assert queue.claim_message(job.id, "poster", LEASE)
    assert queue.claim("w", LEASE) is None  # POSTING is not posted yet
    assert queue.record_message(job.id, "poster", "C1", "1700000000.000100", 1)

    assert queue.has_due()
    claimed = queue.claim("w", LEASE)
    assert claimed is not None
    assert (claimed.message_state, claimed.message_channel, claimed.message_ts) == (
        MessageState.POSTED,
        "C1",
        "1700000000.000100",
    )


@pytest.mark.parametrize("state", [MessageState.PRIVATE, MessageState.POSTED, MessageState.UNPOSTABLE])
def test_a_job_whose_message_is_in_place_or_not_needed_is_claimable(queue: JobQueue, state: MessageState) -> None:
    queue.enqueue(new_spec("k", state=state))
    assert queue.claim("w", LEASE) is not None


def test_an_unpostable_message_lets_the_job_run_and_says_why(queue: JobQueue) -> None:
    job = queue.enqueue(new_spec("u", state=MessageState.PENDING)).job
    assert queue.claim_message(job.id, "poster", LEASE)

    assert queue.record_unpostable(job.id, "poster", "not_in_channel")

    claimed = queue.claim("w", LEASE)
    assert claimed is not None
    assert claimed.message_state is MessageState.UNPOSTABLE


def test_jobs_are_claimed_in_order_of_due_time_then_id(queue: JobQueue, clock: FrozenClock) -> None:
    ids = [queue.enqueue(new_spec(f"t{n}")).job.id for n in range(3)]
    first = queue.claim("w", LEASE)
    assert first is not None
    assert queue.reschedule(first.id, "w", 0.5, "rate_limited", "429")  # due after the other two
    clock.advance(1)

    claimed = [queue.claim("w", LEASE) for _ in ids]

    assert [job.id for job in claimed if job] == [ids[1], ids[2], ids[0]]


def test_a_rescheduled_job_waits_until_it_is_due(queue: JobQueue, clock: FrozenClock) -> None:
    queue.enqueue(new_spec())
    job = queue.claim("w1", LEASE)
    assert job is not None

    assert queue.reschedule(job.id, "w1", 10, "rate_limited", "429")
    assert queue.claim("w1", LEASE) is None
    assert queue.position(job.id) == 1
    clock.advance(10)
    again = queue.claim("w2", LEASE)

    assert again is not None
    assert again.id == job.id
    assert again.attempts == 2
    assert again.error_code == "rate_limited"
    assert again.started_at == job.started_at  # the first start is kept


def test_an_expired_lease_is_taken_over_and_the_old_owner_can_change_nothing(
    queue: JobQueue, clock: FrozenClock
) -> None:
    queue.enqueue(new_spec())
    job = queue.claim("dead-worker", LEASE)
    assert job is not None

    clock.advance(LEASE.total_seconds())
    assert queue.claim("live-worker", LEASE) is None  # not yet: the lease ends after, not at, its expiry
    clock.advance(0.001)
    taken = queue.claim("live-worker", LEASE)

    assert taken is not None
    assert (taken.id, taken.attempts) == (job.id, 2)
    done = Outcome(Status.SUCCEEDED, estimated_cost_usd=Decimal("0.04"))
    assert not queue.finish(job.id, "dead-worker", done)
    assert not queue.reschedule(job.id, "dead-worker", 1, "x", "y")
    assert not queue.record_files(job.id, "dead-worker", ["F1"], done)
    assert not queue.record_partials(job.id, "dead-worker", ["P1"])
    assert not queue.record_delivery(job.id, "dead-worker")
    assert not queue.set_message(job.id, "dead-worker", MessageState.POSTED, "C1", "1.2")
    assert queue.renew("dead-worker", [job.id], LEASE) == 0
    assert queue.finish(job.id, "live-worker", done)
    finished = queue.get(job.id)
    assert finished is not None
    assert (finished.status, finished.estimated_cost_usd, finished.finished_at) == (
        Status.SUCCEEDED,
        Decimal("0.04"),
        clock.now,
    )


def test_renewing_the_lease_keeps_the_job(queue: JobQueue, clock: FrozenClock) -> None:
    queue.enqueue(new_spec())
    job = queue.claim("w1", LEASE)
    assert job is not None

    for _ in range(4):
        clock.advance(20)
        assert queue.renew("w1", [job.id], LEASE) == 1
        assert queue.claim("w2", LEASE) is None
    assert queue.renew("w1", [], LEASE) == 0


def test_the_owner_records_files_partials_delivery_and_its_message(queue: JobQueue, clock: FrozenClock) -> None:
    queue.enqueue(new_spec())
    job = queue.claim("w1", LEASE)
    assert job is not None
    outcome = Outcome(Status.SUCCEEDED, revised_prompt="A red fox", output_tokens=1056, chat_model="gpt-5.4-mini")

    assert queue.record_partials(job.id, "w1", ["P1", "P2"])
    assert queue.record_files(job.id, "w1", ["F1", "F2"], outcome)
    assert queue.set_message(job.id, "w1", MessageState.POSTED, "D1", "9.9")
    assert queue.record_delivery(job.id, "w1")
    clock.advance(LEASE.total_seconds() + 1)
    reclaimed = queue.claim("w2", LEASE)  # a worker that died after uploading: the next one reuses the files

    assert reclaimed is not None
    assert reclaimed.partial_file_ids == ("P1", "P2")
    assert reclaimed.file_ids == ("F1", "F2")
    assert (reclaimed.revised_prompt, reclaimed.output_tokens, reclaimed.chat_model) == (
        "A red fox",
        1056,
        "gpt-5.4-mini",
    )
    assert (reclaimed.message_state, reclaimed.message_channel, reclaimed.message_ts) == (
        MessageState.POSTED,
        "D1",
        "9.9",
    )
    assert reclaimed.delivered_at is not None


def test_release_puts_running_jobs_back_at_once(queue: JobQueue) -> None:
    for n in range(3):
        queue.enqueue(new_spec(f"r{n}"))
    jobs = [queue.claim("w1", LEASE) for _ in range(3)]
    assert all(jobs)

    assert queue.release("w1", [jobs[0].id]) == 1  # type: ignore[union-attr]
    assert queue.release("w2") == 0
    assert queue.release("w1") == 2
    assert {job.id for job in (queue.claim("w2", LEASE) for _ in range(3)) if job} == {j.id for j in jobs if j}


def test_finish_refuses_a_status_that_is_not_final(queue: JobQueue) -> None:
    for status in (Status.QUEUED, Status.RUNNING):
        with pytest.raises(ValueError, match="not a final status"):
            queue.finish(1, "w", Outcome(status))


def test_hashing_at_finish_keeps_only_fingerprints(queue: JobQueue) -> None:
    queue.enqueue(new_spec(prompt="a private matter"))
    job = queue.claim("w", LEASE)
    assert job is not None

    outcome = Outcome(
        Status.SUCCEEDED,
        revised_prompt="A private matter, revised",
        hashed_prompt="sha256:aa",
        hashed_revised_prompt="sha256:bb",
    )
    assert queue.finish(job.id, "w", outcome)

    done = queue.get(job.id)
    assert done is not None
    assert (done.request.prompt, done.revised_prompt, done.prompt_storage.value) == ("sha256:aa", "sha256:bb", "hashed")
    assert not done.prompt_kept


def test_purge_erases_old_prompts_but_keeps_counts_and_costs(queue: JobQueue, clock: FrozenClock) -> None:
    ids = []
    for n in range(3):
        queue.enqueue(new_spec(f"p{n}", prompt=f"prompt {n}"))
        job = queue.claim("w", LEASE)
        assert job is not None
        ids.append(job.id)
        if n < 2:
            assert queue.finish(
                job.id, "w", Outcome(Status.SUCCEEDED, revised_prompt="r", estimated_cost_usd=Decimal(1))
            )
        clock.advance(3600)

    first_finished = clock.now - timedelta(hours=3)
    assert queue.purge_prompts(before=first_finished) == 0  # "before" is strict
    assert queue.purge_prompts(before=first_finished + timedelta(minutes=30)) == 1
    assert queue.purge_prompts(before=clock.now) == 1  # the second finished job; the first is already erased
    assert queue.purge_prompts(before=clock.now) == 0

    erased, also_erased, running = (queue.get(i) for i in ids)
    assert erased is not None
    assert also_erased is not None
    assert running is not None
    assert (erased.request.prompt, erased.revised_prompt, erased.prompt_storage.value) == ("", None, "erased")
    assert (erased.status, erased.estimated_cost_usd) == (Status.SUCCEEDED, Decimal(1))
    assert not erased.prompt_kept
    assert running.request.prompt == "prompt 2"  # not finished: kept


def test_message_claims_go_to_one_process_at_a_time(queue: JobQueue, clock: FrozenClock) -> None:
    job = queue.enqueue(new_spec("c", state=MessageState.PENDING)).job
    stale = timedelta(seconds=60)

    assert queue.pending_messages(stale) == [queue.get(job.id)]
    assert queue.claim_message(job.id, "a", stale)
    assert not queue.claim_message(job.id, "b", stale)
    assert queue.pending_messages(stale) == []
    assert not queue.record_message(job.id, "b", "C1", "1.1", 1)  # only the claimer records
    assert not queue.release_message(job.id, "b")
    assert not queue.record_unpostable(job.id, "b", "x")

    clock.advance(60)
    assert not queue.claim_message(job.id, "b", stale)
    clock.advance(0.001)
    assert [j.id for j in queue.pending_messages(stale)] == [job.id]  # the poster died while posting
    assert queue.claim_message(job.id, "b", stale)
    assert not queue.record_message(job.id, "a", "C1", "1.1", 1)  # the old claimer lost it
    assert queue.release_message(job.id, "b")  # Slack asked us to wait
    again = queue.get(job.id)
    assert again is not None
    assert again.message_state is MessageState.PENDING
    assert queue.claim_message(job.id, "c", stale)
    assert queue.record_message(job.id, "c", "C1", "1.2", 1)
    assert not queue.claim_message(job.id, "d", stale)  # posted: nothing left to claim


def posted_in_line(queue: JobQueue, count: int) -> list[int]:
    """`count` queued jobs whose placeholders are up, each showing its place when posted."""
    ids = []
    for place in range(1, count + 1):
        job = queue.enqueue(new_spec(f"line{place}", state=MessageState.PENDING)).job
        assert queue.claim_message(job.id, "p", LEASE)
        assert queue.record_message(job.id, "p", "C1", f"{place}.1", place)
        ids.append(job.id)
    return ids


def test_a_place_in_line_is_refreshed_by_one_process_while_its_job_waits(queue: JobQueue) -> None:
    first, second, third = posted_in_line(queue, 3)
    assert queue.stale_places(3) == []

    claimed = queue.claim("w", LEASE)
    assert claimed is not None and claimed.id == first
    stale = queue.stale_places(3)
    assert [(job.id, job.shown_position, place) for job, place in stale] == [(second, 2, 1), (third, 3, 2)]
    assert queue.stale_places(1) == stale[:1]  # only the first places in line are kept exact

    job, place = stale[0]
    assert queue.claim_refresh(job, "a", place)
    assert not queue.claim_refresh(job, "b", place)  # one process at a time
    held = queue.claim("w", LEASE)  # the job being refreshed waits; its message must not go back in time
    assert held is not None and held.id == third
    assert queue.end_refresh(second, "a")
    refreshed = queue.claim("w", LEASE)
    assert refreshed is not None and refreshed.id == second
    assert (refreshed.shown_position, refreshed.message_state) == (1, MessageState.POSTED)
    assert not queue.claim_refresh(job, "b", place)  # it moved on: running, nothing to show


def test_a_refresh_abandoned_by_a_dead_process_holds_its_job_back_only_briefly(
    queue: JobQueue, clock: FrozenClock
) -> None:
    _, waiting = posted_in_line(queue, 2)
    assert queue.claim("w", LEASE) is not None
    [(job, place)] = queue.stale_places(3)
    assert queue.claim_refresh(job, "dead", place)

    clock.advance(REFRESH_STALE.total_seconds())
    assert queue.claim("w", LEASE) is None
    clock.advance(0.001)
    taken = queue.claim("w", LEASE)
    assert taken is not None and taken.id == waiting
    assert taken.message_state is MessageState.POSTED  # its message is up, whatever the refresh did
    assert not queue.end_refresh(waiting, "dead")


def test_pending_messages_oldest_first_up_to_the_limit(queue: JobQueue) -> None:
    ids = [queue.enqueue(new_spec(f"pm{n}", state=MessageState.PENDING)).job.id for n in range(4)]
    queue.enqueue(new_spec("private", state=MessageState.PRIVATE))

    assert [j.id for j in queue.pending_messages(timedelta(seconds=60), limit=3)] == ids[:3]


def succeed(queue: JobQueue, key: str, channel: str, ts: str, *, thread_ts: str | None = None) -> int:
    job = queue.enqueue(new_spec(key, channel=channel, thread_ts=thread_ts, state=MessageState.PENDING)).job
    assert queue.claim_message(job.id, "p", LEASE)
    assert queue.record_message(job.id, "p", channel, ts, 1)
    claimed = queue.claim("w", LEASE)
    assert claimed is not None
    assert claimed.id == job.id
    assert queue.finish(job.id, "w", Outcome(Status.SUCCEEDED))
    return job.id


def test_latest_in_thread_is_the_newest_result_of_the_thread(queue: JobQueue) -> None:
    root = succeed(queue, "root", "C1", "100.1")
    assert queue.latest_in_thread("C1", "100.1") == queue.get(root)
    edit = succeed(queue, "edit", "C1", "100.2", thread_ts="100.1")
    assert queue.latest_in_thread("C1", "100.1") == queue.get(edit)
    succeed(queue, "elsewhere", "C2", "100.3", thread_ts="100.1")  # same ts, another channel
    assert queue.latest_in_thread("C1", "100.1") == queue.get(edit)

    assert queue.mark_deleted(edit, "U1")
    assert queue.latest_in_thread("C1", "100.1") == queue.get(root)
    assert queue.latest_in_thread("C1", "999.9") is None


def test_latest_in_thread_ignores_jobs_without_a_result(queue: JobQueue) -> None:
    job = queue.enqueue(new_spec("q", state=MessageState.PENDING)).job
    assert queue.claim_message(job.id, "p", LEASE)
    assert queue.record_message(job.id, "p", "C1", "200.1", 1)
    assert queue.latest_in_thread("C1", "200.1") is None


def test_get_finds_a_job_by_id(queue: JobQueue) -> None:
    job_id = succeed(queue, "bm", "C1", "300.1")
    found = queue.get(job_id)
    assert found is not None and found.message_ts == "300.1"
    assert queue.get(10_000) is None


def test_deleting_is_recorded_once(queue: JobQueue, clock: FrozenClock) -> None:
    job = queue.enqueue(new_spec()).job

    assert queue.mark_deleted(job.id, "U1")
    assert not queue.mark_deleted(job.id, "U2")
    deleted = queue.get(job.id)
    assert deleted is not None
    assert (deleted.deleted_at, deleted.message_state) == (clock.now, MessageState.DELETED)


def test_the_response_url_budget_keeps_the_last_use_for_the_outcome(queue: JobQueue) -> None:
    job = queue.enqueue(new_spec()).job

    progress = [queue.use_response_url(job.id, final=False) for _ in range(RESPONSE_URL_USES + 1)]
    final = [queue.use_response_url(job.id, final=True) for _ in range(2)]

    assert progress == [True] * (RESPONSE_URL_USES - 1) + [False, False]
    assert final == [True, False]


def test_enqueue_reports_the_place_in_line(queue: JobQueue, clock: FrozenClock) -> None:
    positions = []
    for n in range(3):
        positions.append(queue.enqueue(new_spec(f"line{n}")).position)
        clock.advance(1)
    queue.claim("w", LEASE)  # the first one starts running
    later = queue.enqueue(new_spec("line3"))

    assert positions == [1, 2, 3]
    assert later.position == 3
    assert queue.position(later.job.id) == 3


def test_concurrent_claims_never_hand_one_job_to_two_workers(engine: Engine) -> None:
    queue = JobQueue(engine)
    total = 30
    queue.enqueue_many([new_spec(f"c{n}") for n in range(total)])
    claimed: list[int] = []
    lock = threading.Lock()

    def drain(owner: str) -> None:
        while (job := queue.claim(owner, LEASE)) is not None:
            with lock:
                claimed.append(job.id)

    threads = [threading.Thread(target=drain, args=(f"w{n}",)) for n in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)

    assert sorted(claimed) == sorted(set(claimed))
    assert len(claimed) == total


def test_ping_answers(queue: JobQueue) -> None:
    queue.ping()
