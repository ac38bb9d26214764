"""What the Slack emulator records and hands to tests: typed snapshots, never live state.

Every accessor of `SlackEmulator` returns deep copies of these, so a test can keep one while the
emulator goes on changing.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

__all__ = [
    "ApiCall",
    "Channel",
    "Download",
    "FileShare",
    "Message",
    "MessageVersion",
    "ResponsePost",
    "SentEvent",
    "SentRequest",
    "UploadedFile",
]


@dataclass(frozen=True)
class SentRequest:
    """The bot's answer to one request the emulator sent it as Slack."""

    status: int
    headers: dict[str, str]
    body: bytes
    response_url: str  # "" for payload types that have none (events, global shortcuts, view submissions)
    elapsed_s: float
    trigger_id: str = ""

    def json(self) -> Any:
        return json.loads(self.body)

    @property
    def text(self) -> str:
        return self.body.decode("utf-8")


@dataclass(frozen=True)
class SentEvent(SentRequest):
    """An Events API delivery and the bot's answer; `redeliver` sends `sent_body` again as a retry."""

    event_id: str = ""
    event: dict[str, Any] = field(default_factory=dict)
    sent_body: bytes = field(default=b"", repr=False)
    bot_url: str = ""


@dataclass
class Channel:
    """A conversation as the bot sees it. `members` None means every person is in it."""

    id: str
    name: str
    member: bool  # the bot
    private: bool
    archived: bool
    is_im: bool = False
    user: str | None = None  # the other party of a DM
    posting_restricted: bool = False  # announcement-only: only admins may post
    members: frozenset[str] | None = None
    is_mpim: bool = False


@dataclass(frozen=True)
class FileShare:
    """One share of a file: the message that carries it in `channel` (in a thread when `thread_ts`)."""

    channel: str
    ts: str
    thread_ts: str | None
    at: float  # clock time of the share; slack_file may show it `file_ready_after_s` later


@dataclass
class UploadedFile:
    """A file in the workspace: an upload by the bot (upload v2) or a person's attachment."""

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
    shares: dict[str, str] = field(default_factory=dict)  # channel id -> ts of the first message sharing it
    created: float = 0.0
    user: str = ""  # the owner: the bot user, or the person who posted it
    mimetype: str = "application/octet-stream"
    shared: list[FileShare] = field(default_factory=list)  # every share, in order


@dataclass(frozen=True)
class MessageVersion:
    """One state of a message: as posted, then after each chat.update."""

    text: str
    blocks: list[dict[str, Any]] | None
    at: float


@dataclass
class Message:
    """A message in a channel (or an ephemeral one, with `ephemeral_user`)."""

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
    history: list[MessageVersion] = field(default_factory=list)
    metadata: dict[str, Any] | None = None
    unfurl_links: bool | None = None
    unfurl_media: bool | None = None


@dataclass(frozen=True)
class ResponsePost:
    """One accepted POST to a response_url."""

    url: str
    body: dict[str, Any]
    at: float
    channel_id: str | None = None
    user_id: str | None = None
    message_ts: str | None = None  # the interactive message that replace/delete_original would target


@dataclass(frozen=True)
class ApiCall:
    """One Web API call, answered or refused."""

    method: str
    args: dict[str, Any]  # query merged with the form or JSON body; the token is kept apart
    token: str | None
    status: int
    ok: bool
    error: str | None
    at: float = 0.0
    response: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Download:
    """One GET of a file's url_private(_download); `token_ok` is whether it carried a token that may read it."""

    file_id: str
    token_ok: bool
    at: float
