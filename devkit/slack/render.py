"""Slack's JSON shapes for channels, messages and files, as the Web API and payloads carry them.

docs/contracts/slack.md §4.2 (message objects), §5.4 (file objects), §8.3 (conversation objects).
"""

from __future__ import annotations

import io
from typing import Any

from PIL import Image, UnidentifiedImageError

from devkit.slack.records import Channel, Message, UploadedFile
from devkit.slack.workspace import Workspace

__all__ = ["channel_json", "file_json", "message_json"]


def channel_json(ws: Workspace, channel: Channel) -> dict[str, Any]:
    data: dict[str, Any] = {
        "id": channel.id,
        "name": channel.name,
        "is_channel": not channel.private,
        "is_group": channel.private and not channel.is_im and not channel.is_mpim,
        "is_im": channel.is_im,
        "is_mpim": channel.is_mpim,
        "is_private": channel.private,
        "is_archived": channel.archived,
        "is_member": channel.member,
        "context_team_id": ws.identity.team_id,
    }
    if channel.user:
        data["user"] = channel.user
    return data


def file_json(ws: Workspace, uploaded: UploadedFile) -> dict[str, Any]:
    """A file object (§5.4). Shares appear once processed (`file_ready_after_s`), as on Slack."""
    by_kind: dict[str, list[str]] = {"channels": [], "groups": [], "ims": []}
    shares: dict[str, dict[str, list[dict[str, Any]]]] = {}
    for share in ws.ready_shares(uploaded):
        channel = ws.channels.get(share.channel)
        private = channel is None or channel.private
        kind = "ims" if channel is not None and channel.is_im else "groups" if private else "channels"
        if share.channel not in by_kind[kind]:
            by_kind[kind].append(share.channel)
        entry: dict[str, Any] = {"ts": share.ts, "channel_name": channel.name if channel else share.channel}
        entry["team_id"] = ws.identity.team_id
        if share.thread_ts:
            entry["thread_ts"] = share.thread_ts
        shares.setdefault("private" if private else "public", {}).setdefault(share.channel, []).append(entry)
    filetype = uploaded.filename.rsplit(".", 1)[-1].lower() if "." in uploaded.filename else "binary"
    data: dict[str, Any] = {
        "id": uploaded.id,
        "created": int(uploaded.created),
        "timestamp": int(uploaded.created),
        "name": uploaded.filename,
        "title": uploaded.title,
        "mimetype": uploaded.mimetype,
        "filetype": "jpg" if filetype == "jpeg" else filetype,
        "user": uploaded.user,
        "user_team": ws.identity.team_id,
        "mode": "hosted",
        "size": len(uploaded.content) if uploaded.uploaded else uploaded.length,
        "is_external": False,
        "is_public": "public" in shares,
        "url_private": ws.file_url(uploaded, download=False),
        "url_private_download": ws.file_url(uploaded, download=True),
        "permalink": f"https://{ws.identity.team_domain}.slack.com/files/{uploaded.user}/{uploaded.id}/"
        + uploaded.filename,
        **by_kind,
        "shares": shares,
    }
    if uploaded.alt_txt is not None:
        data["alt_txt"] = uploaded.alt_txt
    size = image_size(uploaded.content) if uploaded.mimetype.startswith("image/") else None
    if size is not None:
        data["original_w"], data["original_h"] = size
    return data


def image_size(content: bytes) -> tuple[int, int] | None:
    """Width and height of an image Pillow can read, else None (Slack sets original_w/h for images)."""
    try:
        with Image.open(io.BytesIO(content)) as image:
            return int(image.width), int(image.height)
    except (UnidentifiedImageError, OSError, ValueError):
        return None


def message_json(ws: Workspace, message: Message) -> dict[str, Any]:
    """A message object (§4.2): the bot's carry bot_id and app_id; live files are inlined."""
    data: dict[str, Any] = {
        "type": "message",
        "text": message.text,
        "user": message.user,
        "ts": message.ts,
        "team": ws.identity.team_id,
    }
    if message.user == ws.identity.bot_user_id:
        data |= {"bot_id": ws.identity.bot_id, "app_id": ws.identity.api_app_id}
    if message.blocks is not None:
        data["blocks"] = message.blocks
    if message.thread_ts:
        data["thread_ts"] = message.thread_ts
    if message.edited and message.history:
        data["edited"] = {"user": message.user, "ts": f"{message.history[-1].at:.6f}"}
    if message.metadata is not None:
        data["metadata"] = message.metadata
    live_files = [file_json(ws, f) for f in message.files if not f.deleted]
    if live_files:
        data["files"] = live_files
    return data
