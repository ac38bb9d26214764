"""The emulated workspace's state: channels and members, messages and their edits, files and their
shares, views, response URLs, triggers and the bot's granted scopes.

One re-entrant lock with a condition guards all of it. Every mutation ends with `changed()`, which wakes
`wait_for` at once instead of letting it poll on a timer.
"""

from __future__ import annotations

import hashlib
import itertools
import re
import secrets
import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

from devkit.slack.faults import Faults, PostRateLimiter
from devkit.slack.records import ApiCall, Channel, Download, FileShare, Message, ResponsePost, UploadedFile

__all__ = ["Identity", "PendingResponseUrl", "Trigger", "Workspace"]

RESPONSE_URL_USES = 5  # docs/contracts/slack.md §6.1
RESPONSE_URL_LIFETIME_S = 30 * 60  # docs/contracts/slack.md §6.1
TRIGGER_LIFETIME_S = 3.0  # docs/contracts/slack.md §10.2
_PUBLIC_CHANNEL_ID = re.compile(r"^C[A-Z0-9]{2,}$")  # docs/contracts/slack.md §12 (emulator choice)


@dataclass(frozen=True)
class Identity:
    """Who the app is: tokens, secret and the ids Slack gave the workspace, bot and app."""

    bot_token: str
    app_token: str
    signing_secret: str
    team_id: str
    team_domain: str
    bot_user_id: str
    bot_id: str
    api_app_id: str
    bot_name: str = "imagine-bot"
    verification_token: str = "emulatedVerificationToken0"  # the deprecated `token` field, docs §7.1


@dataclass
class PendingResponseUrl:
    minted_at: float
    channel_id: str | None
    user_id: str | None
    message_ts: str | None
    uses: int = 0
    expired: bool = False


@dataclass
class Trigger:
    minted_at: float
    used: bool = False


