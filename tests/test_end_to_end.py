"""The real bot process, driven like Slack drives it: signed HTTP requests in, emulated Slack and Azure out."""

from __future__ import annotations

import io
import json
import signal
import time
from typing import Any

import httpx
import pytest
from PIL import Image
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from bot.emulators.azure import ContentPolicy, RateLimited, ServerError, Slow
from bot.emulators.slack import Message, SlackEmulator
from bot.usage.models import Generation
from tests.conftest import CHANNEL, USER, BotFactory

pytestmark = pytest.mark.e2e


def rows(engine: Engine) -> list[Generation]:
    with Session(engine) as session:
        return list(session.scalars(select(Generation).order_by(Generation.id)))


def finished_rows(engine: Engine, count: int = 1, timeout: float = 30) -> list[Generation]:
    """Rows once `count` of them have a final status (the row is finished just after the upload)."""
    deadline = time.monotonic() + timeout
    while True:
        current = rows(engine)
        if len([r for r in current if r.status in ("succeeded", "rejected", "failed")]) >= count:
            return current
        if time.monotonic() > deadline:
            raise AssertionError(f"rows not finished in {timeout} s: {[(r.id, r.status) for r in current]}")
        time.sleep(0.05)


def wait_for_upload(slack: SlackEmulator, channel: str = CHANNEL, count: int = 1) -> list[Message]:
    return slack.wait_for(
        lambda: (
            [m for m in slack.messages(channel) if m.files][:count]
            if len([m for m in slack.messages(channel) if m.files]) >= count
            else None
        ),
        timeout=30,
    )


PROGRESS_MARKS = (":art: Generating", ":art: Still generating", ":hourglass_flowing_sand:")


def final_response(slack: SlackEmulator, response_url: str) -> dict[str, Any]:
    """The first post to the response_url that is an outcome rather than progress."""

    def last_outcome() -> dict[str, Any] | None:
        outcomes = [
            p.body for p in slack.responses(response_url) if not str(p.body.get("text")).startswith(PROGRESS_MARKS)
        ]
        return outcomes[0] if outcomes else None

    return slack.wait_for(last_outcome, timeout=30)


@pytest.mark.parametrize(
    ("model", "text", "size", "azure_body"),
    [
        pytest.param(
            "dall-e-3",
            "a badger wearing a tuxedo --size 1792x1024 --style natural",
            (1792, 1024),
            {
                "prompt": "a badger wearing a tuxedo",
                "n": 1,
                "size": "1792x1024",
                "quality": "standard",
                "style": "natural",
                "response_format": "url",
            },
            id="dall-e-3",
        ),
        pytest.param(
            "gpt-image-1",
            "a lighthouse at dusk --quality low --size 1536x1024",
            (1536, 1024),
            {"prompt": "a lighthouse at dusk", "n": 1, "size": "1536x1024", "quality": "low", "output_format": "png"},
            id="gpt-image",
        ),
        pytest.param(
            "dall-e-2",
            "a watercolor fox --size 512x512",
            (512, 512),
            {"prompt": "a watercolor fox", "n": 1, "size": "512x512"},
            id="dall-e-2",
        ),
    ],
)
def test_imagine_posts_the_image_with_its_prompts_and_records_usage(
    run_bot: BotFactory,
    slack: SlackEmulator,
    azure: Any,
    engine: Engine,
    model: str,
    text: str,
    size: tuple[int, int],
    azure_body: dict[str, Any],
) -> None:
    bot = run_bot(model)

    sent = slack.send_command(bot.url, text)

    assert sent.status == 200
    ack = sent.json()
    assert ack["response_type"] == "ephemeral"
    assert azure_body["prompt"] in ack["text"]
    assert size[0]
    assert f"{size[0]}x{size[1]}" in ack["text"]

    [message] = wait_for_upload(slack)
    [file] = message.files
    image = Image.open(io.BytesIO(file.content))
    assert image.format == "PNG"
    assert image.size == size
    assert message.channel == CHANNEL
    assert message.text is not None
    assert f"<@{USER}>" in message.text
    assert azure_body["prompt"] in message.text
    if model == "dall-e-3":
        assert "Prompt the model used" in message.text
        assert "richly detailed" in message.text.lower() or "revised" in message.text.lower()
    else:
        assert "does not revise prompts" in message.text

    [call] = azure.generation_calls()
    assert call.json == azure_body
    assert call.headers["api-key"] == azure.api_key

    outcome = final_response(slack, sent.response_url)
    assert "posted" in outcome["text"]

    [row] = finished_rows(engine)
    assert row.status == "succeeded"
    assert row.model == model
    assert row.prompt == azure_body["prompt"]
    assert row.size == f"{size[0]}x{size[1]}"
    assert row.user_id == USER
    assert row.channel_id == CHANNEL
    assert row.team_id == slack.team_id
    assert row.attempts == 1
    assert row.created_at <= row.started_at <= row.finished_at  # type: ignore[operator]
    assert row.azure_latency_ms is not None
    assert row.delivered_file_ids == file.id
    assert row.estimated_cost_usd is not None
    assert row.estimated_cost_usd > 0
    if model == "dall-e-3":
        assert row.revised_prompt
        assert row.revised_prompt in message.text
    else:
        assert row.revised_prompt is None
    if model.startswith("gpt-image"):
        assert row.output_tokens
        assert row.output_tokens > 0
        assert row.total_tokens
        assert row.total_tokens >= row.output_tokens


