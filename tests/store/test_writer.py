"""bot.jobs.writer: the group-commit writer turns many submissions into few transactions and answers
each one's future; a failed batch fails every future in it; the direct committer commits at once."""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from concurrent.futures import Future

import pytest
from sqlalchemy import Engine
from sqlalchemy.exc import IntegrityError

from bot.jobs.queue import Enqueued, JobQueue
from bot.jobs.writer import DirectCommitter, GroupCommitWriter
from bot.store.spec import JobSpec
from tests.conftest import FrozenClock
from tests.store.conftest import new_spec

WAIT_S = 10.0  # a bound on waiting for the writer's thread, never a fixed sleep


def broken_spec() -> JobSpec:
    """A spec the database refuses (team_id is NOT NULL)."""
    spec = new_spec("broken")
    return dataclasses.replace(spec, origin=dataclasses.replace(spec.origin, team_id=None))  # type: ignore[arg-type]


def test_submissions_waiting_together_are_committed_in_one_transaction(queue: JobQueue) -> None:
    writer = GroupCommitWriter(queue)
    futures = [writer.submit(new_spec(f"g{n}")) for n in range(20)]  # all waiting before the thread starts

    writer.start()
    results = [future.result(WAIT_S) for future in futures]
    writer.stop()

    assert writer.batches == 1
    assert [r.created for r in results] == [True] * 20
    assert [r.position for r in results] == list(range(1, 21))
    assert [r.job.origin.dedupe_key for r in results] == [f"g{n}" for n in range(20)]


def test_a_batch_is_at_most_max_batch(queue: JobQueue) -> None:
    writer = GroupCommitWriter(queue, max_batch=2)
    futures = [writer.submit(new_spec(f"m{n}")) for n in range(5)]

    writer.start()
    positions = [future.result(WAIT_S).position for future in futures]
    writer.stop()

    assert writer.batches == 3
    assert positions == [1, 2, 3, 4, 5]


def test_repeats_in_a_batch_answer_with_the_first_ones_job(queue: JobQueue) -> None:
    writer = GroupCommitWriter(queue)
    first, second = writer.submit(new_spec("same")), writer.submit(new_spec("same"))

    writer.start()
    a, b = first.result(WAIT_S), second.result(WAIT_S)
    writer.stop()

    assert (a.created, b.created) == (True, False)
    assert a.job.id == b.job.id


def test_a_failed_batch_fails_every_future_in_it_and_the_writer_goes_on(queue: JobQueue) -> None:
    writer = GroupCommitWriter(queue)
    doomed = [writer.submit(new_spec("fine")), writer.submit(broken_spec()), writer.submit(new_spec("also fine"))]

    writer.start()
    for future in doomed:
        with pytest.raises(IntegrityError):
            future.result(WAIT_S)
    later = writer.submit(new_spec("after")).result(WAIT_S)
    writer.stop()

    assert later.created
    assert later.position == 1  # nothing of the failed batch was committed
    assert queue.get(later.job.id) is not None


class RacingQueue(JobQueue):
    """Another web process commits the same dedupe key between this one's check and insert, once."""

    raced = False

    def enqueue_many(self, specs: Sequence[JobSpec]) -> list[Enqueued]:
        if not self.raced:
            self.raced = True
            super().enqueue_many([specs[0]])  # the other process's commit
            raise IntegrityError("INSERT", {}, Exception("UNIQUE constraint failed: generations.dedupe_key"))
        return super().enqueue_many(specs)


def test_a_dedupe_race_with_another_process_is_retried_once_and_answered_as_a_repeat(
    engine: Engine, clock: FrozenClock
) -> None:
    racing = RacingQueue(engine, clock=clock)
    writer = GroupCommitWriter(racing)
    future = writer.submit(new_spec("raced"))

    writer.start()
    result = future.result(WAIT_S)
    writer.stop()

    assert not result.created
    assert result.job.origin.dedupe_key == "raced"


def test_stop_commits_what_was_accepted_then_ends_the_thread(queue: JobQueue) -> None:
    writer = GroupCommitWriter(queue).start()
    futures = [writer.submit(new_spec(f"s{n}")) for n in range(5)]

    writer.stop()

    assert all(future.done() for future in futures)
    assert sorted(f.result().position for f in futures) == [1, 2, 3, 4, 5]


def test_the_direct_committer_commits_in_the_callers_thread(queue: JobQueue) -> None:
    committer = DirectCommitter(queue)

    done: Future[Enqueued] = committer.submit(new_spec("direct"))
    failed = committer.submit(broken_spec())

    assert done.done()
    assert done.result().created
    assert isinstance(failed.exception(), IntegrityError)
