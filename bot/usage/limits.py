"""Limits checked when a request arrives, before anything is queued.

Per user: images per day and jobs in flight; per workspace: a monthly budget in USD; per channel:
allowed or denied. A refusal is a typed `Blocked` (which limit, where the figure stands, when it
resets) that `bot.replies.notes` words. Each check is one indexed query; admins may be exempt.
`Admissions` counts what this process let through but has not committed yet.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
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


@dataclass(frozen=True, slots=True)
class Pending:
    """Requests let through and not yet committed, which the database cannot count yet."""

    images: int = 0  # this user's
    jobs: int = 0  # this user's
    cost: Decimal = Decimal(0)  # this workspace's


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
        self,
        *,
        team_id: str,
        user_id: str,
        channel_id: str,
        images: int,
        estimated_cost: Decimal | None,
        pending: Pending = Pending(),
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
            requested, running = figures.requested_today + pending.images, figures.in_flight + pending.jobs
            daily = limits.images_per_user_per_day
            if daily is not None and requested + images > daily:
                tomorrow = start_of_day(now) + timedelta(days=1)
                return Blocked(LimitKind.DAILY_IMAGES, requested, daily, resets_at=tomorrow)
            in_flight = limits.jobs_in_flight_per_user
            if in_flight is not None and running >= in_flight:
                return Blocked(LimitKind.IN_FLIGHT, running, in_flight)
        budget = limits.monthly_budget_usd
        if budget is not None:
            spent = self._reader.team_spend_this_month(team_id, now) + pending.cost
            if spent + (estimated_cost or Decimal(0)) > budget:
                return Blocked(LimitKind.MONTHLY_BUDGET, spent=spent, budget=budget, resets_at=start_of_next_month(now))
        return None


@dataclass(frozen=True, slots=True)
class _Admitted:
    at: float
    request: object  # held, so that its id stays its own while the entry lives
    team_id: str
    user_id: str
    images: int
    cost: Decimal


class Admissions:
    """`Limits.check` for a request, counting the requests this process let through and has not
    committed yet, and letting this one through in the same step.

    The database counts a request once its row is committed, a few milliseconds after its check (the
    group-commit writer commits many at once): without this, requests from one user that arrive together
    would all pass a limit. `settle` ends an entry when its commit has ended (committed or not); an entry
    never submitted expires after `expire_s`. Across processes (several web processes on PostgreSQL)
    the same few milliseconds stay open.
    """

    def __init__(self, limits: Limits, *, monotonic: Callable[[], float] = time.monotonic, expire_s: float = 60.0):
        self.limits = limits
        self._monotonic = monotonic
        self._expire_s = expire_s
        self._lock = threading.Lock()  # the check and the entry it adds are one step
        self._entries: dict[int, _Admitted] = {}

    def admit(
        self,
        request: object,
        *,
        team_id: str,
        user_id: str,
        channel_id: str,
        images: int,
        estimated_cost: Decimal | None,
    ) -> Blocked | None:
        """None, and `request` counted until `settle(request)`; or why a limit refuses it."""
        with self._lock:
            now = self._monotonic()
            for key in [k for k, e in self._entries.items() if now - e.at > self._expire_s]:
                del self._entries[key]
            mine = [e for e in self._entries.values() if e.user_id == user_id]
            pending = Pending(
                images=sum(e.images for e in mine),
                jobs=len(mine),
                cost=sum((e.cost for e in self._entries.values() if e.team_id == team_id), Decimal(0)),
            )
            blocked = self.limits.check(
                team_id=team_id,
                user_id=user_id,
                channel_id=channel_id,
                images=images,
                estimated_cost=estimated_cost,
                pending=pending,
            )
            if blocked is None:
                cost = estimated_cost or Decimal(0)
                self._entries[id(request)] = _Admitted(now, request, team_id, user_id, images, cost)
            return blocked

    def settle(self, request: object) -> None:
        with self._lock:
            entry = self._entries.get(id(request))
            if entry is not None and entry.request is request:
                del self._entries[id(request)]
