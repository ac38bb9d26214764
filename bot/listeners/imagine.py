"""The `/imagine` ack path: parse, insert the job rows, answer. No HTTP call and no hand-off before the ack."""

from __future__ import annotations

import logging
from typing import Any

from slack_bolt import Ack
from sqlalchemy.exc import SQLAlchemyError

from bot import replies
from bot.intake import Intake, Origin
from bot.listeners.usage import UsageCommand, usage_words
from bot.request import HelpRequested, RequestError, parse_request
from bot.usage.limits import LimitReached

log = logging.getLogger(__name__)


def _answer(ack: Ack, text: str) -> None:
    # Private to the requester; links a prompt mentions are not expanded into previews.
    ack(text=text, response_type="ephemeral", unfurl_links=False, unfurl_media=False)


class ImagineCommand:
    def __init__(self, intake: Intake, usage: UsageCommand) -> None:
        self._intake = intake
        self.usage = usage

    def __call__(self, ack: Ack, command: dict[str, Any]) -> None:
        intake = self._intake
        words = usage_words(str(command.get("text") or ""))
        if words is not None:
            ack(**self.usage.answer(command, words))
            return
        try:
            parsed = parse_request(str(command.get("text") or ""), intake.families, intake.default.name)
        except RequestError as error:
            _answer(ack, replies.request_error(error))
            return
        if isinstance(parsed, HelpRequested):
            ack(**replies.help_message(intake.deployments, intake.default.name))
            return
        origin = Origin(
            team_id=str(command.get("team_id") or ""),
            channel_id=str(command.get("channel_id") or ""),
            user_id=str(command.get("user_id") or ""),
            response_url=command.get("response_url") or None,
            trigger_id=command.get("trigger_id") or None,
        )
        try:
            enqueued = intake.submit(parsed, origin)
        except LimitReached as reached:
            log.info("%s blocked by the %s limit", origin.user_id, reached.blocked.limit)
            _answer(ack, replies.limit_reached(reached.blocked))
            return
        except SQLAlchemyError:
            log.exception("could not queue a request from %s", origin.user_id)
            _answer(ack, replies.not_accepted())
            return
        jobs, position = enqueued.jobs, enqueued.position
        if not enqueued.created:
            _answer(ack, replies.already_queued(jobs[0].id))
            return
        deployment = intake.deployment_for(parsed)
        log.info(
            "queued job(s) %s for %s in %s (#%d in line)",
            [j.id for j in jobs],
            origin.user_id,
            origin.channel_id,
            position,
        )
        _answer(ack, replies.queued(parsed, deployment.model, [j.id for j in jobs], position))
