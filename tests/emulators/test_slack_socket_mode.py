"""Socket Mode in the Slack emulator (shared/reference/slack-platform.md §4.5), driven by slack_sdk's
builtin SocketModeClient — the client Bolt's SocketModeHandler uses — and by raw RFC 6455 frames."""

from __future__ import annotations

import base64
import json
import os
import socket
import struct
import threading
import time
from collections.abc import Iterator
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from slack_sdk.socket_mode.builtin import SocketModeClient
from slack_sdk.socket_mode.request import SocketModeRequest
from slack_sdk.socket_mode.response import SocketModeResponse

from bot.emulators import _websocket
from bot.emulators.slack import SlackEmulator


@pytest.fixture(autouse=True)
def _no_proxies(monkeypatch: pytest.MonkeyPatch) -> None:
    # SocketModeClient tunnels through any proxy in the environment; loopback traffic must not.
    for name in ("HTTP_PROXY", "HTTPS_PROXY", "http_proxy", "https_proxy"):
        monkeypatch.delenv(name, raising=False)


@pytest.fixture
def emu() -> Iterator[SlackEmulator]:
    with SlackEmulator() as emulator:
        yield emulator


def socket_client(emu: SlackEmulator, *, ack: bool = True) -> SocketModeClient:
    client = SocketModeClient(
        app_token=emu.app_token,
        web_client=WebClient(base_url=emu.api_url),
        auto_reconnect_enabled=False,
    )
    if ack:

        def listener(client: SocketModeClient, request: SocketModeRequest) -> None:
            text = request.payload.get("text")
            client.send_socket_mode_response(
                SocketModeResponse(envelope_id=request.envelope_id, payload={"text": f"got {text}"})
            )

        client.socket_mode_request_listeners.append(listener)
    return client


def finish(client: SocketModeClient, emu: SlackEmulator) -> None:
    """Close the server side first: the client's own close() waits out a blocking 3 s recv otherwise."""
    emu.stop()
    deadline = time.monotonic() + 5
    # The SDK races its reader thread if close() runs while that thread is still disconnecting.
    while client.is_connected() and time.monotonic() < deadline:
        time.sleep(0.01)
    client.close()


@pytest.fixture
def connected(emu: SlackEmulator) -> Iterator[SocketModeClient]:
    client = socket_client(emu)
    client.connect()
    emu.wait_for_socket(5)
    yield client
    finish(client, emu)


# ---------------------------------------------------------------------- apps.connections.open


def test_connections_open_takes_the_app_token_and_returns_a_loopback_ws_url(emu: SlackEmulator) -> None:
    reply = WebClient(base_url=emu.api_url).apps_connections_open(app_token=emu.app_token)
    url = urlsplit(reply["url"])
    assert (url.scheme, url.netloc) == ("ws", urlsplit(emu.url).netloc)
    assert url.path.startswith("/socket/")
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


def test_sdk_client_connects_gets_hello_and_acks_a_slash_command(emu: SlackEmulator) -> None:
    client = socket_client(emu)
    received: list[dict[str, Any]] = []
    client.message_listeners.append(lambda _client, message, _raw: received.append(message))
    url = emu.url  # finish() stops the emulator
    assert not emu.socket_connected()
    try:
        client.connect()
        emu.wait_for_socket(5)
        payload = emu.send_command_socket("a fox", user_id="U0OTHER001", channel_id="C0OTHER001")
    finally:
        finish(client, emu)

    assert payload == {"text": "got a fox"}
    hello, envelope = received
    assert hello["type"] == "hello"
    assert hello["connection_info"] == {"app_id": emu.api_app_id}
    assert hello["num_connections"] == 1
    assert envelope["type"] == "slash_commands"
    assert envelope["accepts_response_payload"] is True
    assert envelope == emu.socket_envelopes()[0]
    fields = envelope["payload"]
    assert fields["command"] == "/imagine"
    assert fields["text"] == "a fox"
    assert (fields["user_id"], fields["channel_id"]) == ("U0OTHER001", "C0OTHER001")
    assert fields["team_id"] == emu.team_id
    assert fields["response_url"].startswith(f"{url}/response/")
    assert fields["trigger_id"]


def test_the_payload_has_the_same_fields_as_the_http_form(emu: SlackEmulator, connected: SocketModeClient) -> None:
    emu.send_command_socket("same fields")
    socket_fields = emu.socket_envelopes()[0]["payload"]
    http_fields = emu._command_fields("same fields", "U0USER0001", "alice", "C0CHAN0001", "general", "/imagine", None)
    assert list(socket_fields) == list(http_fields)
    assert all(isinstance(v, str) for v in socket_fields.values())


