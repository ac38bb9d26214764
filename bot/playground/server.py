"""The playground's web page and its small JSON API, as one WSGI application.

The page is static (`static/`: plain HTML, JS and CSS, nothing fetched from elsewhere); everything it
shows comes from `GET /api/state`, which reads the Slack emulator's records and renders them the way
a Slack client would (`channel.py`). The page acts through the same emulator: `POST /api/command`
makes it send a signed slash command to the real bot, `POST /api/action` a signed `block_actions`
interaction, exactly what Slack would send.

| route | what |
|---|---|
| `GET /` and `GET /static/…` | the page |
| `GET /api/state?since=N` | the channel; waits up to `wait` seconds (default 15) for a version after N |
| `POST /api/command {"text": "/imagine …"}` | a slash command from the user; returns the bot's ack |
| `POST /api/action {"message_id", "action_id", "block_id", "value"}` | a button click |
| `POST /api/model {"model": "gpt-image-1"}` | restart the bot with another model family |
| `GET /api/usage?by=user&since=30d` | `imagine-bot report` for the playground's database |
| `GET /api/usage/chart.png` | the 30-day chart admins see on the App Home tab, for the same database |
| `GET /api/log` | the end of the bot's log |
| `GET /files/{id}/{name}` | an uploaded file, as the Slack emulator serves it |

Requests that change something must be `application/json`: a browser only sends that cross-origin
after a CORS preflight, which this app never approves, so another web site cannot drive the bot.
"""

from __future__ import annotations

import hashlib
import json
import logging
import re
import secrets
import threading
import time
from collections.abc import Callable, Iterable
from datetime import UTC, datetime
from importlib import resources
from typing import TYPE_CHECKING, Any, Protocol
from urllib.parse import parse_qs

import httpx
from sqlalchemy import Engine

from bot.emulators.slack import SlackEmulator
from bot.playground.channel import SLACKBOT, CommandRecord, Directory, ViewMessage, build_channel

if TYPE_CHECKING:
    from _typeshed.wsgi import StartResponse, WSGIEnvironment

    from bot.usage.report import Grouping, ReportRow

log = logging.getLogger(__name__)

CHANNEL_ID = "C0CHAN0001"
CHANNEL_NAME = "general"
USER_ID = "U0USER0001"
USER_NAME = "you"
COMMAND = "/imagine"
# Slack's own limit (§1.3): an ack later than this is an "operation_timeout" for the user.
ACK_TIMEOUT_S = 3.0
MAX_BODY_BYTES = 64 * 1024
LONG_POLL_S = 15.0
CHART_PATH = "/api/usage/chart.png"

# Only the emulator's file route is passed through, nothing else on its port.
_FILE_PATH = re.compile(r"/files/F[A-Z0-9]+/[^/]+")
_STATIC = {
    "index.html": "text/html; charset=utf-8",
    "app.js": "text/javascript; charset=utf-8",
    "style.css": "text/css; charset=utf-8",
    "favicon.svg": "image/svg+xml",
}


class Backend(Protocol):
    """What the app needs from the running playground (runner.Playground)."""

    @property
    def slack(self) -> SlackEmulator: ...

    @property
    def bot_url(self) -> str | None: ...

    @property
    def model(self) -> str: ...

    @property
    def models(self) -> tuple[str, ...]: ...

    def bot_status(self) -> tuple[str, str]:
        """("ready" | "starting" | "stopped", a sentence for the page)."""
        ...

    def switch_model(self, model: str) -> None: ...

    def engine(self) -> Engine: ...

    def log_tail(self, lines: int) -> str: ...


class BadRequest(Exception):
    pass


