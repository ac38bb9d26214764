"""A job's message in Slack, as the worker sees it: where it is, showing a state in it, sharing images
into its thread, and private notes to the requester. A channel that refuses the message (or its files)
gets the result sent to the requester by direct message instead, with the reason in words."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from bot.images.generator import GeneratedImage
from bot.jobs.queue import JobQueue
from bot.replies import notes, results
from bot.replies.text import plain
from bot.slack.gateway import SlackGateway, SlackRefused, Upload
from bot.store.spec import Job, MessageState, OriginKind

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class Place:
    """Where a job's message is, and the thread its files go in."""

    channel_id: str
    ts: str
    thread_ts: str
    refusal: str | None = None  # Slack's code when the channel refused, and this is a direct message instead

    @property
    def direct(self) -> bool:
        return self.refusal is not None


class Messages:
    def __init__(self, queue: JobQueue, slack: SlackGateway, *, owner: str) -> None:
        self._queue = queue
        self._slack = slack
        self._owner = owner

    def current(self, job: Job) -> Place | None:
        """The message if it is posted."""
        if job.message_state is not MessageState.POSTED or not job.message_channel or not job.message_ts:
            return None
        if job.message_channel != job.origin.channel_id:
            return Place(job.message_channel, job.message_ts, job.message_ts, job.channel_refusal or "not_in_channel")
        return Place(job.message_channel, job.message_ts, job.origin.thread_ts or job.message_ts)

    def show(self, job: Job, place: Place | None, state: results.State, *, files_just_shared: bool = False) -> bool:
        """Update the message in place; False (logged) if Slack would not. Progress never fails a job."""
        if place is None:
            return False
        try:
            self._slack.update(
                place.channel_id, place.ts, results.channel_message(job, state), files_just_shared=files_just_shared
            )
            return True
        except SlackRefused as refused:
            log.warning("could not update the message (%s)", refused.code)
            return False

    def progress(self, job: Job, place: Place | None, state: results.State) -> None:
        """The job's state in its message; without one, a private note when the drawing first starts."""
        if place is not None:
            self.show(job, place, state)
        elif isinstance(state, results.Drawing) and job.attempts == 1:
            self.tell(job, notes.generating(job.id, job.request.prompt), final=False)

    def start_drawing(self, job: Job, place: Place | None) -> Place | None:
        """The message says "Drawing"; if this worker is to post it (`JobQueue.claim`), it is posted so."""
        if place is None and to_post(job):
            return self.open(job, results.Drawing())
        self.progress(job, place, results.Drawing())
        return place

    def open(self, job: Job, state: results.State) -> Place | None:
        """Post the message this worker claimed with its job; None (logged) if Slack takes it nowhere now:
        the result posts it then (`ensure`)."""
        try:
            return self.ensure(job, state)
        except SlackRefused as refused:
            log.warning("could not post its message yet (%s); the result will be", refused.code)
            return None

    def show_failure(self, job: Job, place: Place | None, state: results.Failed) -> None:
        """The failure in the job's message: the one the caller knows, else the one the row has now (a
        step beside the drawing may have posted it); a message this worker was still to post goes up
        saying what failed."""
        if place is None:
            now = self._queue.get(job.id) or job
            place = self.current(now)
            if place is None and to_post(now):
                self.open(now, state)
                return
        self.progress(job, place, state)

    def still_drawing(self, job: Job, after_s: float) -> threading.Timer:
        """A private "still drawing" note after `after_s`, for the caller to start (progress that is
        private) and cancel when the drawing ends."""

        def tell() -> None:
            self.tell(job, notes.still_generating(job.id, job.request.prompt, after_s), final=False)

        timer = threading.Timer(after_s, tell)
        timer.daemon = True
        return timer

    def parent_link(self, job: Job) -> str | None:
        """A link to what an edit started from: someone's message, or the parent job's."""
        if job.origin.source_message:
            channel_id, _, ts = job.origin.source_message.partition(":")
            return self._slack.permalink(channel_id, ts)
        if job.origin.parent_job_id is not None:
            parent = self._queue.get(job.origin.parent_job_id)
            if parent is not None and parent.message_channel and parent.message_ts:
                return self._slack.permalink(parent.message_channel, parent.message_ts)
        return None

    def show_result(self, job: Job, place: Place, state: results.Finished) -> Place:
        """The result in its message; if someone deleted that message meanwhile, in a new one beside its files.
        Raises SlackRefused when Slack may take it later (its 5xx, or still rate-limited)."""
        try:
            self._slack.update(place.channel_id, place.ts, results.channel_message(job, state), files_just_shared=True)
            return place
        except SlackRefused as refused:
            if refused.retryable:
                raise
            if refused.code not in ("message_not_found", "cant_update_message"):
                log.warning("could not show the result in its message (%s); the images are in its thread", refused.code)
                return place
        log.info("the message was deleted while the image was drawn; posting the result anew")
        # A deleted thread root leaves its replies (the files) in place; the new post goes beside it.
        thread = None if place.thread_ts == place.ts else place.thread_ts
        channel, ts = self._slack.post(place.channel_id, results.channel_message(job, state), thread_ts=thread)
        self._queue.set_message(job.id, self._owner, MessageState.POSTED, channel, ts)
        return Place(channel, ts, place.thread_ts, place.refusal)

    def ensure(self, job: Job, state: results.State) -> Place:
        """The message, posted now if it is not yet (private progress, or a refused channel → DM).
        Raises SlackRefused when Slack takes it nowhere."""
        place = self.current(job)
        if place is not None:
            return place
        if job.message_state is not MessageState.UNPOSTABLE:
            try:
                return self._post(job, job.origin.channel_id, job.origin.thread_ts, state)
            except SlackRefused as refused:
                if refused.retryable:
                    raise
                # As the announcer does: a refusal that would stand on the next try sends the result to the
                # requester instead of failing a job whose image is (or will be) drawn.
                log.warning("Slack refused the message in the channel (%s); the result goes by direct message",
                            refused.code)  # fmt: skip
                self._queue.set_message(job.id, self._owner, MessageState.UNPOSTABLE, refusal=refused.code)
                return self._post(job, self._slack.open_dm(job.origin.user_id), None, state, refused.code)
        return self._post(job, self._slack.open_dm(job.origin.user_id), None, state, job.channel_refusal or "refused")

    def move_to_dm(self, job: Job, place: Place, reason: str) -> Place:
        """The channel took the message but not its files: say so there, and post the result by DM."""
        note = results.Failed(results.Failure.UNDELIVERABLE)
        self.show(job, place, note)
        log.warning("the channel refused the images (%s); sending them by direct message", reason)
        self._queue.set_message(job.id, self._owner, MessageState.UNPOSTABLE, refusal=reason)
        return self._post(job, self._slack.open_dm(job.origin.user_id), None, results.Drawing(), reason)

    def _post(
        self, job: Job, channel_id: str, thread_ts: str | None, state: results.State, refusal: str | None = None
    ) -> Place:
        channel, ts = self._slack.post(channel_id, results.channel_message(job, state), thread_ts=thread_ts)
        self._queue.set_message(job.id, self._owner, MessageState.POSTED, channel, ts)
        return Place(channel, ts, thread_ts or ts, refusal)

    def share(
        self,
        job: Job,
        place: Place,
        images: tuple[GeneratedImage, ...],
        *,
        stem: str,
        reserved: Callable[[tuple[str, ...]], None],
    ) -> tuple[str, ...]:
        """Upload the images into the message's thread, where its viewers can see them; `reserved` gets
        their ids before they are shared (SlackGateway.upload)."""
        title = job.request.prompt if len(job.request.prompt) <= 80 else job.request.prompt[:79] + "…"
        uploads = [
            Upload(
                image.content,
                f"{stem}-{index + 1}.{image.extension}" if len(images) > 1 else f"{stem}.{image.extension}",
                plain(title),
                plain(job.request.prompt)[:1000],  # files.getUploadURLExternal's alt_txt limit
            )
            for index, image in enumerate(images)
        ]
        return self._slack.upload(place.channel_id, place.thread_ts, uploads, reserved=reserved)

    def tell(self, job: Job, message: dict[str, Any], *, final: bool) -> None:
        """A private note to the requester: through the job's response_url while Slack takes it, else
        ephemeral in the channel."""
        is_command = job.origin.kind in (OriginKind.COMMAND, OriginKind.SHORTCUT)
        message = {**message, "replace_original": is_command}  # a button's URL belongs to a shared message
        # Slack allows five posts per response_url; progress never takes the one the outcome needs.
        url = job.origin.response_url
        if url and not self._queue.use_response_url(job.id, final=final):
            if not final:
                return
            url = None
        self._slack.tell(
            response_url=url, channel_id=job.origin.channel_id, user_id=job.origin.user_id, message=message
        )


def to_post(job: Job) -> bool:
    """Whether the worker that claimed this job is to post its message (a running job's `POSTING`)."""
    return job.message_state is MessageState.POSTING
