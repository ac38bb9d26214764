"""Socket Mode's protocol edges (docs/contracts/slack.md §9.1–9.2), checked with `websockets`' own client:
tickets, refused handshakes, pings, big messages and closing; and the SDK client seeing the emulator stop."""

from __future__ import annotations

import threading
from collections.abc import Iterator

import httpx
import pytest
from slack_sdk import WebClient
from slack_sdk.socket_mode.builtin import SocketModeClient
from websockets.exceptions import ConnectionClosed, InvalidStatus
from websockets.sync.client import connect

from devkit.slack import SlackEmulator


@pytest.fixture
def emu() -> Iterator[SlackEmulator]:
    with SlackEmulator() as emulator:
        yield emulator


def open_url(emu: SlackEmulator) -> str:
    return str(WebClient(base_url=emu.api_url).apps_connections_open(app_token=emu.app_token)["url"])


# ---------------------------------------------------------------------- the protocol's edges


def test_a_ticket_is_good_for_one_connection(emu: SlackEmulator) -> None:
    url = open_url(emu)
    with connect(url, proxy=None) as first:
        assert '"type": "hello"' in str(first.recv(timeout=5))
        assert emu.socket_connected()
        with pytest.raises(InvalidStatus) as again:
            connect(url, proxy=None)
        assert again.value.response.status_code == 404
        with pytest.raises(InvalidStatus) as unknown:
            connect(url.split("?")[0] + "?ticket=unknown", proxy=None)
        assert unknown.value.response.status_code == 404
    emu.wait_for(lambda: not emu.socket_connected(), 5)


def test_a_plain_get_of_a_socket_url_is_told_to_upgrade_and_keeps_the_ticket(emu: SlackEmulator) -> None:
    url = open_url(emu)
    reply = httpx.get(url.replace("ws://", "http://"), trust_env=False)
    assert reply.status_code == 426
    with connect(url, proxy=None) as socket:  # the refused GET did not spend the ticket
        assert '"hello"' in str(socket.recv(timeout=5))


def test_pings_are_answered_and_big_acks_matched(emu: SlackEmulator) -> None:
    with connect(open_url(emu), proxy=None) as socket:
        socket.recv(timeout=5)  # hello
        assert socket.ping(b"are you there").wait(5)
        socket.send('{"envelope_id": "e-1", "payload": {"text": "big ' + "y" * 70_000 + '"}}')
        ack = emu.wait_for(lambda: emu._sockets.ack("e-1"), 5)
        assert len(ack["payload"]["text"]) == 70_004


def test_a_client_close_ends_the_connection(emu: SlackEmulator) -> None:
    with connect(open_url(emu), proxy=None) as socket:
        socket.recv(timeout=5)
        emu.wait_for_socket(5)
        socket.close(1000, "bye")
        emu.wait_for(lambda: not emu.socket_connected(), 5)
        with pytest.raises(ConnectionClosed):
            socket.recv(timeout=1)


def test_stopping_the_emulator_closes_the_socket(emu: SlackEmulator) -> None:
    client = SocketModeClient(
        app_token=emu.app_token, web_client=WebClient(base_url=emu.api_url), auto_reconnect_enabled=False
    )
    closed = threading.Event()
    client.on_close_listeners.append(lambda code, reason: closed.set())
    try:
        client.connect()
        emu.wait_for_socket(5)
        emu.stop()
        assert closed.wait(5)
        assert not emu.socket_connected()
    finally:
        client.close()


@pytest.mark.parametrize(
    ("headers", "status"),
    [
        ({"Sec-WebSocket-Version": "8"}, 400),  # websockets answers 400 here, not RFC 6455's 426
        ({"Sec-WebSocket-Key": "too-short"}, 400),
    ],
)
def test_a_bad_handshake_is_refused_without_spending_the_ticket(
    emu: SlackEmulator, headers: dict[str, str], status: int
) -> None:
    url = open_url(emu)
    upgrade = {
        "Upgrade": "websocket",
        "Connection": "Upgrade",
        "Sec-WebSocket-Key": "dGhlIHNhbXBsZSBub25jZQ==",
        "Sec-WebSocket-Version": "13",
        **headers,
    }
    assert httpx.get(url.replace("ws://", "http://"), headers=upgrade, trust_env=False).status_code == status
    assert not emu.socket_connected()
    with connect(url, proxy=None) as socket:
        assert '"hello"' in str(socket.recv(timeout=5))
