"""The real bot in Socket Mode (shared/reference/slack-platform.md §4.5): commands arrive as envelopes
over the emulator's WebSocket instead of signed HTTP requests, and the rest of the flow is unchanged."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from sqlalchemy import Engine

from bot.emulators.slack import SlackEmulator
from tests.conftest import CHANNEL, USER, BotFactory
from tests.test_end_to_end import final_response, finished_rows, wait_for_upload

pytestmark = pytest.mark.e2e

NO_PROXY_ENV = {"http_proxy": "", "https_proxy": ""}  # the SDK's socket would tunnel through one


def test_imagine_over_socket_mode_posts_the_image_and_records_usage(
    run_bot: BotFactory, slack: SlackEmulator, azure: Any, engine: Engine
) -> None:
    bot = run_bot("dall-e-3", SLACK_APP_TOKEN=slack.app_token, **NO_PROXY_ENV)
    slack.wait_for_socket(15)
    [opened] = slack.calls("apps.connections.open")
    assert opened.token == slack.app_token
    assert opened.ok

    ack = slack.send_command_socket("a fox in socket mode")

    assert "a fox in socket mode" in ack["text"]
    assert ack["response_type"] == "ephemeral"

    [message] = wait_for_upload(slack)
    assert message.channel == CHANNEL
    assert f"<@{USER}>" in message.text
    assert "a fox in socket mode" in message.text
    [file] = message.files

    [envelope] = slack.socket_envelopes()
    outcome = final_response(slack, envelope["payload"]["response_url"])
    assert "posted" in outcome["text"]

    [row] = finished_rows(engine)
    assert row.status == "succeeded"
    assert row.prompt == "a fox in socket mode"
    assert row.channel_id == CHANNEL
    assert row.user_id == USER
    assert row.trigger_id == envelope["payload"]["trigger_id"]
    assert row.delivered_file_ids == file.id
    assert "connected to Slack in Socket Mode" in bot.logs


def test_socket_mode_serves_health_but_not_the_events_endpoint(
    run_bot: BotFactory, slack: SlackEmulator, azure: Any, engine: Engine
) -> None:
    bot = run_bot("dall-e-3", SLACK_APP_TOKEN=slack.app_token, **NO_PROXY_ENV)
    slack.wait_for_socket(15)

    assert httpx.get(f"{bot.url}/healthz", timeout=5, trust_env=False).status_code == 200
    assert slack.send_command(bot.url, "a fox over http").status == 404
    assert httpx.post(f"{bot.url}/slack/events", content=b"{}", timeout=5, trust_env=False).status_code == 404
    assert slack.socket_connected()
