"""The real bot, `serve`: the web process acks, its worker child makes the image, one message comes alive."""

from __future__ import annotations

import os
import signal
from pathlib import Path

import httpx

from devkit.azure import AzureEmulator
from devkit.slack import SlackEmulator
from tests.conftest import CHANNEL
from tests.e2e.conftest import WAIT, BotFactory, has_image, top_level


def finished(slack: SlackEmulator, ts: str) -> object | None:
    message = slack.message(CHANNEL, ts)
    return message if has_image(message) else None


def test_a_placeholder_appears_before_azure_answers_then_previews_then_the_image(
    run_bot: BotFactory, slack: SlackEmulator, azure: AzureEmulator
) -> None:
    bot = run_bot(log_level="DEBUG")
    with httpx.Client(trust_env=False) as http:
        assert http.get(f"{bot.url}/healthz").json() == {"status": "ok", "database": "ok", "workers": "ok"}
    gate = azure.pause("generate")  # the stream stops after its previews until released
    answer = slack.send_command(bot.url, "a lighthouse at dusk")
    assert answer.status == 200 and "Job 1" in answer.json()["text"]
    placeholder = slack.wait_for(lambda: next(iter(top_level(slack)), None), timeout=WAIT)
    assert gate.reached.wait(WAIT)  # Azure has the request and has not answered
    previewed = lambda: any("Rough preview" in str(v.blocks) for v in slack.message(CHANNEL, placeholder.ts).history)  # noqa: E731
    slack.wait_for(previewed, timeout=WAIT)
    gate.release()
    final = slack.wait_for(lambda: finished(slack, placeholder.ts), timeout=WAIT)
    assert "imagine_regenerate" in str(final.blocks)
    assert [m.ts for m in top_level(slack)] == [placeholder.ts]  # one message per request
    versions = [str(v.blocks) for v in final.history]
    assert versions.index(next(v for v in versions if "Rough preview" in v)) < len(versions) - 1
    bot.stop()
    for secret in (slack.bot_token, slack.signing_secret, azure.api_key):
        assert secret not in bot.logs  # not even at DEBUG
    assert "job=1" in bot.logs


def test_a_killed_worker_is_replaced_and_sigterm_leaves_the_rest_to_the_next_worker(
    run_bot: BotFactory, slack: SlackEmulator, azure: AzureEmulator
) -> None:
    """Two ways a worker goes away in one bot: kill -9 (serve starts another, which takes the job over once
    its lease runs out) and SIGTERM (the worker drains: its running job goes back to the queue for any
    worker). Each image is posted once."""
    bot = run_bot(job_lease_seconds=3, shutdown_grace_seconds=1)  # taken over as soon as the new one is up
    gate = azure.pause("generate")
    slack.send_command(bot.url, "a fox")
    assert gate.reached.wait(WAIT)
    children = Path(f"/proc/{bot.process.pid}/task/{bot.process.pid}/children").read_text()
    os.kill(int(children.split()[0]), signal.SIGKILL)
    gate.release()
    with httpx.Client(trust_env=False) as http:
        slack.wait_for(lambda: http.get(f"{bot.url}/healthz").status_code == 503, timeout=WAIT)
        slack.wait_for(lambda: http.get(f"{bot.url}/healthz").status_code == 200, timeout=WAIT)
    slack.wait_for(lambda: next((m for m in top_level(slack) if has_image(m)), None), timeout=WAIT)
    assert "the worker process exited" in bot.logs

    gate = azure.pause("generate")
    slack.send_command(bot.url, "a hare")
    assert gate.reached.wait(WAIT)
    assert bot.stop(signal.SIGTERM, timeout=30) == 0
    gate.release()
    assert "released 1 unfinished job(s)" in bot.logs
    run_bot("worker")  # the job waited in the database; any worker finishes it
    slack.wait_for(lambda: sum(has_image(m) for m in top_level(slack)) == 2 or None, timeout=WAIT)
    assert len(top_level(slack)) == 2
    # Previews of every attempt are deleted once each image is shown (right after, so waited for).
    live = lambda: sorted(f.filename for f in slack.files().values() if not f.deleted)  # noqa: E731
    slack.wait_for(lambda: live() == ["imagine-1.png", "imagine-2.png"] or None, timeout=WAIT)
