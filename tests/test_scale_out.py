"""Scale-out on PostgreSQL: a web process and several worker processes share one queue.

Runs only with TEST_DATABASE_URL pointing at PostgreSQL (as `.ci/run` does); SQLite is single-host.
"""

from __future__ import annotations

import re
import signal
from collections import Counter
from typing import Any

import pytest
from sqlalchemy import Engine

from bot.emulators.azure import Slow
from bot.emulators.slack import SlackEmulator
from tests.conftest import BotFactory, postgres_url
from tests.test_end_to_end import finished_rows

pytestmark = [
    pytest.mark.e2e,
    pytest.mark.postgres,
    pytest.mark.skipif(postgres_url() is None, reason="scale-out needs PostgreSQL: set TEST_DATABASE_URL"),
]

BURST = 24


def delivered_job_ids(slack: SlackEmulator) -> Counter[int]:
    """How many times each job's image was posted (filenames are imagine-<job id>.png)."""
    counts: Counter[int] = Counter()
    for message in slack.messages():
        for file in message.files:
            match = re.fullmatch(r"imagine-(\d+)\.png", file.filename)
            if match:
                counts[int(match.group(1))] += 1
    return counts


def test_web_and_two_workers_deliver_a_burst_exactly_once_despite_a_kill(
    run_bot: BotFactory, slack: SlackEmulator, azure: Any, engine: Engine
) -> None:
    web = run_bot("gpt-image-1", command="web")
    workers = [
        run_bot("gpt-image-1", command="worker", WORKER_CONCURRENCY="3", JOB_LEASE_SECONDS="3") for _ in range(2)
    ]
    azure.fail_next(*[Slow(0.3)] * BURST)  # each generation takes a moment, so the kill lands mid-job

    acks = [slack.send_command(web.url, f"image number {n}") for n in range(BURST)]
    assert all(ack.status == 200 for ack in acks)
    slack.wait_for(lambda: len(azure.generation_calls()) >= 4 or None, timeout=30)
    workers[0].stop(signal.SIGKILL)

    slack.wait_for(lambda: sum(delivered_job_ids(slack).values()) >= BURST or None, timeout=60)
    rows = finished_rows(engine, count=BURST, timeout=30)

    counts = delivered_job_ids(slack)
    assert sorted(counts) == sorted(row.id for row in rows)
    assert set(counts.values()) == {1}, f"posted more than once: {[j for j, c in counts.items() if c > 1]}"
    assert {row.status for row in rows} == {"succeeded"}
    assert len({row.trigger_id for row in rows}) == BURST
    assert "workers started" not in web.logs  # the web process runs no workers
    assert any(f"job={row.id}" in workers[1].logs for row in rows)
