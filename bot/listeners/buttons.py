"""The buttons under a result: Regenerate, Use revised prompt, More like this, Delete.

A click is acknowledged at once and, like a command, becomes queued jobs credited to the clicker.
Buttons carry only the job id; everything else is read back from that job's row, so a click on an
image that was deleted (or whose row is gone) gets a plain answer instead of a guess.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import replace
from typing import Any

from slack_bolt import Ack, Respond
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from bot import replies
from bot.intake import Intake, Origin
from bot.jobs.queue import Job
from bot.usage.limits import LimitReached

log = logging.getLogger(__name__)

_KINDS = {replies.REGENERATE: "regenerate", replies.USE_REVISED: "revised", replies.MORE: "more"}


def _clicked(body: dict[str, Any]) -> tuple[str, str, int | None]:
    """(action_id, clicker, job id) of a block_actions payload; the job id is None if unreadable."""
    action = (body.get("actions") or [{}])[0]
    user = str((body.get("user") or {}).get("id") or "")
    try:
        return str(action.get("action_id")), user, int(action.get("value"))
    except (TypeError, ValueError):
        return str(action.get("action_id")), user, None


class VariationButtons:
    """Regenerate, Use revised prompt and More like this: a new job from an earlier one."""

    def __init__(self, intake: Intake) -> None:
        self._intake = intake

    def __call__(self, ack: Ack, body: dict[str, Any], respond: Respond) -> None:
        ack()
        action_id, clicker, job_id = _clicked(body)
        job = self._intake.queue.get(job_id) if job_id is not None else None
        if job is None or job.deleted_at is not None:
            respond(replies.job_gone(job_id or 0))
            return
        if not job.request.prompt or job.request.prompt.startswith("sha256:"):
            respond(replies.prompt_not_kept(job.id))
            return
        request = replace(job.request, deployment=job.deployment, size_note=None)
        if action_id == replies.USE_REVISED:
            if not job.revised_prompt:
                respond(replies.no_revised_prompt(job.id))
                return
            request = replace(request, prompt=job.revised_prompt)
        if action_id == replies.MORE:
            # "More like this" asks for another set the size of the original request.
            request = replace(request, n=max(job.group_size, job.request.n))
        channel = str((body.get("channel") or {}).get("id") or job.channel_id)
        origin = Origin(
            team_id=str((body.get("team") or {}).get("id") or job.team_id),
            channel_id=channel,
            user_id=clicker,
            response_url=body.get("response_url"),
            kind=_KINDS.get(action_id, "regenerate"),
            parent_job_id=job.id,
        )
        try:
            jobs = self._intake.submit(request, origin).jobs
        except LimitReached as reached:
            respond(replies.limit_reached_message(reached.blocked))
            return
        log.info("%s clicked %s on job %d: queued %s", clicker, action_id, job.id, [j.id for j in jobs])


class DeleteButton:
    """Delete: the requester or an admin removes the image and its buttons for everyone."""

    def __init__(self, intake: Intake, *, is_admin: Callable[[str], bool]) -> None:
        self._intake = intake
        self._is_admin = is_admin

    def acknowledge(self, ack: Ack) -> None:
        ack()

    def delete(self, body: dict[str, Any], respond: Respond, client: WebClient) -> None:
        """Runs after the ack (lazily): it calls Slack, which must not delay the answer to the click."""
        _, clicker, job_id = _clicked(body)
        job = self._intake.queue.get(job_id) if job_id is not None else None
        if job is None or job.deleted_at is not None:
            respond(replies.job_gone(job_id or 0))
            return
        if clicker != job.user_id and not self._is_admin(clicker):
            log.info("%s may not delete job %d of %s", clicker, job.id, job.user_id)
            respond(replies.delete_forbidden(job.user_id, job.id))
            return
        self._remove(job, client)
        self._intake.queue.mark_deleted(job.id, clicker)
        log.info("%s deleted job %d", clicker, job.id)
        respond(replies.deleted(job.id))

    def _remove(self, job: Job, client: WebClient) -> None:
        for file_id in job.delivered_file_ids:
            try:
                client.files_delete(file=file_id)
            except SlackApiError as error:
                if error.response.get("error") != "file_not_found":  # already gone is what we wanted
                    raise
        if job.controls_message_ts and job.delivered_channel_id:
            try:
                client.chat_delete(channel=job.delivered_channel_id, ts=job.controls_message_ts)
            except SlackApiError as error:
                if error.response.get("error") != "message_not_found":
                    raise
