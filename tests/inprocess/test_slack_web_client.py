"""bot/slack/web_client.py: the bot's WebClient reads every answer as slack_sdk's own transport does,
retries as slack_sdk's handlers say, and keeps one connection open across calls."""

from __future__ import annotations

import copy
import json
import socket
import threading
import urllib.error
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import httpx
import pytest
from slack_sdk.errors import SlackApiError

from bot.slack.pacing import retry_handlers
from bot.slack.web_client import PooledWebClient
from devkit.slack import SlackEmulator
from tests.emulators.slack.support import MEMBER

# `full`: the emulator with every scope the conformance calls need, reset for each test.
from tests.emulators.slack.test_conformance import CALLS, DOCUMENTED, _full, client_for, full, no_jitter  # noqa: F401


class CountingTransport(httpx.HTTPTransport):
    """Counts the TCP connections httpx opens (its documented `trace` request extension)."""

    def __init__(self) -> None:
        super().__init__()
        self.connects = 0

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        def trace(event: str, info: dict[str, Any]) -> None:
            if event == "connection.connect_tcp.complete":
                self.connects += 1

        request.extensions["trace"] = trace
        return super().handle_request(request)


@pytest.fixture
def transport() -> CountingTransport:
    return CountingTransport()


@pytest.fixture
def http(transport: CountingTransport) -> Iterator[httpx.Client]:
    with httpx.Client(transport=transport) as client:  # closed: no kept-alive socket outlives the test
        yield client


def pooled(emulator: SlackEmulator, http: httpx.Client, method: str = "", **kwargs: Any) -> PooledWebClient:
    token = emulator.app_token if method == "apps.connections.open" else emulator.bot_token
    return PooledWebClient(http=http, token=token, base_url=emulator.api_url, **kwargs)


# Each method's first documented error (an HTTP 200 with ok=false) and every 429: the transport's paths
# are the status and the body, not the code, and the whole list through both clients cost 4 s of the suite.
SAMPLED = [
    (method, error)
    for index, (method, error) in enumerate(DOCUMENTED)
    if error == "ratelimited" or all(m != method or e == "ratelimited" for m, e in DOCUMENTED[:index])
]


@pytest.mark.parametrize(("method", "error"), SAMPLED, ids=[f"{m}:{e}" for m, e in SAMPLED])
def test_every_documented_error_reads_as_with_slack_sdks_transport(
    full: SlackEmulator,  # noqa: F811  (the imported fixture)
    http: httpx.Client,
    method: str,
    error: str,
) -> None:
    seen = []
    for client in (client_for(full, method), pooled(full, http, method)):
        if error == "ratelimited":
            full.rate_limit_next(method, retry_after=3)
        else:
            full.fail_next(method, error)
        with pytest.raises(SlackApiError) as caught:
            CALLS[method](client)
        answer = caught.value.response
        seen.append((answer["error"], answer.status_code, answer.headers.get("retry-after")))
    assert seen[0] == seen[1]
    assert seen[1][0] == error


class KeepAliveSlack(ThreadingHTTPServer):
    """A Web API stand-in that keeps connections open, as Slack does (the emulator's werkzeug server
    closes each one): every method answers ok."""

    def __init__(self) -> None:
        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            disable_nagle_algorithm = True  # the headers and the body go out as two writes

            def do_POST(self) -> None:
                self.rfile.read(int(self.headers.get("Content-Length") or 0))
                body = json.dumps({"ok": True, "user_id": "U0BOT"}).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json; charset=utf-8")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, format: str, *args: Any) -> None:
                pass

        super().__init__(("127.0.0.1", 0), Handler)
        self.daemon_threads = True

    def __enter__(self) -> KeepAliveSlack:
        threading.Thread(target=self.serve_forever, args=(0.05,), daemon=True).start()
        return self

    @property
    def api_url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}/api/"


def test_calls_share_one_connection(transport: CountingTransport, http: httpx.Client) -> None:
    with KeepAliveSlack() as slack:
        client = PooledWebClient(http=http, token="xoxb-test", base_url=slack.api_url)
        client.chat_postMessage(channel=MEMBER, text="a badger")
        client.chat_update(channel=MEMBER, ts="1.000001", text="a badger in a tuxedo")
        assert client.auth_test()["user_id"] == "U0BOT"
        copy.deepcopy(client).auth_test()  # Bolt deep-copies the client with each lazy listener's request
        http.close()
        slack.shutdown()
        slack.server_close()
    assert transport.connects == 1


def test_a_429_is_retried_after_slacks_retry_after(
    full: SlackEmulator,  # noqa: F811  (the imported fixture)
    http: httpx.Client,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    no_jitter(monkeypatch)
    slept: list[float] = []
    full.rate_limit_next("chat.postMessage", retry_after=12, times=2)  # two digits, read whole
    client = pooled(full, http, retry_handlers=retry_handlers(slept.append))
    assert client.chat_postMessage(channel=MEMBER, text="at last")["ok"]
    assert slept == [12, 12]


def test_a_connection_refused_is_retried_then_raised_as_urllib_would(http: httpx.Client) -> None:
    with socket.socket() as closed:  # a port nothing listens on
        closed.bind(("127.0.0.1", 0))
        port = closed.getsockname()[1]
    slept: list[float] = []
    client = PooledWebClient(
        http=http,
        token="xoxb-test",
        base_url=f"http://127.0.0.1:{port}/api/",
        retry_handlers=retry_handlers(slept.append),
    )
    with pytest.raises(urllib.error.URLError):
        client.auth_test()
    assert len(slept) == 2  # the connection retry handler's two tries, as with urllib's URLError


def test_a_proxy_keeps_slack_sdks_own_transport() -> None:
    def refuse(request: httpx.Request) -> httpx.Response:
        raise AssertionError("the pooled client was used despite the proxy")

    with socket.socket() as closed:
        closed.bind(("127.0.0.1", 0))
        port = closed.getsockname()[1]
    with httpx.Client(transport=httpx.MockTransport(refuse)) as http:
        client = PooledWebClient(
            http=http,
            token="xoxb-test",
            base_url="http://slack.invalid/api/",
            proxy=f"http://127.0.0.1:{port}",
            retry_handlers=[],  # slack_sdk's default would try again after a real half-second sleep
        )
        with pytest.raises(urllib.error.URLError):  # urllib, through the (dead) proxy
            client.auth_test()
