"""People's side of the workspace: what a person posts, and the payloads their clicks and mentions produce.

docs/contracts/slack.md §7.3 (app_mention), §7.4 (message_action, block_actions, view_submission).
Hold the workspace lock around every function here.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from typing import Any

from devkit.slack.records import Message, MessageVersion, UploadedFile
from devkit.slack.render import message_json
from devkit.slack.webapi.files import guess_mimetype
from devkit.slack.workspace import Workspace

__all__ = [
    "block_action_payload",
    "mention_event",
    "message_shortcut_payload",
    "post_as_person",
    "view_submission_payload",
]


def post_as_person(
    ws: Workspace,
    channel_id: str,
    text: str,
    *,
    user: str,
    files: Iterable[tuple[str, bytes, str]],
    thread_ts: str | None,
    blocks: list[dict[str, Any]] | None = None,
) -> Message:
    """A person's message, with attachments stored like uploads but owned by them and shared here."""
    ws.lookup(channel_id)  # an unknown C… id becomes the public channel it stands for
    now = ws.clock()
    attached: list[UploadedFile] = []
    for name, content, mimetype in files:
        file_id = ws.next_id("F")
        attached.append(
            UploadedFile(
                id=file_id,
                filename=name,
                title=name,
                length=len(content),
                alt_txt=None,
                content=content,
                channel=channel_id,
                initial_comment=text or None,
                thread_ts=thread_ts,
                uploaded=True,
                completed=True,
                created=now,
                user=user,
                mimetype=mimetype or guess_mimetype(name, content),
            )
        )
    message = Message(channel_id, ws.next_ts(), user, text, blocks, thread_ts, attached)
    message.history.append(MessageVersion(text, blocks, now))
    ws.messages.append(message)
    for uploaded in attached:
        ws.files[uploaded.id] = uploaded
        ws.share_file(uploaded, message)
    ws.changed()
    return message


def mention_event(ws: Workspace, text: str, *, channel_id: str, user_id: str, thread_ts: str | None) -> dict[str, Any]:
    """Record a person's `@bot …` message and return Slack's app_mention event for it (§7.3)."""
    mention = f"<@{ws.identity.bot_user_id}>"
    full_text = text if text.startswith(mention) else f"{mention} {text}".rstrip()
    message = post_as_person(ws, channel_id, full_text, user=user_id, files=(), thread_ts=thread_ts)
    event: dict[str, Any] = {
        "type": "app_mention",
        "user": user_id,
        "text": full_text,
        "ts": message.ts,
        "channel": channel_id,
        "event_ts": message.ts,
        "team": ws.identity.team_id,
        "client_msg_id": str(uuid.uuid4()),
    }
    if thread_ts:
        event["thread_ts"] = thread_ts
    return event


def _people(ws: Workspace, user_id: str, channel_id: str) -> dict[str, Any]:
    channel = ws.lookup(channel_id)
    return {
        "team": {"id": ws.identity.team_id, "domain": ws.identity.team_domain},
        "user": {"id": user_id, "username": user_id.lower(), "name": user_id.lower(), "team_id": ws.identity.team_id},
        "channel": {"id": channel_id, "name": channel.name if channel else channel_id.lower()},
        "api_app_id": ws.identity.api_app_id,
        "token": ws.identity.verification_token,
        "is_enterprise_install": False,
        "enterprise": None,
    }


def _live_json(ws: Workspace, message: Message) -> dict[str, Any]:
    """The message as Slack shows it now (files with their URLs), from the emulator's own copy if any."""
    live = ws.find_message(message.channel, message.ts)
    return message_json(ws, live if live is not None else message)


def message_shortcut_payload(ws: Workspace, callback_id: str, message: Message, *, user_id: str) -> dict[str, Any]:
    """`type: message_action` with the whole message, files included (§7.4)."""
    return {
        "type": "message_action",
        **_people(ws, user_id, message.channel),
        "callback_id": callback_id,
        "trigger_id": ws.new_trigger_id(),
        "response_url": ws.new_response_url(message.channel, user_id, message.ts),
        "message_ts": message.ts,
        "message": _live_json(ws, message),
        "action_ts": f"{ws.clock():.6f}",
    }


def _find_element(blocks: list[dict[str, Any]] | None, action_id: str) -> tuple[str, dict[str, Any]]:
    """The block_id holding the element with `action_id`, and that element (or defaults for a button)."""
    for block in blocks or []:
        candidates = [*block.get("elements", []), block.get("accessory") or {}]
        for element in candidates:
            if isinstance(element, dict) and element.get("action_id") == action_id:
                return str(block.get("block_id") or "emulated"), element
    return "emulated", {"type": "button"}


def block_action_payload(
    ws: Workspace, *, action_id: str, value: str, message: Message, user_id: str
) -> dict[str, Any]:
    """`type: block_actions` for a click on `action_id` in `message` (§7.4)."""
    live = ws.find_message(message.channel, message.ts) or message
    block_id, element = _find_element(live.blocks, action_id)
    container: dict[str, Any] = {
        "type": "message",
        "message_ts": message.ts,
        "channel_id": message.channel,
        "is_ephemeral": False,
    }
    if live.thread_ts:
        container["thread_ts"] = live.thread_ts
    action: dict[str, Any] = {
        "action_id": action_id,
        "block_id": block_id,
        "type": element.get("type", "button"),
        "value": value,
        "action_ts": f"{ws.clock():.6f}",
    }
    if "text" in element:
        action["text"] = element["text"]
    return {
        "type": "block_actions",
        **_people(ws, user_id, message.channel),
        "container": container,
        "trigger_id": ws.new_trigger_id(),
        "message": message_json(ws, live),
        "state": {"values": {}},
        "response_url": ws.new_response_url(message.channel, user_id, message.ts),
        "actions": [action],
    }


def view_submission_payload(
    ws: Workspace, view: dict[str, Any], values: dict[str, Any], *, user_id: str
) -> dict[str, Any]:
    """`type: view_submission`: the view with its `state.values`; no response_url (§7.4)."""
    people = _people(ws, user_id, "")
    people.pop("channel")
    submitted = {
        **view,
        "id": view.get("id") or ws.next_id("V"),
        "team_id": ws.identity.team_id,
        "app_id": ws.identity.api_app_id,
        "bot_id": ws.identity.bot_id,
        "state": {"values": values},
    }
    return {
        "type": "view_submission",
        **people,
        "trigger_id": ws.new_trigger_id(),
        "view": submitted,
        "response_urls": [],
    }
