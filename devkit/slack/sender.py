"""The emulator playing Slack toward the bot: signed HTTP requests and Socket Mode envelopes.

docs/contracts/slack.md §7: requests are signed with `SignatureVerifier(secret).generate_signature`, over
the real clock (Bolt checks the timestamp against its own); slash commands are urlencoded forms, interactions
`payload=<JSON>` forms, events JSON bodies; Events API retries carry `X-Slack-Retry-Num`/`-Reason`.
"""

from __future__ import annotations

import json
import secrets
import time
import uuid
from collections.abc import Callable
from typing import Any
from urllib.parse import quote, urlencode

import httpx
from slack_sdk.signature import SignatureVerifier

from devkit.slack.recording import Recording
from devkit.slack.records import SentEvent, SentRequest
from devkit.slack.socket_mode import NoSocket, SocketModeServer
from devkit.slack.workspace import Workspace

__all__ = ["Sender"]

# Global shortcuts, view submissions and the like carry no response_url (§7.4).
_NO_RESPONSE_URL = frozenset({"shortcut", "view_submission", "view_closed", "block_suggestion"})
# Socket Mode: interactions whose ack body Slack uses (§9.3).
_ACCEPTS_RESPONSE_PAYLOAD = frozenset({"view_submission", "block_suggestion"})
_USER_AGENT = "Slackbot 1.0 (+https://api.slack.com/robots)"


# (request body, request headers) -> (status, response headers, response body)
InProcessBot = Callable[[bytes, dict[str, str]], tuple[int, dict[str, str], bytes]]


