"""The HTTP door to Slack's endpoint (`bot.http_guard`, `bot.app.build_wsgi`): size, method, content type,
signature and shape are checked before Bolt parses anything, and no answer carries a stack trace.

In-process tests drive the WSGI callables directly (so "refused before reading the body" can be
observed); the end-to-end ones send the same refusals to the real bot and count rows.
"""

from __future__ import annotations

import io
import json
import time
from collections.abc import Iterable
from typing import Any
from urllib.parse import quote

import httpx
import pytest
from pydantic import SecretStr
from slack_bolt import App
from sqlalchemy import Engine

from bot.app import MAX_REQUEST_BODY_BYTES, HealthCheck, build_wsgi
from bot.emulators.slack import SlackEmulator, signature
from bot.http_guard import SlackRequestGuard
from tests.conftest import BotFactory
from tests.test_end_to_end import rows

SECRET = "guard-test-signing-secret"
COMMAND = b"command=%2Fimagine&text=a+fox&user_id=U0USER0001&channel_id=C0CHAN0001&team_id=T1"
FORM = "application/x-www-form-urlencoded"


class Unreadable(io.RawIOBase):
    """A request body that must not be touched."""

    def read(self, size: int = -1) -> bytes:
        raise AssertionError("the body was read")


class Inner:
    """Stands in for Bolt's WSGI handler: records what reached it."""

    def __init__(self, error: Exception | None = None) -> None:
        self.calls: list[dict[str, Any]] = []
        self._error = error

    def __call__(self, environ: dict[str, Any], start_response: Any) -> Iterable[bytes]:
        self.calls.append({**environ, "body": environ["wsgi.input"].read(int(environ["CONTENT_LENGTH"]))})
        if self._error is not None:
            raise self._error
        start_response("200 OK", [("Content-Type", "text/plain")])
        return [b"ok"]


def call(app: Any, environ: dict[str, Any]) -> tuple[int, str]:
    status: list[str] = []

    def start_response(line: str, headers: list[tuple[str, str]], exc_info: Any = None) -> Any:
        status[:] = [line]
        return lambda data: None

    body = b"".join(app(environ, start_response))
    return int(status[0].split()[0]), body.decode()


def environ(
    body: bytes = COMMAND,
    *,
    content_type: str = FORM,
    signed: bool = True,
    timestamp: int | None = None,
    unreadable: bool = False,
    **extra: Any,
) -> dict[str, Any]:
    env: dict[str, Any] = {
        "REQUEST_METHOD": "POST",
        "PATH_INFO": "/slack/events",
        "CONTENT_TYPE": content_type,
        "CONTENT_LENGTH": str(len(body)),
        "wsgi.input": Unreadable() if unreadable else io.BytesIO(body),
    }
    if signed:
        stamp = str(int(time.time()) if timestamp is None else timestamp)
        env["HTTP_X_SLACK_REQUEST_TIMESTAMP"] = stamp
        env["HTTP_X_SLACK_SIGNATURE"] = signature(SECRET, stamp, body)
    env.update(extra)
    return env


def guard(inner: Inner, max_body_bytes: int = MAX_REQUEST_BODY_BYTES) -> SlackRequestGuard:
    return SlackRequestGuard(inner, signing_secret=SecretStr(SECRET), max_body_bytes=max_body_bytes)


def test_a_well_formed_signed_request_reaches_bolt_with_its_exact_bytes() -> None:
    inner = Inner()

    status, _ = call(guard(inner), environ(content_type="Application/X-WWW-Form-URLEncoded; charset=utf-8"))

    assert status == 200
    [seen] = inner.calls
    assert seen["body"] == COMMAND
    assert seen["CONTENT_TYPE"] == FORM  # Bolt compares it literally


def test_an_oversized_body_is_refused_from_its_content_length_before_it_is_read() -> None:
    inner = Inner()
    env = environ(CONTENT_LENGTH=str(MAX_REQUEST_BODY_BYTES + 1), unreadable=True)

    status, body = call(guard(inner), env)

    assert (status, json.loads(body)) == (413, {"error": "request body too large"})
    assert inner.calls == []


