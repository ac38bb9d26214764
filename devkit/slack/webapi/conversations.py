"""conversations.open, .join, .info and .replies (docs/contracts/slack.md §8)."""

from __future__ import annotations

from typing import Any

from devkit.slack.records import Channel
from devkit.slack.render import channel_json, message_json
from devkit.slack.webapi.core import ApiError, Args, WebMethod, require_scope
from devkit.slack.workspace import Workspace

__all__ = ["METHODS", "scope_for"]


def scope_for(channel: Channel, action: str) -> str:
    """The conversations scope family that covers this kind of conversation (§8.1): channels:…,
    groups:…, im:… or mpim:…, followed by `action` (read, history, write)."""
    family = "im" if channel.is_im else "mpim" if channel.is_mpim else "groups" if channel.private else "channels"
    return f"{family}:{action}"


def open_conversation(ws: Workspace, args: Args) -> dict[str, Any]:
    channel_arg = args.text("channel")
    if channel_arg is not None:
        existing = ws.visible(channel_arg)
        if existing is None:
            raise ApiError("channel_not_found")
        return {"ok": True, "channel": {"id": existing.id}, "no_op": True, "already_open": True}
    users = sorted({u.strip() for u in (args.text("users") or "").split(",") if u.strip()})
    if not users:
        raise ApiError("users_list_not_supplied")
    if len(users) > 8:
        raise ApiError("too_many_users")
    require_scope(ws, "im:write" if len(users) == 1 else "mpim:write")
    channel, existed = ws.open_dm(users)
    extra = {"no_op": True, "already_open": True} if existed else {}
    reply: dict[str, Any] = {"ok": True, "channel": {"id": channel.id}, **extra}
    if args.flag("return_im"):
        reply["channel"] = channel_json(ws, channel)
    return reply


def join(ws: Workspace, args: Args) -> dict[str, Any]:
    channel = ws.visible(args.text("channel"))
    if channel is None:
        raise ApiError("channel_not_found")
    if channel.private:
        raise ApiError("method_not_supported_for_channel_type")
    if channel.archived:
        raise ApiError("is_archived")
    was_member, channel.member = channel.member, True
    warning = {"warning": "already_in_channel"} if was_member else {}
    return {"ok": True, "channel": channel_json(ws, channel), **warning}


def info(ws: Workspace, args: Args) -> dict[str, Any]:
    channel = ws.visible(args.text("channel"))
    if channel is None:
        raise ApiError("channel_not_found")
    require_scope(ws, scope_for(channel, "read"))
    return {"ok": True, "channel": channel_json(ws, channel)}


def replies(ws: Workspace, args: Args) -> dict[str, Any]:
    channel = ws.visible(args.text("channel"))
    if channel is None:
        raise ApiError("channel_not_found")
    require_scope(ws, scope_for(channel, "history"))
    thread = ws.thread_of(channel.id, args.text("ts") or "")
    if not thread:
        raise ApiError("thread_not_found")
    messages = [message_json(ws, m) for m in thread]
    root_ts = thread[0].ts
    if len(thread) > 1:
        messages[0] |= {"thread_ts": root_ts, "reply_count": len(thread) - 1}
    for entry in messages[1:]:
        entry["parent_user_id"] = thread[0].user
    return {"ok": True, "messages": messages, "has_more": False, "response_metadata": {"next_cursor": ""}}


METHODS = (
    WebMethod(
        "conversations.open",
        open_conversation,
        errors=("channel_not_found", "users_list_not_supplied", "too_many_users", "user_not_found"),
    ),
    WebMethod(
        "conversations.join",
        join,
        scopes=("channels:join",),
        errors=("channel_not_found", "is_archived", "method_not_supported_for_channel_type", "too_many_members"),
    ),
    WebMethod("conversations.info", info, errors=("channel_not_found",)),
    WebMethod(
        "conversations.replies",
        replies,
        errors=("channel_not_found", "thread_not_found", "method_not_supported_for_channel_type"),
    ),
)
