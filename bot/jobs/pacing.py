"""Azure's requests-per-minute quota, shared by every process through one database row.

Azure counts a deployment's calls over short windows (a 6-RPM deployment refuses a second call within
about ten seconds; docs/contracts/azure-openai-images.md §8), so calls are spaced evenly: a GCRA
with no burst, whose state is the time the next call may start. Each call reserves the next slot; a
caller that could not send within `GRACE_S` of its slot (a worker starved of CPU) must reserve
again, and the spacing carries `GRACE_S / calls_per_window` extra, so no 10-second window ever holds
more calls than the quota allows however late each call goes out.
"""

from __future__ import annotations

import time
from collections.abc import Callable

from sqlalchemy import Engine, insert, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import sessionmaker

from bot.store.tables import Pacing

WINDOW_S = 10.0
GRACE_S = 0.5  # the latest a call may go out after its slot
_EPSILON_S = 0.05  # so the last call of a window never lands exactly on the next one's edge


class Pacer:
    def __init__(
        self,
        engine: Engine,
        *,
        name: str,
        per_minute: int,
        clock: Callable[[], float] = time.time,
    ) -> None:
        if per_minute < 1:
            raise ValueError("per_minute must be at least 1")
        self.name = name
        self.per_window = max(1, per_minute // 6)
        self.interval_s = (WINDOW_S + GRACE_S + _EPSILON_S) / self.per_window
        self._sessions = sessionmaker(engine)
        self._clock = clock
        self._for_update = engine.dialect.name == "postgresql"

    def reserve(self) -> float:
        """The next slot (epoch seconds, now or later), taken for the caller."""
        try:
            return self._reserve()
        except IntegrityError:  # two processes created the row at once; it exists now
            return self._reserve()

    def _reserve(self) -> float:
        now = self._clock()
        with self._sessions() as session:
            query = select(Pacing.next_at).where(Pacing.name == self.name)
            # On SQLite the transaction's first write takes the database lock, so update before reading.
            if self._for_update:
                next_at = session.scalar(query.with_for_update())
            else:
                session.execute(update(Pacing).where(Pacing.name == self.name).values(next_at=Pacing.next_at))
                next_at = session.scalar(query)
            slot = now if next_at is None else max(now, next_at)
            if next_at is None:
                session.execute(insert(Pacing).values(name=self.name, next_at=slot + self.interval_s))
            else:
                session.execute(update(Pacing).where(Pacing.name == self.name).values(next_at=slot + self.interval_s))
            session.commit()
        return slot

    def still_valid(self, slot: float) -> bool:
        """Whether a call may still go out on this slot (it is not more than GRACE_S late)."""
        return self._clock() <= slot + GRACE_S

    def refund(self, slot: float) -> None:
        """Give a slot back if nobody reserved after it (its call was never sent)."""
        with self._sessions() as session:
            session.execute(
                update(Pacing)
                .where(Pacing.name == self.name, Pacing.next_at == slot + self.interval_s)
                .values(next_at=slot)
            )
            session.commit()
