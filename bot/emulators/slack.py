"""A loopback Slack: the Web API, `response_url`s, and the signed requests Slack sends to a bot.

Every contract here comes from `shared/reference/slack-platform.md`:

* §1.1–1.2 — `send_command` builds the slash-command form body field for field and signs it
  `v0=HMAC-SHA256(secret, "v0:{ts}:{body}")`; `signature()` reproduces Slack's official test vector.
* §4.7 — `send_interaction` posts `payload=<url-quoted JSON>`, signed the same way.
* §4.7 — `send_event` posts an Events API `event_callback` (e.g. `app_home_opened`) as a JSON body,
  signed the same way; the envelope's fields are those Bolt's own tests send.
* §1.5 — a `response_url` takes a JSON POST without auth, at most 5 times within 30 minutes.
* §3.1 — `chat.postMessage`: errors are HTTP 200 `{"ok": false}`; `chat:write.public` lets the bot post
  to public channels it has not joined, but private channels and DMs need membership.
* §3.2 — upload v2 exactly as `WebClient.files_upload_v2` drives it: `files.getUploadURLExternal` (form),
  raw bytes POSTed without auth to the returned `upload_url`, `files.completeUploadExternal` (form),
  which needs real membership (`not_in_channel` even for public channels) and works once per file.
* §3.3 — `slack_file` image blocks must name a shared file (`^F[A-Z0-9]{8,}$`), else `invalid_blocks`.
* §3.4–3.5 — injected rate limits answer HTTP 429 with `Retry-After`, which the SDK's
  `RateLimitErrorRetryHandler` honours.
* §3.7 — the minimal surface, including `auth.test` and its `x-oauth-scopes` header.
* §4.5 — Socket Mode: `apps.connections.open` takes the app-level token and returns a WebSocket URL
  on this same port; the socket starts with a `hello` message, `send_command_socket` sends a
  `slash_commands` envelope (the §1.1 fields as a dict) and returns the app's ack `payload`.

Where the reference is silent the emulator chooses, and says so here:

* Channel ids: an unknown `C…` id is a public channel the bot has not joined; unknown `G…`/`D…` ids
  (and anything else) do not exist for the bot, so they answer `channel_not_found`.
* A `response_url` Slack never minted answers 404 `no_service` (Slack's code for an unknown webhook).
  Posts rejected with 400/404 do not use up one of the five uses.
* `trigger_id`s minted by `send_command`/`send_interaction` are checked by `views.open` with Slack's
  documented codes `invalid_trigger_id`, `exchanged_trigger_id` and `expired_trigger_id` (after 3 s).
* Response posts are recorded as `ResponsePost`s only; they never alter `messages()`. A post carries
  the channel, user and source message of its URL so that a viewer can apply `replace_original`.
* `image_url`s are not fetched (real Slack would, and would reject loopback URLs).
* Rate limits are only those injected with `rate_limit_next`.
* Socket Mode URLs are `ws://` (no TLS) and each is good for one connection; a used or unknown one
  answers 404. An app-level token is refused by every other method (`not_allowed_token_type`), as is
  the bot token by `apps.connections.open`. Envelopes go to the newest live connection.

The emulator keeps all state behind one condition variable, so the recording accessors are safe to
call from any thread and `wait_for` wakes as soon as anything changes.
"""

from __future__ import annotations

import copy
import hashlib
import hmac
import itertools
import json
import mimetypes
import re
import reprlib
import secrets
import threading
import time
import uuid
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler
from typing import Any, TypeVar, cast
from urllib.parse import quote, urlencode, urlsplit

import httpx

from bot.emulators import _websocket
from bot.emulators._http import LoopbackServer, Request, Response

__all__ = [
    "ApiCall",
    "Channel",
    "Message",
    "ResponsePost",
    "SentRequest",
    "SlackEmulator",
    "UploadedFile",
    "signature",
]

T = TypeVar("T")

SCOPES = "commands,chat:write,chat:write.public,files:write,channels:join,im:write"
RESPONSE_URL_USES = 5  # §1.5
RESPONSE_URL_LIFETIME_S = 30 * 60  # §1.5
TRIGGER_LIFETIME_S = 3.0  # §0
MAX_TEXT_CHARS = 40_000  # §3.1 msg_too_long
MAX_BLOCKS = 50
FILE_ID = re.compile(r"^F[A-Z0-9]{8,}$")  # §3.3
_PUBLIC_CHANNEL_ID = re.compile(r"^C[A-Z0-9]{2,}$")
# Global shortcuts, view submissions and the like carry no response_url on the real platform (§4.7).
_NO_RESPONSE_URL = frozenset({"shortcut", "view_submission", "view_closed", "block_suggestion"})


def signature(secret: str, timestamp: str, body: bytes) -> str:
    """Slack's request signature (§1.2): `v0=` + hex HMAC-SHA256 of `v0:{timestamp}:{body}`."""
    basestring = b"v0:" + timestamp.encode("ascii") + b":" + body
    return "v0=" + hmac.new(secret.encode("utf-8"), basestring, hashlib.sha256).hexdigest()


@dataclass(frozen=True)
class SentRequest:
    """The bot's answer to one request the emulator sent it as Slack."""

    status: int
    headers: dict[str, str]
    body: bytes
    response_url: str  # "" for payload types that have none (global shortcuts, view submissions)
    elapsed_s: float
    trigger_id: str = ""

    def json(self) -> Any:
        return json.loads(self.body)

    @property
    def text(self) -> str:
        return self.body.decode("utf-8")


@dataclass
class Channel:
    id: str
    name: str
    member: bool
    private: bool
    archived: bool
    is_im: bool = False
    user: str | None = None  # the other party of a DM


@dataclass
class UploadedFile:
    id: str
    filename: str
    title: str
    length: int
    alt_txt: str | None
    content: bytes = field(repr=False)  # image bytes would drown assertion messages
    channel: str | None
    initial_comment: str | None
    thread_ts: str | None
    deleted: bool = False
    snippet_type: str | None = None
    uploaded: bool = False  # the bytes reached upload_url
    completed: bool = False  # files.completeUploadExternal accepted it
    shares: dict[str, str] = field(default_factory=dict)  # channel id -> ts of the message sharing it
    created: float = 0.0


@dataclass
class Message:
    channel: str
    ts: str
    user: str
    text: str
    blocks: list[dict[str, Any]] | None = None
    thread_ts: str | None = None
    files: list[UploadedFile] = field(default_factory=list)
    ephemeral_user: str | None = None
    deleted: bool = False
    edited: bool = False


