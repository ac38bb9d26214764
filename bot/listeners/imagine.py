"""The `/imagine` ack path: parse, commit the job, answer. No Slack call and no hand-off before the ack.

`decide` and `answer` are shared by the Bolt listener (Socket Mode, and anything Bolt dispatches) and
the HTTP front's fast path (`bot.web`), which awaits the commit instead of blocking a thread on it.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from concurrent.futures import TimeoutError as FutureTimeout
from dataclasses import dataclass
from datetime import date
from typing import Any

from slack_bolt import Ack

from bot.intake import ACK_WAIT_S, Intake
from bot.jobs.queue import Enqueued
from bot.replies import notes, requests
from bot.replies.text import NO_UNFURL
from bot.request import HelpRequested, Note, RequestError, parse_request
from bot.store.spec import JobSpec, Origin, OriginKind
from bot.usage.limits import LimitReached

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class Reply:
    """Answer at once; nothing is queued."""

    body: dict[str, Any]


@dataclass(frozen=True, slots=True)
class Accept:
    """Commit this job, then answer with its place in line."""

    spec: JobSpec
    notes: tuple[Note, ...]


Decision = Reply | Accept


def private(text: str) -> dict[str, Any]:
    # Private to the requester; links a prompt mentions are not expanded into previews.
    return {"response_type": "ephemeral", "text": text, **NO_UNFURL}


class ImagineCommand:
    def __init__(self, intake: Intake, *, today: Callable[[], date], revising_with: str | None) -> None:
        self._intake = intake
        self._today = today
        self._revising_with = revising_with

    def decide(self, command: Mapping[str, Any]) -> Decision:
        try:
            parsed = parse_request(str(command.get("text") or ""), self._intake.deployments)
        except RequestError as error:
            return Reply(private(requests.request_error(error.problem)))
        if isinstance(parsed, HelpRequested):
            return Reply(
                requests.help_message(self._intake.deployments, today=self._today(), revising_with=self._revising_with)
            )
        origin = Origin(
            kind=OriginKind.COMMAND,
            team_id=str(command.get("team_id") or ""),
            channel_id=str(command.get("channel_id") or ""),
            user_id=str(command.get("user_id") or ""),
            response_url=command.get("response_url") or None,
            dedupe_key=command.get("trigger_id") or None,
        )
        try:
            return Accept(self._intake.prepare(parsed, origin), parsed.notes)
        except LimitReached as reached:
            log.info("%s blocked by the %s limit", origin.user_id, reached.blocked.limit)
            return Reply(private(notes.limit_reached(reached.blocked)))

    def answer(self, accept: Accept, enqueued: Enqueued) -> dict[str, Any]:
        job = enqueued.job
        if not enqueued.created:
            return private(notes.already_queued(job.id))
        in_channel = accept.spec.message_state.value == "pending"
        return private(
            notes.queued(job.id, enqueued.position, accept.notes, in_channel=in_channel, model=accept.spec.model)
        )

    def __call__(self, ack: Ack, command: dict[str, Any]) -> None:
        decision = self.decide(command)
        if isinstance(decision, Reply):
            ack(**decision.body)
            return
        try:
            enqueued = self._intake.submit(decision.spec).result(timeout=ACK_WAIT_S)
        except (FutureTimeout, Exception):
            log.exception("could not queue a request from %s", decision.spec.origin.user_id)
            ack(**private(notes.not_accepted()))
            return
        ack(**self.answer(decision, enqueued))
