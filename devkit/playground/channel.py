"""What one channel shows one person, built from the Slack emulator's records.

docs/contracts/slack-client.md §4 is what a Slack client does; the § below are its sections.

Pure: no HTTP and no emulator calls, so every rule is testable on plain values.

* Messages in the channel, oldest first; replies under their root (a thread). A root deleted while it
  has replies stays as "This message was deleted."; a reply whose files were all deleted, and that has
  no text, as "This file was deleted." (§4.3).
* Private notes ("Only visible to you") come from three places: a slash command's ack (the emulator
  does not record it, so the playground hands in its `CommandRecord`s), chat.postEphemeral, and
  response_url posts. `replace_original` and `delete_original` apply as Slack applies them (§4.2):
  a slash command's response_url targets the newest note it produced (the ack first); an interaction's
  targets the message clicked when that is a private note. Anything else is a new note.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from devkit.slack import Message, ResponsePost, UploadedFile

__all__ = ["SLACKBOT", "CommandRecord", "Item", "build_channel"]

SLACKBOT = "USLACKBOT"
FILE_DELETED = "This file was deleted."
MESSAGE_DELETED = "This message was deleted."


@dataclass(frozen=True)
class CommandRecord:
    """A slash command the person sent, and what came back in the HTTP answer (the ack)."""

    ts: str  # when it was sent, in Slack's ts format: the ack's place in the channel
    text: str  # as typed, e.g. "/imagine a lighthouse"
    response_url: str
    ack: dict[str, Any] | None  # the ack's message payload; None for an empty ack
    slackbot: str | None = None  # Slack's own note instead, e.g. when the app did not answer in time


@dataclass
class Item:
    """One line of the channel or of a thread, as the page shows it."""

    key: str  # unique in the page; a channel message's is "m" + its ts
    ts: str
    user: str
    text: str
    blocks: list[Any] | None
    ephemeral: bool = False
    files: list[UploadedFile] = field(default_factory=list)
    edited: bool = False
    thread_ts: str | None = None  # a reply's root
    tombstone: str | None = None  # what Slack shows in place of a deleted message or file
    replies: list[Item] = field(default_factory=list)
    message: Message | None = None  # the emulator's record, for clicks and shortcuts on channel messages
    deleted: bool = False


def _ts(seconds: float) -> str:
    return f"{seconds:.6f}"


def _content(body: Mapping[str, Any]) -> tuple[str, list[Any] | None]:
    blocks = body.get("blocks")
    return str(body.get("text") or ""), list(blocks) if isinstance(blocks, list) and blocks else None


def _has_content(body: Mapping[str, Any]) -> bool:
    return bool(body.get("text") or body.get("blocks") or body.get("attachments"))


def _slack_escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


class _Notes:
    """The person's private notes, replayed in time order so replacements land on the right one."""

    def __init__(self, bot_user_id: str) -> None:
        self.bot_user_id = bot_user_id
        self.items: list[Item] = []
        self._by_ts: dict[str, Item] = {}
        self._latest_of_url: dict[str, Item] = {}  # a slash command's response_url -> newest note it made

    def add(self, prefix: str, ts: str, user: str, text: str, blocks: list[Any] | None, thread_ts: str | None) -> Item:
        while ts in self._by_ts:  # two notes in one microsecond still need distinct keys
            ts = _ts(float(ts) + 1e-6)
        item = Item(f"{prefix}{ts}", ts, user, text, blocks, ephemeral=True, thread_ts=thread_ts)
        self.items.append(item)
        self._by_ts[ts] = item
        return item

    def command(self, command: CommandRecord) -> None:
        if command.slackbot is not None:
            self.add("s", command.ts, SLACKBOT, command.slackbot, None, None)
            return
        if command.ack is None or not _has_content(command.ack):
            return
        text, blocks = _content(command.ack)
        if command.ack.get("response_type") == "in_channel":
            # Slack then shows the command line to everyone, then the answer: docs/contracts/slack-client.md §4.2.
            self.add("c", command.ts, "", _slack_escape(command.text), None, None).ephemeral = False
        item = self.add("a", command.ts, self.bot_user_id, text, blocks, None)
        item.ephemeral = command.ack.get("response_type") != "in_channel"
        self._latest_of_url[command.response_url] = item

    def response(self, post: ResponsePost) -> None:
        body = post.body
        target = self._by_ts.get(post.message_ts) if post.message_ts else self._latest_of_url.get(post.url)
        if target is not None and target.deleted:
            target = None
        if body.get("delete_original") is True and target is not None:
            target.deleted = True
            target = None
        if not _has_content(body):
            return
        text, blocks = _content(body)
        if body.get("replace_original") is True and target is not None:
            target.text, target.blocks = text, blocks
            return
        thread_ts = body.get("thread_ts") if isinstance(body.get("thread_ts"), str) else None
        item = self.add("r", _ts(post.at), self.bot_user_id, text, blocks, thread_ts)
        item.ephemeral = body.get("response_type") != "in_channel"
        if not post.message_ts:
            self._latest_of_url[post.url] = item


def build_channel(
    channel_id: str,
    *,
    user_id: str,
    bot_user_id: str,
    messages: Iterable[Message],
    ephemerals: Iterable[Message],
    responses: Iterable[ResponsePost],
    commands: Iterable[CommandRecord],
) -> list[Item]:
    """The channel as `user_id` sees it: top-level items oldest first, each with its thread's replies."""
    roots: dict[str, Item] = {}
    replies: list[Item] = []
    for m in messages:
        if m.channel != channel_id:
            continue
        is_reply = bool(m.thread_ts) and m.thread_ts != m.ts
        item = Item(
            f"m{m.ts}", m.ts, m.user, m.text, m.blocks, files=list(m.files), edited=m.edited,
            thread_ts=m.thread_ts if is_reply else None, message=m, deleted=m.deleted,
        )  # fmt: skip
        if not m.files and not m.text and not m.blocks:
            # It held only files, and they are gone: docs/contracts/slack-client.md §4.3.
            item.tombstone = FILE_DELETED
        if is_reply:
            replies.append(item)
        else:
            roots[m.ts] = item

    notes = _Notes(bot_user_id)
    for m in ephemerals:
        if m.channel == channel_id and m.ephemeral_user == user_id:
            notes.add("e", m.ts, m.user, m.text, m.blocks, m.thread_ts)
    # At equal times a command sorts first: its ack always precedes what its URL posts later.
    events: list[tuple[float, int, CommandRecord | ResponsePost]] = [(float(c.ts), 0, c) for c in commands]
    events += [(r.at, 1, r) for r in responses if r.channel_id in (None, channel_id)]
    for _, _, event in sorted(events, key=lambda e: (e[0], e[1])):
        if isinstance(event, CommandRecord):
            notes.command(event)
        else:
            notes.response(event)

    top: list[Item] = []
    for item in [*replies, *(n for n in notes.items if not n.deleted)]:
        root = roots.get(item.thread_ts) if item.thread_ts else None
        if item.thread_ts and root is not None:
            if not item.deleted:
                root.replies.append(item)
        elif not item.deleted:
            top.append(item)  # a reply whose root is unknown is shown in the channel rather than lost
    for root in roots.values():
        root.replies.sort(key=lambda r: float(r.ts))
        if root.deleted and root.replies:
            root.tombstone, root.deleted = MESSAGE_DELETED, False
        if not root.deleted:
            top.append(root)
    top.sort(key=lambda i: float(i.ts))
    return top
