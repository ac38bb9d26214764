"""The playground's page and its JSON API, on werkzeug (`devkit.http.LoopbackServer`).

| route | what |
|---|---|
| `GET /`, `GET /static/…` | the page (plain HTML, JS and CSS; nothing is fetched from elsewhere) |
| `GET /api/state?since=N&wait=S` | everything the page shows; waits up to S seconds for a version after N |
| `POST /api/send {"text", "thread_ts"?}` | a line typed in the channel (or a thread) |
| `POST /api/click {"ts", "action_id", "value"}` | a button in a channel message |
| `POST /api/shortcut {"ts", "callback_id"}` | a message shortcut from the "⋯" menu |
| `POST /api/view {"view_id", "fields": {block_id: value}}` | submit the open modal |
| `POST /api/view/close {"view_id"}` | close it |
| `POST /api/home` | open the App Home tab (`app_home_opened`) |
| `POST /api/upload {"name", "mimetype", "data" (base64), "text"}` | post a picture |
| `POST /api/bot {"model"?, "revise_prompts"?}` | restart the bot with other settings |
| `GET /api/log` | the end of the bot's log |
| `GET /files/<id>/<name>` | a Slack file's bytes, read from the emulator's state |

Requests that change something must be `application/json`: a browser sends that cross-origin only after
a CORS preflight, which this server never approves, so another web site cannot drive the bot.
"""

from __future__ import annotations

import base64
import binascii
import json
import logging
import mimetypes
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any, Protocol

from devkit.http import LoopbackServer, Request, Response
from devkit.playground.person import Outcome, Person, Refused
from devkit.playground.runner import BotChoice
from devkit.playground.state import PageState
from devkit.slack import SlackEmulator

__all__ = ["PlaygroundServer"]

log = logging.getLogger(__name__)

STATIC = Path(__file__).resolve().parent / "static"
MAX_BODY_BYTES = 12 * 1024 * 1024  # a picture of a few MB, base64-encoded
LONG_POLL_S = 15.0


class _Playground(Protocol):
    @property
    def slack(self) -> SlackEmulator: ...
    @property
    def bot_url(self) -> str | None: ...
    @property
    def choice(self) -> BotChoice: ...
    def status(self) -> tuple[str, str]: ...
    def switch(self, *, model: str | None = None, revise_prompts: bool | None = None) -> BotChoice: ...
    def log_tail(self, lines: int = 200) -> str: ...


def _json(body: Any, status: int = 200) -> Response:
    return Response(
        json.dumps(body), status=status, content_type="application/json", headers={"Cache-Control": "no-store"}
    )


def _outcome(outcome: Outcome) -> Response:
    return _json({"ok": outcome.ok, "error": outcome.error})


