"""One person's and one workspace's figures: what `/imagine usage`, App Home and the limits read.

Each is a single indexed query: a user's rows through `ix_generations_user_created`, a workspace's
through the covering `ix_generations_team_report`. Days and months are UTC.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal

from sqlalchemy import Engine, and_, case, func, select

from bot.usage.models import Generation, Status

_IN_FLIGHT = (Status.QUEUED.value, Status.RUNNING.value)
# Jobs that count against a limit: everything not refused. A failed or rejected job costs nothing.
_COUNTED = (Status.QUEUED.value, Status.RUNNING.value, Status.SUCCEEDED.value)


def start_of_day(now: datetime) -> datetime:
    return now.astimezone(UTC).replace(hour=0, minute=0, second=0, microsecond=0)


def start_of_month(now: datetime) -> datetime:
    return start_of_day(now).replace(day=1)


def start_of_next_month(now: datetime) -> datetime:
    first = start_of_month(now)
    return (first + timedelta(days=32)).replace(day=1)


@dataclass(frozen=True, slots=True)
class Tally:
    images: int  # delivered images
    cost_usd: Decimal


@dataclass(frozen=True, slots=True)
class UserFigures:
    today: Tally
    last_7_days: Tally
    last_30_days: Tally
    requested_today: int  # images asked for today that were not refused: what the daily limit counts
    in_flight: int  # jobs queued or running


def user_figures(engine: Engine, user_id: str, now: datetime) -> UserFigures:
    today, week, month = start_of_day(now), now - timedelta(days=7), now - timedelta(days=30)
    succeeded = Generation.status == Status.SUCCEEDED.value
    cost = func.coalesce(Generation.estimated_cost_usd, 0)

    def images_since(start: datetime) -> object:
        return func.coalesce(
            func.sum(case((and_(succeeded, Generation.created_at >= start), Generation.n), else_=0)), 0
        )

    def cost_since(start: datetime) -> object:
        return func.coalesce(func.sum(case((and_(succeeded, Generation.created_at >= start), cost), else_=0)), 0)

    requested = and_(Generation.status.in_(_COUNTED), Generation.created_at >= today)
    query = select(
        images_since(today),
        cost_since(today),
        images_since(week),
        cost_since(week),
        images_since(month),
        cost_since(month),
        func.coalesce(func.sum(case((requested, Generation.n), else_=0)), 0),
        func.coalesce(func.sum(case((Generation.status.in_(_IN_FLIGHT), 1), else_=0)), 0),
    ).where(Generation.user_id == user_id, Generation.created_at >= min(month, today))  # type: ignore[call-overload]
    with engine.connect() as connection:
        row = connection.execute(query).one()
    return UserFigures(
        today=Tally(int(row[0]), Decimal(row[1])),
        last_7_days=Tally(int(row[2]), Decimal(row[3])),
        last_30_days=Tally(int(row[4]), Decimal(row[5])),
        requested_today=int(row[6]),
        in_flight=int(row[7]),
    )


def team_spend_this_month(engine: Engine, team_id: str, now: datetime) -> Decimal:
    """Estimated USD spent by the workspace since the first of the month (UTC)."""
    query = select(func.coalesce(func.sum(Generation.estimated_cost_usd), 0)).where(
        Generation.team_id == team_id,
        Generation.created_at >= start_of_month(now),
        Generation.status == Status.SUCCEEDED.value,
    )
    with engine.connect() as connection:
        return Decimal(connection.execute(query).scalar_one() or 0)
