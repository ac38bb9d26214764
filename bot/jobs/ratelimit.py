"""A requests-per-minute limit shared by every process through the database.

Azure enforces an RPM quota over short windows (shared/reference/azure-images-api.md §4.3: a 6-RPM
deployment refuses a second call within ~10 s), so this is a sliding-window log with the same shape:
at most max(1, rpm // 6) admissions in any 10-second window. A burst above the quota then waits in
line instead of hammering Azure into 429s. Workers ask before they claim a job, so a worker that is
told to wait holds nothing.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta

from sqlalchemy import Engine, delete, func, insert, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import sessionmaker

from bot.jobs.queue import utc_now
from bot.usage.models import RateLimit, RateLimitEvent

WINDOW = timedelta(seconds=10)
# Azure counts a call when it arrives; a little slack keeps clock skew and network jitter from
# turning an exactly-full window into a 429. It costs about 2 % of the quota.
_MARGIN = timedelta(milliseconds=250)


class SharedRateLimit:
    def __init__(self, engine: Engine, *, name: str, per_minute: int, clock: Callable[[], datetime] = utc_now) -> None:
        if per_minute < 1:
            raise ValueError("per_minute must be at least 1")
        self.name = name
        self.per_window = max(1, per_minute // 6)
        self._sessions = sessionmaker(engine)
        self._clock = clock

    def acquire(self) -> float:
        """Admit one call now (returns 0.0), or return the seconds until a place frees up."""
        try:
            return self._acquire()
        except IntegrityError:
            # Two processes created the limit's row at the same moment; the row exists now.
            return self._acquire()

    def _acquire(self) -> float:
        now = self._clock()
        window_start = now - WINDOW - _MARGIN
        with self._sessions() as session:
            # Writing the limit's own row first takes its lock (a row lock on PostgreSQL, the write
            # lock on SQLite), so two processes cannot both see a free place and both take it.
            locked = session.execute(
                update(RateLimit).where(RateLimit.name == self.name).values(touched_at=now)
            ).rowcount  # type: ignore[attr-defined]
            if not locked:
                session.execute(insert(RateLimit).values(name=self.name, touched_at=now))
            session.execute(
                delete(RateLimitEvent).where(RateLimitEvent.name == self.name, RateLimitEvent.at <= window_start)
            )
            in_window = session.scalar(
                select(func.count()).select_from(RateLimitEvent).where(RateLimitEvent.name == self.name)
            )
            if int(in_window or 0) < self.per_window:
                session.execute(insert(RateLimitEvent).values(name=self.name, at=now))
                session.commit()
                return 0.0
            oldest = session.scalar(select(func.min(RateLimitEvent.at)).where(RateLimitEvent.name == self.name))
            session.commit()
        assert oldest is not None
        return max(0.01, (oldest - window_start).total_seconds())

    def refund(self) -> None:
        """Give back the most recent admission (it was not used: there was no job to run)."""
        with self._sessions() as session:
            newest = session.scalar(select(func.max(RateLimitEvent.id)).where(RateLimitEvent.name == self.name))
            if newest is not None:
                session.execute(delete(RateLimitEvent).where(RateLimitEvent.id == newest))
            session.commit()