def test_bad_options_are_explained_and_nothing_is_queued(
    run_bot: BotFactory, slack: SlackEmulator, azure: Any, engine: Engine
) -> None:
    bot = run_bot("dall-e-3")

    for text, mentions in [
        ("a fox --size 500x500", ["500x500", "1792x1024"]),
        ("a fox --sze 1024x1024", ["--sze", "--size"]),
        ("a fox --quality", ["--quality"]),
        ("x" * 4001, ["4,000"]),
    ]:
        sent = slack.send_command(bot.url, text)
        assert sent.status == 200
        reply = sent.json()["text"]
        for mention in mentions:
            assert mention in reply, (text, reply)

    help_reply = json.dumps(slack.send_command(bot.url, "").json()["blocks"])
    assert "--size" in help_reply
    assert "--style" in help_reply

    assert rows(engine) == []
    assert azure.generation_calls() == []


def test_a_prompt_containing_payload_is_handled_like_any_other(
    run_bot: BotFactory, slack: SlackEmulator, engine: Engine
) -> None:
    bot = run_bot("dall-e-3")

    sent = slack.send_command(bot.url, "a payload truck on a highway", channel_name="payload-team")

    assert sent.status == 200, sent.text
    wait_for_upload(slack)
    assert finished_rows(engine)[0].prompt == "a payload truck on a highway"


def test_slack_markup_and_smart_punctuation_become_what_the_user_meant(
    run_bot: BotFactory, slack: SlackEmulator, azure: Any
) -> None:
    bot = run_bot("dall-e-3")

    slack.send_command(bot.url, "<@U0FRIEND1|bob> &amp; <#C0CHAN0002|design> at “dawn” —style natural")

    wait_for_upload(slack)
    [call] = azure.generation_calls()
    assert call.json["prompt"] == '@bob & #design at "dawn"'
    assert call.json["style"] == "natural"


def test_a_prompt_cannot_ping_the_channel(run_bot: BotFactory, slack: SlackEmulator) -> None:
    bot = run_bot("gpt-image-1")

    sent = slack.send_command(bot.url, "<!channel> look at <@U0OTHER01> and <https://evil.example|this> @here")

    assert "<!channel>" not in sent.json()["text"]
    [message] = wait_for_upload(slack)
    assert message.text is not None
    for forbidden in ("<!channel>", "<!here>", "<@U0OTHER01>", "<https://evil.example", "@channel", "@here"):
        assert forbidden not in message.text
    assert f"<@{USER}>" in message.text  # the requester is still credited


def test_content_policy_rejection_is_final_and_explained(
    run_bot: BotFactory, slack: SlackEmulator, azure: Any, engine: Engine
) -> None:
    azure.fail_next(ContentPolicy())
    bot = run_bot("dall-e-3")

    sent = slack.send_command(bot.url, "something the policy refuses")

    outcome = final_response(slack, sent.response_url)
    assert "content policy" in outcome["text"]
    assert "ResponsibleAIPolicyViolation" not in outcome["text"]
    [row] = finished_rows(engine)
    assert row.status == "rejected"
    assert row.error_code == "content_rejected_prompt"
    assert row.estimated_cost_usd == 0
    assert len(azure.generation_calls()) == 1
    assert [m for m in slack.messages(CHANNEL) if m.files] == []


def test_rate_limits_and_server_errors_are_retried_then_delivered(
    run_bot: BotFactory, slack: SlackEmulator, azure: Any, engine: Engine
) -> None:
    azure.fail_next(RateLimited(retry_after_ms=300), ServerError(503))
    bot = run_bot("gpt-image-1")

    sent = slack.send_command(bot.url, "a bowl of ramen")

    wait_for_upload(slack)
    assert len(azure.generation_calls()) == 3
    outcome = final_response(slack, sent.response_url)
    assert "posted" in outcome["text"]
    [row] = finished_rows(engine)
    assert row.status == "succeeded"
    assert row.attempts == 3
    assert any("tried again" in post.body["text"] for post in slack.responses(sent.response_url))


