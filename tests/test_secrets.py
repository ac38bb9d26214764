"""No secret leaves the process: not in logs (at DEBUG, plain and JSON), replies, /healthz or reprs.

The end-to-end run gives every credential a random value and walks the paths that log the most:
a success behind a Slack 429, a content-policy rejection, refused and malformed requests, and an
Azure 401 from a second process in Socket Mode (so the app-level token is in play too). Then every
line the processes printed, every text they sent to Slack and every answer they gave is searched for
each secret, and for any 12-character piece of one, so a truncated secret counts as a leak.
"""

from __future__ import annotations

import json
import logging
import secrets
import signal
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from pydantic import SecretStr, ValidationError
from sqlalchemy import Engine

from bot.app import Components, HealthCheck, build_components
from bot.emulators.azure import AzureEmulator, ContentPolicy
from bot.emulators.slack import SlackEmulator
from bot.http_guard import SlackRequestGuard
from bot.images.azure import AzureOpenAIImages
from bot.logs import configure_logging
from bot.settings import Settings, describe_errors
from tests.conftest import CHANNEL, DEPLOYMENTS, BotProcess, bot_environment, free_port, start_bot
from tests.test_end_to_end import final_response, finished_rows, wait_for_upload

BOT_TOKEN = f"xoxb-{secrets.token_hex(12)}"
APP_TOKEN = f"xapp-1-{secrets.token_hex(12)}"
SIGNING_SECRET = secrets.token_hex(16)
AZURE_KEY = secrets.token_hex(16)
WRONG_AZURE_KEY = f"wrong-{secrets.token_hex(12)}"  # configured, refused by Azure: still a secret
DB_PASSWORD = f"pw-{secrets.token_hex(8)}"


def leaks(text: str, secret: str, window: int = 12) -> list[str]:
    """Pieces of `secret` found in `text`; the prefixes (xoxb-, xapp-1-, wrong-) alone are not secret."""
    pieces = {secret[i : i + window] for i in range(len(secret) - window + 1)}
    return sorted(piece for piece in pieces if piece in text)


ALL_SECRETS = {
    "SLACK_BOT_TOKEN": BOT_TOKEN,
    "SLACK_APP_TOKEN": APP_TOKEN,
    "SLACK_SIGNING_SECRET": SIGNING_SECRET,
    "AZURE_OPENAI_API_KEY": AZURE_KEY,
    "the wrong AZURE_OPENAI_API_KEY": WRONG_AZURE_KEY,
}


@pytest.fixture
def slack() -> Iterator[SlackEmulator]:
    with SlackEmulator(bot_token=BOT_TOKEN, app_token=APP_TOKEN, signing_secret=SIGNING_SECRET) as emulator:
        emulator.add_channel(CHANNEL, name="general", member=True)
        yield emulator


@pytest.fixture
def azure() -> Iterator[AzureEmulator]:
    with AzureEmulator(api_key=AZURE_KEY, deployments=DEPLOYMENTS) as emulator:
        yield emulator


@pytest.mark.e2e
def test_no_secret_reaches_logs_replies_or_healthz_end_to_end(
    slack: SlackEmulator, azure: AzureEmulator, database_url: str, engine: Engine
) -> None:
    started: list[BotProcess] = []
    seen: list[str] = []  # everything anyone outside the process could read
    try:
        # 1. HTTP, DEBUG, plain lines: a success behind a Slack 429, then a content-policy rejection.
        env = bot_environment(
            slack=slack, azure=azure, database_url=database_url, model="dall-e-3", port=free_port(), LOG_LEVEL="DEBUG"
        )
        web = start_bot(env)
        started.append(web)
        slack.rate_limit_next("files.completeUploadExternal", retry_after=1)
        slack.send_command(web.url, "a lighthouse in fog")
        wait_for_upload(slack)
        azure.fail_next(ContentPolicy())
        rejected = slack.send_command(web.url, "something the policy refuses")
        final_response(slack, rejected.response_url)
        # Refusals and a body Bolt cannot dispatch log at WARNING with a traceback.
        for body, headers in (
            (b"command=%2Fimagine&text=x", {}),
            (b"command=%2Fimagine&text=x", {"X-Slack-Request-Timestamp": "1", "X-Slack-Signature": "v0=0"}),
            (b'{"type": "block_actions", "actions": 5}', slack.sign(b'{"type": "block_actions", "actions": 5}')),
        ):
            answer = httpx.post(
                f"{web.url}/slack/events",
                content=body,
                headers={"Content-Type": "application/json", **headers},
                trust_env=False,
            )
            assert 400 <= answer.status_code < 500
            seen.append(answer.text)
        seen.append(httpx.get(f"{web.url}/healthz", trust_env=False).text)
        finished_rows(engine, count=2)
        web.stop()  # its workers would otherwise take the next job, which must meet the wrong key

        # 2. Socket Mode (the app token in use), DEBUG, JSON lines, and a key Azure refuses (401).
        env = bot_environment(
            slack=slack,
            azure=azure,
            database_url=database_url,
            model="dall-e-3",
            port=free_port(),
            LOG_LEVEL="DEBUG",
            LOG_JSON="true",
            SLACK_APP_TOKEN=APP_TOKEN,
            AZURE_OPENAI_API_KEY=WRONG_AZURE_KEY,
            http_proxy="",
            https_proxy="",
        )
        socket = start_bot(env)
        started.append(socket)
        slack.wait_for_socket(15)
        seen.append(json.dumps(slack.send_command_socket("a refused key")))
        response_url = slack.socket_envelopes()[-1]["payload"]["response_url"]
        assert "configuration problem" in final_response(slack, response_url)["text"]
        seen.append(httpx.get(f"{socket.url}/healthz", trust_env=False).text)
        finished_rows(engine, count=3)
    finally:
        for bot in started:
            bot.stop(signal.SIGTERM, timeout=15)

    assert sorted(row.status for row in finished_rows(engine, count=3)) == ["failed", "rejected", "succeeded"]
    assert any(call.status == 429 for call in slack.calls("files.completeUploadExternal"))
    assert "DEBUG" in started[0].logs
    assert '"level": "DEBUG"' in started[1].logs
    seen += [bot.logs for bot in started]
    seen += [json.dumps([m.text, m.blocks]) for m in slack.messages() + slack.ephemerals()]
    seen += [json.dumps(post.body) for post in slack.responses()]
    everything = "\n".join(seen)
    found = {name: leaks(everything, secret) for name, secret in ALL_SECRETS.items()}
    assert found == {key: [] for key in ALL_SECRETS}


