"""Hypothesis against the real bot over HTTP: random bodies, headers, content types and payload types.

Properties, for every request: never a 5xx, never a stack trace in the answer, and a request without a
valid signature is a 4xx and creates no row. A validly signed one may be a 200 (a handled reply: an
ack, an explanation, or the neutral "something went wrong") or a 4xx.

One bot process (and one pair of emulators) serves the whole module: hypothesis runs many examples
per test and cannot use function-scoped fixtures. The bot runs `web` only, so accepted commands stay
queued rather than calling the Azure emulator.
"""

from __future__ import annotations

import json
import signal
import socket
import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote, urlencode

import httpx
import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st
from sqlalchemy import Engine, func, select

from bot.app import MAX_REQUEST_BODY_BYTES
from bot.database import create_database_engine
from bot.emulators.azure import AzureEmulator
from bot.emulators.slack import SlackEmulator, signature
from bot.usage.models import Generation
from tests.conftest import (
    CHANNEL,
    DEPLOYMENTS,
    USER,
    BotProcess,
    bot_environment,
    free_port,
    migrated_database,
    start_bot,
)

pytestmark = pytest.mark.e2e

FUZZ = settings(
    max_examples=150,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)


@dataclass(repr=False)  # hypothesis prints the arguments of a failing example: keep the bot's log out
class Target:
    bot: BotProcess
    slack: SlackEmulator
    engine: Engine
    http: httpx.Client

    def __repr__(self) -> str:
        return f"Target({self.bot.url})"

    def rows(self) -> int:
        with self.engine.connect() as connection:
            return int(connection.execute(select(func.count()).select_from(Generation)).scalar_one())


@pytest.fixture(scope="module")
def target(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Target]:
    with (
        migrated_database(tmp_path_factory.mktemp("fuzz")) as url,
        SlackEmulator() as slack,
        AzureEmulator(deployments=DEPLOYMENTS) as azure,
    ):
        slack.add_channel(CHANNEL, name="general", member=True)
        env = bot_environment(slack=slack, azure=azure, database_url=url, model="dall-e-3", port=free_port())
        bot = start_bot(env, "web")
        engine = create_database_engine(url)
        try:
            with httpx.Client(base_url=bot.url, trust_env=False, timeout=15) as http:
                yield Target(bot, slack, engine, http)
            assert bot.process.poll() is None, f"the bot died:\n{bot.logs}"
        finally:
            bot.stop(signal.SIGKILL)
            engine.dispose()


# --- what a request is made of ---------------------------------------------------------------------

PAYLOAD_TYPES = [
    "block_actions",
    "view_submission",
    "view_closed",
    "shortcut",
    "message_action",
    "block_suggestion",
    "interactive_message",
    "dialog_submission",
    "event_callback",
    "url_verification",
    "app_rate_limited",
    "workflow_step_edit",
]
IDS = ["imagine_regenerate", "imagine_use_revised", "imagine_more", "imagine_delete", "imagine_this", "imagine_modal"]
CONTENT_TYPES = [
    "application/x-www-form-urlencoded",
    "application/json",
    "application/json; charset=utf-8",
    "APPLICATION/X-WWW-FORM-URLENCODED",
    "text/plain",
    "multipart/form-data; boundary=xyz",
    "application/octet-stream",
    "",
]
# Header values as HTTP allows them (h11 refuses leading or trailing blanks before they are sent).
printable = st.text(st.characters(min_codepoint=32, max_codepoint=126), max_size=40).map(str.strip)

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda children: st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=10), children, max_size=3),
    max_leaves=12,
)


