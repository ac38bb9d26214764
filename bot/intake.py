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
from bot.usage.limits import LimitReached, Limits

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
        self.limits = limits
        self._prices = prices or PriceTable()
        self._progress_in_channel = progress_in_channel

    @property
    def checks_limits(self) -> bool:
        """Whether `prepare` reads the database (then it belongs off the event loop)."""
        return self.limits is not None and self.limits.settings.any

    def deployment_for(self, parsed: ParsedRequest) -> Deployment:
        return self.deployments.get_or_default(parsed.deployment)

    def prepare(self, parsed: ParsedRequest, origin: Origin) -> JobSpec:
        """The job to commit; raises `LimitReached` when a configured limit refuses it."""
        deployment = self.deployment_for(parsed)
        request = parsed.request
        if self.limits is not None:
            blocked = self.limits.check(
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
        state = MessageState.PENDING if self._progress_in_channel else MessageState.PRIVATE
        return JobSpec(request, origin, deployment.name, deployment.model, state)

    def submit(self, spec: JobSpec) -> Future[Enqueued]:
        return self._committer.submit(spec)  # the committer wakes the workers once per commit

    def accept(self, parsed: ParsedRequest, origin: Origin) -> Enqueued:
        """Prepare and commit, waiting for the commit (Bolt listeners, which answer synchronously)."""
        return self.submit(self.prepare(parsed, origin)).result(timeout=ACK_WAIT_S)
