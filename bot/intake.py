"""Accepting a request: from a parsed request and where it came from, to a committed job.

The slash command, the mention, the buttons, the modals and the shortcuts all come through here, so
limits, deduplication and waking the workers happen in one place, the same way for each.
"""

from __future__ import annotations

from concurrent.futures import Future

from bot.images.models import Deployment, Deployments
from bot.images.pricing import PriceTable
from bot.jobs.queue import Enqueued, JobQueue
from bot.jobs.writer import JobCommitter
from bot.request import ParsedRequest
from bot.store.spec import JobSpec, MessageState, Origin
from bot.usage.limits import Admissions, LimitReached, Limits

ACK_WAIT_S = 2.0  # a commit slower than this is answered "not accepted" while Slack still listens


class Intake:
    def __init__(
        self,
        committer: JobCommitter,
        queue: JobQueue,
        deployments: Deployments,
        *,
        limits: Limits | None = None,
        prices: PriceTable | None = None,
        progress_in_channel: bool = True,
    ) -> None:
        self._committer = committer
        self.queue = queue
        self.deployments = deployments
        # What this process let through and has not committed yet counts towards the limits too.
        self._admissions = Admissions(limits) if limits is not None and limits.settings.any else None
        self._prices = prices or PriceTable()
        self._progress_in_channel = progress_in_channel

    @property
    def checks_limits(self) -> bool:
        """Whether `prepare` reads the database (then it belongs off the event loop), and the commit must be
        reported to `settled`."""
        return self._admissions is not None

    def deployment_for(self, parsed: ParsedRequest) -> Deployment:
        return self.deployments.get_or_default(parsed.deployment)

    def prepare(self, parsed: ParsedRequest, origin: Origin) -> JobSpec:
        """The job to commit; raises `LimitReached` when a configured limit refuses it. With limits, the job
        counts towards them until `settled(spec)` (after its commit, whether it committed or not)."""
        deployment = self.deployment_for(parsed)
        request = parsed.request
        state = MessageState.PENDING if self._progress_in_channel else MessageState.PRIVATE
        spec = JobSpec(request, origin, deployment.name, deployment.model, state)
        if self._admissions is not None:
            blocked = self._admissions.admit(
                spec,
                team_id=origin.team_id,
                user_id=origin.user_id,
                channel_id=origin.channel_id,
                images=request.n,
                estimated_cost=self._prices.estimate(
                    deployment.model, request.size, request.quality, request.n, prompt=request.prompt
                ),
            )
            if blocked is not None:
                raise LimitReached(blocked)
        return spec

    def submit(self, spec: JobSpec) -> Future[Enqueued]:
        future = self._committer.submit(spec)  # the committer wakes the workers once per commit
        if self._admissions is not None:
            future.add_done_callback(lambda _: self.settled(spec))
        return future

    def settled(self, spec: JobSpec) -> None:
        """The job's commit has ended: the database counts it now, if it was committed."""
        if self._admissions is not None:
            self._admissions.settle(spec)

    def accept(self, parsed: ParsedRequest, origin: Origin) -> Enqueued:
        """Prepare and commit, waiting for the commit (Bolt listeners, which answer synchronously)."""
        return self.submit(self.prepare(parsed, origin)).result(timeout=ACK_WAIT_S)