@st.composite
def payloads(draw: st.DrawFn) -> dict[str, Any]:
    """An interactivity payload: a known or random type, with fields that are sometimes the right shape."""
    payload: dict[str, Any] = {"type": draw(st.sampled_from(PAYLOAD_TYPES) | st.text(max_size=15) | json_values)}
    job = draw(st.integers(min_value=-5, max_value=10) | st.integers() | st.text(max_size=8))
    candidates: dict[str, st.SearchStrategy[Any]] = {
        "actions": st.lists(
            st.fixed_dictionaries(
                {"action_id": st.sampled_from(IDS) | st.text(max_size=10), "value": st.just(str(job))}
            )
            | json_values,
            max_size=2,
        )
        | json_values,
        "user": st.fixed_dictionaries({"id": st.just(USER) | st.text(max_size=12)}) | json_values,
        "channel": st.fixed_dictionaries({"id": st.just(CHANNEL) | st.text(max_size=12)}) | json_values,
        "callback_id": st.sampled_from(IDS) | json_values,
        "view": st.fixed_dictionaries(
            {"callback_id": st.sampled_from(IDS), "state": json_values, "private_metadata": st.text(max_size=12)}
        )
        | json_values,
        "trigger_id": st.text(max_size=20) | json_values,
        "message": st.fixed_dictionaries({"text": st.text(max_size=30), "ts": st.text(max_size=12)}) | json_values,
        "team": json_values,
        "token": st.text(max_size=12),
        # Only the emulator's own URLs (or junk): a random real host would make the bot call out.
        "response_url": st.just("") | st.just("not a url") | st.just("MINT"),
    }
    for key in draw(st.sets(st.sampled_from(sorted(candidates)))):
        payload[key] = draw(candidates[key])
    return payload


@st.composite
def bodies(draw: st.DrawFn, slack_url: str) -> tuple[str, bytes, str]:
    """(kind, body, natural content type)."""
    kind = draw(st.sampled_from(["bytes", "text", "form", "command", "payload", "json"]))
    if kind == "bytes":
        return kind, draw(st.binary(max_size=600)), draw(st.sampled_from(CONTENT_TYPES))
    if kind == "text":
        return kind, draw(st.text(max_size=300)).encode("utf-8", "surrogatepass"), draw(st.sampled_from(CONTENT_TYPES))
    if kind == "form":
        keys = st.sampled_from(["command", "text", "user_id", "channel_id", "team_id", "payload", "ssl_check"])
        fields = draw(st.dictionaries(keys | st.text(max_size=10), st.text(max_size=40), max_size=6))
        return kind, urlencode(fields).encode(), "application/x-www-form-urlencoded"
    if kind == "command":
        fields = {
            "command": draw(st.sampled_from(["/imagine", "/other", ""])),
            "text": draw(st.text(max_size=120)),
            "user_id": draw(st.just(USER) | st.text(max_size=12)),
            "channel_id": draw(st.just(CHANNEL) | st.text(max_size=12)),
            "team_id": "T0TEAM0001",
            "trigger_id": draw(st.text(max_size=20)),
            "response_url": f"{slack_url}/response/none",
        }
        return kind, urlencode(fields).encode(), "application/x-www-form-urlencoded"
    if kind == "payload":
        payload = draw(payloads())
        raw = json.dumps(payload) if draw(st.booleans()) else draw(st.text(max_size=60))
        return kind, ("payload=" + quote(raw)).encode(), "application/x-www-form-urlencoded"
    return kind, json.dumps(draw(json_values | payloads())).encode(), "application/json"


# "valid" twice: what gets past the signature is where the parsing and the listeners are exercised.
SIGNINGS = ["valid", "valid", "none", "wrong secret", "stale", "junk headers"]


def headers_for(draw: st.DrawFn, mode: str, secret: str, body: bytes) -> dict[str, str]:
    now = int(time.time())
    if mode == "none":
        return {}
    if mode == "junk headers":
        return {"X-Slack-Request-Timestamp": draw(printable), "X-Slack-Signature": draw(printable)}
    stamp = str(now - 400) if mode == "stale" else str(now)
    key = "some-other-secret" if mode == "wrong secret" else secret
    return {"X-Slack-Request-Timestamp": stamp, "X-Slack-Signature": signature(key, stamp, body)}


