"""The `/imagine` ack path: parse, insert one row, answer. No HTTP call and no hand-off before the ack."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from slack_bolt import Ack
from sqlalchemy.exc import SQLAlchemyError

from bot import replies
from bot.jobs.queue import JobQueue, NewJob
from bot.request import Family, HelpRequested, RequestError, parse_request

log = logging.getLogger(__name__)


class ImagineCommand:
    def __init__(
        self,
        queue: JobQueue,
        *,
        model: str,
        deployment: str,
        on_enqueued: Callable[[], None] = lambda: None,
    ) -> None:
        self._queue = queue
        self._model = model
        self._family = Family.of(model)
        self._deployment = deployment
        self._on_enqueued = on_enqueued

    def __call__(self, ack: Ack, command: dict[str, Any]) -> None:
        try:
            parsed = parse_request(str(command.get("text") or ""), self._family)
        except RequestError as error:
            ack(text=replies.request_error(error), response_type="ephemeral")
            return
        if isinstance(parsed, HelpRequested):
            ack(text=replies.help_text(self._family, self._model), response_type="ephemeral")
            return
        new = NewJob(
            team_id=str(command.get("team_id") or ""),
            channel_id=str(command.get("channel_id") or ""),
            user_id=str(command.get("user_id") or ""),
            response_url=command.get("response_url") or None,
            trigger_id=command.get("trigger_id") or None,
            request=parsed,
            model=self._model,
            deployment=self._deployment,
        )
        try:
            job, created = self._queue.enqueue(new)
        except SQLAlchemyError:
            log.exception("could not queue a request from %s", new.user_id)
            ack(text=replies.not_accepted(), response_type="ephemeral")
            return
        if not created:
            ack(text=replies.already_queued(job.id), response_type="ephemeral")
            return
        log.info("queued job %d for %s in %s", job.id, new.user_id, new.channel_id)
        ack(text=replies.queued(parsed, self._model, job.id), response_type="ephemeral")
        self._on_enqueued()
