"""files.getUploadURLExternal, files.completeUploadExternal, files.info, files.delete: upload v2 exactly as
`WebClient.files_upload_v2` drives it (docs/contracts/slack.md §5)."""

from __future__ import annotations

import mimetypes
import re
import secrets
from typing import Any

from devkit.slack.records import Channel, Message, MessageVersion, UploadedFile
from devkit.slack.render import file_json
from devkit.slack.webapi.core import ApiError, Args, WebMethod, checked_blocks, invalid_arguments, take_post_slot
from devkit.slack.workspace import Workspace

__all__ = ["MAX_ALT_TXT", "METHODS", "guess_mimetype"]

MAX_ALT_TXT = 1000  # §5.1: alt_txt_too_large
_CHANNEL_ID = re.compile(r"^[CGD][A-Z0-9]{2,}$")


def guess_mimetype(filename: str, content: bytes = b"") -> str:
    """From the name, else from the bytes' magic for the image types Slack shows inline."""
    guessed = mimetypes.guess_type(filename)[0]
    if guessed:
        return guessed
    for magic, mimetype in ((b"\x89PNG", "image/png"), (b"\xff\xd8\xff", "image/jpeg"), (b"GIF8", "image/gif")):
        if content.startswith(magic):
            return mimetype
    return "application/octet-stream"


def get_upload_url_external(ws: Workspace, args: Args) -> dict[str, Any]:
    filename = args.required("filename")
    raw_length = args.required("length")
    try:
        length = int(raw_length)
    except ValueError:
        raise invalid_arguments("must be an integer [json-pointer:/length]") from None
    if length < 0:
        raise invalid_arguments("must be a positive integer [json-pointer:/length]")
    if length == 0:
        raise ApiError("missing_argument")  # §5.1: "typically … when the length provided is 0"
    alt_txt = args.text("alt_txt")
    if alt_txt is not None and len(alt_txt) > MAX_ALT_TXT:
        raise ApiError("alt_txt_too_large")
    file_id = ws.next_id("F")
    upload_token = f"{file_id}{secrets.token_hex(8)}"
    ws.files[file_id] = UploadedFile(
        id=file_id,
        filename=filename,
        title=filename,
        length=length,
        alt_txt=alt_txt,
        content=b"",
        channel=None,
        initial_comment=None,
        thread_ts=None,
        snippet_type=args.text("snippet_type"),
        created=ws.clock(),
        user=ws.identity.bot_user_id,
        mimetype=guess_mimetype(filename),
    )
    ws.upload_tokens[upload_token] = file_id
    return {"ok": True, "upload_url": f"{ws.base_url}/upload/v1/{upload_token}", "file_id": file_id}


def _share_target(ws: Workspace, channel_id: str) -> Channel:
    """§5.3: uploads need real membership, even where chat:write.public would let the bot post."""
    if not _CHANNEL_ID.match(channel_id):
        raise ApiError("invalid_channel")
    channel = ws.visible(channel_id)
    if channel is None:
        raise ApiError("channel_not_found")
    if channel.archived:
        raise ApiError("is_archived")
    if not channel.member:
        raise ApiError("not_in_channel")
    if channel.posting_restricted:
        raise ApiError("posting_to_channel_denied")
    return channel


def _pending_files(ws: Workspace, entries: Any) -> list[tuple[UploadedFile, str]]:
    if not isinstance(entries, list) or not entries:
        raise invalid_arguments("missing required field: files")
    completing: list[tuple[UploadedFile, str]] = []
    for entry in entries:
        if not isinstance(entry, dict) or not isinstance(entry.get("id"), str):
            raise invalid_arguments("each file needs an id [json-pointer:/files]")
        pending = ws.files.get(entry["id"])
        if pending is not None and pending.user != ws.identity.bot_user_id:
            raise ApiError("access_denied")  # §5.3: "User is not the owner of the file."
        # "This method can only be called once" (§5.3): a completed file is no longer pending.
        if pending is None or not pending.uploaded or pending.completed or pending.deleted:
            raise ApiError("file_not_found")
        if any(pending is seen for seen, _ in completing):
            raise invalid_arguments("duplicate file id [json-pointer:/files]")
        title = entry.get("title")
        completing.append((pending, title if isinstance(title, str) and title else pending.filename))
    return completing