@st.composite
def requests(draw: st.DrawFn, target: Target) -> tuple[str, str, bytes, dict[str, str]]:
    kind, body, content_type = draw(bodies(target.slack.url))
    if b"MINT" in body:
        body = body.replace(b"MINT", quote(target.slack.new_response_url(channel_id=CHANNEL, user_id=USER)).encode())
    if draw(st.integers(0, 4)) == 0:
        content_type = draw(st.sampled_from(CONTENT_TYPES) | printable)
    mode = draw(st.sampled_from(SIGNINGS))
    headers = {"Content-Type": content_type, **headers_for(draw, mode, target.slack.signing_secret, body)}
    extra = st.sampled_from(["X-Slack-Retry-Num", "X-Slack-Retry-Reason", "X-Forwarded-For", "User-Agent", "Accept"])
    headers.update(draw(st.dictionaries(extra, printable, max_size=2)))
    return kind, mode, body, headers


def assert_handled(reply: httpx.Response, *, signed: bool) -> None:
    assert reply.status_code < 500, reply.text
    assert "Traceback" not in reply.text, reply.text
    assert 'File "' not in reply.text, reply.text
    if not signed:
        assert 400 <= reply.status_code < 500, (reply.status_code, reply.text)
    elif reply.status_code == 200 and reply.headers.get("content-type", "").startswith("application/json"):
        assert isinstance(reply.json(), dict)


@FUZZ
@given(data=st.data())
def test_random_requests_are_never_5xx_and_unsigned_ones_never_queue(target: Target, data: st.DataObject) -> None:
    _kind, mode, body, headers = data.draw(requests(target))
    before = target.rows()

    reply = target.http.post("/slack/events", content=body, headers=headers)

    event(f"{mode}: {reply.status_code}")
    assert_handled(reply, signed=mode == "valid")
    if mode != "valid":
        assert target.rows() == before, "a request without a valid signature created a row"


@FUZZ
@given(data=st.data())
def test_signed_payloads_of_any_type_get_a_4xx_or_a_handled_reply(target: Target, data: st.DataObject) -> None:
    # Half the examples above are unsigned; this one spends them all on what gets past the signature.
    body = ("payload=" + quote(json.dumps(data.draw(payloads())))).encode()
    if b"MINT" in body:
        body = body.replace(b"MINT", quote(target.slack.new_response_url(channel_id=CHANNEL, user_id=USER)).encode())
    headers = {"Content-Type": "application/x-www-form-urlencoded", **target.slack.sign(body)}

    reply = target.http.post("/slack/events", content=body, headers=headers)

    event(str(reply.status_code))
    assert_handled(reply, signed=True)


def _raw_request(url: str, head: str, body: bytes) -> bytes:
    """Send bytes as they are (httpx would fix the Content-Length) and read the answer to its end."""
    split = httpx.URL(url)
    with socket.create_connection((split.host, split.port or 80), timeout=5) as connection:
        connection.sendall(head.encode("latin-1") + b"\r\n" + body)
        chunks = []
        try:
            while chunk := connection.recv(65536):
                chunks.append(chunk)
        except (TimeoutError, ConnectionResetError):
            pass
    return b"".join(chunks)


@settings(max_examples=40, deadline=None)
@given(
    length=st.integers(min_value=MAX_REQUEST_BODY_BYTES + 1, max_value=10**15).map(str)
    | st.sampled_from(["-1", "abc", "1e9", " 99999999", "0x10", "99999999999999999999999999", "1,2"]),
    sent=st.binary(max_size=200),
    signed=st.booleans(),
)
def test_huge_or_malformed_content_lengths_are_refused(target: Target, length: str, sent: bytes, signed: bool) -> None:
    before = target.rows()
    sign = target.slack.sign(sent) if signed else {}
    head = (
        "POST /slack/events HTTP/1.1\r\nHost: bot\r\nConnection: close\r\n"
        "Content-Type: application/x-www-form-urlencoded\r\n"
        f"Content-Length: {length}\r\n" + "".join(f"{k}: {v}\r\n" for k, v in sign.items())
    )

    answer = _raw_request(target.bot.url, head, sent)

    status = int(answer.split(b" ", 2)[1]) if answer.startswith(b"HTTP/") else None
    event(str(status))
    # No answer at all is acceptable (the server may drop such a connection); a 2xx or 5xx is not.
    assert status is None or 400 <= status < 500, answer[:300]
    assert b"Traceback" not in answer
    assert target.rows() == before
