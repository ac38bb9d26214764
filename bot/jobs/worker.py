"""Workers: claim a due job, generate its images, deliver them once, record how it ended.

Execution is at-least-once (a job whose worker died is claimed again once its lease runs out), so
delivery is guarded: `record_delivery` is committed right after the upload and before `finish`, and a
reclaimed job that was already delivered is finished without posting again. Retryable failures put
the job back in the queue with a `not_before` and free the worker at once: nothing sleeps in a slot.
"""

from __future__ import annotations

import hashlib
import logging
import os
import socket
import threading
import time
import uuid
from collections.abc import Callable, Mapping
from dataclasses import replace
from datetime import timedelta
from decimal import Decimal

from bot import replies
from bot.delivery import DeliveryFailed, SlackDelivery
from bot.images import ContentRejected, ImageGenerationError, ImageGenerator, ImageResult
from bot.jobs.queue import Job, JobQueue, Outcome, utc_now
from bot.jobs.ratelimit import SharedRateLimit
from bot.jobs.retry import RetryPolicy
from bot.logs import job_context
from bot.usage.models import Status
from bot.usage.pricing import PriceTable

log = logging.getLogger(__name__)


class JobRunner:
    """Runs one claimed job to its next state. Never raises: every failure is recorded on the row."""

    def __init__(
        self,
        queue: JobQueue,
        generators: Mapping[str, ImageGenerator],
        delivery: SlackDelivery,
        *,
        policy: RetryPolicy,
        owner: str,
        deadline: timedelta = timedelta(minutes=30),
        prices: PriceTable | None = None,
        group_wait_s: float = 20.0,
        hash_prompts: bool = False,
        still_generating_after_s: float = 20.0,
    ) -> None:
        self._still_generating_after_s = still_generating_after_s
        self._hash_prompts = hash_prompts
        self._group_wait_s = group_wait_s
        if not generators:
            raise ValueError("at least one generator is needed")
        self._deadline = deadline
        self._queue = queue
        self._generators = generators
        self._prices = prices or PriceTable()
        self._delivery = delivery
        self._policy = policy
        self._owner = owner

    def run(self, job: Job) -> None:
        with job_context(job.id):
            try:
                self._run(job)
            except Exception:
                log.exception("job crashed; marking it failed")
                self._finish(job, Outcome(Status.FAILED, "internal_error", "unexpected exception, see log"))
                self._tell(job, replies.internal_error(job.id), final=True)

    def _run(self, job: Job) -> None:
        if job.delivered_at is not None:
            log.info("already delivered before a restart; finishing without posting again")
            self._finish(job, Outcome(Status.SUCCEEDED, revised_prompt=job.revised_prompt))
            return
        if utc_now() > job.created_at + self._deadline:
            # Better a clear "gave up" than an image turning up hours after the conversation moved on.
            log.warning("not delivered within %s of the request; failing", self._deadline)
            self._finish(job, Outcome(Status.FAILED, "deadline_exceeded", f"older than {self._deadline}"))
            self._tell(job, replies.too_late(job.id, self._deadline), final=True)
            return
        if job.attempts > self._policy.max_attempts:
            # Claimed again and again by workers that died mid-job: stop before it takes more down.
            log.error("attempt %d exceeds the limit of %d; failing", job.attempts, self._policy.max_attempts)
            self._finish(job, Outcome(Status.FAILED, "too_many_attempts", "worker died repeatedly"))
            self._tell(job, replies.internal_error(job.id), final=True)
            return
        log.info("generating (attempt %d, %s, %s)", job.attempts, job.model, job.request.options_summary())
        if job.attempts == 1 and job.group_index == 1:
            # One progress line per request: a group of four shares its requester's response_url.
            self._tell(job, replies.generating(job.request, job.id), final=False)
        generator = self._generators.get(job.deployment) or next(iter(self._generators.values()))
        # Slow models take a minute or more: one "still generating" line keeps the requester informed.
        still = threading.Timer(
            self._still_generating_after_s,
            lambda: self._tell(
                job, replies.still_generating(job.request, job.id, self._still_generating_after_s), final=False
            ),
        )
        still.daemon = True
        if job.group_index == 1:
            still.start()
        try:
            result = generator.generate(job.request)
        except ImageGenerationError as error:
            self._on_generation_error(job, error)
            return
        finally:
            still.cancel()
        log.info("generated %d image(s) in %d ms", len(result.images), result.latency_ms)
        self._deliver(job, result)

    def _deliver(self, job: Job, result: ImageResult) -> None:
        thread_ts = self._group_thread(job)
        try:
            delivered = self._delivery.post_images(
                channel_id=job.channel_id,
                user_id=job.user_id,
                images=result.images,
                comment=replies.image_comment(job.user_id, job.request, job.model, result),
                title=replies.image_title(job.request),
                alt_text=replies.alt_text(job.request),
                stem=f"imagine-{job.id}",
                thread_ts=thread_ts,
            )
        except DeliveryFailed as failure:
            self._on_delivery_failure(job, failure)
            return
        if not self._queue.record_delivery(
            job.id, self._owner, delivered.channel_id, delivered.file_ids, delivered.message_ts
        ):
            log.warning("lease lost before the delivery was recorded; another worker owns the job now")
        group_note = f"image {job.group_index} of {job.group_size}" if job.group_size > 1 else None
        controls_ts = self._delivery.post_controls(
            delivered.channel_id,
            replies.controls(job.id, has_revised_prompt=bool(result.revised_prompt), group_note=group_note),
            thread_ts if delivered.channel_id == job.channel_id else None,
        )
        if controls_ts:
            self._queue.record_controls(job.id, controls_ts)
        usage = result.usage
        self._finish(
            job,
            Outcome(
                Status.SUCCEEDED,
                revised_prompt=result.revised_prompt,
                azure_latency_ms=result.latency_ms,
                input_tokens=usage.input_tokens if usage else None,
                output_tokens=usage.output_tokens if usage else None,
                total_tokens=usage.total_tokens if usage else None,
                estimated_cost_usd=self._prices.estimate(
                    job.model, job.request.size, job.request.quality, len(result.images)
                ),
            ),
        )
        log.info("delivered %d file(s) to %s", len(delivered.file_ids), delivered.channel_id)
        if delivered.redirected_because:
            message = replies.not_postable(job.channel_id, delivered.redirected_because, job.id)
        else:
            link = (
                self._delivery.permalink(delivered.channel_id, delivered.message_ts) if delivered.message_ts else None
            )
            message = replies.delivered(
                delivered.channel_id,
                job.id,
                fallback_dm=False,
                group_note=group_note,
                link=link,
                elapsed_s=(utc_now() - job.created_at).total_seconds(),
            )
        self._tell(job, message, final=True)

    def _group_thread(self, job: Job) -> str | None:
        """The rest of a group goes in the thread of its first image, so `--n 4` reads as one post.

        The first job of a group is always claimed first, so the others, already holding their
        image, wait a little for its post. Bounded: if the first is slow or failed, they post anyway.
        """
        if job.group_id is None or job.group_index == 1:
            return None
        deadline = time.monotonic() + self._group_wait_s
        while True:
            thread_ts = self._queue.group_thread(job.group_id, job.channel_id)
            first = self._queue.get(job.group_id)
            if thread_ts or first is None or first.status.is_final or time.monotonic() >= deadline:
                return thread_ts
            time.sleep(0.25)

    def _on_generation_error(self, job: Job, error: ImageGenerationError) -> None:
        retry_after = getattr(error, "retry_after", None)
        delay = self._policy.delay(job.attempts, retry_after) if error.retryable else None
        if delay is not None and utc_now() + timedelta(seconds=delay) > job.created_at + self._deadline:
            log.warning("the next attempt would fall after the deadline; giving up now")
            delay = None
        if delay is not None:
            log.warning("%s; retrying in %.1f s (%s)", error.code, delay, error.detail)
            if self._queue.reschedule(job.id, self._owner, delay, error.code, error.detail):
                at = utc_now() + timedelta(seconds=delay)
                self._tell(job, replies.retrying(error, at, job.id), final=False)
            return
        status = Status.REJECTED if isinstance(error, ContentRejected) else Status.FAILED
        level = logging.INFO if status is Status.REJECTED else logging.ERROR
        log.log(level, "%s after %d attempt(s): %s", error.code, job.attempts, error.detail)
        self._finish(job, Outcome(status, error.code, error.detail, estimated_cost_usd=None))
        self._tell(job, replies.failed(error, job.id, job.attempts), final=True)

    def _on_delivery_failure(self, job: Job, failure: DeliveryFailed) -> None:
        code = f"slack_{failure.reason}"
        delay = self._policy.delay(job.attempts, None) if failure.retryable else None
        if delay is not None:
            log.warning("Slack refused the upload (%s); retrying in %.1f s", failure.reason, delay)
            self._queue.reschedule(job.id, self._owner, delay, code, f"upload failed: {failure.reason}")
            return
        log.error("Slack refused the upload for good: %s", failure.reason)
        self._finish(job, Outcome(Status.FAILED, code, f"upload failed: {failure.reason}"))
        self._tell(job, replies.undeliverable(failure.reason, job.id), final=True)

    def _finish(self, job: Job, outcome: Outcome) -> None:
        if outcome.status is not Status.SUCCEEDED and outcome.estimated_cost_usd is None:
            outcome = replace(outcome, estimated_cost_usd=Decimal(0))  # nothing delivered, nothing charged
        if self._hash_prompts:
            # The prompt was needed until now; from here on only its fingerprint is kept.
            outcome = replace(
                outcome,
                prompt_kept=fingerprint(job.request.prompt),
                revised_prompt_kept=fingerprint(outcome.revised_prompt) if outcome.revised_prompt else None,
            )
        if not self._queue.finish(job.id, self._owner, outcome):
            log.warning("lease lost before finishing as %s; another worker owns the job now", outcome.status)

    def _tell(self, job: Job, message: replies.Message, *, final: bool) -> None:
        if not job.replaces_ack:
            # A button's response_url belongs to the shared message under the image: add, never replace.
            message = {**message, "replace_original": False}
        # Slack allows five posts per response_url; progress never takes the one the outcome needs.
        if job.response_url and not self._queue.use_response_url(job.id, final=final):
            if not final:
                return
            url = None
        else:
            url = job.response_url
        self._delivery.tell(response_url=url, channel_id=job.channel_id, user_id=job.user_id, message=message)