class Workspace:
    """All mutable state of one emulated Slack workspace; hold `cond` to read or change it."""

    def __init__(
        self,
        identity: Identity,
        *,
        clock: Callable[[], float],
        scopes: frozenset[str],
        file_ready_after_s: float,
        post_rate: PostRateLimiter,
    ) -> None:
        self.identity = identity
        self.clock = clock
        self.scopes = scopes
        self.file_ready_after_s = file_ready_after_s
        self.post_rate = post_rate
        self.base_url = ""  # set when the HTTP server starts
        # Socket Mode transport state outlives clear(): the bot stays connected across tests.
        self.socket_url = ""  # ws://127.0.0.1:<port>, set when the Socket Mode server starts
        self.socket_tickets: set[str] = set()
        self.cond = threading.Condition(threading.RLock())
        self.version = 0
        self._ids = itertools.count(1)
        self._last_ts_us = 0
        self.clear()

    def clear(self) -> None:
        """Forget everything but the id and ts counters, which keep increasing across resets."""
        self.channels: dict[str, Channel] = {}
        self.messages: list[Message] = []
        self.ephemerals: list[Message] = []
        self.responses: list[ResponsePost] = []
        self.calls: list[ApiCall] = []
        self.files: dict[str, UploadedFile] = {}
        self.upload_tokens: dict[str, str] = {}
        self.response_urls: dict[str, PendingResponseUrl] = {}
        self.triggers: dict[str, Trigger] = {}
        self.home_views: dict[str, dict[str, Any]] = {}
        self.opened_views: list[dict[str, Any]] = []
        self.downloads: list[Download] = []
        self.faults = Faults()
        self.post_rate.reset()

    def changed(self) -> None:
        """Callers hold the lock; wakes every `wait_for`."""
        self.version += 1
        self.cond.notify_all()

    # ------------------------------------------------------------------ ids

    def next_id(self, prefix: str) -> str:
        return f"{prefix}{next(self._ids):010d}"

    def next_ts(self) -> str:
        # A ts doubles as the message id, so it must be unique and increasing even when a fake clock
        # stands still (docs/contracts/slack.md §4.1).
        self._last_ts_us = max(int(self.clock() * 1_000_000), self._last_ts_us + 1)
        seconds, micros = divmod(self._last_ts_us, 1_000_000)
        return f"{seconds}.{micros:06d}"

    def new_trigger_id(self) -> str:
        # Slack's shape, "132456.7890123.abcdef" (docs/contracts/slack.md §10.2).
        trigger_id = f"{13345224600 + next(self._ids)}.738474920.{secrets.token_hex(16)}"
        self.triggers[trigger_id] = Trigger(self.clock())
        return trigger_id

    def remember_trigger(self, trigger_id: str) -> None:
        self.triggers.setdefault(trigger_id, Trigger(self.clock()))

    def new_response_url(self, channel_id: str | None, user_id: str | None, message_ts: str | None) -> str:
        url_id = f"{self.identity.team_id}/{next(self._ids)}/{secrets.token_hex(12)}"
        self.response_urls[url_id] = PendingResponseUrl(self.clock(), channel_id, user_id, message_ts)
        return f"{self.base_url}/response/{url_id}"

    # ------------------------------------------------------------------ channels

    def add_channel(
        self,
        channel_id: str,
        *,
        name: str | None,
        member: bool,
        private: bool,
        archived: bool,
        posting_restricted: bool,
        members: Iterable[str] | None,
    ) -> Channel:
        is_im = channel_id.startswith("D")
        channel = Channel(
            id=channel_id,
            name=name or channel_id.lower(),
            member=member,
            private=private or is_im or channel_id.startswith("G"),
            archived=archived,
            is_im=is_im,
            posting_restricted=posting_restricted,
            members=None if members is None else frozenset(members),
        )
        self.channels[channel_id] = channel
        return channel

    def lookup(self, channel_id: str | None) -> Channel | None:
        """The channel as it exists; an unknown `C…` id is a public channel the bot has not joined (§12)."""
        if not channel_id:
            return None
        channel = self.channels.get(channel_id)
        if channel is None and _PUBLIC_CHANNEL_ID.match(channel_id):
            # Remembered, so that a later conversations.join sticks and channels() shows it.
            channel = Channel(channel_id, channel_id.lower(), member=False, private=False, archived=False)
            self.channels[channel_id] = channel
        return channel

    def visible(self, channel_id: str | None) -> Channel | None:
        """The channel if the bot can see it: public ones always, private ones and DMs only as a member."""
        channel = self.lookup(channel_id)
        if channel is None or (channel.private and not channel.member):
            return None
        return channel

    def open_dm(self, users: list[str]) -> tuple[Channel, bool]:
        """The DM (one user) or group DM (several) with these people, created on first use; stable ids."""
        digest = hashlib.sha1(",".join(sorted(users)).encode()).hexdigest()[:10].upper()
        channel_id = ("D" if len(users) == 1 else "G") + digest
        existing = self.channels.get(channel_id)
        if existing is not None:
            return existing, True
        channel = Channel(
            channel_id,
            "directmessage" if len(users) == 1 else "mpdm-" + "--".join(sorted(users)),
            member=True,
            private=True,
            archived=False,
            is_im=len(users) == 1,
            user=users[0] if len(users) == 1 else None,
            members=frozenset(users),
            is_mpim=len(users) > 1,
        )
        self.channels[channel_id] = channel
        return channel, False

    # ------------------------------------------------------------------ messages

    def find_message(self, channel_id: str | None, ts: str | None) -> Message | None:
        return next(
            (m for m in self.messages if m.channel == channel_id and m.ts == ts and not m.deleted),
            None,
        )

    def thread_of(self, channel_id: str, ts: str) -> list[Message]:
        """The root with ts `ts` and its replies, oldest first; empty when there is no such root."""
        root = self.find_message(channel_id, ts)
        if root is None:
            return []
        replies = [m for m in self.messages if m.channel == channel_id and m.thread_ts == ts and m.ts != ts]
        return [root, *(m for m in replies if not m.deleted)]

    # ------------------------------------------------------------------ files

    def file_by_url(self, url: str) -> UploadedFile | None:
        """The file whose url_private, url_private_download or permalink is `url`."""
        private = re.search(r"/files-pri/([A-Z0-9]+)-(F[A-Z0-9]+)/", url)
        if private is not None:
            return self.files.get(private.group(2)) if private.group(1) == self.identity.team_id else None
        permalink = re.search(r"\.slack\.com/files/[A-Z0-9]+/(F[A-Z0-9]+)/", url)
        return self.files.get(permalink.group(1)) if permalink is not None else None

    def share_file(self, uploaded: UploadedFile, message: Message) -> None:
        share = FileShare(message.channel, message.ts, message.thread_ts, self.clock())
        uploaded.shared.append(share)
        uploaded.shares.setdefault(message.channel, message.ts)

    def ready_shares(self, uploaded: UploadedFile) -> list[FileShare]:
        """Shares that Slack has finished processing (docs/contracts/slack.md §5.6): `file_ready_after_s` old."""
        now = self.clock()
        return [s for s in uploaded.shared if now - s.at >= self.file_ready_after_s]

    def file_url(self, uploaded: UploadedFile, *, download: bool) -> str:
        # Slack's shape: https://files.slack.com/files-pri/{team}-{file}/{name} (§5.5)
        prefix = f"{self.base_url}/files-pri/{self.identity.team_id}-{uploaded.id}"
        return f"{prefix}/download/{quote(uploaded.filename)}" if download else f"{prefix}/{quote(uploaded.filename)}"