def test_wrong_azure_key_fails_with_a_plain_message_and_no_retry(
    run_bot: BotFactory, slack: SlackEmulator, azure: Any, engine: Engine
) -> None:
    bot = run_bot("dall-e-3", AZURE_OPENAI_API_KEY="not-the-key")

    sent = slack.send_command(bot.url, "a red balloon")

    outcome = final_response(slack, sent.response_url)
    assert "configuration problem" in outcome["text"]
    assert "401" not in outcome["text"]
    assert "subscription key" not in outcome["text"]
    [row] = finished_rows(engine)
    assert (row.status, row.error_code, row.attempts) == ("failed", "azure_auth_failed", 1)
    assert "not-the-key" not in bot.logs


def test_the_same_trigger_id_twice_is_one_job(run_bot: BotFactory, slack: SlackEmulator, engine: Engine) -> None:
    bot = run_bot("dall-e-3")

    first = slack.send_command(bot.url, "a teapot", trigger_id="1.2.same")
    second = slack.send_command(bot.url, "a teapot", trigger_id="1.2.same")

    assert "already in the queue" in second.json()["text"]
    wait_for_upload(slack)
    assert len(rows(engine)) == 1
    assert first.status == second.status == 200


def test_not_in_channel_sends_the_image_by_direct_message(
    run_bot: BotFactory, slack: SlackEmulator, engine: Engine
) -> None:
    slack.add_channel("C0PRIVATE1", name="secret", member=False, private=True)
    bot = run_bot("dall-e-3")

    sent = slack.send_command(bot.url, "a lantern", channel_id="C0PRIVATE1", channel_name="secret")

    dm = slack.wait_for(lambda: [m for m in slack.messages() if m.files and m.channel.startswith("D")], timeout=30)
    assert dm[0].files
    outcome = final_response(slack, sent.response_url)
    assert "/invite" in outcome["text"]
    [row] = finished_rows(engine)
    assert row.status == "succeeded"
    assert row.delivered_channel_id == dm[0].channel


def test_queued_jobs_survive_a_crash_and_are_delivered_once(
    run_bot: BotFactory, slack: SlackEmulator, azure: Any, engine: Engine
) -> None:
    # A slow Azure keeps the job in flight while the process is killed.
    bot = run_bot("dall-e-3", JOB_LEASE_SECONDS="2", WORKER_CONCURRENCY="1")
    azure.fail_next(Slow(3.0))
    slack.send_command(bot.url, "a phoenix")
    slack.wait_for(lambda: azure.generation_calls() or None, timeout=10)
    bot.stop(signal.SIGKILL)

    run_bot("dall-e-3", JOB_LEASE_SECONDS="2")

    wait_for_upload(slack)
    [row] = finished_rows(engine)
    assert row.status == "succeeded"
    assert row.attempts == 2
    assert len([m for m in slack.messages(CHANNEL) if m.files]) == 1


def test_healthz_reports_ready_without_secrets(run_bot: BotFactory, slack: SlackEmulator, azure: Any) -> None:
    bot = run_bot("dall-e-3")

    response = httpx.get(f"{bot.url}/healthz")

    assert response.status_code == 200
    assert response.json() == {"status": "ok", "database": "ok", "workers": "ok"}
    for secret in (slack.bot_token, slack.signing_secret, azure.api_key):
        assert secret not in response.text


def test_unsigned_or_stale_requests_are_refused_and_create_no_job(
    run_bot: BotFactory, slack: SlackEmulator, engine: Engine
) -> None:
    bot = run_bot("dall-e-3")
    body = b"command=%2Fimagine&text=a+fox&user_id=U1&channel_id=C1&team_id=T1&trigger_id=9.9.9"

    unsigned = httpx.post(
        f"{bot.url}/slack/events", content=body, headers={"content-type": "application/x-www-form-urlencoded"}
    )
    stale = httpx.post(
        f"{bot.url}/slack/events",
        content=body,
        headers={"content-type": "application/x-www-form-urlencoded", **slack.sign(body, timestamp=1_000_000_000)},
    )

    assert unsigned.status_code == 401
    assert stale.status_code == 401
    assert rows(engine) == []


def test_sigterm_drains_and_exits_cleanly(run_bot: BotFactory) -> None:
    bot = run_bot("dall-e-3")

    assert bot.stop(signal.SIGTERM) == 0
    assert "workers stopped" in bot.logs
