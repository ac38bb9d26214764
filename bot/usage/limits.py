"""Limits checked when a request arrives, before anything is queued.

Per user: images per day and jobs in flight; per workspace: a monthly budget in USD; per channel:
allowed or denied. A refusal is a typed `Blocked` (which limit, where the figure stands, when it
resets) that `bot.replies.notes` words. Each check is one indexed query; admins may be exempt.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from enum import StrEnum

from bot.store.clock import Clock, utc_now
from bot.store.usage import UsageReader, start_of_day, start_of_next_month


@dataclass(frozen=True, slots=True)
class LimitSettings:
    images_per_user_per_day: int | None = None
    jobs_in_flight_per_user: int | None = None
    monthly_budget_usd: Decimal | None = None
    allowed_channels: frozenset[str] = frozenset()  # empty: every channel
    denied_channels: frozenset[str] = frozenset()
    exempt_users: frozenset[str] = frozenset()

    @property
    def any(self) -> bool:
        return (
            self.images_per_user_per_day is not None
            or self.jobs_in_flight_per_user is not None
            or self.monthly_budget_usd is not None
            or bool(self.allowed_channels or self.denied_channels)
        )


class LimitKind(StrEnum):
    CHANNEL = "channel"
    DAILY_IMAGES = "daily_images"
    IN_FLIGHT = "in_flight"
    MONTHLY_BUDGET = "monthly_budget"


@dataclass(frozen=True, slots=True)
class Blocked:
    """Which limit stopped a request, where the figure stands, and when it frees up (None: not by time)."""

    limit: LimitKind
    current: int = 0
    allowed: int = 0
    spent: Decimal = Decimal(0)
    budget: Decimal = Decimal(0)
    allowed_channels: tuple[str, ...] = ()
    resets_at: datetime | None = None


class LimitReached(Exception):
    def __init__(self, blocked: Blocked) -> None:
        super().__init__(blocked.limit.value)
        self.blocked = blocked


class Limits:
    def __init__(self, reader: UsageReader, settings: LimitSettings, *, clock: Clock = utc_now) -> None:
        self._reader = reader
        self.settings = settings
        self._clock = clock

    def check(
        self, *, team_id: str, user_id: str, channel_id: str, images: int, estimated_cost: Decimal | None
    ) -> Blocked | None:
        limits = self.settings
        if not limits.any or user_id in limits.exempt_users:
            return None
        if channel_id in limits.denied_channels or (
            limits.allowed_channels and channel_id not in limits.allowed_channels
        ):
            return Blocked(LimitKind.CHANNEL, allowed_channels=tuple(sorted(limits.allowed_channels)))
        now = self._clock()
        if limits.images_per_user_per_day is not None or limits.jobs_in_flight_per_user is not None:
            figures = self._reader.user_figures(user_id, now)
            daily = limits.images_per_user_per_day
            if daily is not None and figures.requested_today + images > daily:
                tomorrow = start_of_day(now) + timedelta(days=1)
                return Blocked(LimitKind.DAILY_IMAGES, figures.requested_today, daily, resets_at=tomorrow)
            in_flight = limits.jobs_in_flight_per_user
            if in_flight is not None and figures.in_flight >= in_flight:
                return Blocked(LimitKind.IN_FLIGHT, figures.in_flight, in_flight)
        budget = limits.monthly_budget_usd
        if budget is not None:
            spent = self._reader.team_spend_this_month(team_id, now)
            if spent + (estimated_cost or Decimal(0)) > budget:
                return Blocked(LimitKind.MONTHLY_BUDGET, spent=spent, budget=budget, resets_at=start_of_next_month(now))
        return None