def fingerprint(text: str) -> str:
    return "sha256:" + hashlib.sha256(text.encode("utf-8")).hexdigest()


def worker_identity() -> str:
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:6]}"


class WorkerPool:
    """`concurrency` threads draining the queue, and one heartbeat renewing their leases."""

    def __init__(
        self,
        queue: JobQueue,
        make_runner: Callable[[str], JobRunner],
        *,
        concurrency: int,
        lease_s: float,
        poll_s: float,
        owner: str | None = None,
        rate_limit: SharedRateLimit | None = None,
    ) -> None:
        self.owner = owner or worker_identity()
        self._rate_limit = rate_limit
        self._queue = queue
        self._runner = make_runner(self.owner)
        self._concurrency = concurrency
        self._lease = timedelta(seconds=lease_s)
        self._poll_s = poll_s
        self._wake = threading.Event()
        self._stopping = threading.Event()
        self._stopped = threading.Event()  # the heartbeat outlives the workers' last jobs
        self._in_flight: set[int] = set()
        self._lock = threading.Lock()
        self._threads: list[threading.Thread] = []
        self._last_heartbeat = time.monotonic()

    def start(self) -> None:
        for index in range(self._concurrency):
            thread = threading.Thread(target=self._work, name=f"worker-{index}", daemon=True)
            thread.start()
            self._threads.append(thread)
        self._heartbeat_thread = threading.Thread(target=self._heartbeat, name="heartbeat", daemon=True)
        self._heartbeat_thread.start()
        log.info("%d workers started as %s", self._concurrency, self.owner)

    def wake(self) -> None:
        """A job was just queued in this process: look now instead of at the next poll."""
        self._wake.set()

    def alive(self) -> bool:
        heartbeat_fresh = time.monotonic() - self._last_heartbeat < 3 * self._lease.total_seconds()
        threads = [*self._threads, self._heartbeat_thread] if self._threads else []
        return bool(threads) and all(t.is_alive() for t in threads) and heartbeat_fresh

    def in_flight(self) -> set[int]:
        with self._lock:
            return set(self._in_flight)

    def stop(self, grace_s: float) -> None:
        """Stop claiming, let running jobs finish within `grace_s`, then hand the rest back to the queue."""
        self._stopping.set()
        self._wake.set()
        deadline = time.monotonic() + grace_s
        for thread in self._threads:
            thread.join(max(0.0, deadline - time.monotonic()))
        unfinished = self.in_flight()
        self._stopped.set()
        if unfinished:
            released = self._queue.release(self.owner, unfinished)
            log.warning("released %d unfinished job(s) back to the queue: %s", released, sorted(unfinished))
        log.info("workers stopped")

    def _work(self) -> None:
        while not self._stopping.is_set():
            try:
                job = self._claim_within_rate_limit()
            except Exception:
                log.exception("could not claim a job; the database may be down")
                self._stopping.wait(self._poll_s * 4)
                continue
            if job is None:
                self._wake.wait(self._poll_s)
                self._wake.clear()
                continue
            with self._lock:
                self._in_flight.add(job.id)
            try:
                self._runner.run(job)
            finally:
                with self._lock:
                    self._in_flight.discard(job.id)

    def _claim_within_rate_limit(self) -> Job | None:
        if self._rate_limit is None:
            return self._queue.claim(self.owner, self._lease)
        if not self._queue.has_due():
            return None
        wait = self._rate_limit.acquire()
        if wait > 0:
            # Waiting here holds no job: the queue keeps its order and other processes see the same limit.
            self._stopping.wait(min(wait, 1.0))
            return None
        job = self._queue.claim(self.owner, self._lease)
        if job is None:
            self._rate_limit.refund()  # another worker took the job first
        return job

    def _heartbeat(self) -> None:
        interval = self._lease.total_seconds() / 3
        while not self._stopped.wait(interval):
            try:
                self._queue.renew(self.owner, self.in_flight(), self._lease)
                self._last_heartbeat = time.monotonic()
            except Exception:
                log.exception("could not renew leases; jobs may be taken over by other workers")