@dataclass(frozen=True)
class ResponsePost:
    url: str
    body: dict[str, Any]
    at: float
    channel_id: str | None = None
    user_id: str | None = None
    message_ts: str | None = None  # the interactive message that replace/delete_original would target


@dataclass(frozen=True)
class ApiCall:
    method: str
    args: dict[str, Any]  # query merged with the form or JSON body; the token is kept apart
    token: str | None
    status: int
    ok: bool
    error: str | None
    at: float = 0.0
    response: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class _Fault:
    error: str | None  # None means "rate limited"
    retry_after: int = 0


@dataclass
class _ResponseUrl:
    minted_at: float
    channel_id: str | None
    user_id: str | None
    message_ts: str | None
    uses: int = 0
    expired: bool = False


@dataclass
class _Trigger:
    minted_at: float
    used: bool = False


class _ApiError(Exception):
    def __init__(self, error: str, **extra: Any) -> None:
        super().__init__(error)
        self.error = error
        self.extra = extra


def _invalid_arguments(message: str) -> _ApiError:
    return _ApiError("invalid_arguments", response_metadata={"messages": [f"[ERROR] {message}"]})


def _arg(args: dict[str, Any], name: str) -> str | None:
    """A scalar argument as a string, whether it came from a form (always str) or JSON (maybe int)."""
    value = args.get(name)
    if value is None or value == "":
        return None
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str | int | float):
        return str(value)
    raise _invalid_arguments(f"expected a scalar [json-pointer:/{name}]")


def _json_arg(args: dict[str, Any], name: str, *, error: str) -> Any:
    """A structured argument: JSON bodies carry it as-is, form bodies as a JSON string (§3.1)."""
    value = args.get(name)
    if isinstance(value, str):
        if not value:
            return None
        try:
            return json.loads(value)
        except ValueError:
            raise _ApiError(error) from None
    return value


def _multipart_file(body: bytes, content_type: str) -> bytes:
    match = re.search(r'boundary="?([^";]+)"?', content_type)
    if match is None:
        raise ValueError("multipart body without a boundary")
    parts: list[tuple[str, bytes]] = []
    for chunk in body.split(b"--" + match.group(1).encode("latin-1"))[1:]:
        if chunk.startswith(b"--"):
            break
        head, separator, data = chunk.partition(b"\r\n\r\n")
        if separator:
            parts.append((head.decode("latin-1").lower(), data.removesuffix(b"\r\n")))
    if not parts:
        raise ValueError("multipart body without parts")
    return next((data for head, data in parts if "filename=" in head), parts[0][1])


def _describe(predicate: Callable[[], object]) -> str:
    return getattr(predicate, "__qualname__", None) or repr(predicate)


