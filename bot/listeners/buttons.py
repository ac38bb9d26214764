"""The buttons on a result: Edit (a modal), Vary, Upscale, Regenerate, Use revised prompt, Delete.

A click is acknowledged at once; the work (reading the job, queueing, opening the modal, deleting)
runs right after. Buttons carry only `job` or `job:image`; everything else is read back from that
job's row, so a click on an image that was deleted gets a plain answer instead of a guess.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from slack_bolt import Ack, Respond
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from bot.images.models import Family
from bot.images.sizes import listed_sizes
from bot.listeners.follow_ups import Asker, FollowUps, thread_of
from bot.replies import modals, notes, requests, results
from bot.request import RequestError
from bot.request.problems import problem_option
from bot.slack.gateway import SlackGateway, SlackRefused
from bot.store.clock import Clock, utc_now
from bot.store.spec import Job
from bot.usage.limits import LimitReached

log = logging.getLogger(__name__)


def clicked(body: dict[str, Any]) -> tuple[str, int | None, int]:
    """(action_id, job id, image index) of a block_actions payload; the job id is None if unreadable."""
    action = (body.get("actions") or [{}])[0]
    job, _, image = str(action.get("value") or "").partition(":")
    try:
        return str(action.get("action_id")), int(job), int(image or 0)
    except ValueError:
        return str(action.get("action_id")), None, 0


def size_hint(family: Family) -> str:
    listed = listed_sizes(family)
    return ", ".join(str(s) for s in listed) if listed else "any WxH in steps of 16, e.g. 1536x864"


class ResultButtons:
    def __init__(
        self,
        follow_ups: FollowUps,
        slack: SlackGateway,
        *,
        is_admin: Callable[[str], bool],
        clock: Clock = utc_now,
    ) -> None:
        self._follow_ups = follow_ups
        self._queue = follow_ups.queue_reader
        self._slack = slack
        self._is_admin = is_admin
        self._clock = clock

    def acknowledge(self, ack: Ack) -> None:
        ack()

    def _job(self, body: dict[str, Any], respond: Respond) -> tuple[str, Job, int] | None:
        action_id, job_id, image = clicked(body)
        job = self._queue.get(job_id) if job_id is not None else None
        if job is None or job.deleted_at is not None:
            respond(notes.job_gone(job_id or 0))
            return None
        return action_id, job, image

    def follow_up(self, body: dict[str, Any], respond: Respond, client: WebClient) -> None:
        """After the ack: a new job from this result, credited to whoever clicked (or the Edit modal)."""
        found = self._job(body, respond)
        if found is None:
            return
        action_id, job, image = found
        user = body.get("user") or {}
        asker = Asker(
            str(user.get("id") or ""),
            str((body.get("team") or {}).get("id") or user.get("team_id") or ""),
            body.get("response_url"),
            body.get("trigger_id"),
        )
        if action_id in (results.EDIT, results.VARY, results.UPSCALE) and not Family.of(job.spec.model).edits:
            respond(notes.cannot_edit(job.spec.model, today=self._clock()))
            return
        if action_id == results.EDIT:
            target = modals.EditTarget(job.id, image, *thread_of(job))
            view = modals.edit(target, size=job.request.size, size_hint=size_hint(Family.of(job.spec.model)))
            try:
                client.views_open(trigger_id=body["trigger_id"], view=view)  # within 3 s of the click
            except SlackApiError as error:
                log.info("could not open the Edit modal: %s", error.response.get("error"))
                respond(notes.modal_failed())
            return
        if not job.prompt_kept and action_id in (results.REGENERATE, results.USE_REVISED):
            respond(notes.prompt_not_kept(job.id))
            return
        if action_id == results.USE_REVISED and not job.revised_prompt:
            respond(notes.no_revised_prompt(job.id))
            return
        try:
            if action_id == results.VARY:
                queued = self._follow_ups.vary(job, image, asker)
            elif action_id == results.UPSCALE:
                queued = self._follow_ups.upscale(job, image, asker)
            else:
                queued = self._follow_ups.again(job, asker, revised=action_id == results.USE_REVISED)
        except LimitReached as reached:
            respond(notes.limit_note(reached.blocked))
            return
        log.info("%s clicked %s on job %d: queued job %d", asker.user_id, action_id, job.id, queued.job.id)
        if queued.created:  # the result appears in the thread; the clicker hears where at once
            respond(notes.follow_up_queued(queued.job.origin.kind, queued.job.id))

    def submit_edit(self, ack: Ack, body: dict[str, Any], view: dict[str, Any]) -> None:
        """The Edit modal: the instruction (and a new size) becomes an edit of that image."""
        target = modals.EditTarget.decode(str(view.get("private_metadata") or ""))
        job = self._queue.get(target.job_id) if target is not None else None
        if target is None or job is None or job.deleted_at is not None:
            ack(**modals.field_errors(modals.PROMPT_BLOCK, "That image no longer exists."))
            return
        values = modals.submitted_values(view)
        text = values.get(modals.PROMPT_BLOCK, "")
        if modals.SIZE_BLOCK in values:
            text += f" --size {values[modals.SIZE_BLOCK]}"
        user = body.get("user") or {}
        asker = Asker(str(user.get("id") or ""), str(user.get("team_id") or ""), None, view.get("id"))
        try:
            queued = self._follow_ups.edit(job, target.image, asker, text)
        except RequestError as error:
            ack(**modals.field_errors(field_for(error), requests.problem_text(error.problem)))
            return
        except LimitReached as reached:
            ack(**modals.field_errors(modals.PROMPT_BLOCK, notes.limit_reached(reached.blocked)))
            return
        if queued is None:
            ack(**modals.field_errors(modals.PROMPT_BLOCK, notes.edit_needs_instruction()))
            return
        ack()
        log.info("%s edited job %d: queued job %d", asker.user_id, job.id, queued.job.id)

    def delete(self, body: dict[str, Any], respond: Respond) -> None:
        """After the ack: the requester or an admin removes the message and every file it shows."""
        found = self._job(body, respond)
        if found is None:
            return
        _, job, _ = found
        clicker = str((body.get("user") or {}).get("id") or "")
        if clicker != job.origin.user_id and not self._is_admin(clicker):
            log.info("%s may not delete job %d of %s", clicker, job.id, job.origin.user_id)
            respond(notes.delete_forbidden(job.origin.user_id, job.id))
            return
        # Each part on its own: files a workspace will not let apps delete must not keep the message up.
        kept_files = None
        try:
            self._slack.delete_files((*job.file_ids, *job.partial_file_ids))
        except SlackRefused as refused:
            log.warning("could not delete the files of job %d: %s", job.id, refused.code)
            kept_files = refused.code
        if job.message_channel and job.message_ts:
            try:
                self._slack.delete_message(job.message_channel, job.message_ts)
            except SlackRefused as refused:
                log.warning("could not delete the message of job %d: %s", job.id, refused.code)
                respond(notes.delete_refused(job.id))
                return
        self._queue.mark_deleted(job.id, clicker)
        log.info("%s deleted job %d", clicker, job.id)
        respond(notes.deleted(job.id) if kept_files is None else notes.deleted_but_files_kept(job.id))


def field_for(error: RequestError) -> str:
    """The modal field a refusal is about: the option it names, else the description."""
    return modals.FIELD_OF_OPTION.get(problem_option(error.problem) or "", modals.PROMPT_BLOCK)