class Sender:
    """Builds Slack's payloads from the workspace's state and delivers them to a bot."""

    def __init__(self, ws: Workspace, sockets: SocketModeServer, recording: Recording) -> None:
        self._ws = ws
        self._sockets = sockets
        self._recording = recording
        # bot_url → a function that answers in process (a test's in-process bot), instead of HTTP.
        self.routes: dict[str, InProcessBot] = {}

    # ------------------------------------------------------------------ signing and delivery

    def sign(self, body: bytes, timestamp: int | None = None) -> dict[str, str]:
        """Slack's signature headers for `body` (§7.2), stamped with the real time unless given."""
        stamp = str(int(time.time()) if timestamp is None else timestamp)
        verifier = SignatureVerifier(self._ws.identity.signing_secret)
        signature = verifier.generate_signature(timestamp=stamp, body=body)
        assert signature is not None  # only None without a timestamp
        return {"X-Slack-Request-Timestamp": stamp, "X-Slack-Signature": signature}

    def post(
        self,
        bot_url: str,
        body: bytes,
        *,
        content_type: str,
        signed: bool = True,
        extra_headers: dict[str, str] | None = None,
        timeout: float = 10.0,
    ) -> tuple[httpx.Response, float]:
        headers = {"Content-Type": content_type, "User-Agent": _USER_AGENT, **(extra_headers or {})}
        if signed:
            headers.update(self.sign(body))
        started = time.perf_counter()
        in_process = self.routes.get(bot_url)
        if in_process is not None:
            status, answer_headers, answer = in_process(body, headers)
            reply = httpx.Response(status, headers=answer_headers, content=answer)
            return reply, time.perf_counter() - started
        # trust_env=False: a proxy from the environment must never see loopback test traffic.
        reply = httpx.post(
            f"{bot_url.rstrip('/')}/slack/events", content=body, headers=headers, timeout=timeout, trust_env=False
        )
        return reply, time.perf_counter() - started

    def deliver(
        self,
        bot_url: str,
        body: bytes,
        *,
        content_type: str = "application/x-www-form-urlencoded",
        response_url: str = "",
        trigger_id: str = "",
        signed: bool = True,
        timeout: float = 10.0,
    ) -> SentRequest:
        reply, elapsed = self.post(bot_url, body, content_type=content_type, signed=signed, timeout=timeout)
        return SentRequest(
            status=reply.status_code,
            headers={k.lower(): v for k, v in reply.headers.items()},
            body=reply.content,
            response_url=response_url,
            elapsed_s=elapsed,
            trigger_id=trigger_id,
        )

    # ------------------------------------------------------------------ payloads (§7)

    def command_fields(
        self,
        text: str,
        *,
        user_id: str,
        user_name: str,
        channel_id: str,
        channel_name: str,
        command: str,
        trigger_id: str | None,
    ) -> dict[str, str]:
        """The slash-command fields in Slack's order, with a fresh response_url and a live trigger_id (§7.1)."""
        ws, identity = self._ws, self._ws.identity
        with ws.cond:
            if trigger_id:
                ws.remember_trigger(trigger_id)
            else:
                trigger_id = ws.new_trigger_id()
            response_url = ws.new_response_url(channel_id, user_id, None)
        return {
            "token": identity.verification_token,
            "team_id": identity.team_id,
            "team_domain": identity.team_domain,
            "channel_id": channel_id,
            "channel_name": channel_name,
            "user_id": user_id,
            "user_name": user_name,
            "command": command,
            "text": text,
            "api_app_id": identity.api_app_id,
            "is_enterprise_install": "false",
            "response_url": response_url,
            "trigger_id": trigger_id,
        }

    def completed_interaction(self, payload: dict[str, Any]) -> dict[str, Any]:
        """A copy of `payload` with a response_url minted when its type has one (§7.4)."""
        payload = dict(payload)
        with self._ws.cond:
            if "response_url" not in payload and payload.get("type") not in _NO_RESPONSE_URL:
                channel = payload.get("channel") or {}
                container = payload.get("container") or {}
                message = payload.get("message") or {}
                user = payload.get("user") or {}
                payload["response_url"] = self._ws.new_response_url(
                    channel.get("id") or container.get("channel_id"),
                    user.get("id"),
                    container.get("message_ts") or message.get("ts"),
                )
            trigger_id = payload.get("trigger_id")
            if isinstance(trigger_id, str) and trigger_id:
                self._ws.remember_trigger(trigger_id)
        return payload

    def send_interaction(self, bot_url: str, payload: dict[str, Any], *, timeout: float = 10.0) -> SentRequest:
        payload = self.completed_interaction(payload)
        body = ("payload=" + quote(json.dumps(payload))).encode("utf-8")
        response_url, trigger_id = payload.get("response_url"), payload.get("trigger_id")
        return self.deliver(
            bot_url,
            body,
            response_url=response_url if isinstance(response_url, str) else "",
            trigger_id=trigger_id if isinstance(trigger_id, str) else "",
            timeout=timeout,
        )

    def event_body(self, event: dict[str, Any], event_id: str | None) -> dict[str, Any]:
        """An Events API `event_callback` around `event` (§7.3); `event_ts` added when missing."""
        ws, identity = self._ws, self._ws.identity
        with ws.cond:
            now = ws.clock()
            event_id = event_id or ws.next_id("Ev")
        return {
            "token": identity.verification_token,
            "team_id": identity.team_id,
            "context_team_id": identity.team_id,
            "api_app_id": identity.api_app_id,
            "event": {"event_ts": f"{now:.6f}", **event},
            "type": "event_callback",
            "event_id": event_id,
            "event_time": int(now),
            "authorizations": [
                {
                    "enterprise_id": None,
                    "team_id": identity.team_id,
                    "user_id": identity.bot_user_id,
                    "is_bot": True,
                    "is_enterprise_install": False,
                }
            ],
            "is_ext_shared_channel": False,
        }

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
        body = self.event_body(event, event_id)
        encoded = json.dumps(body).encode("utf-8")
        return self._deliver_event(bot_url, encoded, body, retry_num, retry_reason, timeout)

    def redeliver(self, sent: SentEvent, *, retry_num: int, retry_reason: str, timeout: float = 10.0) -> SentEvent:
        """The same body again, freshly signed, as Slack's retry `retry_num` (§7.3)."""
        body = json.loads(sent.sent_body)
        return self._deliver_event(sent.bot_url, sent.sent_body, body, retry_num, retry_reason, timeout)

    def _deliver_event(
        self,
        bot_url: str,
        encoded: bytes,
        body: dict[str, Any],
        retry_num: int,
        retry_reason: str | None,
        timeout: float,
    ) -> SentEvent:
        retry_headers: dict[str, str] = {}
        if retry_num:
            retry_headers = {
                "X-Slack-Retry-Num": str(retry_num),
                "X-Slack-Retry-Reason": retry_reason or "http_timeout",
            }
        reply, elapsed = self.post(
            bot_url, encoded, content_type="application/json", extra_headers=retry_headers, timeout=timeout
        )
        return SentEvent(
            status=reply.status_code,
            headers={k.lower(): v for k, v in reply.headers.items()},
            body=reply.content,
            response_url="",
            elapsed_s=elapsed,
            event_id=body["event_id"],
            event=body["event"],
            sent_body=encoded,
            bot_url=bot_url,
        )

    def send_ssl_check(self, bot_url: str, *, timeout: float = 10.0) -> SentRequest:
        # §7.5: Slack's periodic certificate check is an unsigned form POST.
        body = urlencode({"ssl_check": "1", "token": self._ws.identity.verification_token}).encode()
        return self.deliver(bot_url, body, signed=False, timeout=timeout)

    def send_url_verification(self, bot_url: str, *, timeout: float = 10.0) -> SentRequest:
        body = {"token": self._ws.identity.verification_token, "challenge": secrets.token_urlsafe(24)}
        body["type"] = "url_verification"
        return self.deliver(bot_url, json.dumps(body).encode(), content_type="application/json", timeout=timeout)

    # ------------------------------------------------------------------ Socket Mode (§9)

    def exchange(self, envelope_type: str, payload: dict[str, Any], *, timeout: float, **fields: Any) -> dict[str, Any]:
        """Send one envelope and return its ack's `payload` ({} when the ack has none).

        Raises AssertionError when no socket is connected or no ack arrives within `timeout`.
        """
        envelope_id = str(uuid.uuid4())
        envelope = {"envelope_id": envelope_id, "type": envelope_type, "payload": payload, **fields}
        try:
            self._sockets.send(envelope)
        except NoSocket as exc:
            raise AssertionError(
                f"{exc} to send a {envelope_type} envelope over; {self._recording.summary()}"
            ) from None
        try:
            received = self._recording.wait_for(lambda: self._sockets.ack(envelope_id), timeout=timeout)
        except AssertionError:
            raise AssertionError(
                f"no ack for envelope {envelope_id} ({envelope_type}) within {timeout}s; {self._recording.summary()}"
            ) from None
        body = received.get("payload")
        return dict(body) if isinstance(body, dict) else {}

    def send_event_socket(
        self,
        event: dict[str, Any],
        *,
        event_id: str | None = None,
        retry_attempt: int = 0,
        retry_reason: str | None = None,
        timeout: float = 10.0,
    ) -> dict[str, Any]:
        body = self.event_body(event, event_id)
        return self.exchange(
            "events_api",
            body,
            timeout=timeout,
            accepts_response_payload=False,
            retry_attempt=retry_attempt,
            retry_reason=(retry_reason or "timeout") if retry_attempt else "",
        )

    def send_interaction_socket(self, payload: dict[str, Any], *, timeout: float = 10.0) -> dict[str, Any]:
        payload = self.completed_interaction(payload)
        accepts = payload.get("type") in _ACCEPTS_RESPONSE_PAYLOAD
        return self.exchange("interactive", payload, timeout=timeout, accepts_response_payload=accepts)
