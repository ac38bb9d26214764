"""The emulator's methods that play Slack toward the bot: signed HTTP requests and Socket Mode envelopes.

A mixin of `SlackEmulator`, kept apart so each module stays small; the payloads themselves are built in
payloads.py and sender.py (docs/contracts/slack.md §7, §9).
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from typing import Any, TypeVar
from urllib.parse import urlencode

from devkit.slack import payloads
from devkit.slack.records import Message, SentEvent, SentRequest
from devkit.slack.sender import Sender
from devkit.slack.socket_mode import SocketModeServer
from devkit.slack.workspace import Workspace

__all__ = ["TowardBot"]

T = TypeVar("T")


class TowardBot:
    """Slack's side of the conversation with a bot under test."""

    _ws: Workspace
    _sender: Sender
    _sockets: SocketModeServer

    def wait_for(self, predicate: Callable[[], T | bool | None], timeout: float = 10.0) -> T:
        raise NotImplementedError  # SlackEmulator provides it (recording.Recording.wait_for)

    # ------------------------------------------------------------------ Slack toward the bot

    def sign(self, body: bytes, timestamp: int | None = None) -> dict[str, str]:
        """`X-Slack-Request-Timestamp` and `X-Slack-Signature` for `body` (real time unless given)."""
        return self._sender.sign(body, timestamp)

    def new_response_url(
        self, *, channel_id: str | None = None, user_id: str | None = None, message_ts: str | None = None
    ) -> str:
        with self._ws.cond:
            return self._ws.new_response_url(channel_id, user_id, message_ts)

    def send_command(
        self,
        bot_url: str,
        text: str,
        *,
        user_id: str = "U0USER0001",
        user_name: str = "alice",
        channel_id: str = "C0CHAN0001",
        channel_name: str = "general",
        command: str = "/imagine",
        trigger_id: str | None = None,
        timeout: float = 10.0,
    ) -> SentRequest:
        """POST a signed slash command to `{bot_url}/slack/events`."""
        fields = self._sender.command_fields(
            text,
            user_id=user_id,
            user_name=user_name,
            channel_id=channel_id,
            channel_name=channel_name,
            command=command,
            trigger_id=trigger_id,
        )
        body = urlencode(fields).encode("utf-8")
        return self._sender.deliver(
            bot_url, body, response_url=fields["response_url"], trigger_id=fields["trigger_id"], timeout=timeout
        )

    def send_interaction(self, bot_url: str, payload: dict[str, Any], *, timeout: float = 10.0) -> SentRequest:
        """POST a signed `payload=<JSON>` interaction, minting a response_url if its type has one."""
        return self._sender.send_interaction(bot_url, payload, timeout=timeout)

    def send_event(
        self,
        bot_url: str,
        event: dict[str, Any],
        *,
        event_id: str | None = None,
        retry_num: int = 0,
        retry_reason: str | None = None,
        timeout: float = 10.0,
    ) -> SentEvent:
        """POST a signed Events API `event_callback` wrapping `event`, as application/json."""
        return self._sender.send_event(
            bot_url, event, event_id=event_id, retry_num=retry_num, retry_reason=retry_reason, timeout=timeout
        )

    def send_mention(
        self,
        bot_url: str,
        text: str,
        *,
        channel_id: str,
        user_id: str = "U0USER0001",
        thread_ts: str | None = None,
        timeout: float = 10.0,
    ) -> SentEvent:
        """A person writes `@bot text` in the channel (or thread): recorded, then sent as `app_mention`."""
        with self._ws.cond:
            event = payloads.mention_event(self._ws, text, channel_id=channel_id, user_id=user_id, thread_ts=thread_ts)
        return self._sender.send_event(bot_url, event, timeout=timeout)

    def redeliver(
        self, sent: SentEvent, *, retry_num: int = 1, retry_reason: str = "http_timeout", timeout: float = 10.0
    ) -> SentEvent:
        """Slack's retry of an event delivery: the same body, a new signature, X-Slack-Retry-* headers."""
        return self._sender.redeliver(sent, retry_num=retry_num, retry_reason=retry_reason, timeout=timeout)

    def send_message_shortcut(
        self, bot_url: str, callback_id: str, message: Message, *, user_id: str = "U0USER0001", timeout: float = 10.0
    ) -> SentRequest:
        """A person runs the message shortcut `callback_id` on `message`."""
        with self._ws.cond:
            payload = payloads.message_shortcut_payload(self._ws, callback_id, message, user_id=user_id)
        return self._sender.send_interaction(bot_url, payload, timeout=timeout)

    def send_block_action(
        self,
        bot_url: str,
        *,
        action_id: str,
        value: str,
        message: Message,
        user_id: str = "U0USER0001",
        timeout: float = 10.0,
    ) -> SentRequest:
        """A person clicks the element `action_id` (with `value`) in `message`."""
        with self._ws.cond:
            payload = payloads.block_action_payload(
                self._ws, action_id=action_id, value=value, message=message, user_id=user_id
            )
        return self._sender.send_interaction(bot_url, payload, timeout=timeout)

    def send_view_submission(
        self,
        bot_url: str,
        view: dict[str, Any],
        values: dict[str, Any],
        *,
        user_id: str = "U0USER0001",
        timeout: float = 10.0,
    ) -> SentRequest:
        """A person submits `view` with `values` (Slack's `state.values` shape)."""
        with self._ws.cond:
            payload = payloads.view_submission_payload(self._ws, view, values, user_id=user_id)
        return self._sender.send_interaction(bot_url, payload, timeout=timeout)

    def send_ssl_check(self, bot_url: str, *, timeout: float = 10.0) -> SentRequest:
        return self._sender.send_ssl_check(bot_url, timeout=timeout)

    def send_url_verification(self, bot_url: str, *, timeout: float = 10.0) -> SentRequest:
        return self._sender.send_url_verification(bot_url, timeout=timeout)

    # ------------------------------------------------------------------ Socket Mode

    def send_command_socket(
        self,
        text: str,
        *,
        user_id: str = "U0USER0001",
        user_name: str = "alice",
        channel_id: str = "C0CHAN0001",
        channel_name: str = "general",
        command: str = "/imagine",
        trigger_id: str | None = None,
        timeout: float = 10.0,
    ) -> dict[str, Any]:
        """A `slash_commands` envelope (the send_command fields as a dict); returns the ack's payload."""
        fields = self._sender.command_fields(
            text,
            user_id=user_id,
            user_name=user_name,
            channel_id=channel_id,
            channel_name=channel_name,
            command=command,
            trigger_id=trigger_id,
        )
        return self._sender.exchange("slash_commands", fields, timeout=timeout, accepts_response_payload=True)

    def send_event_socket(
        self,
        event: dict[str, Any],
        *,
        event_id: str | None = None,
        retry_attempt: int = 0,
        retry_reason: str | None = None,
        timeout: float = 10.0,
    ) -> dict[str, Any]:
        """An `events_api` envelope; returns the ack's payload."""
        return self._sender.send_event_socket(
            event, event_id=event_id, retry_attempt=retry_attempt, retry_reason=retry_reason, timeout=timeout
        )

    def send_interaction_socket(self, payload: dict[str, Any], *, timeout: float = 10.0) -> dict[str, Any]:
        """An `interactive` envelope; returns the ack's payload."""
        return self._sender.send_interaction_socket(payload, timeout=timeout)

    def socket_connected(self) -> bool:
        return self._sockets.connected()

    def wait_for_socket(self, timeout: float = 10.0) -> None:
        self.wait_for(self.socket_connected, timeout)

    def socket_envelopes(self) -> list[dict[str, Any]]:
        """Every envelope sent to the app, oldest first."""
        with self._ws.cond:
            return copy.deepcopy(self._sockets.envelopes)
