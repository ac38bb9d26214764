"""Socket Mode: the WebSocket end of Slack's app link, on `websockets`' sync server and its own port.

docs/contracts/slack.md §9: `apps.connections.open` hands out `…/link/?ticket=…` URLs, each good for one
connection; a connection starts with Slack's `hello` message; envelopes go to the newest live connection
and the app acks each one by sending back its `envelope_id` (with an optional `payload`).
"""

from __future__ import annotations

import copy
import json
import threading
from typing import Any
from urllib.parse import parse_qs, urlsplit

from websockets.exceptions import ConnectionClosed
from websockets.http11 import Request as WsRequest
from websockets.http11 import Response as WsResponse
from websockets.sync.server import Server, ServerConnection, serve

from devkit.slack.workspace import Workspace

__all__ = ["NoSocket", "SocketModeServer"]


class NoSocket(Exception):
    """No live Socket Mode connection, or it closed before the envelope went out."""


class SocketModeServer:
    """Serves the app link for one workspace; its envelopes and acks are kept until `clear()`."""

    def __init__(self, ws: Workspace, host: str = "127.0.0.1") -> None:
        self._ws = ws
        self._host = host
        self._server: Server | None = None
        self._thread: threading.Thread | None = None
        self._live: list[ServerConnection] = []
        self.envelopes: list[dict[str, Any]] = []
        self.acks: dict[str, dict[str, Any]] = {}

    def start(self) -> str:
        """Listen on a free port; returns the ws:// base URL."""
        self._server = serve(
            self._serve,
            self._host,
            0,
            process_response=self._check_ticket,
            compression=None,
            close_timeout=2,
        )
        self._thread = threading.Thread(target=self._server.serve_forever, name="SlackSocketMode", daemon=True)
        self._thread.start()
        port = self._server.socket.getsockname()[1]
        return f"ws://{self._host}:{port}"

    def stop(self) -> None:
        """Stop listening and close every connection with 1001 (going away)."""
        if self._server is not None:
            self._server.shutdown()
            self._server = None
        if self._thread is not None:
            self._thread.join(5)
            self._thread = None

    def clear(self) -> None:
        self.envelopes.clear()
        self.acks.clear()

    def connected(self) -> bool:
        with self._ws.cond:
            return bool(self._live)

    def send(self, envelope: dict[str, Any]) -> None:
        """Send an envelope over the newest live connection; raises NoSocket without one."""
        with self._ws.cond:
            if not self._live:
                raise NoSocket("no Socket Mode connection")
            connection = self._live[-1]
            self.envelopes.append(copy.deepcopy(envelope))
            self._ws.changed()
        try:
            connection.send(json.dumps(envelope))
        except ConnectionClosed as exc:
            raise NoSocket(f"the socket closed before envelope {envelope.get('envelope_id')} went out ({exc})") from exc

    def ack(self, envelope_id: str) -> dict[str, Any] | None:
        with self._ws.cond:
            return self.acks.get(envelope_id)

    # ------------------------------------------------------------------ server side

    def _check_ticket(
        self, connection: ServerConnection, request: WsRequest, response: WsResponse
    ) -> WsResponse | None:
        """After a valid handshake, spend the URL's ticket; an unknown or used one answers 404 (§9.1)."""
        if response.status_code != 101:
            return None
        url = urlsplit(request.path)
        ticket = (parse_qs(url.query).get("ticket") or [""])[0]
        with self._ws.cond:
            if url.path != "/link/" or ticket not in self._ws.socket_tickets:
                return connection.respond(404, "invalid_ticket\n")
            self._ws.socket_tickets.discard(ticket)
        return None

    def _serve(self, connection: ServerConnection) -> None:
        ws = self._ws
        with ws.cond:  # hello goes first: no envelope can overtake it while the lock is held
            hello = {
                "type": "hello",
                "num_connections": len(self._live) + 1,
                "debug_info": {"host": "applink-emulated", "build_number": 1, "approximate_connection_time": 3600},
                "connection_info": {"app_id": ws.identity.api_app_id},
            }
            try:
                connection.send(json.dumps(hello))
            except ConnectionClosed:
                return
            self._live.append(connection)
            ws.changed()
        try:
            for message in connection:
                self._on_message(message)
        except ConnectionClosed:
            pass  # the app went away; its envelopes stay recorded
        finally:
            with ws.cond:
                self._live.remove(connection)
                ws.changed()

    def _on_message(self, message: str | bytes) -> None:
        try:
            parsed = json.loads(message)
        except ValueError:
            return  # Slack ignores what it cannot parse; so does the emulator
        if isinstance(parsed, dict) and isinstance(parsed.get("envelope_id"), str):
            with self._ws.cond:
                self.acks[parsed["envelope_id"]] = parsed
                self._ws.changed()
