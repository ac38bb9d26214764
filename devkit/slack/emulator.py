"""`SlackEmulator`: the public face of the loopback Slack, composed of the parts in this package.

Emulator choices where Slack's docs are silent are listed in docs/contracts/slack.md §12 and in this
package's docstring.
"""

from __future__ import annotations

import copy
import time
from collections.abc import Callable, Iterable
from typing import Any, TypeVar

from devkit.http import LoopbackServer, Request, Response
from devkit.slack import payloads
from devkit.slack.faults import Fault, PostRateLimiter
from devkit.slack.recording import Recording
from devkit.slack.records import (
    ApiCall,
    Channel,
    Download,
    Message,
    ResponsePost,
    UploadedFile,
)
from devkit.slack.scopes import manifest_scopes
from devkit.slack.sender import InProcessBot, Sender
from devkit.slack.socket_mode import SocketModeServer
from devkit.slack.toward_bot import TowardBot
from devkit.slack.transport import Router
from devkit.slack.workspace import Identity, Workspace

__all__ = ["SlackEmulator"]

T = TypeVar("T")


class SlackEmulator(TowardBot, LoopbackServer):
    """Slack's Web API, file host, response_urls and Socket Mode on loopback, and Slack's side toward a bot.

    Channels: an unknown `C…` id is a public channel the bot has not joined, so it may post there with
    chat:write.public but not upload; tests opt in to membership and other kinds with `add_channel`.
    `reset()` forgets everything, channels included, but ids and ts keep increasing and Socket Mode
    connections stay open.
    """

    bot_name = "imagine-bot"
    verification_token = "emulatedVerificationToken0"  # the deprecated `token` field (docs §7.1)

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
        clock: Callable[[], float] = time.time,
        scopes: Iterable[str] | None = None,
        channel_post_rate: float | None = None,
        channel_post_burst: int = 3,
        file_ready_after_s: float = 0.0,
        host: str = "127.0.0.1",
        port: int = 0,
    ) -> None:
        super().__init__(host, port)
        identity = Identity(
            bot_token=bot_token,
            app_token=app_token,
            signing_secret=signing_secret,
            team_id=team_id,
            team_domain=team_domain,
            bot_user_id=bot_user_id,
            bot_id=bot_id,
            api_app_id=api_app_id,
            bot_name=self.bot_name,
            verification_token=self.verification_token,
        )
        self._ws = Workspace(
            identity,
            clock=clock,
            scopes=manifest_scopes() if scopes is None else frozenset(scopes),
            file_ready_after_s=file_ready_after_s,
            post_rate=PostRateLimiter(channel_post_rate, channel_post_burst),
        )
        self._sockets = SocketModeServer(self._ws, host)
        self._recording = Recording(self._ws, self._socket_summary)
        self._sender = Sender(self._ws, self._sockets, self._recording)
        self._router = Router(self._ws)

    # ------------------------------------------------------------------ identity and lifecycle

    @property
    def bot_token(self) -> str:
        return self._ws.identity.bot_token

    @property
    def app_token(self) -> str:
        return self._ws.identity.app_token

    @property
    def signing_secret(self) -> str:
        return self._ws.identity.signing_secret

    @property
    def team_id(self) -> str:
        return self._ws.identity.team_id

    @property
    def team_domain(self) -> str:
        return self._ws.identity.team_domain

    @property
    def bot_user_id(self) -> str:
        return self._ws.identity.bot_user_id

    @property
    def bot_id(self) -> str:
        return self._ws.identity.bot_id

    @property
    def api_app_id(self) -> str:
        return self._ws.identity.api_app_id

    @property
    def scopes(self) -> frozenset[str]:
        """The bot token's granted scopes."""
        return self._ws.scopes

    @property
    def api_url(self) -> str:
        return f"{self.url}/api/"

    def start(self) -> SlackEmulator:
        super().start()
        socket_url = self._sockets.start()
        with self._ws.cond:
            self._ws.base_url = self.url
            self._ws.socket_url = socket_url
        return self

    def stop(self) -> None:
        super().stop()
        self._sockets.stop()  # closes open sockets with 1001, as Slack does when it goes away

    def handle(self, request: Request) -> Response:
        return self._router.handle(request)

    # ------------------------------------------------------------------ set-up and fault injection

    def route(self, bot_url: str, bot: InProcessBot) -> None:
        """Deliver what is sent to `bot_url` by calling `bot(body, headers)` in this process, not over
        HTTP: the in-process test harness plays the bot's HTTP front this way."""
        self._sender.routes[bot_url] = bot

    def add_channel(
        self,
        channel_id: str,
        *,
        name: str | None = None,
        member: bool = True,
        private: bool = False,
        archived: bool = False,
        posting_restricted: bool = False,
        members: Iterable[str] | None = None,
    ) -> None:
        """Declare a channel; `D…` ids are DMs and `G…` ids private whatever `private` says.

        `member` is the bot's membership; `members` the people in it (None: everyone)."""
        with self._ws.cond:
            self._ws.add_channel(
                channel_id,
                name=name,
                member=member,
                private=private,
                archived=archived,
                posting_restricted=posting_restricted,
                members=members,
            )
            self._ws.changed()

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
        with self._ws.cond:
            message = payloads.post_as_person(
                self._ws, channel_id, text, user=user, files=(), thread_ts=thread_ts, blocks=copy.deepcopy(blocks)
            )
            return self._recording.snapshot(message)

    def post_user_message(
        self,
        channel_id: str,
        text: str = "",
        *,
        user: str = "U0USER0001",
        files: Iterable[tuple[str, bytes, str]] = (),
        thread_ts: str | None = None,
    ) -> Message:
        """A person posts `text` with `files` ((name, content, mimetype) each), owned by them and shared here."""
        with self._ws.cond:
            message = payloads.post_as_person(self._ws, channel_id, text, user=user, files=files, thread_ts=thread_ts)
            return self._recording.snapshot(message)

    def fail_next(self, method: str, error: str, *, times: int = 1, **extra: Any) -> None:
        """The next `times` calls of `method` answer `error`; `extra` fields join the body (e.g. needed=…)."""
        with self._ws.cond:
            self._ws.faults.add(method, Fault(error, extra=dict(extra)), times)

    def rate_limit_next(self, method: str, *, retry_after: int = 1, times: int = 1) -> None:
        """The next `times` calls of `method` answer HTTP 429 `ratelimited` with this Retry-After."""
        with self._ws.cond:
            self._ws.faults.add(method, Fault(None, retry_after), times)

    def fail_upload_next(self, status: int = 500, *, times: int = 1) -> None:
        """The next `times` POSTs to an upload URL answer this HTTP status."""
        with self._ws.cond:
            self._ws.faults.add_upload(status, times)

    def expire_response_urls(self) -> None:
        with self._ws.cond:
            for record in self._ws.response_urls.values():
                record.expired = True
            self._ws.changed()

    def reset(self) -> None:
        with self._ws.cond:
            self._ws.clear()
            self._sockets.clear()
            self._ws.changed()

    def _socket_summary(self) -> str:
        sockets = self._sockets
        return (
            f", {int(sockets.connected())} live sockets, {len(sockets.envelopes)} envelopes, {len(sockets.acks)} acks"
        )

    # ------------------------------------------------------------------ what happened

    def channels(self) -> dict[str, Channel]:
        return self._recording.channels()

    def messages(self, channel_id: str | None = None) -> list[Message]:
        return self._recording.messages(channel_id)

    def message(self, channel_id: str, ts: str) -> Message:
        """One message (deleted ones too) with its edit history; KeyError when there is none."""
        return self._recording.message(channel_id, ts)

    def thread(self, channel_id: str, ts: str) -> list[Message]:
        """The root `ts` and its replies, oldest first, files included; [] when there is no such root."""
        return self._recording.thread(channel_id, ts)

    def ephemerals(self, user_id: str | None = None) -> list[Message]:
        return self._recording.ephemerals(user_id)

    def responses(self, response_url: str | None = None) -> list[ResponsePost]:
        return self._recording.responses(response_url)

    def calls(self, method: str | None = None) -> list[ApiCall]:
        return self._recording.calls(method)

    def files(self, *, include_pending: bool = False) -> dict[str, UploadedFile]:
        return self._recording.files(include_pending=include_pending)

    def downloads(self) -> list[Download]:
        return self._recording.downloads()

    def home_views(self) -> dict[str, dict[str, Any]]:
        return self._recording.home_views()

    def opened_views(self) -> list[dict[str, Any]]:
        return self._recording.opened_views()

    @property
    def version(self) -> int:
        """A number that grows with every change to the workspace (a message, an edit, a file, a view, a call).

        A Slack client learns over its live connection that something changed and fetches it again; this is
        the same cue for a client of the emulator (the playground's page): read it twice, and if it is the
        same, nothing changed in between. reset() does not lower it."""
        with self._ws.cond:
            return self._ws.version

    def wait_for(self, predicate: Callable[[], T | bool | None], timeout: float = 10.0) -> T:
        """Call `predicate` until it returns something truthy, and return that; AssertionError on timeout."""
        return self._recording.wait_for(predicate, timeout)