@pytest.mark.parametrize("length", ["-1", "abc", "1e3", "١٢"])
def test_a_malformed_content_length_is_refused(length: str) -> None:
    inner = Inner()
    assert call(guard(inner), environ(CONTENT_LENGTH=length, unreadable=True))[0] == 400
    assert inner.calls == []


@pytest.mark.parametrize(
    "content_type", ["", "text/plain", "multipart/form-data; boundary=x", "application/xml", "application/jsonp"]
)
def test_content_types_slack_never_sends_are_refused_unread(content_type: str) -> None:
    inner = Inner()
    env = environ(content_type=content_type, unreadable=True)

    assert call(guard(inner), env)[0] == 415
    assert inner.calls == []


def test_unsigned_requests_never_reach_bolt() -> None:
    inner = Inner()
    for env in (
        environ(signed=False),
        environ(timestamp=int(time.time()) - 301),
        environ(HTTP_X_SLACK_REQUEST_TIMESTAMP="not-a-number"),
        environ(HTTP_X_SLACK_SIGNATURE="v0=" + "0" * 64),
    ):
        assert call(guard(inner), env) == (401, '{"error": "invalid request"}')
    assert inner.calls == []


MALFORMED = {
    "empty": b"",
    "not UTF-8": b"command=%2Fimagine&text=\xff\xfe",
    "JSON array": b"[1, 2]",
    "JSON null": b"null",
    "JSON string": b'"payload"',
    "broken JSON object": b'{"type": "block_actions"',
    "payload not JSON": b"payload=%7Bnot+json",
    "payload a list": b"payload=" + quote(json.dumps([{"type": "block_actions"}])).encode(),
    "payload empty object": b"payload=%7B%7D",
    "command without user": b"command=%2Fimagine&text=a+fox&channel_id=C0CHAN0001",
    "command without channel": b"command=%2Fimagine&text=a+fox&user_id=U0USER0001",
    "JSON command with a non-string text": json.dumps(
        {"command": "/imagine", "user_id": "U1", "channel_id": "C1", "text": ["a", "fox"]}
    ).encode(),
}


@pytest.mark.parametrize("body", MALFORMED.values(), ids=MALFORMED.keys())
def test_signed_but_malformed_bodies_are_400_and_never_reach_bolt(body: bytes) -> None:
    inner = Inner()
    content_type = "application/json" if body[:1] in (b"[", b"n", b'"', b"{") else FORM

    status, answer = call(guard(inner), environ(body, content_type=content_type))

    assert (status, answer) == (400, '{"error": "malformed request"}')
    assert inner.calls == []


def test_whatever_bolt_raises_becomes_a_400_without_its_text() -> None:
    inner = Inner(TypeError("'int' object is not subscriptable in /secret/path.py"))

    status, answer = call(guard(inner), environ())

    assert (status, answer) == (400, '{"error": "malformed request"}')


class _Queue:
    def ping(self) -> None:
        return None


@pytest.fixture
def wsgi() -> Any:
    slack_app = App(token="xoxb-offline", signing_secret=SECRET, token_verification_enabled=False)
    return build_wsgi(slack_app, HealthCheck(_Queue(), None), signing_secret=SecretStr(SECRET))  # type: ignore[arg-type]


@pytest.mark.parametrize("method", ["GET", "HEAD", "PUT", "DELETE", "OPTIONS", "PATCH"])
def test_the_slack_endpoint_takes_post_only(wsgi: Any, method: str) -> None:
    env = environ(REQUEST_METHOD=method, unreadable=True)
    assert call(wsgi, env)[0] == 405


@pytest.mark.parametrize("path", ["/", "/slack", "/slack/events/", "/slack/interactive", "/healthz/x", "/.env"])
def test_other_paths_do_nothing(wsgi: Any, path: str) -> None:
    assert call(wsgi, environ(PATH_INFO=path, unreadable=True))[0] == 404


