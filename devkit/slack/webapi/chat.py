"""chat.postMessage, chat.update, chat.delete, chat.postEphemeral, chat.getPermalink (docs/contracts/slack.md §4)."""

from __future__ import annotations

from typing import Any

from devkit.slack.records import Channel, Message, MessageVersion
from devkit.slack.render import message_json
from devkit.slack.webapi.core import (
    ApiError,
    Args,
    WebMethod,
    checked_blocks,
    invalid_arguments,
    take_post_slot,
)
from devkit.slack.workspace import Workspace

__all__ = ["MAX_TEXT_CHARS", "METHODS", "postable_channel"]

MAX_TEXT_CHARS = 40_000  # §4.3: msg_too_long


def postable_channel(ws: Workspace, channel_id: str | None) -> Channel:
    """Where the bot may post (§4.3): visible, live, joined or public with chat:write.public, open to it."""
    channel = ws.visible(channel_id)
    if channel is None:
        raise ApiError("channel_not_found")
    if channel.archived:
        raise ApiError("is_archived")
    if not channel.member and "chat:write.public" not in ws.scopes:
        raise ApiError("not_in_channel")  # Slack's answer even though the missing piece is a scope (§4.3)
    if channel.posting_restricted:
        raise ApiError("restricted_action")  # announcement-only channel: bots are not admins (§4.3)
    return channel


def _content(ws: Workspace, args: Args, channel_id: str) -> tuple[str, list[dict[str, Any]] | None]:
    text = args.text("text") or ""
    blocks = checked_blocks(ws, args.json("blocks", error="invalid_blocks_format"), channel_id)
    if not text and not blocks and not args.json("attachments", error="invalid_attachments"):
        raise ApiError("no_text")
    if len(text) > MAX_TEXT_CHARS:
        raise ApiError("msg_too_long")
    return text, blocks


def _metadata(args: Args) -> dict[str, Any] | None:
    metadata = args.json("metadata", error="invalid_metadata_format")
    if metadata is None:
        return None
    if not (
        isinstance(metadata, dict)
        and isinstance(metadata.get("event_type"), str)
        and isinstance(metadata.get("event_payload"), dict)
    ):
        raise ApiError("invalid_metadata_format")
    return metadata


def post_message(ws: Workspace, args: Args) -> dict[str, Any]:
    channel = postable_channel(ws, args.text("channel"))
    text, blocks = _content(ws, args, channel.id)
    metadata = _metadata(args)
    take_post_slot(ws, channel.id)
    message = Message(
        channel.id,
        ws.next_ts(),
        ws.identity.bot_user_id,
        text,
        blocks,
        args.text("thread_ts"),
        history=[MessageVersion(text, blocks, ws.clock())],
        metadata=metadata,
        unfurl_links=args.flag("unfurl_links"),
        unfurl_media=args.flag("unfurl_media"),
    )
    ws.messages.append(message)
    return {"ok": True, "channel": channel.id, "ts": message.ts, "message": message_json(ws, message)}


def _own_message(ws: Workspace, args: Args, refusal: str) -> Message:
    channel = ws.visible(args.text("channel"))
    if channel is None:
        raise ApiError("channel_not_found")
    message = ws.find_message(channel.id, args.text("ts"))
    if message is None:
        raise ApiError("message_not_found")
    if message.user != ws.identity.bot_user_id:
        raise ApiError(refusal)
    return message


def update(ws: Workspace, args: Args) -> dict[str, Any]:
    message = _own_message(ws, args, "cant_update_message")
    channel = ws.channels[message.channel]
    if channel.archived:
        raise ApiError("is_inactive")
    text, blocks = _content(ws, args, message.channel)
    metadata = _metadata(args)
    take_post_slot(ws, message.channel)
    message.text, message.blocks, message.edited = text, blocks, True
    if metadata is not None:
        message.metadata = metadata
    message.history.append(MessageVersion(text, blocks, ws.clock()))  # thread_ts is kept (§4.7)
    return {
        "ok": True,
        "channel": message.channel,
        "ts": message.ts,
        "text": text,
        "message": message_json(ws, message),
    }


def delete(ws: Workspace, args: Args) -> dict[str, Any]:
    message = _own_message(ws, args, "cant_delete_message")
    message.deleted = True
    return {"ok": True, "channel": message.channel, "ts": message.ts}


def post_ephemeral(ws: Workspace, args: Args) -> dict[str, Any]:
    channel = postable_channel(ws, args.text("channel"))
    user = args.text("user")
    if user is None:
        raise invalid_arguments("missing required field: user")
    if channel.members is not None and user not in channel.members:
        raise ApiError("user_not_in_channel")
    text, blocks = _content(ws, args, channel.id)
    message = Message(channel.id, ws.next_ts(), ws.identity.bot_user_id, text, blocks, args.text("thread_ts"))
    message.ephemeral_user = user
    message.history.append(MessageVersion(text, blocks, ws.clock()))
    ws.ephemerals.append(message)
    return {"ok": True, "message_ts": message.ts}


def get_permalink(ws: Workspace, args: Args) -> dict[str, Any]:
    channel = ws.visible(args.text("channel"))
    if channel is None:
        raise ApiError("channel_not_found")
    message = ws.find_message(channel.id, args.text("message_ts"))
    if message is None:
        raise ApiError("message_not_found")
    # §4.8: https://{domain}.slack.com/archives/{C}/p{ts without the dot}; replies add the root and channel.
    permalink = f"https://{ws.identity.team_domain}.slack.com/archives/{channel.id}/p{message.ts.replace('.', '')}"
    if message.thread_ts and message.thread_ts != message.ts:
        permalink += f"?thread_ts={message.thread_ts}&cid={channel.id}"
    return {"ok": True, "channel": channel.id, "permalink": permalink}


_POST_ERRORS = (
    "channel_not_found",
    "not_in_channel",
    "is_archived",
    "msg_too_long",
    "no_text",
    "restricted_action",
    "restricted_action_read_only_channel",
    "restricted_action_thread_only_channel",
    "too_many_attachments",
    "invalid_blocks",
    "invalid_blocks_format",
    "invalid_metadata_format",
    "ratelimited",
)
METHODS = (
    WebMethod("chat.postMessage", post_message, scopes=("chat:write",), errors=_POST_ERRORS),
    WebMethod(
        "chat.update",
        update,
        scopes=("chat:write",),
        errors=(
            "cant_update_message",
            "channel_not_found",
            "message_not_found",
            "is_inactive",
            "msg_too_long",
            "no_text",
            "invalid_blocks",
            "invalid_blocks_format",
            "edit_window_closed",
            "ratelimited",
        ),
    ),
    WebMethod(
        "chat.delete",
        delete,
        scopes=("chat:write",),
        errors=("cant_delete_message", "channel_not_found", "message_not_found"),
    ),
    WebMethod(
        "chat.postEphemeral",
        post_ephemeral,
        scopes=("chat:write",),
        errors=(
            "channel_not_found",
            "is_archived",
            "msg_too_long",
            "no_text",
            "not_in_channel",
            "restricted_action",
            "user_not_in_channel",
            "invalid_blocks",
            "invalid_blocks_format",
        ),
    ),
    WebMethod("chat.getPermalink", get_permalink, errors=("channel_not_found", "message_not_found")),
)
