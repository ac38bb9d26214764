"""Socket Mode (docs/contracts/slack.md §9), driven by slack_sdk's builtin SocketModeClient — the client
Bolt's SocketModeHandler uses — and by `websockets`' own client for the protocol's edges."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from slack_sdk.socket_mode.builtin import SocketModeClient
from slack_sdk.socket_mode.request import SocketModeRequest
from slack_sdk.socket_mode.response import SocketModeResponse

from devkit.slack import SlackEmulator
from tests.emulators.slack.support import COMMAND_FIELDS


@pytest.fixture
def emu() -> Iterator[SlackEmulator]:
    """A fresh emulator, for tests that connect raw sockets or stop the emulator."""
    with SlackEmulator() as emulator:
        yield emulator


def socket_client(emu: SlackEmulator, *, ack: bool = True) -> SocketModeClient:
    client = SocketModeClient(
        app_token=emu.app_token, web_client=WebClient(base_url=emu.api_url), auto_reconnect_enabled=False
    )
    if ack:

        def listener(client: SocketModeClient, request: SocketModeRequest) -> None:
            text = request.payload.get("text") or request.payload.get("type") or request.type
            if text == "ignored":
                return  # never acked
            body = None if text == "no body" else {"text": f"got {text}"}
            client.send_socket_mode_response(SocketModeResponse(envelope_id=request.envelope_id, payload=body))

        client.socket_mode_request_listeners.append(listener)
    return client


def finish(client: SocketModeClient, emu: SlackEmulator) -> None:
    """Close the server side first (1001), then the client once it has noticed.

    The SDK client's close() takes about a second (its threads poll), so tests share one connection.
    """
    emu.stop()
    closed = threading.Event()
    client.on_close_listeners.append(lambda code, reason: closed.set())
    if client.is_connected():
        closed.wait(5)
    client.close()


@dataclass
class Linked:
    """One emulator and the SDK's SocketModeClient connected to it, shared by a module's tests."""

    emu: SlackEmulator
    client: SocketModeClient
    received: list[dict[str, Any]] = field(default_factory=list)


@pytest.fixture(scope="module")
def _linked() -> Iterator[Linked]:
    emulator = SlackEmulator().start()
    linked = Linked(emulator, socket_client(emulator))
    linked.client.message_listeners.append(lambda _client, message, _raw: linked.received.append(message))
    linked.client.connect()
    emulator.wait_for_socket(5)
    emulator.wait_for(lambda: linked.received, 5)  # hello
    yield linked
    finish(linked.client, emulator)


@pytest.fixture
def linked(_linked: Linked) -> Linked:
    _linked.emu.reset()  # connections survive a reset
    del _linked.received[1:]  # keep the hello
    return _linked


def open_url(emu: SlackEmulator) -> str:
    return str(WebClient(base_url=emu.api_url).apps_connections_open(app_token=emu.app_token)["url"])


# ---------------------------------------------------------------------- apps.connections.open


def test_connections_open_takes_the_app_token_and_returns_a_link_url(emu: SlackEmulator) -> None:
    url = urlsplit(open_url(emu))
    assert (url.scheme, url.hostname, url.path) == ("ws", "127.0.0.1", "/link/")
    assert url.port != urlsplit(emu.url).port  # Socket Mode has a port of its own
    query = parse_qs(url.query)
    assert query["app_id"] == [emu.api_app_id]
    assert query["ticket"][0]
    assert emu.calls("apps.connections.open")[0].token == emu.app_token


@pytest.mark.parametrize(
    ("method", "token", "error"),
    [
        ("apps.connections.open", "xoxb-test-token", "not_allowed_token_type"),
        ("apps.connections.open", "xapp-1-someone-else", "invalid_auth"),
        ("chat.postMessage", "xapp-1-test-app-token", "not_allowed_token_type"),
    ],
)
def test_each_token_only_works_where_it_belongs(emu: SlackEmulator, method: str, token: str, error: str) -> None:
    with pytest.raises(SlackApiError) as raised:
        WebClient(token=token, base_url=emu.api_url).api_call(method, params={"channel": "C0CHAN0001", "text": "x"})
    assert raised.value.response["error"] == error


# ---------------------------------------------------------------------- the SDK's builtin client


def test_sdk_client_connects_gets_hello_and_acks_a_slash_command(linked: Linked) -> None:
    emu = linked.emu
    payload = emu.send_command_socket("a fox", user_id="U0OTHER001", channel_id="C0OTHER001")
    assert payload == {"text": "got a fox"}
    hello, envelope = linked.received
    assert (hello["type"], hello["connection_info"], hello["num_connections"]) == (
        "hello",
        {"app_id": emu.api_app_id},
        1,
    )
    assert (envelope["type"], envelope["accepts_response_payload"]) == ("slash_commands", True)
    assert envelope == emu.socket_envelopes()[0]
    fields = envelope["payload"]
    assert (fields["command"], fields["text"], fields["user_id"], fields["channel_id"]) == (
        "/imagine",
        "a fox",
        "U0OTHER001",
        "C0OTHER001",
    )
    assert fields["team_id"] == emu.team_id
    assert fields["response_url"].startswith(f"{emu.url}/response/")
    assert fields["trigger_id"]


def test_events_and_interactions_arrive_as_envelopes(linked: Linked) -> None:
    emu = linked.emu
    event = {"type": "app_mention", "user": "U0USER0001", "text": "<@U0BOT00001> hi", "channel": "C0CHAN0001"}
    assert emu.send_event_socket(event, event_id="Ev0SOCKET01", retry_attempt=1, retry_reason="timeout") == {
        "text": "got event_callback"
    }
    assert emu.send_interaction_socket({"type": "block_actions", "actions": []}) == {"text": "got block_actions"}
    events_api, interactive = emu.socket_envelopes()
    assert (events_api["type"], events_api["retry_attempt"], events_api["retry_reason"]) == ("events_api", 1, "timeout")
    assert events_api["payload"]["event_id"] == "Ev0SOCKET01"
    assert events_api["payload"]["event"]["type"] == "app_mention"
    assert (interactive["type"], interactive["accepts_response_payload"]) == ("interactive", False)
    assert interactive["payload"]["response_url"].startswith(f"{emu.url}/response/")


def test_the_payload_has_the_same_fields_as_the_http_form(linked: Linked) -> None:
    emu = linked.emu
    emu.send_command_socket("same fields")
    socket_fields = emu.socket_envelopes()[0]["payload"]
    assert list(socket_fields) == COMMAND_FIELDS
    assert all(isinstance(v, str) for v in socket_fields.values())
    response_url = socket_fields["response_url"]
    assert httpx.post(response_url, json={"text": "done"}, trust_env=False).status_code == 200
    assert [p.body for p in emu.responses(response_url)] == [{"text": "done"}]


def test_many_commands_in_parallel_each_get_their_own_ack(linked: Linked) -> None:
    results: dict[int, dict[str, Any]] = {}

    def send(i: int) -> None:
        results[i] = linked.emu.send_command_socket(f"prompt {i} " + "x" * (i * 200))

    threads = [threading.Thread(target=send, args=(i,)) for i in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(15)
    assert results == {i: {"text": f"got prompt {i} " + "x" * (i * 200)} for i in range(8)}


def test_an_ack_without_payload_returns_an_empty_dict_and_no_ack_times_out(linked: Linked) -> None:
    assert linked.emu.send_command_socket("no body") == {}
    with pytest.raises(AssertionError, match="no ack for envelope"):
        linked.emu.send_command_socket("ignored", timeout=0.3)


def test_without_a_socket_sending_fails_at_once(emu: SlackEmulator) -> None:
    with pytest.raises(AssertionError, match="no Socket Mode connection"):
        emu.send_command_socket("nobody listens", timeout=0.1)
    with pytest.raises(AssertionError):
        emu.wait_for_socket(0.2)
