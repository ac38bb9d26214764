"""Failing services, end to end: nothing accepted is lost, nothing is posted twice, the user is told."""

from __future__ import annotations

import json
import signal
from typing import Any

import pytest
from sqlalchemy import Engine

from bot.emulators.azure import ServerError, Slow
from bot.emulators.slack import SlackEmulator
from tests.conftest import CHANNEL, USER, BotFactory
from tests.test_end_to_end import final_response, finished_rows, wait_for_upload

pytestmark = pytest.mark.e2e


def uploads(slack: SlackEmulator) -> list[Any]:
    return [m for m in slack.messages() if m.files]


def test_slack_429_on_the_upload_is_retried_after_retry_after(
    run_bot: BotFactory, slack: SlackEmulator, engine: Engine
) -> None:
    slack.rate_limit_next("files.completeUploadExternal", retry_after=1)
    bot = run_bot("dall-e-3")

    slack.send_command(bot.url, "a snail on a skateboard")

    wait_for_upload(slack)
    [row] = finished_rows(engine)
    assert row.status == "succeeded"
    statuses = [call.status for call in slack.calls("files.completeUploadExternal")]
    assert statuses == [429, 200]
    assert len(uploads(slack)) == 1


def test_a_failed_raw_upload_is_retried_and_posted_once(
    run_bot: BotFactory, slack: SlackEmulator, engine: Engine
) -> None:
    slack.fail_upload_next(500)
    bot = run_bot("gpt-image-1")

    slack.send_command(bot.url, "a paper boat")

    wait_for_upload(slack)
    [row] = finished_rows(engine)
    assert (row.status, row.attempts) == ("succeeded", 2)
    assert len(uploads(slack)) == 1


def test_an_archived_channel_gets_the_image_by_direct_message(
    run_bot: BotFactory, slack: SlackEmulator, engine: Engine
) -> None:
    slack.add_channel("C0ARCHIVE1", name="old", member=True, archived=True)
    bot = run_bot("dall-e-3")

    sent = slack.send_command(bot.url, "a dusty attic", channel_id="C0ARCHIVE1", channel_name="old")

    outcome = final_response(slack, sent.response_url)
    assert "archived" in outcome["text"]
    [dm] = slack.wait_for(lambda: [m for m in uploads(slack) if m.channel.startswith("D")], timeout=30)
    assert f"<@{USER}>" in (dm.text or "")
    assert finished_rows(engine)[0].status == "succeeded"


def test_an_expired_response_url_falls_back_to_an_ephemeral_message(
    run_bot: BotFactory, slack: SlackEmulator, azure: Any
) -> None:
    azure.fail_next(Slow(0.5))
    bot = run_bot("dall-e-3")

    slack.send_command(bot.url, "a quiet harbour")
    slack.expire_response_urls()

    wait_for_upload(slack)
    ephemeral = slack.wait_for(lambda: [m for m in slack.ephemerals(USER) if "posted" in (m.text or "")], timeout=30)
    assert ephemeral[0].channel == CHANNEL


def test_a_job_that_cannot_finish_before_its_deadline_fails_with_a_message(
    run_bot: BotFactory, slack: SlackEmulator, azure: Any, engine: Engine
) -> None:
    azure.fail_next(*[ServerError(503)] * 10)
    bot = run_bot("dall-e-3", JOB_DEADLINE_MINUTES="0.03")  # 1.8 s

    sent = slack.send_command(bot.url, "a comet")

    outcome = final_response(slack, sent.response_url)
    assert "gave up" in outcome["text"]
    [row] = finished_rows(engine)
    assert row.status == "failed"
    assert row.error_code in ("deadline_exceeded", "service_unavailable")
    assert uploads(slack) == []