class SlackEmulator(LoopbackServer):
    """Slack's Web API, `response_url`s and request sender on one loopback port.

    Channels: an unknown `C…` id is a public channel the bot has not joined, so it may post messages
    there (chat:write.public) but not upload. Tests opt in to membership and other kinds with
    `add_channel`. `reset()` forgets everything, channels included, but ids and ts keep increasing.
    """

    bot_name = "imagine-bot"
    verification_token = "emulatedVerificationToken0"  # the deprecated `token` field of §1.1

    def __init__(
        self,
        *,
        bot_token: str = "xoxb-test-token",
        app_token: str = "xapp-1-test-app-token",
        signing_secret: str = "test-signing-secret",
        team_id: str = "T0TEAM0001",
        team_domain: str = "emulated",
        bot_user_id: str = "U0BOT00001",
        bot_id: str = "B0BOT00001",
        api_app_id: str = "A0APP00001",
        host: str = "127.0.0.1",
        port: int = 0,
        clock: Callable[[], float] = time.time,
    ) -> None:
        super().__init__(host, port)
        self.bot_token = bot_token
        self.app_token = app_token
        self.signing_secret = signing_secret
        self.team_id = team_id
        self.team_domain = team_domain
        self.bot_user_id = bot_user_id
        self.bot_id = bot_id
        self.api_app_id = api_app_id
        self._clock = clock
        self._cond = threading.Condition(threading.RLock())
        self._version = 0
        self._ids = itertools.count(1)
        self._last_ts_us = 0
        # Socket Mode transport state outlives reset(): the bot stays connected across tests.
        self._socket_tickets: set[str] = set()
        self._sockets: list[_websocket.ServerConnection] = []
        self._methods: dict[str, Callable[[dict[str, Any]], dict[str, Any]]] = {
            "apps.connections.open": self._apps_connections_open,
            "auth.test": self._auth_test,
            "chat.postMessage": self._chat_post_message,
            "chat.postEphemeral": self._chat_post_ephemeral,
            "chat.update": self._chat_update,
            "chat.delete": self._chat_delete,
            "chat.getPermalink": self._chat_get_permalink,
            "files.getUploadURLExternal": self._files_get_upload_url_external,
            "files.completeUploadExternal": self._files_complete_upload_external,
            "files.upload": self._files_upload,
            "files.delete": self._files_delete,
            "files.info": self._files_info,
            "conversations.open": self._conversations_open,
            "conversations.join": self._conversations_join,
            "conversations.info": self._conversations_info,
            "views.publish": self._views_publish,
            "views.open": self._views_open,
            "views.update": self._views_update,
        }
        self._clear()

    def _clear(self) -> None:
        self._channels: dict[str, Channel] = {}
        self._messages: list[Message] = []
        self._ephemerals: list[Message] = []
        self._responses: list[ResponsePost] = []
        self._calls: list[ApiCall] = []
        self._files: dict[str, UploadedFile] = {}
        self._upload_tokens: dict[str, str] = {}
        self._response_urls: dict[str, _ResponseUrl] = {}
        self._triggers: dict[str, _Trigger] = {}
        self._faults: dict[str, deque[_Fault]] = {}
        self._upload_faults: deque[int] = deque()
        self._home_views: dict[str, dict[str, Any]] = {}
        self._opened_views: list[dict[str, Any]] = []
        self._socket_envelopes: list[dict[str, Any]] = []
        self._socket_acks: dict[str, dict[str, Any]] = {}

    def _changed(self) -> None:
        # Callers hold the lock; waking wait_for here keeps it from polling on a timer.
        self._version += 1
        self._cond.notify_all()

    def _next_id(self, prefix: str) -> str:
        return f"{prefix}{next(self._ids):010d}"

    def _next_ts(self) -> str:
        # Slack's ts doubles as the message id, so it must be unique and increasing even when a fake
        # clock stands still.
        self._last_ts_us = max(int(self._clock() * 1_000_000), self._last_ts_us + 1)
        seconds, micros = divmod(self._last_ts_us, 1_000_000)
        return f"{seconds}.{micros:06d}"

    @property
    def api_url(self) -> str:
        return f"{self.url}/api/"

    def take_over(self, handler: BaseHTTPRequestHandler) -> bool:
        # A Socket Mode `GET /socket/<id>` needs the connection itself, not a whole request.
        return handler.command == "GET" and self._take_over_socket(handler)

    def stop(self) -> None:
        super().stop()  # no new connections; then end the open sockets, whose threads would linger
        with self._cond:
            sockets = list(self._sockets)
        for connection in sockets:
            connection.close(_websocket.GOING_AWAY, "the emulator is stopping")
            connection.abort()

    # ------------------------------------------------------------------ set-up and fault injection

    def add_channel(
        self,
        channel_id: str,
        *,
        name: str | None = None,
        member: bool = True,
        private: bool = False,
        archived: bool = False,
    ) -> None:
        """Declare a channel; `D…` ids are DMs and `G…` ids private whatever `private` says."""
        is_im = channel_id.startswith("D")
        with self._cond:
            self._channels[channel_id] = Channel(
                id=channel_id,
                name=name or channel_id.lower(),
                member=member,
                private=private or is_im or channel_id.startswith("G"),
                archived=archived,
                is_im=is_im,
            )
            self._changed()

    def add_message(
        self,
        channel_id: str,
        text: str,
        *,
        user: str = "U0USER0001",
        blocks: list[dict[str, Any]] | None = None,
        thread_ts: str | None = None,
    ) -> Message:
        """Seed a message written by a person, e.g. to check the bot cannot edit it."""
        with self._cond:
            message = Message(channel_id, self._next_ts(), user, text, blocks, thread_ts)
            self._messages.append(message)
            self._changed()
            return copy.deepcopy(message)

    def fail_next(self, method: str, error: str, *, times: int = 1) -> None:
        with self._cond:
            self._faults.setdefault(method, deque()).extend([_Fault(error)] * times)

    def rate_limit_next(self, method: str, *, retry_after: int = 1, times: int = 1) -> None:
        with self._cond:
            self._faults.setdefault(method, deque()).extend([_Fault(None, retry_after)] * times)

    def fail_upload_next(self, status: int = 500, *, times: int = 1) -> None:
        with self._cond:
            self._upload_faults.extend([status] * times)

    def expire_response_urls(self) -> None:
        with self._cond:
            for record in self._response_urls.values():
                record.expired = True
            self._changed()

    def reset(self) -> None:
        with self._cond:
            self._clear()
            self._changed()

    # ------------------------------------------------------------------ sending to the bot (§1, §4.7)

    def sign(self, body: bytes, timestamp: int | None = None) -> dict[str, str]:
        # Real time, not the injected clock: Bolt checks the timestamp against its own clock (§1.2).
        stamp = str(int(time.time()) if timestamp is None else timestamp)
        return {
            "X-Slack-Request-Timestamp": stamp,
            "X-Slack-Signature": signature(self.signing_secret, stamp, body),
        }

    def new_response_url(
        self,
        *,
        channel_id: str | None = None,
        user_id: str | None = None,
        message_ts: str | None = None,
    ) -> str:
        with self._cond:
            url_id = f"{self.team_id}/{next(self._ids)}/{secrets.token_hex(12)}"
            self._response_urls[url_id] = _ResponseUrl(self._clock(), channel_id, user_id, message_ts)
        return f"{self.url}/response/{url_id}"

    def _new_trigger_id(self) -> str:
        return f"{13345224600 + next(self._ids)}.738474920.{secrets.token_hex(16)}"

    def _remember_trigger(self, trigger_id: str) -> None:
        with self._cond:
            self._triggers[trigger_id] = _Trigger(self._clock())

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
        """POST a signed slash command to `{bot_url}/slack/events`, as in §1.1."""
        fields = self._command_fields(text, user_id, user_name, channel_id, channel_name, command, trigger_id)
        body = urlencode(fields).encode("utf-8")
        return self._post_signed(bot_url, body, fields["response_url"], fields["trigger_id"], timeout)

    def _command_fields(
        self,
        text: str,
        user_id: str,
        user_name: str,
        channel_id: str,
        channel_name: str,
        command: str,
        trigger_id: str | None,
    ) -> dict[str, str]:
        """The §1.1 fields in Slack's order, with a fresh response_url and a remembered trigger_id."""
        trigger_id = trigger_id or self._new_trigger_id()
        self._remember_trigger(trigger_id)
        return {
            "token": self.verification_token,
            "team_id": self.team_id,
            "team_domain": self.team_domain,
            "channel_id": channel_id,
            "channel_name": channel_name,
            "user_id": user_id,
            "user_name": user_name,
            "command": command,
            "text": text,
            "api_app_id": self.api_app_id,
            "is_enterprise_install": "false",
            "response_url": self.new_response_url(channel_id=channel_id, user_id=user_id),
            "trigger_id": trigger_id,
        }

    def send_interaction(self, bot_url: str, payload: dict[str, Any], *, timeout: float = 10.0) -> SentRequest:
        """POST a signed `payload=<JSON>` interaction (§4.7), minting a response_url if it needs one."""
        payload = dict(payload)
        if "response_url" not in payload and payload.get("type") not in _NO_RESPONSE_URL:
            channel = payload.get("channel") or {}
            container = payload.get("container") or {}
            message = payload.get("message") or {}
            user = payload.get("user") or {}
            payload["response_url"] = self.new_response_url(
                channel_id=channel.get("id") or container.get("channel_id"),
                user_id=user.get("id"),
                message_ts=container.get("message_ts") or message.get("ts"),
            )
        trigger_id = payload.get("trigger_id")
        if isinstance(trigger_id, str) and trigger_id:
            self._remember_trigger(trigger_id)
        body = ("payload=" + quote(json.dumps(payload))).encode("utf-8")
        response_url = payload.get("response_url")
        return self._post_signed(
            bot_url,
            body,
            response_url if isinstance(response_url, str) else "",
            trigger_id if isinstance(trigger_id, str) else "",
            timeout,
        )

    def send_event(self, bot_url: str, event: dict[str, Any], *, timeout: float = 10.0) -> SentRequest:
        """POST a signed Events API callback wrapping `event` (§4.7), as `application/json`.

        `event_ts` is added when the event has none; events carry no response_url or trigger_id.
        """
        now = self._clock()
        body = {
            "token": self.verification_token,
            "team_id": self.team_id,
            "api_app_id": self.api_app_id,
            "event": {"event_ts": f"{now:.6f}", **event},
            "type": "event_callback",
            "event_id": self._next_id("Ev"),
            "event_time": int(now),
            "authorizations": [
                {
                    "enterprise_id": None,
                    "team_id": self.team_id,
                    "user_id": self.bot_user_id,
                    "is_bot": True,
                    "is_enterprise_install": False,
                }
            ],
            "is_ext_shared_channel": False,
        }
        encoded = json.dumps(body).encode("utf-8")
        return self._post_signed(bot_url, encoded, "", "", timeout, content_type="application/json")

    # ------------------------------------------------------------------ Socket Mode (§4.5)

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
        """Send a `slash_commands` envelope over the newest socket and return the ack's `payload` ({} if none).

        The payload holds the fields `send_command` posts, as a dict. Raises AssertionError when no socket
        is connected or no ack with the envelope's id arrives within `timeout`.
        """
        payload = self._command_fields(text, user_id, user_name, channel_id, channel_name, command, trigger_id)
        envelope_id = str(uuid.uuid4())
        envelope = {
            "envelope_id": envelope_id,
            "type": "slash_commands",
            "payload": payload,
            "accepts_response_payload": True,
        }
        with self._cond:
            live = [c for c in self._sockets if not c.closed]
            if not live:
                raise AssertionError(f"no Socket Mode connection to send {command} {text!r} over; {self._summary()}")
            self._socket_envelopes.append(copy.deepcopy(envelope))
            self._changed()
        try:
            live[-1].send_text(json.dumps(envelope))
        except OSError as error:
            raise AssertionError(f"the socket closed before envelope {envelope_id} went out ({error})") from None

        def ack() -> dict[str, Any] | None:
            with self._cond:
                return self._socket_acks.get(envelope_id)

        try:
            received = self.wait_for(ack, timeout=timeout)
        except AssertionError:
            raise AssertionError(
                f"no ack for envelope {envelope_id} ({command} {text!r}) within {timeout}s; {self._summary()}"
            ) from None
        body = received.get("payload")
        return copy.deepcopy(body) if isinstance(body, dict) else {}

    def socket_connected(self) -> bool:
        with self._cond:
            return any(not c.closed for c in self._sockets)

    def wait_for_socket(self, timeout: float = 10.0) -> None:
        self.wait_for(self.socket_connected, timeout=timeout)

    def socket_envelopes(self) -> list[dict[str, Any]]:
        """Every envelope sent to the app, oldest first (the payload carries its response_url)."""
        with self._cond:
            return copy.deepcopy(self._socket_envelopes)

    def _apps_connections_open(self, args: dict[str, Any]) -> dict[str, Any]:
        ticket = secrets.token_hex(16)
        self._socket_tickets.add(ticket)
        return {"ok": True, "url": f"ws{self.url.removeprefix('http')}/socket/{ticket}"}

    def _socket_refusal(self, path: str, headers: dict[str, str]) -> Response | None:
        """Why `GET /socket/<id>` cannot become a WebSocket (RFC 6455 §4.2.1), or None. Hold the lock."""
        connection_tokens = {t.strip().lower() for t in headers.get("connection", "").split(",")}
        if headers.get("upgrade", "").lower() != "websocket" or "upgrade" not in connection_tokens:
            return Response(426, "this URL takes a WebSocket (Upgrade: websocket)", {"Upgrade": "websocket"})
        if headers.get("sec-websocket-version", "").strip() != "13":
            return Response(426, "unsupported WebSocket version", {"Sec-WebSocket-Version": "13"})
        if not _websocket.valid_key(headers.get("sec-websocket-key")):
            return Response(400, "missing or malformed Sec-WebSocket-Key")
        if path.removeprefix("/socket/") not in self._socket_tickets:
            return Response(404, "invalid_ticket")  # unknown, or already used
        return None

    def _take_over_socket(self, handler: BaseHTTPRequestHandler) -> bool:
        """Serve `GET /socket/<id>` as a WebSocket until it closes; False leaves the request to `handle`."""
        path = urlsplit(handler.path).path
        headers = {k.lower(): str(v) for k, v in handler.headers.items()}
        with self._cond:
            if not path.startswith("/socket/") or self._socket_refusal(path, headers) is not None:
                return False
            self._socket_tickets.discard(path.removeprefix("/socket/"))
            num_connections = sum(not c.closed for c in self._sockets) + 1
        handler.close_connection = True
        handler.send_response(101, "Switching Protocols")
        handler.send_header("Upgrade", "websocket")
        handler.send_header("Connection", "Upgrade")
        handler.send_header("Sec-WebSocket-Accept", _websocket.accept_key(headers["sec-websocket-key"]))
        handler.end_headers()
        connection = _websocket.ServerConnection(handler.connection, handler.rfile)
        hello = {
            "type": "hello",
            "num_connections": num_connections,
            "debug_info": {"host": "applink-emulated", "build_number": 1, "approximate_connection_time": 3600},
            "connection_info": {"app_id": self.api_app_id},
        }
        with self._cond:  # hello goes first: no envelope can overtake it while the lock is held
            try:
                connection.send_text(json.dumps(hello))
            except OSError:
                connection.abort()
                return True
            self._sockets.append(connection)
            self._changed()
        try:
            while (message := connection.receive()) is not None:
                self._on_socket_message(message)
        finally:
            connection.abort()
            with self._cond:
                self._sockets.remove(connection)
                self._changed()
        return True

    def _on_socket_message(self, text: str) -> None:
        try:
            message = json.loads(text)
        except ValueError:
            return  # Slack ignores what it cannot parse; so does the emulator
        if isinstance(message, dict) and isinstance(message.get("envelope_id"), str):
            with self._cond:
                self._socket_acks[message["envelope_id"]] = message
                self._changed()

    def _post_signed(
        self,
        bot_url: str,
        body: bytes,
        response_url: str,
        trigger_id: str,
        timeout: float,
        *,
        content_type: str = "application/x-www-form-urlencoded",
    ) -> SentRequest:
        headers = {
            "Content-Type": content_type,
            "User-Agent": "Slackbot 1.0 (+https://api.slack.com/robots)",
            **self.sign(body),
        }
        started = time.perf_counter()
        # trust_env=False: a proxy from the environment must never see loopback test traffic.
        reply = httpx.post(
            f"{bot_url.rstrip('/')}/slack/events",
            content=body,
            headers=headers,
            timeout=timeout,
            trust_env=False,
        )
        return SentRequest(
            status=reply.status_code,
            headers={k.lower(): v for k, v in reply.headers.items()},
            body=reply.content,
            response_url=response_url,
            elapsed_s=time.perf_counter() - started,
            trigger_id=trigger_id,
        )

    # ------------------------------------------------------------------ what happened

    def channels(self) -> dict[str, Channel]:
        with self._cond:
            return copy.deepcopy(self._channels)

    def messages(self, channel_id: str | None = None) -> list[Message]:
        with self._cond:
            return [self._snapshot(m) for m in self._messages if channel_id in (None, m.channel)]

    def ephemerals(self, user_id: str | None = None) -> list[Message]:
        with self._cond:
            return [self._snapshot(m) for m in self._ephemerals if user_id in (None, m.ephemeral_user)]

    def responses(self, response_url: str | None = None) -> list[ResponsePost]:
        with self._cond:
            return [copy.deepcopy(r) for r in self._responses if response_url in (None, r.url)]

    def calls(self, method: str | None = None) -> list[ApiCall]:
        with self._cond:
            return [copy.deepcopy(c) for c in self._calls if method in (None, c.method)]

    def files(self, *, include_pending: bool = False) -> dict[str, UploadedFile]:
        """Files that exist in Slack: completed uploads. Orphans of an unfinished flow only on request."""
        with self._cond:
            return {file_id: copy.deepcopy(f) for file_id, f in self._files.items() if f.completed or include_pending}

    def home_views(self) -> dict[str, dict[str, Any]]:
        with self._cond:
            return copy.deepcopy(self._home_views)

    def opened_views(self) -> list[dict[str, Any]]:
        with self._cond:
            return copy.deepcopy(self._opened_views)

    def wait_for(self, predicate: Callable[[], T | bool | None], *, timeout: float = 10.0) -> T:
        """Poll `predicate` until it returns something truthy, and return that.

        The predicate runs outside the lock, so it may do anything (even call the bot, which calls us).
        """
        deadline = time.monotonic() + timeout
        while True:
            with self._cond:
                version = self._version
            result = predicate()
            if result:
                return cast(T, result)
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise AssertionError(
                    f"wait_for({_describe(predicate)}) still falsy after {timeout}s "
                    f"(last result {reprlib.repr(result)}); {self._summary()}"
                )
            with self._cond:
                # The cap also re-checks predicates that depend on state outside the emulator.
                if self._version == version:
                    self._cond.wait(min(remaining, 0.1))

    def _summary(self) -> str:
        with self._cond:
            recent = ", ".join(
                f"{c.method}->{c.error or 'ok'}" if c.status == 200 else f"{c.method}->{c.status}"
                for c in self._calls[-8:]
            )
            return (
                f"{len(self._messages)} messages, {len(self._ephemerals)} ephemerals, "
                f"{len(self._responses)} response posts, {len(self._calls)} API calls "
                f"(latest: {recent or 'none'}), {sum(not c.closed for c in self._sockets)} sockets, "
                f"{len(self._socket_envelopes)} envelopes, {len(self._socket_acks)} acks"
            )

    def _snapshot(self, message: Message) -> Message:
        snapshot = copy.deepcopy(message)
        snapshot.files = [f for f in snapshot.files if not f.deleted]
        return snapshot

    # ------------------------------------------------------------------ HTTP routing

    def handle(self, request: Request) -> Response:
        path = request.path
        if path.startswith("/api/"):
            return self._web_api(request, path.removeprefix("/api/"))
        if path.startswith("/upload/v1/") and request.method == "POST":
            return self._upload(request, path.removeprefix("/upload/v1/"))
        if path.startswith("/response/") and request.method == "POST":
            return self._respond(request, path.removeprefix("/response/"))
        if path.startswith("/files/") and request.method in ("GET", "HEAD"):
            return self._download(path.removeprefix("/files/").split("/", 1)[0])
        if path.startswith("/socket/") and request.method == "GET":  # a WebSocket upgrade that was declined
            with self._cond:
                return self._socket_refusal(path, request.headers) or Response(404, "invalid_ticket")
        return Response(404, "not_found")

    def _web_api(self, request: Request, method: str) -> Response:
        args: dict[str, Any] = dict(request.query)
        parse_error: str | None = None
        if request.body:
            try:
                if "application/json" in request.headers.get("content-type", ""):
                    body = request.json()
                    if not isinstance(body, dict):
                        raise ValueError("a JSON body must be an object")
                    args.update(body)
                else:
                    args.update(request.form())
            except ValueError:  # UnicodeDecodeError included
                is_json = "json" in request.headers.get("content-type", "")
                parse_error = "invalid_json" if is_json else "invalid_form_data"
        authorization = request.headers.get("authorization", "")
        token = authorization[7:].strip() if authorization.lower().startswith("bearer ") else None
        arg_token = args.pop("token", None)
        token = token or (str(arg_token) if arg_token else None)

        status, headers = 200, {"x-oauth-scopes": SCOPES}
        with self._cond:
            try:
                if parse_error:
                    raise _ApiError(parse_error)
                handler = self._methods.get(method)
                if handler is None:
                    raise _ApiError("unknown_method")
                if token is None:
                    raise _ApiError("not_authed")
                # §4.5: the app-level token opens sockets and does nothing else; the bot token cannot.
                expected = self.app_token if method == "apps.connections.open" else self.bot_token
                if token != expected:
                    known = token in (self.bot_token, self.app_token)
                    raise _ApiError("not_allowed_token_type" if known else "invalid_auth")
                faults = self._faults.get(method)
                fault = faults.popleft() if faults else None
                if fault is not None and fault.error is None:
                    status, headers["Retry-After"] = 429, str(fault.retry_after)
                    raise _ApiError("ratelimited")
                if fault is not None and fault.error is not None:
                    raise _ApiError(fault.error)
                body_out = handler(args)
            except _ApiError as exc:
                body_out = {"ok": False, "error": exc.error, **exc.extra}
            self._calls.append(
                ApiCall(
                    method=method,
                    args=args,
                    token=token,
                    status=status,
                    ok=bool(body_out.get("ok")),
                    error=body_out.get("error"),
                    at=self._clock(),
                    response=copy.deepcopy(body_out),
                )
            )
            self._changed()
        return Response(status, body_out, headers, content_type="application/json; charset=utf-8")

    # ------------------------------------------------------------------ channels

    def _lookup(self, channel_id: str | None) -> Channel | None:
        if not channel_id:
            return None
        channel = self._channels.get(channel_id)
        if channel is None and _PUBLIC_CHANNEL_ID.match(channel_id):
            # Remembered, so that a later conversations.join sticks and channels() shows it.
            channel = Channel(channel_id, channel_id.lower(), member=False, private=False, archived=False)
            self._channels[channel_id] = channel
        return channel

    def _writable(self, channel_id: str | None, *, upload: bool = False) -> Channel:
        """§3.1/§3.2: what the bot may post into; uploads need membership even in public channels."""
        channel = self._lookup(channel_id)
        if channel is None or (channel.private and not channel.member):
            raise _ApiError("channel_not_found")
        if channel.archived:
            raise _ApiError("is_archived")
        if upload and not channel.member:
            raise _ApiError("not_in_channel")
        return channel

    def _channel_json(self, channel: Channel) -> dict[str, Any]:
        return {
            "id": channel.id,
            "name": channel.name,
            "is_channel": not channel.private,
            "is_group": channel.private and not channel.is_im,
            "is_im": channel.is_im,
            "is_private": channel.private,
            "is_archived": channel.archived,
            "is_member": channel.member,
            **({"user": channel.user} if channel.user else {}),
        }

    # ------------------------------------------------------------------ Web API methods

    def _auth_test(self, args: dict[str, Any]) -> dict[str, Any]:
        return {
            "ok": True,
            "url": f"https://{self.team_domain}.slack.com/",
            "team": self.team_domain,
            "user": self.bot_name,
            "team_id": self.team_id,
            "user_id": self.bot_user_id,
            "bot_id": self.bot_id,
            "is_enterprise_install": False,
        }

    def _message_content(self, args: dict[str, Any]) -> tuple[str, list[dict[str, Any]] | None]:
        text = _arg(args, "text") or ""
        blocks = self._check_blocks(_json_arg(args, "blocks", error="invalid_blocks_format"))
        if not text and not blocks:
            raise _ApiError("no_text")
        if len(text) > MAX_TEXT_CHARS:
            raise _ApiError("msg_too_long")
        return text, blocks

    def _message_json(self, message: Message) -> dict[str, Any]:
        data: dict[str, Any] = {
            "type": "message",
            "text": message.text,
            "user": message.user,
            "ts": message.ts,
            "team": self.team_id,
        }
        if message.user == self.bot_user_id:
            data |= {"bot_id": self.bot_id, "app_id": self.api_app_id}
        if message.blocks is not None:
            data["blocks"] = message.blocks
        if message.thread_ts:
            data["thread_ts"] = message.thread_ts
        if message.edited:
            data["edited"] = {"user": message.user, "ts": message.ts}
        live_files = [self._file_json(f) for f in message.files if not f.deleted]
        if live_files:
            data["files"] = live_files
        return data

    def _chat_post_message(self, args: dict[str, Any]) -> dict[str, Any]:
        channel = self._writable(_arg(args, "channel"))
        text, blocks = self._message_content(args)
        message = Message(channel.id, self._next_ts(), self.bot_user_id, text, blocks, _arg(args, "thread_ts"))
        self._messages.append(message)
        return {"ok": True, "channel": channel.id, "ts": message.ts, "message": self._message_json(message)}

    def _chat_post_ephemeral(self, args: dict[str, Any]) -> dict[str, Any]:
        channel = self._writable(_arg(args, "channel"))
        user = _arg(args, "user")
        if user is None:
            raise _ApiError("user_not_found")
        text, blocks = self._message_content(args)
        message = Message(
            channel.id, self._next_ts(), self.bot_user_id, text, blocks, _arg(args, "thread_ts"), [], user
        )
        self._ephemerals.append(message)
        return {"ok": True, "message_ts": message.ts}

    def _own_message(self, args: dict[str, Any], refusal: str) -> Message:
        channel_id = _arg(args, "channel")
        if self._lookup(channel_id) is None:
            raise _ApiError("channel_not_found")
        ts = _arg(args, "ts")
        message = next((m for m in self._messages if m.channel == channel_id and m.ts == ts and not m.deleted), None)
        if message is None:
            raise _ApiError("message_not_found")
        if message.user != self.bot_user_id:
            raise _ApiError(refusal)
        return message

    def _chat_update(self, args: dict[str, Any]) -> dict[str, Any]:
        message = self._own_message(args, "cant_update_message")
        text, blocks = self._message_content(args)
        message.text, message.blocks, message.edited = text, blocks, True
        return {
            "ok": True,
            "channel": message.channel,
            "ts": message.ts,
            "text": text,
            "message": self._message_json(message),
        }

    def _chat_delete(self, args: dict[str, Any]) -> dict[str, Any]:
        message = self._own_message(args, "cant_delete_message")
        message.deleted = True
        return {"ok": True, "channel": message.channel, "ts": message.ts}

    def _chat_get_permalink(self, args: dict[str, Any]) -> dict[str, Any]:
        channel, ts = _arg(args, "channel"), _arg(args, "message_ts")
        if ts is None or not any(m.channel == channel and m.ts == ts for m in self._messages):
            raise _ApiError("message_not_found")
        # Slack's shape: https://{domain}.slack.com/archives/{channel}/p{ts without the dot}
        permalink = f"https://{self.team_domain}.slack.com/archives/{channel}/p{ts.replace('.', '')}"
        return {"ok": True, "channel": channel, "permalink": permalink}

    def _check_blocks(self, blocks: Any) -> list[dict[str, Any]] | None:
        if blocks is None:
            return None
        if not isinstance(blocks, list):
            raise _ApiError("invalid_blocks_format")
        errors: list[str] = []
        if len(blocks) > MAX_BLOCKS:
            errors.append(f"no more than {MAX_BLOCKS} items allowed [json-pointer:/blocks]")
        for index, block in enumerate(blocks):
            pointer = f"/blocks/{index}"
            if not isinstance(block, dict) or not isinstance(block.get("type"), str):
                errors.append(f"missing required field: type [json-pointer:{pointer}]")
            elif block["type"] == "image":
                errors.extend(self._image_block_errors(block, pointer))
        if errors:
            raise _ApiError(
                "invalid_blocks",
                errors=errors,
                response_metadata={"messages": [f"[ERROR] {e}" for e in errors]},
            )
        return blocks

    def _image_block_errors(self, block: dict[str, Any], pointer: str) -> list[str]:
        """§3.3: exactly one of image_url / slack_file, alt_text, and only files the channel can see."""
        errors: list[str] = []
        if ("image_url" in block) == ("slack_file" in block):
            errors.append(f"must provide exactly one of image_url or slack_file [json-pointer:{pointer}]")
        if not isinstance(block.get("alt_text"), str) or not block["alt_text"]:
            errors.append(f"must provide alt_text [json-pointer:{pointer}/alt_text]")
        url = block.get("image_url")
        if "image_url" in block and not (
            isinstance(url, str) and url.startswith(("http://", "https://")) and len(url) <= 3000
        ):
            errors.append(f"invalid url [json-pointer:{pointer}/image_url]")
        slack_file = block.get("slack_file")
        if "slack_file" in block:
            file_id = slack_file.get("id") if isinstance(slack_file, dict) else None
            known = self._files.get(file_id) if isinstance(file_id, str) else None
            shared = known is not None and known.completed and not known.deleted and bool(known.shares)
            by_url = isinstance(slack_file, dict) and isinstance(slack_file.get("url"), str)
            if not by_url and not (isinstance(file_id, str) and FILE_ID.match(file_id) and shared):
                errors.append(f"invalid slack file [json-pointer:{pointer}/slack_file]")
        return errors

    # ------------------------------------------------------------------ upload v2 (§3.2)

    def _files_get_upload_url_external(self, args: dict[str, Any]) -> dict[str, Any]:
        filename = _arg(args, "filename")
        if filename is None:
            raise _invalid_arguments("missing required field: filename")
        raw_length = _arg(args, "length")
        if raw_length is None:
            raise _invalid_arguments("missing required field: length")
        try:
            length = int(raw_length)
        except ValueError:
            raise _invalid_arguments("must be an integer [json-pointer:/length]") from None
        if length < 0:
            raise _invalid_arguments("must be a positive integer [json-pointer:/length]")
        if length == 0:
            raise _ApiError("missing_argument")  # §3.2: "typically … when the length provided is 0"
        alt_txt = _arg(args, "alt_txt")
        if alt_txt is not None and len(alt_txt) > 1000:
            raise _invalid_arguments("must be less than 1000 characters [json-pointer:/alt_txt]")
        file_id = self._next_id("F")
        upload_token = f"{file_id}{secrets.token_hex(8)}"
        self._files[file_id] = UploadedFile(
            id=file_id,
            filename=filename,
            title=filename,
            length=length,
            alt_txt=alt_txt,
            content=b"",
            channel=None,
            initial_comment=None,
            thread_ts=None,
            snippet_type=_arg(args, "snippet_type"),
            created=self._clock(),
        )
        self._upload_tokens[upload_token] = file_id
        return {"ok": True, "upload_url": f"{self.url}/upload/v1/{upload_token}", "file_id": file_id}

    def _upload(self, request: Request, upload_token: str) -> Response:
        with self._cond:
            uploaded = self._files.get(self._upload_tokens.get(upload_token, ""))
            if uploaded is None:
                return Response(404, "upload_url not found")
            if self._upload_faults:
                status = self._upload_faults.popleft()
                self._changed()
                return Response(status, f"upload failed (injected {status})")
            if uploaded.completed:
                return Response(400, "upload already completed")
            content_type = request.headers.get("content-type", "")
            try:
                data = (
                    _multipart_file(request.body, content_type)
                    if content_type.lower().startswith("multipart/form-data")
                    else request.body
                )
            except ValueError as exc:
                return Response(400, str(exc))
            if len(data) != uploaded.length:
                return Response(400, f"length mismatch: expected {uploaded.length} bytes, got {len(data)}")
            uploaded.content, uploaded.uploaded = data, True
            self._changed()
        return Response(200, f"OK - {len(data)}")

    def _files_complete_upload_external(self, args: dict[str, Any]) -> dict[str, Any]:
        entries = _json_arg(args, "files", error="invalid_arguments")
        if not isinstance(entries, list) or not entries:
            raise _invalid_arguments("missing required field: files")
        completing: list[tuple[UploadedFile, str]] = []
        for entry in entries:
            if not isinstance(entry, dict) or not isinstance(entry.get("id"), str):
                raise _invalid_arguments("each file needs an id [json-pointer:/files]")
            pending = self._files.get(entry["id"])
            # "This method can only be called once" (§3.2): a completed file is no longer pending.
            if pending is None or not pending.uploaded or pending.completed or pending.deleted:
                raise _ApiError("file_not_found")
            if any(pending is seen for seen, _ in completing):
                raise _invalid_arguments("duplicate file id [json-pointer:/files]")
            title = entry.get("title")
            completing.append((pending, title if isinstance(title, str) and title else pending.filename))

        channel_ids: list[str] = []
        for candidate in [_arg(args, "channel_id"), *(_arg(args, "channels") or "").split(",")]:
            if candidate and candidate.strip() and candidate.strip() not in channel_ids:
                channel_ids.append(candidate.strip())
        thread_ts = _arg(args, "thread_ts")
        if thread_ts and len(channel_ids) != 1:
            raise _invalid_arguments("thread_ts needs exactly one channel")
        channels = [self._writable(channel_id, upload=True) for channel_id in channel_ids]
        initial_comment = _arg(args, "initial_comment")
        # §3.2: blocks are "ignored if initial_comment is set".
        blocks = (
            None if initial_comment else self._check_blocks(_json_arg(args, "blocks", error="invalid_blocks_format"))
        )

        files = [f for f, _ in completing]
        for f, title in completing:
            f.completed, f.title = True, title
            f.channel = channel_ids[0] if channel_ids else None
            f.initial_comment, f.thread_ts = initial_comment, thread_ts
        for channel in channels:
            message = Message(
                channel.id,
                self._next_ts(),
                self.bot_user_id,
                initial_comment or "",
                blocks,
                thread_ts,
                list(files),
            )
            self._messages.append(message)
            for f in files:
                f.shares[channel.id] = message.ts
        return {"ok": True, "files": [{"id": f.id, "title": f.title} for f in files]}

    def _files_upload(self, args: dict[str, Any]) -> dict[str, Any]:
        raise _ApiError("method_deprecated")  # §3.2: files.upload is sunset

    def _live_file(self, args: dict[str, Any]) -> UploadedFile:
        found = self._files.get(_arg(args, "file") or "")
        if found is None or not found.completed:
            raise _ApiError("file_not_found")
        if found.deleted:
            raise _ApiError("file_deleted")
        return found

    def _files_delete(self, args: dict[str, Any]) -> dict[str, Any]:
        self._live_file(args).deleted = True
        return {"ok": True}

    def _files_info(self, args: dict[str, Any]) -> dict[str, Any]:
        return {"ok": True, "file": self._file_json(self._live_file(args)), "comments": []}

    def _file_json(self, f: UploadedFile) -> dict[str, Any]:
        # Slack files list where they are shared by conversation kind, and group shares by visibility.
        by_kind: dict[str, list[str]] = {"channels": [], "groups": [], "ims": []}
        shares: dict[str, dict[str, list[dict[str, str]]]] = {}
        for channel_id, ts in f.shares.items():
            channel = self._channels.get(channel_id)
            private = channel is None or channel.private
            kind = "ims" if channel and channel.is_im else "groups" if private else "channels"
            by_kind[kind].append(channel_id)
            shares.setdefault("private" if private else "public", {})[channel_id] = [{"ts": ts}]
        url = f"{self.url}/files/{f.id}/{quote(f.filename)}"
        return {
            "id": f.id,
            "created": int(f.created),
            "timestamp": int(f.created),
            "name": f.filename,
            "title": f.title,
            "mimetype": mimetypes.guess_type(f.filename)[0] or "application/octet-stream",
            "filetype": f.filename.rsplit(".", 1)[-1].lower() if "." in f.filename else "binary",
            "user": self.bot_user_id,
            "size": f.length,
            "alt_txt": f.alt_txt,
            "is_public": "public" in shares,
            "url_private": url,
            "url_private_download": url,
            **by_kind,
            "shares": shares,
        }

    def _download(self, file_id: str) -> Response:
        # Unlike Slack this needs no token, so a browser view of the emulator can show the images.
        with self._cond:
            found = self._files.get(file_id)
            if found is None or found.deleted or not found.uploaded:
                return Response(404, "file_not_found")
            content_type = mimetypes.guess_type(found.filename)[0] or "application/octet-stream"
            return Response(200, found.content, content_type=content_type)

    # ------------------------------------------------------------------ conversations and views

    def _conversations_open(self, args: dict[str, Any]) -> dict[str, Any]:
        users = sorted({u.strip() for u in (_arg(args, "users") or "").split(",") if u.strip()})
        if not users:
            raise _ApiError("users_list_not_supplied")
        if len(users) == 1:
            channel_id = "D" + hashlib.sha1(users[0].encode()).hexdigest()[:10].upper()
        else:
            channel_id = "G" + hashlib.sha1(",".join(users).encode()).hexdigest()[:10].upper()
        existing = self._channels.get(channel_id)
        if existing is None:
            self._channels[channel_id] = Channel(
                channel_id,
                "directmessage" if len(users) == 1 else "mpdm-" + "--".join(users),
                member=True,
                private=True,
                archived=False,
                is_im=len(users) == 1,
                user=users[0] if len(users) == 1 else None,
            )
        extra = {"no_op": True, "already_open": True} if existing else {}
        return {"ok": True, "channel": {"id": channel_id}, **extra}

    def _conversations_join(self, args: dict[str, Any]) -> dict[str, Any]:
        channel = self._lookup(_arg(args, "channel"))
        if channel is None or (channel.private and not channel.member):
            raise _ApiError("channel_not_found")
        if channel.private:
            raise _ApiError("method_not_supported_for_channel_type")
        if channel.archived:
            raise _ApiError("is_archived")
        was_member, channel.member = channel.member, True
        warning = {"warning": "already_in_channel"} if was_member else {}
        return {"ok": True, "channel": self._channel_json(channel), **warning}

    def _conversations_info(self, args: dict[str, Any]) -> dict[str, Any]:
        channel = self._lookup(_arg(args, "channel"))
        if channel is None or (channel.private and not channel.member):
            raise _ApiError("channel_not_found")
        return {"ok": True, "channel": self._channel_json(channel)}

    def _view_arg(self, args: dict[str, Any]) -> dict[str, Any]:
        view = _json_arg(args, "view", error="invalid_arguments")
        if not isinstance(view, dict) or not isinstance(view.get("type"), str):
            raise _invalid_arguments("missing required field: view")
        self._check_blocks(view.get("blocks", []))
        return view

    def _stamped(self, view: dict[str, Any], view_id: str) -> dict[str, Any]:
        return {
            **view,
            "id": view_id,
            "team_id": self.team_id,
            "app_id": self.api_app_id,
            "bot_id": self.bot_id,
        }

    def _views_publish(self, args: dict[str, Any]) -> dict[str, Any]:
        user_id = _arg(args, "user_id")
        if user_id is None:
            raise _invalid_arguments("missing required field: user_id")
        view = self._view_arg(args)
        if view["type"] != "home":
            raise _invalid_arguments("views.publish takes a home view [json-pointer:/view/type]")
        previous = self._home_views.get(user_id)
        stamped = self._stamped(view, previous["id"] if previous else self._next_id("V"))
        self._home_views[user_id] = stamped
        return {"ok": True, "view": stamped}

    def _views_open(self, args: dict[str, Any]) -> dict[str, Any]:
        trigger = self._triggers.get(_arg(args, "trigger_id") or "")
        if trigger is None:
            raise _ApiError("invalid_trigger_id")
        if trigger.used:
            raise _ApiError("exchanged_trigger_id")
        if self._clock() - trigger.minted_at > TRIGGER_LIFETIME_S:
            raise _ApiError("expired_trigger_id")
        view = self._view_arg(args)
        trigger.used = True
        stamped = self._stamped(view, self._next_id("V"))
        self._opened_views.append(stamped)
        return {"ok": True, "view": stamped}

    def _views_update(self, args: dict[str, Any]) -> dict[str, Any]:
        view_id, external_id = _arg(args, "view_id"), _arg(args, "external_id")
        view = self._view_arg(args)
        for index, opened in enumerate(self._opened_views):
            if (view_id and opened["id"] == view_id) or (external_id and opened.get("external_id") == external_id):
                self._opened_views[index] = self._stamped(view, opened["id"])
                return {"ok": True, "view": self._opened_views[index]}
        for user_id, home in self._home_views.items():
            if view_id and home["id"] == view_id:
                self._home_views[user_id] = self._stamped(view, view_id)
                return {"ok": True, "view": self._home_views[user_id]}
        raise _ApiError("not_found")

    # ------------------------------------------------------------------ response_url (§1.5)

    def _respond(self, request: Request, url_id: str) -> Response:
        with self._cond:
            record = self._response_urls.get(url_id)
            if record is None:
                return Response(404, "no_service")
            if record.expired or self._clock() - record.minted_at > RESPONSE_URL_LIFETIME_S:
                return Response(404, "expired_url")
            if record.uses >= RESPONSE_URL_USES:
                return Response(404, "used_url")
            try:
                body = json.loads(request.body)
            except ValueError:
                return Response(400, "invalid_payload")
            if not isinstance(body, dict):
                return Response(400, "invalid_payload")
            if not (body.get("text") or body.get("blocks") or body.get("attachments") or body.get("delete_original")):
                return Response(400, "no_text")
            try:
                self._check_blocks(body.get("blocks"))
            except _ApiError as exc:
                return Response(400, exc.error)
            record.uses += 1
            self._responses.append(
                ResponsePost(
                    url=f"{self.url}/response/{url_id}",
                    body=body,
                    at=self._clock(),
                    channel_id=record.channel_id,
                    user_id=record.user_id,
                    message_ts=record.message_ts,
                )
            )
            self._changed()
        return Response(200, "ok")