def test_healthz_needs_no_signature(wsgi: Any) -> None:
    env = {"REQUEST_METHOD": "GET", "PATH_INFO": "/healthz", "wsgi.input": Unreadable()}
    assert call(wsgi, env) == (200, '{"status": "ok", "database": "ok"}')


def test_the_slack_endpoint_cannot_be_built_without_the_signing_secret() -> None:
    slack_app = App(token="xoxb-offline", signing_secret=SECRET, token_verification_enabled=False)
    with pytest.raises(ValueError, match="signing secret"):
        build_wsgi(slack_app, HealthCheck(_Queue(), None))  # type: ignore[arg-type]


# --- the same, against the real bot ---------------------------------------------------------------


def _post(bot_url: str, body: bytes, headers: dict[str, str], **kwargs: Any) -> httpx.Response:
    return httpx.post(f"{bot_url}/slack/events", content=body, headers=headers, trust_env=False, **kwargs)


@pytest.mark.e2e
def test_a_2_mb_signed_body_is_refused_at_once_and_queues_nothing(
    run_bot: BotFactory, slack: SlackEmulator, engine: Engine
) -> None:
    bot = run_bot("dall-e-3")
    body = COMMAND + b"&pad=" + b"x" * (2 * 1024 * 1024)

    started = time.monotonic()
    try:
        reply = _post(bot.url, body, {"Content-Type": FORM, **slack.sign(body)}, timeout=10)
        status: int | None = reply.status_code
        assert "Traceback" not in reply.text
    except httpx.TransportError:
        status = None  # the server may close the connection before the client has sent it all
    elapsed = time.monotonic() - started

    assert status in (413, None)
    assert elapsed < 3
    assert rows(engine) == []
    assert httpx.get(f"{bot.url}/healthz").status_code == 200


@pytest.mark.e2e
def test_malformed_signed_bodies_are_4xx_without_a_trace_and_queue_nothing(
    run_bot: BotFactory, slack: SlackEmulator, engine: Engine
) -> None:
    bot = run_bot("dall-e-3")
    cases = {
        **MALFORMED,
        # Payloads with wrongly typed fields: Bolt itself raised on these before the guard caught it.
        "actions not a list": json.dumps({"type": "block_actions", "actions": 5}).encode(),
        "view without a type": b"payload="
        + quote(json.dumps({"type": "view_submission", "view": {"callback_id": "imagine_modal"}})).encode(),
        "unknown payload type": b"payload=" + quote(json.dumps({"type": "no_such_type"})).encode(),
        "unknown command": b"command=%2Fweather&text=94070&user_id=U0USER0001&channel_id=C0CHAN0001",
    }

    answers = {}
    for name, body in cases.items():
        content_type = "application/json" if body[:1] in (b"[", b"n", b'"', b"{") else FORM
        reply = _post(bot.url, body, {"Content-Type": content_type, **slack.sign(body)})
        answers[name] = reply.status_code
        assert "Traceback" not in reply.text, name
        assert 'File "' not in reply.text, name

    assert {name: status for name, status in answers.items() if not 400 <= status < 500} == {}
    assert rows(engine) == []


@pytest.mark.e2e
def test_wrong_methods_and_content_types_are_refused_by_the_real_bot(
    run_bot: BotFactory, slack: SlackEmulator, engine: Engine
) -> None:
    bot = run_bot("dall-e-3")

    assert httpx.get(f"{bot.url}/slack/events").status_code == 405
    assert httpx.put(f"{bot.url}/slack/events", content=COMMAND, headers=slack.sign(COMMAND)).status_code == 405
    for content_type in ("text/plain", "multipart/form-data; boundary=x", "application/octet-stream"):
        reply = _post(bot.url, COMMAND, {"Content-Type": content_type, **slack.sign(COMMAND)})
        assert reply.status_code == 415, content_type
    assert rows(engine) == []
