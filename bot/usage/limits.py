"""Limits checked when a request arrives, before anything is queued.

Per user: images per day and jobs in flight; per workspace: a monthly budget in USD; per channel:
allowed or denied. A blocked request is answered with which limit, the current figure and when it
resets. Each check is one indexed query (bot/usage/figures.py); admins may be exempt.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal

from sqlalchemy import Engine

from bot.jobs.queue import utc_now
from bot.usage.figures import start_of_day, start_of_next_month, team_spend_this_month, user_figures


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
        return any(
            (
                self.images_per_user_per_day is not None,
                self.jobs_in_flight_per_user is not None,
                self.monthly_budget_usd is not None,
                self.allowed_channels,
                self.denied_channels,
            )
        )


@dataclass(frozen=True, slots=True)
class Blocked:
    """Which limit stopped a request, where the figure stands, and when it frees up (None: not by time)."""

    limit: str  # channel, daily_images, in_flight, monthly_budget
    current: str
    allowed: str
    resets_at: datetime | None


class LimitReached(Exception):
    def __init__(self, blocked: Blocked) -> None:
        super().__init__(blocked.limit)
        self.blocked = blocked


class Limits:
    def __init__(self, engine: Engine, settings: LimitSettings, *, clock: Callable[[], datetime] = utc_now) -> None:
        self._engine = engine
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
            allowed = ", ".join(f"<#{c}>" for c in sorted(limits.allowed_channels)) or "other channels"
            return Blocked("channel", f"<#{channel_id}>", allowed, None)
        now = self._clock()
        if limits.images_per_user_per_day is not None or limits.jobs_in_flight_per_user is not None:
            figures = user_figures(self._engine, user_id, now)
            daily = limits.images_per_user_per_day
            if daily is not None and figures.requested_today + images > daily:
                tomorrow = start_of_day(now) + timedelta(days=1)
                return Blocked("daily_images", str(figures.requested_today), str(daily), tomorrow)
            in_flight = limits.jobs_in_flight_per_user
            if in_flight is not None and figures.in_flight >= in_flight:
                return Blocked("in_flight", str(figures.in_flight), str(in_flight), None)
        budget = limits.monthly_budget_usd
        if budget is not None:
            spent = team_spend_this_month(self._engine, team_id, now)
            if spent + (estimated_cost or Decimal(0)) > budget:
                return Blocked("monthly_budget", f"${spent:.2f}", f"${budget:.2f}", start_of_next_month(now))
        return None