class PlaygroundApp:
    """The WSGI application. Thread-safe: the server runs each request on a thread of its own."""

    def __init__(self, backend: Backend) -> None:
        self._backend = backend
        self._lock = threading.Condition()
        self._commands: list[CommandRecord] = []
        self._version = 0
        self._digest = ""
        slack = backend.slack
        self._directory = Directory(
            users={USER_ID: USER_NAME, slack.bot_user_id: slack.bot_name, SLACKBOT: "Slackbot"},
            channels={CHANNEL_ID: CHANNEL_NAME},
            bots=frozenset({slack.bot_user_id, SLACKBOT}),
        )
        self._routes: dict[tuple[str, str], Callable[[dict[str, str], bytes], Any]] = {
            ("GET", "/api/state"): self._get_state,
            ("POST", "/api/command"): self._post_command,
            ("POST", "/api/action"): self._post_action,
            ("POST", "/api/model"): self._post_model,
            ("GET", "/api/usage"): self._get_usage,
            ("GET", "/api/log"): self._get_log,
        }

    # --- WSGI -----------------------------------------------------------------------------------

    def __call__(self, environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
        method = str(environ.get("REQUEST_METHOD", "GET"))
        path = str(environ.get("PATH_INFO", "/"))
        query = {k: v[-1] for k, v in parse_qs(str(environ.get("QUERY_STRING", ""))).items()}
        try:
            if method in ("GET", "HEAD") and (path == "/" or path.startswith("/static/")):
                return self._static(start_response, "index.html" if path == "/" else path.removeprefix("/static/"))
            if method in ("GET", "HEAD") and _FILE_PATH.fullmatch(path):
                return self._file(start_response, path)
            if method in ("GET", "HEAD") and path == CHART_PATH:
                return self._chart(start_response)
            route = self._routes.get((method, path))
            if route is None:
                known = any(p == path for _, p in self._routes)
                return _json(start_response, 405 if known else 404, {"error": "not allowed" if known else "not found"})
            body = b""
            if method == "POST":
                if not str(environ.get("CONTENT_TYPE", "")).startswith("application/json"):
                    return _json(start_response, 415, {"error": "send application/json"})
                length = int(environ.get("CONTENT_LENGTH") or 0)
                if length > MAX_BODY_BYTES:
                    return _json(start_response, 413, {"error": "too large"})
                body = environ["wsgi.input"].read(length) if length else b""
            return _json(start_response, 200, route(query, body))
        except BadRequest as error:
            return _json(start_response, 400, {"error": str(error)})
        except Exception:  # the page shows "something went wrong"; the traceback goes to the log
            log.exception("playground request %s %s failed", method, path)
            return _json(start_response, 500, {"error": "the playground failed; see its log"})

    def _static(self, start_response: StartResponse, name: str) -> Iterable[bytes]:
        if name not in _STATIC:
            return _json(start_response, 404, {"error": "not found"})
        data = resources.files("bot.playground").joinpath("static", name).read_bytes()
        start_response(
            "200 OK",
            [("Content-Type", _STATIC[name]), ("Content-Length", str(len(data))), ("Cache-Control", "no-cache")],
        )
        return [data]

    def _file(self, start_response: StartResponse, path: str) -> Iterable[bytes]:
        # Proxied from the emulator's own route, so the page needs only this one port.
        try:
            reply = httpx.get(f"{self._backend.slack.url}{path}", timeout=10, trust_env=False)
        except httpx.HTTPError:
            return _json(start_response, 502, {"error": "the Slack emulator did not answer"})
        headers = [("Content-Length", str(len(reply.content))), ("Cache-Control", "private, max-age=3600")]
        headers.append(("Content-Type", reply.headers.get("content-type", "application/octet-stream")))
        start_response(f"{reply.status_code} {reply.reason_phrase}", headers)
        return [reply.content]

    # --- the channel ----------------------------------------------------------------------------

    def channel(self) -> list[ViewMessage]:
        slack = self._backend.slack
        with self._lock:
            commands = list(self._commands)
        return build_channel(
            channel_id=CHANNEL_ID,
            user_id=USER_ID,
            bot_user_id=slack.bot_user_id,
            messages=slack.messages(CHANNEL_ID),
            ephemerals=slack.ephemerals(USER_ID),
            commands=commands,
            responses=slack.responses(),
            files=slack.files(),
            directory=self._directory,
        )

    def state(self) -> dict[str, Any]:
        """The page's whole world, stamped with a version that grows whenever anything in it changes."""
        status, detail = self._backend.bot_status()
        state: dict[str, Any] = {
            "channel": {"id": CHANNEL_ID, "name": CHANNEL_NAME},
            "me": {"id": USER_ID, "name": USER_NAME},
            "bot": {"name": self._backend.slack.bot_name, "status": status, "detail": detail},
            "model": self._backend.model,
            "models": list(self._backend.models),
            "messages": [m.as_json() for m in self.channel()],
        }
        digest = hashlib.sha256(json.dumps(state, sort_keys=True).encode()).hexdigest()
        with self._lock:
            if digest != self._digest:
                self._digest, self._version = digest, self._version + 1
            state["version"] = self._version
        return state

    def _changed(self) -> None:
        with self._lock:
            self._lock.notify_all()

    def _get_state(self, query: dict[str, str], _body: bytes) -> dict[str, Any]:
        since = _int(query.get("since"), 0)
        wait = min(max(_float(query.get("wait"), LONG_POLL_S), 0.0), 30.0)
        deadline = time.monotonic() + wait
        while True:
            state = self.state()
            remaining = deadline - time.monotonic()
            if state["version"] > since or remaining <= 0:
                return state
            # Woken at once by the playground's own changes; the emulator's are seen within 0.1 s.
            with self._lock:
                self._lock.wait(min(remaining, 0.1))

    # --- acting as the user ---------------------------------------------------------------------

    def _post_command(self, _query: dict[str, str], body: bytes) -> dict[str, Any]:
        raw = str(_object(body).get("text") or "")
        text = raw.strip()
        if not text:
            raise BadRequest("type something")
        slack = self._backend.slack
        if not raw.startswith("/"):  # Slack's escape hatch: " /not a command" is a message
            # An ordinary message: Slack escapes &, < and > in what people type.
            slack.add_message(CHANNEL_ID, _slack_escape(text), user=USER_ID)
            self._changed()
            return {"ok": True, "message": True}
        command, _, argument = text.partition(" ")
        sent_at = f"{time.time():.6f}"
        if command != COMMAND:
            invalid = (
                f"`{_slack_escape(command)}` is not a valid command. In this playground the only command is "
                f"`{COMMAND}`; a message that starts with a space is sent as a message."
            )
            self._record(CommandRecord(sent_at, text, "", None, slackbot=invalid))
            return {"ok": False, "status": None, "ack": None, "error": "invalid_command"}
        status, response_url, ack, error = self._dispatch(argument.strip())
        note = None if error is None else f'`{COMMAND}` failed with the error "{error}"'
        self._record(CommandRecord(sent_at, text, response_url, ack, slackbot=note))
        return {"ok": error is None, "status": status, "ack": ack, "error": error}

    def _dispatch(self, argument: str) -> tuple[int | None, str, dict[str, Any] | None, str | None]:
        """Send the command as Slack would; Slack's error word when the app did not ack (§1.3)."""
        bot_url = self._backend.bot_url
        if bot_url is None:
            return None, "", None, "dispatch_failed"
        try:
            sent = self._backend.slack.send_command(
                bot_url,
                argument,
                user_id=USER_ID,
                user_name=USER_NAME,
                channel_id=CHANNEL_ID,
                channel_name=CHANNEL_NAME,
                command=COMMAND,
                timeout=ACK_TIMEOUT_S,
            )
        except httpx.TimeoutException:
            return None, "", None, "operation_timeout"
        except httpx.HTTPError:
            return None, "", None, "dispatch_failed"
        if sent.status != 200:
            return sent.status, sent.response_url, None, "http_client_error" if sent.status < 500 else "dispatch_failed"
        return sent.status, sent.response_url, _ack_payload(sent.headers.get("content-type", ""), sent.body), None

    def _record(self, record: CommandRecord) -> None:
        with self._lock:
            self._commands.append(record)
            self._lock.notify_all()

    def _post_action(self, _query: dict[str, str], body: bytes) -> dict[str, Any]:
        request = _object(body)
        message_id = str(request.get("message_id") or "")
        action_id = str(request.get("action_id") or "")
        shown = [m for top in self.channel() for m in (top, *top.replies)]
        message = next((m for m in shown if m.id == message_id), None)
        if message is None or not action_id:
            raise BadRequest("that message is gone")
        bot_url = self._backend.bot_url
        if bot_url is None:
            return {"ok": False, "error": "dispatch_failed"}
        payload = self.block_actions_payload(
            message, action_id, str(request.get("block_id") or ""), str(request.get("value") or "")
        )
        try:
            sent = self._backend.slack.send_interaction(bot_url, payload, timeout=ACK_TIMEOUT_S)
        except httpx.TimeoutException:
            return {"ok": False, "error": "operation_timeout"}
        except httpx.HTTPError:
            return {"ok": False, "error": "dispatch_failed"}
        self._changed()
        return {"ok": sent.status == 200, "status": sent.status}

    def block_actions_payload(self, message: ViewMessage, action_id: str, block_id: str, value: str) -> dict[str, Any]:
        """A button click as Slack sends it (slack-platform.md §4.7); the emulator adds a response_url
        that remembers the clicked message, so `replace_original` can find it."""
        slack = self._backend.slack
        button = _find_button(message.blocks or (), action_id, block_id)
        action: dict[str, Any] = {
            "action_id": action_id,
            "block_id": block_id,
            "type": "button",
            "value": value,
            "text": button.get("text") or {"type": "plain_text", "text": action_id},
            "action_ts": f"{time.time():.6f}",
        }
        if button.get("style"):
            action["style"] = button["style"]
        payload: dict[str, Any] = {
            "type": "block_actions",
            "user": {"id": USER_ID, "username": USER_NAME, "name": USER_NAME, "team_id": slack.team_id},
            "api_app_id": slack.api_app_id,
            "token": slack.verification_token,
            "container": {
                "type": "message",
                "message_ts": message.ts,
                "channel_id": CHANNEL_ID,
                "is_ephemeral": message.ephemeral,
            },
            "trigger_id": f"{int(time.time())}.{secrets.randbelow(10**9)}.{secrets.token_hex(16)}",
            "team": {"id": slack.team_id, "domain": slack.team_domain},
            "enterprise": None,
            "is_enterprise_install": False,
            "channel": {"id": CHANNEL_ID, "name": CHANNEL_NAME},
            "state": {"values": {}},
            "actions": [action],
        }
        if not message.ephemeral:
            # Slack includes the message only when it is not ephemeral (§4.7).
            shown: dict[str, Any] = {
                "type": "message",
                "user": message.user_id,
                "ts": message.ts,
                "text": message.text,
                "team": slack.team_id,
            }
            if message.user_id == slack.bot_user_id:
                shown |= {"bot_id": slack.bot_id, "app_id": slack.api_app_id}
            if message.blocks:
                shown["blocks"] = list(message.blocks)
            if message.file_ids:
                shown["files"] = [{"id": file_id} for file_id in message.file_ids]
            payload["message"] = shown
        return payload

    def _post_model(self, _query: dict[str, str], body: bytes) -> dict[str, Any]:
        model = str(_object(body).get("model") or "")
        if model not in self._backend.models:
            raise BadRequest(f"unknown model {model!r}; choose one of {', '.join(self._backend.models)}")
        if model != self._backend.model:
            self._backend.switch_model(model)
        self._changed()
        return {"ok": True, "model": self._backend.model}

    # --- usage ----------------------------------------------------------------------------------

    def _get_usage(self, query: dict[str, str], _body: bytes) -> dict[str, Any]:
        from bot.usage.report import Grouping, format_table, parse_since, parse_until, usage_report

        try:
            by = Grouping(query.get("by") or Grouping.USER.value)
        except ValueError:
            raise BadRequest(f"by must be one of {', '.join(g.value for g in Grouping)}") from None
        now = datetime.now(UTC)
        try:
            since, until = parse_since(query.get("since") or "30d", now), parse_until(query.get("until"), now)
        except ValueError as error:
            raise BadRequest(str(error)) from None
        if since >= until:
            raise BadRequest("the window is empty: since must be before until")
        report = usage_report(self._backend.engine(), since=since, until=until, by=by)
        return {
            "by": by.value,
            "since": since.isoformat(),
            "until": until.isoformat(),
            "command": f"imagine-bot report --by {by.value} --since {query.get('since') or '30d'}",
            "table": format_table(report, by),
            "rows": [self._usage_row(row, by) for row in report.rows],
            "totals": self._usage_row(report.totals, by),
            # The time only makes each report's picture a new URL, so the browser does not reuse the last.
            "chart": f"{CHART_PATH}?at={int(now.timestamp())}",
            "chart_note": None,
        }

    def _chart(self, start_response: StartResponse) -> Iterable[bytes]:
        from bot.charts_http import CHART_TITLE
        from bot.usage.chart import daily_series, render_chart

        series = daily_series(self._backend.engine(), team_id=None, now=datetime.now(UTC))
        png = render_chart(series, title=CHART_TITLE)
        start_response(
            "200 OK", [("Content-Type", "image/png"), ("Content-Length", str(len(png))), ("Cache-Control", "no-store")]
        )
        return [png]

    def _usage_row(self, row: ReportRow, by: Grouping) -> dict[str, Any]:
        # The CLI prints ids; the page shows the names Slack would, next to the CLI's own text.
        label = row.key
        if by.value == "user" and row.key != "total":
            label = self._directory.user(row.key)
        elif by.value == "channel" and row.key != "total":
            label = "#" + self._directory.channel(row.key)
        return {
            "key": row.key,
            "label": label,
            "images": row.images,
            "failed": row.failed,
            "rejected": row.rejected,
            "requests": row.requests,
            "cost_usd": f"{row.estimated_cost_usd:.4f}",
        }

    def _get_log(self, query: dict[str, str], _body: bytes) -> dict[str, Any]:
        return {"log": self._backend.log_tail(min(_int(query.get("lines"), 200), 2000))}


# --- helpers ------------------------------------------------------------------------------------


def _json(start_response: StartResponse, status: int, body: Any) -> list[bytes]:
    data = json.dumps(body).encode()
    reasons = {200: "OK", 400: "Bad Request", 404: "Not Found", 405: "Method Not Allowed", 413: "Too Large"}
    reasons |= {415: "Unsupported Media Type", 500: "Internal Server Error", 502: "Bad Gateway"}
    start_response(
        f"{status} {reasons.get(status, 'Error')}",
        [("Content-Type", "application/json"), ("Content-Length", str(len(data))), ("Cache-Control", "no-store")],
    )
    return [data]


def _object(body: bytes) -> dict[str, Any]:
    try:
        value = json.loads(body or b"{}")
    except ValueError:
        raise BadRequest("the body is not JSON") from None
    if not isinstance(value, dict):
        raise BadRequest("the body must be a JSON object")
    return value


def _slack_escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _int(value: str | None, default: int) -> int:
    try:
        return int(value) if value is not None else default
    except ValueError:
        return default


def _float(value: str | None, default: float) -> float:
    try:
        return float(value) if value is not None else default
    except ValueError:
        return default


def _ack_payload(content_type: str, body: bytes) -> dict[str, Any] | None:
    """Bolt acks with an empty body, plain text, or a JSON message (slack-platform.md §1.4)."""
    if not body.strip():
        return None
    if content_type.startswith("application/json"):
        try:
            value = json.loads(body)
        except ValueError:
            return {"text": body.decode("utf-8", "replace")}
        return value if isinstance(value, dict) else None
    return {"text": body.decode("utf-8", "replace")}


def _find_button(blocks: Iterable[Any], action_id: str, block_id: str) -> dict[str, Any]:
    for index, block in enumerate(blocks):
        if not isinstance(block, dict):
            continue
        if str(block.get("block_id") or f"b{index}") != block_id:
            continue
        candidates = [*(block.get("elements") or []), block.get("accessory")]
        for element in candidates:
            if isinstance(element, dict) and element.get("action_id") == action_id:
                return element
    return {}
