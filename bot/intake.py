"""Accepting a request: from a validated `ImageRequest` to committed jobs in the queue.

The slash command, the buttons under a result and the message shortcut all come through here, so
deduplication, fan-out and waking the workers happen in one place, the same way for each.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass

from bot.jobs.queue import Enqueued, JobQueue, NewJob
from bot.request import Family, ImageRequest
from bot.usage.limits import LimitReached, Limits
from bot.usage.pricing import PriceTable


@dataclass(frozen=True, slots=True)
class Deployment:
    name: str
    model: str

    @property
    def family(self) -> Family:
        return Family.of(self.model)

    @property
    def images_per_call(self) -> int:
        # dall-e-3 makes one image per call: `--n 3` becomes three jobs posted together.
        return 1 if self.family is Family.DALL_E_3 else 10


@dataclass(frozen=True, slots=True)
class Origin:
    """Who asked, where, and how to answer them."""

    team_id: str
    channel_id: str
    user_id: str
    response_url: str | None = None
    trigger_id: str | None = None
    kind: str = "command"  # command, regenerate, revised, more, shortcut
    parent_job_id: int | None = None


class Intake:
    def __init__(
        self,
        queue: JobQueue,
        deployments: Mapping[str, str],
        *,
        limits: Limits | None = None,
        prices: PriceTable | None = None,
        on_enqueued: Callable[[], None] = lambda: None,
    ) -> None:
        if not deployments:
            raise ValueError("at least one deployment is needed")
        self.queue = queue
        self.limits = limits
        self._prices = prices or PriceTable()
        self.deployments = {name: Deployment(name, model) for name, model in deployments.items()}
        self.default = next(iter(self.deployments.values()))
        self._on_enqueued = on_enqueued

    @property
    def families(self) -> dict[str, Family]:
        return {name: deployment.family for name, deployment in self.deployments.items()}

    def deployment_for(self, request: ImageRequest) -> Deployment:
        return self.deployments.get(request.deployment or "", self.default)

    def submit(self, request: ImageRequest, origin: Origin) -> Enqueued:
        """Queue the request's jobs. A repeated trigger_id creates nothing.

        Raises `LimitReached` when one of the configured limits refuses the request; nothing is queued then.
        """
        deployment = self.deployment_for(request)
        copies = request.n if request.n > deployment.images_per_call else 1
        if self.limits is not None:
            blocked = self.limits.check(
                team_id=origin.team_id,
                user_id=origin.user_id,
                channel_id=origin.channel_id,
                images=request.n,
                estimated_cost=self._prices.estimate(deployment.model, request.size, request.quality, request.n),
            )
            if blocked is not None:
                raise LimitReached(blocked)
        new = NewJob(
            team_id=origin.team_id,
            channel_id=origin.channel_id,
            user_id=origin.user_id,
            response_url=origin.response_url,
            trigger_id=origin.trigger_id,
            request=request,
            model=deployment.model,
            deployment=deployment.name,
            origin=origin.kind,
            parent_job_id=origin.parent_job_id,
        )
        enqueued = self.queue.enqueue(new, copies=copies)
        if enqueued.created:
            self._on_enqueued()
        return enqueued
