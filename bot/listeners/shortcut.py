"""The "Imagine this" message shortcut: a modal prefilled with the message, queued like a command.

The modal's pickers are turned back into the same text a user would type (`--size …`), so one parser
validates both, and its message appears next to the field it is about.
"""

from __future__ import annotations

import logging
from typing import Any

from slack_bolt import Ack
from slack_sdk import WebClient

from bot import replies
from bot.intake import Intake, Origin
from bot.request import OPTIONS, HelpRequested, RequestError, normalise, parse_request
from bot.usage.limits import LimitReached

log = logging.getLogger(__name__)

_PICKERS = (replies.SIZE_BLOCK, replies.STYLE_BLOCK, replies.QUALITY_BLOCK)


class ImagineThisShortcut:
    def __init__(self, intake: Intake) -> None:
        self._intake = intake

    def open_modal(self, ack: Ack, shortcut: dict[str, Any], client: WebClient) -> None:
        ack()
        message = shortcut.get("message") or {}
        channel_id = str((shortcut.get("channel") or {}).get("id") or "")
        view = replies.modal(
            normalise(str(message.get("text") or "")),
            channel_id,
            self._intake.deployments,
            self._intake.default.name,
            self._choices(),
        )
        # trigger_id lives three seconds: open the modal in the same breath as the ack.
        client.views_open(trigger_id=shortcut["trigger_id"], view=view)

    def submit(self, ack: Ack, body: dict[str, Any], view: dict[str, Any]) -> None:
        values = view.get("state", {}).get("values", {})
        text = self._as_command_text(values)
        try:
            parsed = parse_request(text, self._intake.families, self._intake.default.name)
        except RequestError as error:
            ack(response_action="errors", errors={self._block_for(error.message): error.message[:150]})
            return
        if isinstance(parsed, HelpRequested):
            ack(response_action="errors", errors={replies.PROMPT_BLOCK: "Describe the image you want."})
            return
        user = body.get("user") or {}
        origin = Origin(
            team_id=str(user.get("team_id") or (body.get("team") or {}).get("id") or ""),
            channel_id=str(view.get("private_metadata") or ""),
            user_id=str(user.get("id") or ""),
            kind="shortcut",
        )
        try:
            jobs = self._intake.submit(parsed, origin).jobs
        except LimitReached as reached:
            ack(response_action="errors", errors={replies.PROMPT_BLOCK: replies.limit_reached(reached.blocked)[:150]})
            return
        log.info("queued job(s) %s from the shortcut for %s", [j.id for j in jobs], origin.user_id)
        ack()

    def _choices(self) -> dict[str, list[str]]:
        """Every value of each picker that some configured deployment accepts."""
        choices: dict[str, list[str]] = {}
        for block in _PICKERS:
            spec = OPTIONS.get(block)
            if spec is None:
                continue
            values: list[str] = []
            for deployment in self._intake.deployments.values():
                domain = spec.domains.get(deployment.family)
                for value in getattr(domain, "values", ()):
                    if value not in values:
                        values.append(str(value))
            choices[block] = values
        return choices

    @staticmethod
    def _as_command_text(values: dict[str, Any]) -> str:
        def picked(block: str) -> str | None:
            element = (values.get(block) or {}).get("value") or {}
            option = element.get("selected_option") or {}
            return option.get("value") or element.get("value")

        parts = [picked(replies.PROMPT_BLOCK) or ""]
        for block in (*_PICKERS, replies.MODEL_BLOCK):
            chosen = picked(block)
            if chosen:
                parts.append(f"--{block} {chosen}")
        return " ".join(parts)

    @staticmethod
    def _block_for(message: str) -> str:
        for block in (*_PICKERS, replies.MODEL_BLOCK):
            if f"--{block}" in message:
                return block
        return replies.PROMPT_BLOCK