class PlaygroundServer(LoopbackServer):
    """Serves the page for one running playground and acts for its person."""

    def __init__(self, playground: _Playground, person: Person, *, host: str = "127.0.0.1", port: int = 8080) -> None:
        super().__init__(host, port)
        self._playground = playground
        self._person = person
        self.state = PageState(playground, person)
        self._switching = threading.Lock()
        self._posts: dict[str, Callable[[dict[str, Any]], Response]] = {
            "/api/send": self._send,
            "/api/click": lambda b: _outcome(person.click(_text(b, "ts"), _text(b, "action_id"), _text(b, "value"))),
            "/api/shortcut": lambda b: _outcome(person.shortcut(_text(b, "ts"), _text(b, "callback_id"))),
            "/api/view": self._submit_view,
            "/api/view/close": self._close_view,
            "/api/home": lambda b: _outcome(person.open_home()),
            "/api/upload": self._upload,
            "/api/bot": self._switch_bot,
        }

    def stop(self) -> None:
        self.state.close()  # long polls answer now, before the playground behind them stops
        super().stop()

    def handle(self, request: Request) -> Response:
        path = request.path
        if request.method == "GET":
            if path == "/api/state":
                since = request.args.get("since", default=-1, type=int)
                wait = min(max(request.args.get("wait", default=LONG_POLL_S, type=float), 0.0), 30.0)
                return _json(self.state.wait_newer(since, wait) if wait else self.state.snapshot())
            if path == "/api/log":
                return _json({"log": self._playground.log_tail(min(request.args.get("lines", 300, type=int), 2000))})
            if path.startswith("/files/"):
                return self._file(path)
            return self._static(path)
        if request.method != "POST" or path not in self._posts:
            return _json({"error": "not found"}, 404)
        if request.mimetype != "application/json":
            return _json({"error": "send application/json"}, 415)
        if (request.content_length or 0) > MAX_BODY_BYTES:
            return _json({"error": "too large"}, 413)
        try:
            body = json.loads(request.get_data() or b"{}")
            if not isinstance(body, dict):
                raise Refused("the body must be a JSON object")
            return self._posts[path](body)
        except (ValueError, Refused) as error:  # json.JSONDecodeError is a ValueError
            return _json({"ok": False, "error": str(error) or "bad request"}, 400)

    # ------------------------------------------------------------------ acts

    def _send(self, body: dict[str, Any]) -> Response:
        thread_ts = body.get("thread_ts")
        outcome = self._person.send(_text(body, "text"), thread_ts=thread_ts if isinstance(thread_ts, str) else None)
        return _outcome(outcome)

    def _submit_view(self, body: dict[str, Any]) -> Response:
        fields = body.get("fields")
        if not isinstance(fields, dict):
            raise Refused("fields must be an object")
        outcome = self._person.submit_view(_text(body, "view_id"), {str(k): str(v) for k, v in fields.items()})
        errors = (outcome.detail or {}).get("errors") if outcome.detail else None
        return _json({"ok": outcome.ok, "error": outcome.error, "errors": errors or {}})

    def _close_view(self, body: dict[str, Any]) -> Response:
        self._person.close_view(_text(body, "view_id"))
        return _json({"ok": True})

    def _upload(self, body: dict[str, Any]) -> Response:
        try:
            content = base64.b64decode(_text(body, "data"), validate=True)
        except binascii.Error:
            raise Refused("data must be base64") from None
        name = _text(body, "name").replace("/", "_")[:120] or "picture.png"
        mimetype = str(body.get("mimetype") or mimetypes.guess_type(name)[0] or "application/octet-stream")
        return _outcome(self._person.upload(name, content, mimetype, str(body.get("text") or "")))

    def _switch_bot(self, body: dict[str, Any]) -> Response:
        model = body.get("model") if isinstance(body.get("model"), str) else None
        revise = body.get("revise_prompts") if isinstance(body.get("revise_prompts"), bool) else None
        try:
            BotChoice(model or self._playground.choice.model)
        except ValueError as error:
            raise Refused(str(error)) from None
        if not self._switching.acquire(blocking=False):
            return _json({"ok": False, "error": "the bot is already restarting"}, 409)

        def restart() -> None:
            try:
                self._playground.switch(model=model, revise_prompts=revise)
            finally:
                self._switching.release()

        # A restart takes seconds; the page follows it through the state's bot status.
        threading.Thread(target=restart, name="bot-restart", daemon=True).start()
        return _json({"ok": True}, 202)

    # ------------------------------------------------------------------ files

    def _file(self, path: str) -> Response:
        file_id = path.removeprefix("/files/").split("/", 1)[0]
        found = self._playground.slack.files().get(file_id)
        if found is None or found.deleted:
            return Response("this file was deleted\n", status=404, content_type="text/plain")
        # Files never change: the browser may keep them.
        return Response(found.content, content_type=found.mimetype, headers={"Cache-Control": "private, max-age=3600"})

    def _static(self, path: str) -> Response:
        name = "index.html" if path == "/" else path.removeprefix("/static/")
        target = (STATIC / name).resolve()
        if STATIC not in target.parents or not target.is_file():
            return Response("not found\n", status=404, content_type="text/plain")
        kind = mimetypes.guess_type(target.name)[0] or "application/octet-stream"
        charset = "; charset=utf-8" if kind.startswith("text/") or kind.endswith("javascript") else ""
        return Response(target.read_bytes(), content_type=kind + charset, headers={"Cache-Control": "no-cache"})


def _text(body: dict[str, Any], key: str) -> str:
    value = body.get(key)
    if not isinstance(value, str):
        raise Refused(f"{key} is missing")
    return value