def test_logs_are_json_lines_with_the_job_id(run_bot: BotFactory, slack: SlackEmulator, engine: Engine) -> None:
    bot = run_bot("gpt-image-1", LOG_JSON="true")

    slack.send_command(bot.url, "a kite")
    wait_for_upload(slack)
    [row] = finished_rows(engine)
    bot.stop()

    entries = [json.loads(line) for line in bot.logs.splitlines() if line.strip()]
    worker_lines = [e for e in entries if e["logger"] == "bot.jobs.worker" and "generat" in e["message"]]
    assert worker_lines
    assert all(e["job"] == str(row.id) for e in worker_lines)
    assert {"time", "level", "logger", "job", "message"} <= set(entries[0])


def test_sigterm_lets_the_running_job_finish_then_exits_zero(
    run_bot: BotFactory, slack: SlackEmulator, azure: Any, engine: Engine
) -> None:
    azure.fail_next(Slow(1.5))
    bot = run_bot("dall-e-3")

    slack.send_command(bot.url, "a slow sunrise")
    slack.wait_for(lambda: azure.generation_calls() or None, timeout=10)

    assert bot.stop(signal.SIGTERM) == 0
    [row] = finished_rows(engine, timeout=5)
    assert row.status == "succeeded"
    assert len(uploads(slack)) == 1


def test_sigterm_releases_a_job_it_cannot_finish_in_time(
    run_bot: BotFactory, slack: SlackEmulator, azure: Any, engine: Engine
) -> None:
    azure.fail_next(Slow(8))
    bot = run_bot("dall-e-3", SHUTDOWN_GRACE_SECONDS="1", JOB_LEASE_SECONDS="30")

    slack.send_command(bot.url, "a glacier")
    slack.wait_for(lambda: azure.generation_calls() or None, timeout=10)

    assert bot.stop(signal.SIGTERM) == 0
    assert "released 1 unfinished job" in bot.logs
    run_bot("dall-e-3")  # picked up at once, without waiting for the 30 s lease
    wait_for_upload(slack)
    [row] = finished_rows(engine)
    assert row.status == "succeeded"
    assert len(uploads(slack)) == 1


def test_no_secret_reaches_the_logs_even_at_debug_level(
    run_bot: BotFactory, slack: SlackEmulator, azure: Any, engine: Engine
) -> None:
    bot = run_bot("dall-e-3", LOG_LEVEL="DEBUG", AZURE_OPENAI_API_KEY="wrong-key-to-force-an-error")

    sent = slack.send_command(bot.url, "a secretive owl")
    final_response(slack, sent.response_url)
    bot.stop()

    for secret in (slack.bot_token, slack.signing_secret, "wrong-key-to-force-an-error"):
        assert secret not in bot.logs
    assert "job=" in bot.logs


def test_a_burst_above_the_rpm_limit_waits_in_line_instead_of_hitting_429s(
    slack: SlackEmulator, engine: Engine, database_url: str
) -> None:
    from bot.emulators.azure import AzureEmulator
    from tests.conftest import DEPLOYMENTS, bot_environment, free_port, start_bot

    burst = 4
    # Azure allows 12 RPM, i.e. 2 calls in any 10 s; this burst would see 429s without the limit.
    with AzureEmulator(deployments=DEPLOYMENTS, rpm_limit=12) as limited_azure:
        env = bot_environment(
            slack=slack,
            azure=limited_azure,
            database_url=database_url,
            model="dall-e-3",
            port=free_port(),
            AZURE_RPM_LIMIT="12",
            WORKER_CONCURRENCY="4",
        )
        bot = start_bot(env)
        try:
            for n in range(burst):
                slack.send_command(bot.url, f"limited image {n}")
            rows = finished_rows(engine, count=burst, timeout=60)
        finally:
            bot.stop()
        calls = limited_azure.generation_calls()

    assert {row.status for row in rows} == {"succeeded"}
    assert {row.attempts for row in rows} == {1}  # no job was ever refused with a 429
    assert len(calls) == burst
    gaps = [(later.at - earlier.at) for earlier, later in zip(calls, calls[2:], strict=False)]
    assert min(gaps) >= 9.9  # never more than 2 calls in any 10 s window
