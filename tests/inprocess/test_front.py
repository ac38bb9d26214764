"""The HTTP front: what a request to /slack/events must be before anything acts on it, the other routes,
and that no answer ever carries exception text."""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import time
from typing import Any
from urllib.parse import urlencode

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bot.jobs.rush import RUSH_TAIL_S, OpenRequests, Rush
from devkit.slack import SlackEmulator
from tests.conftest import CHANNEL, USER
from tests.harness import Bot

FORM = "application/x-www-form-urlencoded"


def command_body(slack: SlackEmulator, text: str = "a fox", **fields: str) -> bytes:
    values = {"command": "/imagine", "text": text, "user_id": USER, "channel_id": CHANNEL, "team_id": slack.team_id,
              "response_url": slack.new_response_url(), "trigger_id": f"t{time.time_ns()}", **fields}  # fmt: skip
    return urlencode(values).encode()


def sign_bytes(slack: SlackEmulator, body: bytes) -> dict[str, str]:
    """Slack's v0 signature over any bytes (slack_sdk's signer only takes UTF-8 text, as Slack sends)."""
    stamp = str(int(time.time()))
    digest = hmac.new(slack.signing_secret.encode(), b"v0:" + stamp.encode() + b":" + body, hashlib.sha256)
    return {"X-Slack-Request-Timestamp": stamp, "X-Slack-Signature": "v0=" + digest.hexdigest()}


def post(bot: Bot, body: bytes, headers: dict[str, str]) -> tuple[int, bytes]:
    status, _, answer = bot.request("POST", "/slack/events", body, headers)
    return status, answer


def test_a_signed_command_is_answered(bot: Bot, slack: SlackEmulator) -> None:
    body = command_body(slack)
    status, answer = post(bot, body, {"content-type": FORM, **slack.sign(body)})
    assert status == 200 and "Job 1" in json.loads(answer)["text"]


def test_unsigned_stale_or_forged_requests_are_refused_401(bot: Bot, slack: SlackEmulator) -> None:
    body = command_body(slack)
    stale = slack.sign(body, timestamp=int(time.time()) - 10 * 60)
    forged = {**slack.sign(body), "X-Slack-Signature": "v0=" + "0" * 64}
    for headers in ({}, stale, forged, {**slack.sign(body), "X-Slack-Request-Timestamp": "soon"}):
        assert post(bot, body, {"content-type": FORM, **headers})[0] == 401
    assert bot.jobs() == []


def test_slacks_ssl_check_probe_gets_200_and_queues_nothing(bot: Bot, slack: SlackEmulator) -> None:
    assert slack.send_ssl_check(bot.url).status == 200
    assert bot.jobs() == []


def test_size_and_content_type_are_checked_before_the_body_is_read(bot: Bot, slack: SlackEmulator) -> None:
    assert post(bot, b"x", {"content-type": FORM, "content-length": str(2 * 1024 * 1024)})[0] == 413
    body = command_body(slack)
    assert post(bot, body, {"content-type": "text/plain", **slack.sign(body)})[0] == 415


def test_a_signed_but_malformed_body_is_400_without_details(bot: Bot, slack: SlackEmulator) -> None:
    for body in (
        b"payload=%7Bnot-json",
        b"payload=%5B1%2C2%5D",
        urlencode({"command": "/imagine", "text": "x"}).encode(),
    ):
        status, answer = post(bot, body, {"content-type": FORM, **slack.sign(body)})
        assert status == 400
        assert json.loads(answer) == {"error": "malformed request"}


def test_other_paths_and_methods(bot: Bot) -> None:
    assert bot.request("GET", "/slack/events")[0] == 405
    assert bot.request("GET", "/nope")[0] == 404
    status, _, body = bot.request("GET", "/healthz")
    assert status == 200 and json.loads(body)["status"] == "ok"
    assert bot.request("GET", "/charts/T1.png")[0] == 404  # no PUBLIC_URL: no chart endpoint


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(body=st.binary(max_size=400), content_type=st.sampled_from([FORM, "application/json", "text/plain"]))
def test_any_signed_body_gets_an_answer_without_exception_text(
    bot: Bot, slack: SlackEmulator, body: bytes, content_type: str
) -> None:
    status, answer = post(bot, body, {"content-type": content_type, **sign_bytes(slack, body)})
    assert status in (200, 400, 401, 404, 415)
    assert b"Traceback" not in answer and b"Error" not in answer[:100]


def test_requests_open_at_once_ask_the_worker_to_give_way_and_one_at_a_time_do_not(
    bot: Bot, slack: SlackEmulator
) -> None:
    """The front counts the Slack requests it has open (bot/jobs/rush.py): two commands whose bodies are
    still arriving together raise the rush; the same two one after the other do not."""
    rush = Rush(now=bot.time.monotonic, sleep=bot.time.sleep)
    front = bot.make_front(open_requests=OpenRequests(rush, rush_at=2, now=bot.time.monotonic))

    async def command(arrived: asyncio.Event, together: asyncio.Event) -> int:
        body = command_body(slack)
        headers = [(k.lower().encode(), v.encode()) for k, v in {"content-type": FORM, **slack.sign(body)}.items()]
        scope = {"type": "http", "method": "POST", "path": "/slack/events", "query_string": b"", "headers": headers}
        statuses: list[int] = []

        async def receive() -> dict[str, Any]:
            arrived.set()
            await together.wait()  # the body's last bytes come once both requests are open
            return {"type": "http.request", "body": body, "more_body": False}

        async def send(message: Any) -> None:
            if message["type"] == "http.response.start":
                statuses.append(message["status"])

        await front(scope, receive, send)
        return statuses[0]

    async def both(at_once: bool) -> list[int]:
        first, second, go = asyncio.Event(), asyncio.Event(), asyncio.Event()
        if not at_once:
            go.set()
            return [await command(first, go), await command(second, go)]
        tasks = [asyncio.ensure_future(command(first, go)), asyncio.ensure_future(command(second, go))]
        await first.wait()
        await second.wait()
        go.set()
        return list(await asyncio.gather(*tasks))

    loop = asyncio.new_event_loop()
    try:
        assert loop.run_until_complete(both(at_once=False)) == [200, 200]
        assert rush.held_until() == 0
        assert loop.run_until_complete(both(at_once=True)) == [200, 200]
        assert rush.held_until() == bot.time.now + RUSH_TAIL_S
    finally:
        loop.close()
    assert len(bot.jobs()) == 4