def test_response_url_of_a_socket_command_takes_posts(emu: SlackEmulator, connected: SocketModeClient) -> None:
    emu.send_command_socket("respond later")
    response_url = emu.socket_envelopes()[0]["payload"]["response_url"]
    assert httpx.post(response_url, json={"text": "done"}, trust_env=False).status_code == 200
    assert [p.body for p in emu.responses(response_url)] == [{"text": "done"}]


def test_many_commands_in_parallel_each_get_their_own_ack(emu: SlackEmulator, connected: SocketModeClient) -> None:
    results: dict[int, dict[str, Any]] = {}

    def send(i: int) -> None:
        results[i] = emu.send_command_socket(f"prompt {i} " + "x" * (i * 200))

    threads = [threading.Thread(target=send, args=(i,)) for i in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(15)
    assert results == {i: {"text": f"got prompt {i} " + "x" * (i * 200)} for i in range(8)}


def test_an_ack_without_payload_returns_an_empty_dict(emu: SlackEmulator) -> None:
    client = socket_client(emu, ack=False)
    client.socket_mode_request_listeners.append(
        lambda c, r: c.send_socket_mode_response(SocketModeResponse(envelope_id=r.envelope_id))
    )
    try:
        client.connect()
        emu.wait_for_socket(5)
        assert emu.send_command_socket("no body") == {}
    finally:
        finish(client, emu)


def test_no_ack_times_out_with_an_assertion(emu: SlackEmulator) -> None:
    client = socket_client(emu, ack=False)
    try:
        client.connect()
        emu.wait_for_socket(5)
        with pytest.raises(AssertionError, match="no ack for envelope"):
            emu.send_command_socket("ignored", timeout=0.5)
    finally:
        finish(client, emu)


def test_without_a_socket_sending_fails_at_once(emu: SlackEmulator) -> None:
    with pytest.raises(AssertionError, match="no Socket Mode connection"):
        emu.send_command_socket("nobody listens", timeout=0.1)
    with pytest.raises(AssertionError):
        emu.wait_for_socket(0.2)


def test_stopping_the_emulator_closes_the_socket() -> None:
    emulator = SlackEmulator().start()
    client = socket_client(emulator)
    closed = threading.Event()
    client.on_close_listeners.append(lambda code, reason: closed.set())
    try:
        client.connect()
        emulator.wait_for_socket(5)
        emulator.stop()
        assert closed.wait(5)
        assert not emulator.socket_connected()
    finally:
        finish(client, emulator)


# ---------------------------------------------------------------------- the protocol, byte by byte


class RawClient:
    """A deliberately plain WebSocket client, to check the server's side of RFC 6455 exactly."""

    def __init__(self, url: str, *, key: str | None = None, headers: dict[str, str] | None = None) -> None:
        split = urlsplit(url)
        self.sock = socket.create_connection((split.hostname or "", split.port or 80), timeout=5)
        fields = {
            "Host": split.netloc,
            "Upgrade": "websocket",
            "Connection": "keep-alive, Upgrade",
            "Sec-WebSocket-Key": key or base64.b64encode(os.urandom(16)).decode(),
            "Sec-WebSocket-Version": "13",
            **(headers or {}),
        }
        lines = [f"GET {split.path} HTTP/1.1", *(f"{k}: {v}" for k, v in fields.items())]
        self.sock.sendall(("\r\n".join(lines) + "\r\n\r\n").encode())
        self.buffer = b""
        head = self._read_until(b"\r\n\r\n").decode()
        self.status = int(head.split(" ", 2)[1])
        self.headers = {k.lower(): v.strip() for k, _, v in (line.partition(":") for line in head.split("\r\n")[1:])}

    def _read_until(self, marker: bytes) -> bytes:
        while marker not in self.buffer:
            chunk = self.sock.recv(4096)
            if not chunk:
                raise ConnectionError("closed")
            self.buffer += chunk
        head, _, self.buffer = self.buffer.partition(marker)
        return head

    def _read(self, count: int) -> bytes:
        while len(self.buffer) < count:
            chunk = self.sock.recv(4096)
            if not chunk:
                raise ConnectionError("closed")
            self.buffer += chunk
        data, self.buffer = self.buffer[:count], self.buffer[count:]
        return data

    def send(self, opcode: int, payload: bytes = b"", *, fin: bool = True, masked: bool = True) -> None:
        frame = bytearray(_websocket.encode_frame(opcode, payload, mask=os.urandom(4) if masked else None))
        if not fin:
            frame[0] &= 0x7F
        self.sock.sendall(bytes(frame))

    def receive(self) -> tuple[int, bytes]:
        first, second = self._read(2)
        assert first & 0x80, "the server sends final frames"
        assert not second & 0x80, "server frames are never masked (§5.1)"
        length = second & 0x7F
        if length == 126:
            (length,) = struct.unpack("!H", self._read(2))
        elif length == 127:
            (length,) = struct.unpack("!Q", self._read(8))
        return first & 0x0F, self._read(length)

    def receive_json(self) -> Any:
        opcode, data = self.receive()
        assert opcode == _websocket.TEXT
        return json.loads(data)

    def at_eof(self) -> bool:
        try:
            return self.sock.recv(1) == b""
        except ConnectionResetError:
            return True

    def close(self) -> None:
        self.sock.close()


def open_url(emu: SlackEmulator) -> str:
    url: str = WebClient(base_url=emu.api_url).apps_connections_open(app_token=emu.app_token)["url"]
    return url


def test_handshake_answers_with_the_rfc_accept_key_then_hello(emu: SlackEmulator) -> None:
    # RFC 6455 §1.3's worked example.
    assert _websocket.accept_key("dGhlIHNhbXBsZSBub25jZQ==") == "s3pPLMBiTxaQ9kYGzzhZRbK+xOo="
    client = RawClient(open_url(emu), key="dGhlIHNhbXBsZSBub25jZQ==")
    try:
        assert client.status == 101
        assert client.headers["upgrade"].lower() == "websocket"
        assert client.headers["sec-websocket-accept"] == "s3pPLMBiTxaQ9kYGzzhZRbK+xOo="
        assert client.receive_json()["type"] == "hello"
        assert emu.socket_connected()
    finally:
        client.close()
    emu.wait_for(lambda: not emu.socket_connected(), timeout=5)


def test_a_ticket_is_good_for_one_connection(emu: SlackEmulator) -> None:
    url = open_url(emu)
    first = RawClient(url)
    second = RawClient(url)
    try:
        assert (first.status, second.status) == (101, 404)
        assert RawClient(url.rsplit("/", 1)[0] + "/unknown").status == 404
    finally:
        first.close()
        second.close()


@pytest.mark.parametrize(
    ("headers", "status"),
    [({"Sec-WebSocket-Version": "8"}, 426), ({"Sec-WebSocket-Key": "too-short"}, 400)],
)
def test_a_bad_handshake_is_refused(emu: SlackEmulator, headers: dict[str, str], status: int) -> None:
    client = RawClient(open_url(emu), headers=headers)
    try:
        assert client.status == status
        assert not emu.socket_connected()
    finally:
        client.close()


def test_a_plain_get_of_a_socket_url_is_told_to_upgrade(emu: SlackEmulator) -> None:
    reply = httpx.get(open_url(emu).replace("ws://", "http://"), trust_env=False)
    assert reply.status_code == 426
    assert reply.headers["upgrade"] == "websocket"


def test_pings_are_answered_and_fragments_joined(emu: SlackEmulator) -> None:
    client = RawClient(open_url(emu))
    try:
        client.receive_json()  # hello
        client.send(_websocket.PING, b"are you there")
        assert client.receive() == (_websocket.PONG, b"are you there")
        ack = json.dumps({"envelope_id": "e-1", "payload": {"text": "big " + "y" * 70_000}}).encode()
        client.send(_websocket.TEXT, ack[:10], fin=False)
        client.send(_websocket.PING, b"between fragments")
        client.send(_websocket.CONTINUATION, ack[10:])
        assert client.receive() == (_websocket.PONG, b"between fragments")
        emu.wait_for(lambda: emu._socket_acks.get("e-1"), timeout=5)
    finally:
        client.close()


def test_a_client_close_is_echoed_and_the_connection_ends(emu: SlackEmulator) -> None:
    client = RawClient(open_url(emu))
    try:
        client.receive_json()
        client.send(_websocket.CLOSE, struct.pack("!H", 1000) + b"bye")
        assert client.receive() == (_websocket.CLOSE, struct.pack("!H", 1000))
        assert client.at_eof()
        emu.wait_for(lambda: not emu.socket_connected(), timeout=5)
    finally:
        client.close()


def test_an_unmasked_client_frame_is_a_protocol_error(emu: SlackEmulator) -> None:
    client = RawClient(open_url(emu))
    try:
        client.receive_json()
        client.send(_websocket.TEXT, b"{}", masked=False)
        opcode, data = client.receive()
        assert (opcode, struct.unpack("!H", data[:2])[0]) == (_websocket.CLOSE, 1002)
        assert client.at_eof()
    finally:
        client.close()