def complete_upload_external(ws: Workspace, args: Args) -> dict[str, Any]:
    completing = _pending_files(ws, args.json("files", error="invalid_arguments"))
    channel_ids: list[str] = []
    for candidate in [args.text("channel_id"), *(args.text("channels") or "").split(",")]:
        if candidate and candidate.strip() and candidate.strip() not in channel_ids:
            channel_ids.append(candidate.strip())
    if len(channel_ids) > 100:
        raise ApiError("channels_limit_exceeded")
    thread_ts = args.text("thread_ts")
    if thread_ts and len(channel_ids) != 1:
        raise invalid_arguments("thread_ts needs exactly one channel")
    channels = [_share_target(ws, channel_id) for channel_id in channel_ids]
    initial_comment = args.text("initial_comment")
    raw_blocks = None if initial_comment else args.json("blocks", error="invalid_blocks")
    # §5.3: blocks are "ignored if initial_comment is set".
    blocks = checked_blocks(ws, raw_blocks, channel_ids[0] if channel_ids else None)
    for channel in channels:
        take_post_slot(ws, channel.id)

    files = [uploaded for uploaded, _ in completing]
    for uploaded, title in completing:
        uploaded.completed, uploaded.title = True, title
        uploaded.channel = channel_ids[0] if channel_ids else None
        uploaded.initial_comment, uploaded.thread_ts = initial_comment, thread_ts
        uploaded.mimetype = guess_mimetype(uploaded.filename, uploaded.content)
    for channel in channels:
        text = initial_comment or ""
        message = Message(channel.id, ws.next_ts(), ws.identity.bot_user_id, text, blocks, thread_ts, list(files))
        message.history.append(MessageVersion(text, blocks, ws.clock()))
        ws.messages.append(message)
        for uploaded in files:
            ws.share_file(uploaded, message)
    return {"ok": True, "files": [{"id": f.id, "title": f.title} for f in files]}


def _existing_file(ws: Workspace, args: Args) -> UploadedFile:
    found = ws.files.get(args.text("file") or "")
    if found is None or not found.completed:
        raise ApiError("file_not_found")
    if found.deleted:
        raise ApiError("file_deleted")
    return found


def info(ws: Workspace, args: Args) -> dict[str, Any]:
    return {"ok": True, "file": file_json(ws, _existing_file(ws, args)), "comments": []}


def delete(ws: Workspace, args: Args) -> dict[str, Any]:
    found = _existing_file(ws, args)
    if found.user != ws.identity.bot_user_id:
        raise ApiError("cant_delete_file")  # a bot token deletes only the bot's own files (§5.5)
    found.deleted = True
    return {"ok": True}


def upload_v1(ws: Workspace, args: Args) -> dict[str, Any]:
    raise ApiError("method_deprecated")  # §5.1: files.upload is sunset


METHODS = (
    WebMethod(
        "files.getUploadURLExternal",
        get_upload_url_external,
        scopes=("files:write",),
        errors=(
            "alt_txt_too_large",
            "missing_argument",
            "invalid_arguments",
            "file_uploads_disabled",
            "file_upload_size_restricted",
            "storage_limit_reached",
            "file_type_not_allowed",
        ),
    ),
    WebMethod(
        "files.completeUploadExternal",
        complete_upload_external,
        scopes=("files:write",),
        errors=(
            "access_denied",
            "channel_not_found",
            "channels_limit_exceeded",
            "file_not_found",
            "file_update_failed",
            "invalid_blocks",
            "invalid_channel",
            "is_archived",
            "no_permission",
            "not_in_channel",
            "posting_to_channel_denied",
            "ratelimited",
        ),
    ),
    WebMethod("files.info", info, scopes=("files:read",), errors=("file_not_found", "file_deleted", "not_visible")),
    WebMethod(
        "files.delete",
        delete,
        scopes=("files:write",),
        errors=("cant_delete_file", "file_deleted", "file_not_found", "file_deleting_disabled"),
    ),
    WebMethod("files.upload", upload_v1, errors=("method_deprecated",)),
)