def settings_with_every_secret() -> Settings:
    return Settings(
        _env_file=None,
        slack_bot_token=SecretStr(BOT_TOKEN),
        slack_app_token=SecretStr(APP_TOKEN),
        slack_signing_secret=SecretStr(SIGNING_SECRET),
        azure_openai_endpoint="https://example.openai.azure.com",
        azure_openai_api_key=SecretStr(AZURE_KEY),
        azure_openai_deployment="dalle3",
        database_url=f"postgresql+psycopg://imagine:{DB_PASSWORD}@db.example:5432/imagine",
    )


def test_reprs_of_settings_and_the_objects_built_from_them_hold_no_secret() -> None:
    settings = settings_with_every_secret()
    components: Components = build_components(settings)
    try:
        shown = [
            repr(settings),
            str(settings),
            repr(components),
            repr(components.engine),
            repr(HealthCheck(components.queue, None)),
            repr(SlackRequestGuard(lambda e, s: [], signing_secret=settings.slack_signing_secret, max_body_bytes=1)),
            repr(
                AzureOpenAIImages(
                    endpoint=settings.azure_openai_endpoint,
                    api_key=settings.azure_openai_api_key,
                    deployment="dalle3",
                    model="dall-e-3",
                    http=components.http,
                )
            ),
        ]
    finally:
        components.close()
    text = "\n".join(shown)
    for name, secret in {**ALL_SECRETS, "the database password": DB_PASSWORD}.items():
        assert not leaks(text, secret, window=min(12, len(secret))), name


@pytest.mark.parametrize(
    ("variable", "prefix"),
    [
        ("slack_bot_token", "xoxp-"),  # a user token pasted by mistake
        ("slack_app_token", "xoxb-"),
        ("azure_openai_endpoint", "key-"),  # the key pasted into the wrong field
        ("port", ""),
    ],
)
def test_a_rejected_setting_never_echoes_its_value(variable: str, prefix: str) -> None:
    value = prefix + secrets.token_hex(12)  # made here: xdist wants the same test ids in every worker
    fields: dict[str, Any] = {
        "slack_bot_token": BOT_TOKEN,
        "slack_signing_secret": SIGNING_SECRET,
        "azure_openai_endpoint": "https://example.openai.azure.com",
        "azure_openai_api_key": AZURE_KEY,
        "azure_openai_deployment": "dalle3",
        variable: value,
    }
    with pytest.raises(ValidationError) as caught:
        Settings(_env_file=None, **fields)

    lines = "\n".join(describe_errors(caught.value, Settings))
    assert variable.upper() in lines
    assert not leaks(lines, value)


@pytest.mark.parametrize("json_lines", [False, True], ids=["plain", "json"])
def test_the_log_filter_redacts_secrets_whoever_logs_them(capsys: pytest.CaptureFixture[str], json_lines: bool) -> None:
    # The last line of defence behind SecretStr: a library that logs a header or a URL with a token in it.
    root = logging.getLogger()
    saved = root.handlers[:], root.level
    try:
        configure_logging("DEBUG", json_lines=json_lines, secrets=list(ALL_SECRETS.values()))
        log = logging.getLogger("some.library")
        log.debug("headers: %r", {"Authorization": f"Bearer {BOT_TOKEN}", "api-key": AZURE_KEY})
        log.info(f"signing with {SIGNING_SECRET}")
        try:
            raise RuntimeError(f"connect failed for {APP_TOKEN} using {WRONG_AZURE_KEY}")
        except RuntimeError:
            log.exception("while opening the socket")
    finally:
        root.handlers[:], level = saved
        root.setLevel(level)

    output = capsys.readouterr().err
    assert output.count("[redacted]") >= 5
    assert {name: leaks(output, secret) for name, secret in ALL_SECRETS.items()} == {key: [] for key in ALL_SECRETS}
