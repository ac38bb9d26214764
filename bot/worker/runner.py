"""One job, start to finish: the pictures it starts from, a turn within Azure's quota, the drawing
(with previews shown in the message as they arrive), the images shared into the message's thread,
the message turned into the result, and the row finished. Failures read as failures in the message
and in a private note; retryable ones reschedule the job and free the worker.

Execution is at-least-once (a job whose worker died is claimed again), so every step that reaches
Slack is recorded before the next: uploaded files are reused, a delivered job is not posted twice.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import timedelta

from bot.images.generator import (
    ContentRejected,
    ImageGenerationError,
    ImageGenerator,
    ImageResult,
    PartialImage,
)
from bot.images.pricing import PriceTable
from bot.images.request import InputImage
from bot.jobs.pacing import Pacer
from bot.jobs.queue import JobQueue, Outcome
from bot.jobs.retry import RetryPolicy
from bot.logs import job_context
from bot.replies import notes, results
from bot.slack.gateway import FileProblem, FileUnusable, SlackGateway, SlackRefused
from bot.store.clock import Clock, utc_now
from bot.store.spec import Job, MessageState, Status
from bot.worker import outcomes
from bot.worker.messages import Messages, Place, to_post
from bot.worker.turns import Beside, wait_for_turn

log = logging.getLogger(__name__)

# How long a preview waits for the "Drawing" update it must follow (the stream buffers meanwhile). On
# Azure the first preview comes seconds after the call, long after that update has landed.
_PREVIEW_WAITS_S = 2.0


class LeaseLost(Exception):
    """The job was released or taken over while this worker was still at it."""


@dataclass(frozen=True, slots=True)
class RunnerSettings:
    deadline: timedelta = timedelta(minutes=30)
    still_drawing_after_s: float = 20.0  # a private "still drawing" note, when progress is private
    hash_prompts: bool = False
    previews: bool = True


class JobRunner:
    def __init__(
        self,
        queue: JobQueue,
        generators: Mapping[str, ImageGenerator],
        slack: SlackGateway,
        *,
        owner: str,
        policy: RetryPolicy,
        prices: PriceTable,
        revises: Callable[[str], bool],
        pacer: Pacer | None = None,
        settings: RunnerSettings = RunnerSettings(),
        clock: Clock = utc_now,
        stopping: threading.Event | None = None,
    ) -> None:
        if not generators:
            raise ValueError("at least one generator is needed")
        self._queue = queue
        self._generators = generators
        self._slack = slack
        self._messages = Messages(queue, slack, owner=owner)
        self._owner = owner
        self._policy = policy
        self._prices = prices
        self._revises = revises
        self._pacer = pacer
        self._settings = settings
        self._clock = clock
        self._stopping = stopping or threading.Event()
        # Threads for the Slack updates sent beside a drawing (`Beside`), one per drawing at most
        # (WORKER_CONCURRENCY is at most 64); started only as updates overlap.
        self._helpers = ThreadPoolExecutor(max_workers=64, thread_name_prefix="beside")

    def run(self, job: Job) -> None:
        with job_context(job.id):
            try:
                self._run(job)
            except Exception:
                log.exception("job crashed; marking it failed")
                self._fail(job, results.Failed(results.Failure.INTERNAL), "internal_error", "unexpected exception")

    def _run(self, job: Job) -> None:
        if job.delivered_at is not None:
            log.info("already delivered before a restart; finishing without posting again")
            self._finish(job, outcomes.succeeded(job, None, self._prices, job.revised_prompt))
            return
        if job.attempts > self._policy.max_attempts:
            # Claimed again and again by workers that died mid-job: stop before it takes more down.
            self._fail(job, results.Failed(results.Failure.INTERNAL), "too_many_attempts", "worker died repeatedly")
            return
        place = self._messages.current(job)
        if job.file_ids:  # shared already (a worker died after it, or Slack did not take the result): show them
            log.info("reusing the %d image(s) uploaded by an earlier attempt", len(job.file_ids))
            self._deliver(job, place, job.file_ids, job.revised_prompt, None)
            return
        if self._clock() > job.created_at + self._settings.deadline:
            # Better a clear "gave up" than an image turning up hours after the conversation moved on.
            minutes = round(self._settings.deadline.total_seconds() / 60)
            self._fail(job, results.Failed(results.Failure.TOO_LATE, minutes=minutes), "deadline_exceeded", "too old")
            return
        try:
            inputs = [self._slack.download(file_id) for file_id in self._sources(job)]
        except SlackRefused as refused:
            self._on_slack_refusal(job, refused, "the picture to start from", results.Failure.SOURCE_REFUSED)
            return
        except FileUnusable as unusable:
            log.info("cannot use the picture to start from: %s", unusable)
            failed = results.Failed(outcomes.SOURCE_FAILURES[unusable.problem])
            self._fail(job, failed, f"source_{unusable.problem}", unusable.detail)
            return
        if _unshown(job):  # previews of an attempt that died with its worker (the row as just claimed)
            self._clean_partials(job)
        place, result = self._turn_and_draw(job, place, inputs)
        if result is None:
            self._queue.release(self._owner, [job.id])  # shutting down: another worker takes it
            return
        if isinstance(result, ImageGenerationError):
            self._on_error(job, place, result)
            return
        log.info("drew %d image(s) in %d ms", len(result.images), result.latency_ms)
        self._upload_and_deliver(job, place, result)

    # --- the steps ----------------------------------------------------------------------------

    def _sources(self, job: Job) -> tuple[str, ...]:
        """The Slack files an edit starts from: someone's pictures, or the parent result's image."""
        if job.origin.source_files:
            return job.origin.source_files
        if job.origin.kind.edits and job.origin.parent_job_id is not None:
            parent = self._queue.get(job.origin.parent_job_id)
            if parent is None or not parent.file_ids or parent.deleted_at is not None:
                raise FileUnusable(FileProblem.GONE, f"job {job.origin.parent_job_id} has no image")
            index = job.origin.parent_image or 0
            return (parent.file_ids[min(index, len(parent.file_ids) - 1)],)
        return ()

    def _turn_and_draw(
        self, job: Job, place: Place | None, inputs: list[InputImage]
    ) -> tuple[Place | None, ImageResult | ImageGenerationError | None]:
        """The quota turn and the drawing (None when the worker is stopping), and where the message is now.

        "Drawing" goes to Slack beside them (`Beside`), not before: a slow or rate-limited Slack never
        delays the call. A message this worker is to post (`to_post`: an idle worker took the job as it
        came) is posted so, saying "Drawing" at once; or first as queued, when the quota's slot is a while
        off. This returns only once that update is done, so nothing the job shows afterwards (the result,
        a retry, a failure) can be covered by it.
        """
        drawing: Beside[Place | None] = Beside(self._helpers, job.id)

        def queued(wait_s: float) -> None:
            if place is None and to_post(job):  # the calls before its slot are the jobs ahead of it
                ahead = round(wait_s / self._pacer.interval_s) if self._pacer is not None else 0
                drawing.start(lambda _: self._messages.open(job, results.Queued(max(1, ahead))))

        def announce() -> None:
            drawing.start(lambda posted: self._messages.start_drawing(job, posted or place))

        result: ImageResult | ImageGenerationError | None = None
        try:
            now = lambda: self._clock().timestamp()  # noqa: E731
            if wait_for_turn(self._pacer, self._stopping, announce, waiting=queued, now=now):
                log.info("drawing (attempt %d, %s, %s)", job.attempts, job.spec.model, job.request.options_summary())
                try:
                    result = self._draw(job, place, inputs, drawing)
                except ImageGenerationError as error:
                    result = error
        finally:
            shown = drawing.wait()
        return shown or place, result

    def _draw(
        self, job: Job, place: Place | None, inputs: list[InputImage], drawing: Beside[Place | None]
    ) -> ImageResult:
        generator = self._generators.get(job.spec.deployment) or next(iter(self._generators.values()))
        in_channel = place is not None or to_post(job)
        # Previews for one image at a time: the stream of a single drawing (docs/contracts/azure-openai-images.md §4).
        wanted = in_channel and self._settings.previews and job.request.n == 1
        on_partial = self._preview(job, place, drawing) if wanted else None
        # Slow models take a minute or more: when progress is private, one "still drawing" note.
        still = self._messages.still_drawing(job, self._settings.still_drawing_after_s)
        if not in_channel:
            still.start()
        try:
            if job.origin.kind.edits:
                return generator.edit(job.request, inputs, on_partial=on_partial)
            return generator.generate(job.request, on_partial=on_partial)
        finally:
            still.cancel()

    def _preview(self, job: Job, known: Place | None, drawing: Beside[Place | None]) -> Callable[[PartialImage], None]:
        shown: list[str] = []

        def show(partial: PartialImage) -> None:
            if not drawing.landed(_PREVIEW_WAITS_S):
                # The "Drawing" update, still on its way, would cover the preview; waiting longer for a
                # slow Slack would stall the stream this came from.
                log.info("preview %d skipped: the message does not say Drawing yet", partial.index)
                return
            place = drawing.wait() or known  # landed: no wait
            if place is None:
                log.info("preview %d skipped: the job's message could not be posted", partial.index)
                return
            # Any failure here is logged by the generator and the drawing goes on (a preview never
            # costs the final image).
            # Recorded before it is shared: if this worker dies now, the job's next attempt deletes it.
            # If the job was released (shutdown) or taken over meanwhile, it is not shared at all.
            if not self._slack.pacing.ready(place.channel_id, spare=1):
                # Sharing is a new message in the channel (Slack's pace, about one a second): a preview
                # goes only when the final image could still follow at once. Waiting here would also
                # stall the stream it came from.
                log.info("preview %d skipped: the channel's pace is kept for the image", partial.index)
                return
            try:
                file_ids = self._messages.share(
                    job,
                    place,
                    (partial.image,),
                    stem=f"imagine-{job.id}-preview-{partial.index}",
                    reserved=lambda ids: self._record_pending(job, [*shown, *ids]),
                )
            except LeaseLost:
                log.info("the job was released while drawing; preview %d not shown", partial.index)
                return
            shown.extend(file_ids)
            self._messages.show(job, place, results.Drawing(file_ids[0]), files_just_shared=True)

        return show

    def _upload_and_deliver(self, job: Job, place: Place | None, result: ImageResult) -> None:
        # A worker stalled past its lease must not post what the job's new owner will post too.
        if (fresh := self._queue.held(job.id, self._owner)) is None:
            log.warning("lost the job's lease while drawing; its new owner will post it")
            return
        # The images are recorded as the attempt's, to be cleaned if it dies, before they are shared: a
        # worker killed between the share and `record_files` must not leave a second copy in the thread.
        pending = _unshown(fresh)
        reserved = lambda ids: self._record_pending(job, [*pending, *ids])  # noqa: E731
        try:
            place = self._messages.ensure(job, results.Drawing()) if place is None else place
            try:
                file_ids = self._messages.share(job, place, result.images, stem=f"imagine-{job.id}", reserved=reserved)
            except SlackRefused as refused:
                if not refused.channel_refused or place.direct:
                    raise
                place = self._messages.move_to_dm(job, place, refused.code)
                file_ids = self._messages.share(job, place, result.images, stem=f"imagine-{job.id}", reserved=reserved)
        except SlackRefused as refused:
            self._on_slack_refusal(job, refused, "the images", results.Failure.UNDELIVERABLE)
            return
        except LeaseLost:
            log.warning("lost the job's lease before sharing its images; its new owner will post it")
            return
        self._queue.record_files(job.id, self._owner, file_ids, outcomes.succeeded(job, result, self._prices))
        self._deliver(job, place, file_ids, result.revised_prompt, result)

    def _deliver(
        self, job: Job, place: Place | None, file_ids: tuple[str, ...], revised: str | None, result: ImageResult | None
    ) -> None:
        if place is None:
            place = self._messages.ensure(job, results.Drawing())
        parent = self._messages.parent_link(job)
        revision = outcomes.revision_of(job, revised, revises=self._revises(job.spec.deployment))
        finished = results.Finished(file_ids, revised, revision, parent)
        try:
            place = self._messages.show_result(job, place, finished)
            shown = True
        except SlackRefused as refused:
            # The images are shared and recorded: a later attempt only has to show them (`job.file_ids`).
            if (delay := self._policy.delay(job.attempts, None)) is not None:
                log.warning("Slack did not take the result (%s); showing it again in %.0f s", refused.code, delay)
                self._queue.reschedule(job.id, self._owner, delay, f"slack_{refused.code}", "result not shown yet")
                return
            log.error("Slack did not take the result (%s) by attempt %d; its images are in the thread",
                      refused.code, job.attempts)  # fmt: skip
            shown = False
        if shown:  # else the message still shows the preview: it stays rather than show a deleted file
            # Read afresh: the ids the job was claimed with are an earlier attempt's, cleaned before drawing.
            self._clean_partials(job)
        self._queue.record_delivery(job.id, self._owner)
        self._finish(job, outcomes.succeeded(job, result, self._prices, revised))
        log.info("delivered %d image(s) to %s", len(file_ids), place.channel_id)
        if place.refusal is not None:
            self._messages.tell(job, notes.posted_by_dm(job.origin.channel_id, place.refusal, job.id), final=True)
        elif (
            not shown  # the message still says "Drawing": the requester learns where the image is
            or job.message_state is MessageState.PRIVATE
            or job.spec.message_state is MessageState.PRIVATE
        ):
            link = self._slack.permalink(place.channel_id, place.ts)
            elapsed = (self._clock() - job.created_at).total_seconds()
            self._messages.tell(
                job,
                notes.delivered(job.id, place.channel_id, permalink=link, elapsed_s=elapsed, by_dm=False),
                final=True,
            )

    def _partials(self, job: Job) -> tuple[str, ...]:
        fresh = self._queue.get(job.id)
        return _unshown(fresh) if fresh is not None else ()

    def _record_pending(self, job: Job, file_ids: list[str]) -> None:
        if not self._queue.record_partials(job.id, self._owner, file_ids):
            raise LeaseLost(job.id)

    # --- when things go wrong -----------------------------------------------------------------

    def _on_error(self, job: Job, place: Place | None, error: ImageGenerationError) -> None:
        self._clean_partials(job)
        retry_after = getattr(error, "retry_after", None)
        delay = self._policy.delay(job.attempts, retry_after) if error.retryable else None
        if delay is not None and self._clock() + timedelta(seconds=delay) > job.created_at + self._settings.deadline:
            log.warning("the next attempt would fall after the deadline; giving up now")
            delay = None
        if delay is not None:
            log.warning("%s; retrying in %.1f s (%s)", error.code, delay, error.detail)
            if self._queue.reschedule(job.id, self._owner, delay, error.code, error.detail):
                at = self._clock() + timedelta(seconds=delay)
                rate_limited = error.code == "rate_limited"
                self._messages.progress(job, place, results.Retrying(at, rate_limited))
                if place is None:
                    self._messages.tell(job, notes.retrying(job.id, at, rate_limited=rate_limited), final=False)
            return
        if isinstance(error, ContentRejected):
            log.info("%s after %d attempt(s): %s", error.code, job.attempts, error.detail)
        else:  # the operator's line: the deployment, and Azure's code in the detail
            log.error("%s on deployment %s after %d attempt(s): %s",
                      error.code, job.spec.deployment, job.attempts, error.detail)  # fmt: skip
        status = Status.REJECTED if isinstance(error, ContentRejected) else Status.FAILED
        state = results.Failed(outcomes.failure_of(error), job.spec.deployment, job.attempts)
        self._fail(job, state, error.code, error.detail, status=status, place=place)

    def _on_slack_refusal(self, job: Job, refused: SlackRefused, what: str, failure: results.Failure) -> None:
        code, detail = f"slack_{refused.code}", f"Slack refused {what}: {refused.code}"
        delay = self._policy.delay(job.attempts, None) if refused.retryable else None
        if delay is not None:
            log.warning("Slack refused %s (%s); retrying in %.1f s", what, refused.code, delay)
            self._queue.reschedule(job.id, self._owner, delay, code, detail)
            return
        log.error("Slack refused %s for good: %s", what, refused)  # with the scope it needs, if that is why
        self._fail(job, results.Failed(failure), code, detail)

    def _fail(
        self,
        job: Job,
        state: results.Failed,
        code: str,
        detail: str,
        *,
        status: Status = Status.FAILED,
        place: Place | None = None,
    ) -> None:
        self._clean_partials(job)
        self._messages.show_failure(job, place, state)
        self._finish(job, outcomes.failed(status, code, detail))
        self._messages.tell(job, notes.failed(job.id, state), final=True)

    def _clean_partials(self, job: Job) -> None:
        partials = self._partials(job)
        if partials:  # no preview outlives its job
            try:
                self._slack.delete_files(partials)
                self._queue.record_partials(job.id, self._owner, ())
            except SlackRefused as refused:
                log.warning("could not delete the previews (%s)", refused.code)

    def _finish(self, job: Job, outcome: Outcome) -> None:
        if self._settings.hash_prompts:
            outcome = outcomes.hashed(outcome, job.request.prompt)
        if not self._queue.finish(job.id, self._owner, outcome):
            log.warning("lease lost before finishing as %s; another worker owns the job now", outcome.status)


def _unshown(job: Job) -> tuple[str, ...]:
    """Files the job's attempts shared that its result does not show (previews, orphans)."""
    return tuple(f for f in job.partial_file_ids if f not in job.file_ids)
