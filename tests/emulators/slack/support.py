"""Shared test helpers for the Slack emulator's tests (fixtures are in conftest.py)."""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest
from slack_sdk.errors import SlackApiError
from slack_sdk.signature import SignatureVerifier

from devkit.http import LoopbackServer, Request, Response

PNG = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(range(256)) + b"\r\n\n\r"
MEMBER, PUBLIC, PRIVATE, ARCHIVED, ANNOUNCE = "C0MEMBER01", "C0PUBLIC01", "G0PRIVATE1", "C0ARCHIVE1", "C0ANNOUNCE"
# The fields of a slash command, in Slack's order: the HTTP form and the Socket Mode payload alike.
COMMAND_FIELDS = [
    "token",
    "team_id",
    "team_domain",
    "channel_id",
    "channel_name",
    "user_id",
    "user_name",
    "command",
    "text",
    "api_app_id",
    "is_enterprise_install",
    "response_url",
    "trigger_id",
]
USER = "U0USER0001"


def png(width: int = 3, height: int = 2) -> bytes:
    """A real PNG of that size, so original_w/h can be checked."""
    import io

    from PIL import Image

    buffer = io.BytesIO()
    Image.new("RGB", (width, height), (200, 30, 30)).save(buffer, format="PNG")
    return buffer.getvalue()


class FakeClock:
    def __init__(self, now: float = 1_700_000_000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


def api_error(call: Callable[[], Any]) -> str:
    """The `error` of the SlackApiError that `call` raises."""
    with pytest.raises(SlackApiError) as caught:
        call()
    return str(caught.value.response["error"])


@dataclass(frozen=True)
class Received:
    path: str
    headers: dict[str, str]
    body: bytes


class StandInBot(LoopbackServer):
    """A stand-in for the bot: verifies Slack's signature like Bolt does, then acks in channel."""

    def __init__(self) -> None:
        super().__init__()
        self.verifier = SignatureVerifier("test-signing-secret")
        self.received: list[Received] = []
        self.lock = threading.Lock()

    def handle(self, request: Request) -> Response:
        body = request.get_data()
        with self.lock:
            self.received.append(Received(request.path, {k.lower(): v for k, v in request.headers.items()}, body))
        if b"ssl_check=1" in body:
            return Response("", status=200)  # Bolt's SslCheck answers before verification
        if not self.verifier.is_valid_request(body, dict(request.headers.items())):
            return Response('{"error": "invalid request"}', status=401, content_type="application/json")
        return Response(
            '{"response_type": "in_channel", "text": "Generating"}', status=200, content_type="application/json"
        )
