"""The message shortcuts: "Imagine this" (the message's text as a prompt) and "Imagine from this image"
(the message's pictures as the start of an edit: a logo restyled, a photo turned into a poster, two
pictures blended). Both open a modal; its submission is queued like a command.

Only the files the shortcut's payload names are used, by id; the worker downloads them from Slack's
file host with the bot token and checks they are pictures (`SlackGateway.download`).
"""

from __future__ import annotations

import dataclasses
import logging
from typing import Any

from slack_bolt import Ack, Respond
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from bot.images.models import Family
from bot.intake import Intake
from bot.listeners.buttons import field_for, size_hint
from bot.replies import modals, notes, requests
from bot.replies.text import ephemeral
from bot.request import HelpRequested, RequestError, message_words, parse_request
from bot.request.options import FAMILY_OPTIONS
from bot.slack.gateway import SlackGateway
from bot.store.spec import Origin, OriginKind
from bot.usage.limits import LimitReached

log = logging.getLogger(__name__)

MAX_PICTURES = 16  # the edits endpoint takes 1 to 16 images
PICTURE_TYPES = frozenset({"image/png", "image/jpeg", "image/webp"})


def command_text(values: dict[str, str]) -> str:
    """The modal's fields as the text a person would type after /imagine."""
    parts = [values.get(modals.PROMPT_BLOCK, "")]
    for block in (modals.SIZE_BLOCK, modals.QUALITY_BLOCK, modals.MODEL_BLOCK):
        if block in values:
            parts.append(f"--{block} {values[block]}")
    return " ".join(parts)


class Shortcuts:
    def __init__(self, intake: Intake, slack: SlackGateway) -> None:
        self._intake = intake
        self._slack = slack

    def acknowledge(self, ack: Ack) -> None:
        ack()

    # --- Imagine this ---------------------------------------------------------------------------

    def open_imagine_this(self, shortcut: dict[str, Any], client: WebClient, respond: Respond) -> None:
        deployments = self._intake.deployments
        family = deployments.default.family
        quality = FAMILY_OPTIONS[family].model_fields.get("quality")
        qualities = [str(v) for v in getattr(quality.annotation, "__args__", ())] if quality is not None else []
        view = modals.imagine_this(
            message_words(str((shortcut.get("message") or {}).get("text") or "")),
            str((shortcut.get("channel") or {}).get("id") or ""),
            qualities=[q for q in qualities if isinstance(q, str)],
            models=list(deployments),
            default=deployments.default.name,
            size_hint=size_hint(family),
        )
        _open(client, shortcut, view, respond)

    def submit_imagine_this(self, ack: Ack, body: dict[str, Any], view: dict[str, Any]) -> None:
        values = modals.submitted_values(view)
        origin = self._origin(body, OriginKind.SHORTCUT, str(view.get("private_metadata") or ""), view)
        self._submit(ack, command_text(values), origin)

    # --- Imagine from this image ----------------------------------------------------------------

    def open_from_image(self, shortcut: dict[str, Any], client: WebClient, respond: Respond) -> None:
        message = shortcut.get("message") or {}
        files = [f for f in message.get("files") or [] if isinstance(f, dict) and f.get("mimetype") in PICTURE_TYPES]
        if not files:
            respond(ephemeral(notes.no_pictures(MAX_PICTURES), replace=False))
            return
        if len(files) > MAX_PICTURES:
            respond(ephemeral(notes.too_many_pictures(len(files), MAX_PICTURES), replace=False))
        source = modals.SourcePictures(
            str((shortcut.get("channel") or {}).get("id") or ""),
            str(message.get("ts") or ""),
            tuple(str(f["id"]) for f in files[:MAX_PICTURES]),
        )
        family = self._intake.deployments.default.family
        view = modals.from_image(source, size_hint=size_hint(family), count=len(source.file_ids))
        _open(client, shortcut, view, respond)

    def submit_from_image(self, ack: Ack, body: dict[str, Any], view: dict[str, Any]) -> None:
        source = modals.SourcePictures.decode(str(view.get("private_metadata") or ""))
        if source is None or not source.file_ids:
            ack(**modals.field_errors(modals.PROMPT_BLOCK, notes.no_pictures(MAX_PICTURES)))
            return
        if not self._intake.deployments.default.family.edits:
            ack(**modals.field_errors(modals.PROMPT_BLOCK, "This bot's model cannot edit pictures."))
            return
        values = modals.submitted_values(view)
        origin = self._origin(body, OriginKind.REFERENCE, source.channel_id, view)
        origin = dataclasses.replace(
            origin, source_files=source.file_ids, source_message=f"{source.channel_id}:{source.message_ts}"
        )
        self._submit(ack, command_text(values), origin)

    # --- both -----------------------------------------------------------------------------------

    def _origin(self, body: dict[str, Any], kind: OriginKind, channel_id: str, view: dict[str, Any]) -> Origin:
        user = body.get("user") or {}
        return Origin(
            kind=kind,
            team_id=str(user.get("team_id") or (body.get("team") or {}).get("id") or ""),
            channel_id=channel_id,
            user_id=str(user.get("id") or ""),
            dedupe_key=str(view.get("id") or "") or None,  # a view is submitted once
        )

    def _submit(self, ack: Ack, text: str, origin: Origin) -> None:
        try:
            parsed = parse_request(text, self._intake.deployments)
        except RequestError as error:
            ack(**modals.field_errors(field_for(error), requests.problem_text(error.problem)))
            return
        if isinstance(parsed, HelpRequested):
            ack(**modals.field_errors(modals.PROMPT_BLOCK, notes.edit_needs_instruction()))
            return
        if origin.kind is OriginKind.REFERENCE and not Family.of(self._intake.deployment_for(parsed).model).edits:
            ack(**modals.field_errors(modals.MODEL_BLOCK, "That model cannot edit pictures."))
            return
        try:
            queued = self._intake.accept(parsed, origin)
        except LimitReached as reached:
            ack(**modals.field_errors(modals.PROMPT_BLOCK, notes.limit_reached(reached.blocked)))
            return
        ack()
        log.info("queued job %d from a shortcut for %s", queued.job.id, origin.user_id)


def _open(client: WebClient, shortcut: dict[str, Any], view: dict[str, Any], respond: Respond) -> None:
    """Open the shortcut's form; Slack refuses a trigger older than 3 s or used once already."""
    try:
        client.views_open(trigger_id=shortcut["trigger_id"], view=view)
    except SlackApiError as error:
        log.info("could not open the shortcut's form: %s", error.response.get("error"))
        respond(notes.modal_failed("use the shortcut again"))
