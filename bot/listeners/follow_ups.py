"""Jobs made from an earlier result (buttons, the Edit modal, a mention in its thread): read back the
result, build the new request, and queue it in the result's thread, credited to whoever asked."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

from bot.images.models import Deployments
from bot.images.request import ImageRequest
from bot.intake import Intake
from bot.jobs.queue import Enqueued, JobQueue
from bot.request import HelpRequested, ParsedRequest
from bot.request.follow_ups import edit_request, upscale_request, vary_request
from bot.store.spec import Job, Origin, OriginKind


@dataclass(frozen=True, slots=True)
class Asker:
    """Who asked, from where, and how to answer them."""

    user_id: str
    team_id: str
    response_url: str | None = None
    dedupe_key: str | None = None


def thread_of(job: Job) -> tuple[str, str | None]:
    """The (channel, thread) where follow-ups of a result go: the result's own thread."""
    if job.message_channel and job.message_ts:
        in_origin = job.message_channel == job.origin.channel_id
        return job.message_channel, (job.origin.thread_ts if in_origin and job.origin.thread_ts else job.message_ts)
    return job.origin.channel_id, job.origin.thread_ts


class FollowUps:
    def __init__(self, intake: Intake) -> None:
        self._intake = intake

    @property
    def queue_reader(self) -> JobQueue:
        return self._intake.queue

    @property
    def deployments(self) -> Deployments:
        return self._intake.deployments

    def _only(self, job: Job) -> Deployments:
        """The result's own deployment: a follow-up is made by the model that made the original."""
        deployment = self.deployments.get_or_default(job.spec.deployment)
        return Deployments({deployment.name: deployment.model})

    def queue(self, kind: OriginKind, job: Job, image: int, asker: Asker, request: ImageRequest) -> Enqueued:
        channel, thread = thread_of(job)
        origin = Origin(
            kind=kind,
            team_id=asker.team_id or job.origin.team_id,
            channel_id=channel,
            user_id=asker.user_id,
            thread_ts=thread,
            response_url=asker.response_url,
            dedupe_key=asker.dedupe_key,
            parent_job_id=job.id,
            parent_image=image if kind.edits else None,
        )
        parsed = ParsedRequest(request, self.deployments.get_or_default(job.spec.deployment).name)
        return self._intake.accept(parsed, origin)

    def again(self, job: Job, asker: Asker, *, revised: bool) -> Enqueued:
        request = job.request
        if revised and job.revised_prompt:
            # The prompt the model used, sent as written: revising it again would drift further.
            request = dataclasses.replace(request, prompt=job.revised_prompt, raw=True)
        return self.queue(OriginKind.REVISED if revised else OriginKind.REGENERATE, job, 0, asker, request)

    def vary(self, job: Job, image: int, asker: Asker) -> Enqueued:
        return self.queue(OriginKind.VARY, job, image, asker, vary_request(job.request))

    def upscale(self, job: Job, image: int, asker: Asker) -> Enqueued:
        return self.queue(
            OriginKind.UPSCALE, job, image, asker, upscale_request(job.request, self.deployments, job.spec.deployment)
        )

    def edit(self, job: Job, image: int, asker: Asker, text: str) -> Enqueued | None:
        """None when the text holds no instruction. Raises RequestError for bad options in it."""
        parsed = edit_request(job.request, text, self._only(job))
        if isinstance(parsed, HelpRequested):
            return None
        return self.queue(OriginKind.EDIT, job, image, asker, parsed.request)
