"""bot.usage.limits: which limit stops a request before anything is queued, where its figure stands, and
when it frees up; admins may be exempt. Figures come from a seeded database through UsageReader."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

import pytest
from sqlalchemy import Engine

from bot.store.spec import Status
from bot.store.usage import UsageReader
from bot.usage.limits import Admissions, Blocked, LimitKind, LimitReached, Limits, LimitSettings
from tests.conftest import FrozenClock
from tests.store.conftest import row, seed

NOW = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)  # the shared clock's start
TOMORROW = datetime(2026, 12, 2, tzinfo=UTC)
NEXT_MONTH = datetime(2027, 1, 1, tzinfo=UTC)


def check(engine: Engine, clock: FrozenClock, settings: LimitSettings, **request: object) -> Blocked | None:
    asked: dict[str, object] = {
        "team_id": "T1",
        "user_id": "U1",
        "channel_id": "C1",
        "images": 1,
        "estimated_cost": None,
    }
    return Limits(UsageReader(engine), settings, clock=clock).check(**{**asked, **request})  # type: ignore[arg-type]


def test_no_limits_set_lets_everything_through(engine: Engine, clock: FrozenClock) -> None:
    seed(engine, [row(NOW, n=10) for _ in range(5)])
    assert not LimitSettings().any
    assert check(engine, clock, LimitSettings(), images=10, estimated_cost=Decimal(1000)) is None


def test_the_daily_limit_counts_images_asked_for_today_not_refused_ones(engine: Engine, clock: FrozenClock) -> None:
    seed(
        engine,
        [
            row(datetime(2026, 12, 1, 0, 0, tzinfo=UTC), n=2),
            row(datetime(2026, 12, 1, 9, 0, tzinfo=UTC), status=Status.QUEUED),
            row(datetime(2026, 12, 1, 10, 0, tzinfo=UTC), status=Status.FAILED, n=5),
            row(datetime(2026, 11, 30, 23, 59, tzinfo=UTC), n=9),  # yesterday
        ],
    )
    limits = LimitSettings(images_per_user_per_day=4)

    assert check(engine, clock, limits, images=1) is None  # 3 + 1
    assert check(engine, clock, limits, images=2) == Blocked(LimitKind.DAILY_IMAGES, 3, 4, resets_at=TOMORROW)
    assert check(engine, clock, limits, user_id="U2", images=4) is None


def test_jobs_in_flight_are_limited_per_person(engine: Engine, clock: FrozenClock) -> None:
    seed(engine, [row(NOW, status=Status.QUEUED), row(NOW, status=Status.RUNNING), row(NOW, user="U2")])
    limits = LimitSettings(jobs_in_flight_per_user=2)

    assert check(engine, clock, limits) == Blocked(LimitKind.IN_FLIGHT, 2, 2)
    assert check(engine, clock, limits, user_id="U2") is None


def test_the_monthly_budget_counts_the_estimate_of_this_request(engine: Engine, clock: FrozenClock) -> None:
    seed(engine, [row(NOW, cost="49.90"), row(NOW, team="T2", cost="100"), row(NOW, status=Status.FAILED, cost="30")])
    limits = LimitSettings(monthly_budget_usd=Decimal(50))

    assert check(engine, clock, limits, estimated_cost=Decimal("0.10")) is None  # exactly at the budget
    assert check(engine, clock, limits, estimated_cost=Decimal("0.11")) == Blocked(
        LimitKind.MONTHLY_BUDGET, spent=Decimal("49.90"), budget=Decimal(50), resets_at=NEXT_MONTH
    )
    assert check(engine, clock, limits, team_id="T3", estimated_cost=Decimal(50)) is None


@pytest.mark.parametrize(
    ("settings", "channel", "blocked"),
    [
        (LimitSettings(denied_channels=frozenset({"C1"})), "C1", Blocked(LimitKind.CHANNEL)),
        (LimitSettings(denied_channels=frozenset({"C1"})), "C2", None),
        (
            LimitSettings(allowed_channels=frozenset({"C9", "C8"})),
            "C1",
            Blocked(LimitKind.CHANNEL, allowed_channels=("C8", "C9")),
        ),
        (LimitSettings(allowed_channels=frozenset({"C9"})), "C9", None),
    ],
)
def test_channels_may_be_allowed_or_denied(
    engine: Engine, clock: FrozenClock, settings: LimitSettings, channel: str, blocked: Blocked | None
) -> None:
    assert check(engine, clock, settings, channel_id=channel) == blocked


def test_the_channel_is_checked_before_the_figures(engine: Engine, clock: FrozenClock) -> None:
    limits = LimitSettings(images_per_user_per_day=1, denied_channels=frozenset({"C1"}))
    seed(engine, [row(NOW, n=5)])
    blocked = check(engine, clock, limits)
    assert blocked is not None
    assert blocked.limit is LimitKind.CHANNEL


def test_exempt_users_pass_every_limit(engine: Engine, clock: FrozenClock) -> None:
    seed(engine, [row(NOW, user="U0ADMIN001", n=50)])
    limits = LimitSettings(
        images_per_user_per_day=1,
        jobs_in_flight_per_user=1,
        monthly_budget_usd=Decimal(1),
        denied_channels=frozenset({"C1"}),
        exempt_users=frozenset({"U0ADMIN001"}),
    )
    assert check(engine, clock, limits, user_id="U0ADMIN001", images=5, estimated_cost=Decimal(10)) is None


def test_the_day_resets_at_utc_midnight_by_the_injected_clock(engine: Engine, clock: FrozenClock) -> None:
    seed(engine, [row(NOW, n=4)])
    limits = LimitSettings(images_per_user_per_day=4)
    assert check(engine, clock, limits) is not None

    clock.advance(12 * 3600)  # 2026-12-02 00:00 UTC

    assert check(engine, clock, limits) is None


def test_limit_reached_carries_the_refusal() -> None:
    blocked = Blocked(LimitKind.IN_FLIGHT, 2, 2)
    error = LimitReached(blocked)
    assert error.blocked is blocked
    assert str(error) == "in_flight"


class Monotonic:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def admit(admissions: Admissions, request: object, **asked: object) -> Blocked | None:
    values: dict[str, object] = {"team_id": "T1", "user_id": "U1", "channel_id": "C1", "images": 1}
    return admissions.admit(request, **{**values, "estimated_cost": None, **asked})  # type: ignore[arg-type]


def test_requests_let_through_count_until_their_commit_ends(engine: Engine, clock: FrozenClock) -> None:
    # Two requests from one user, the first not committed yet: the database shows neither.
    limits = Limits(UsageReader(engine), LimitSettings(images_per_user_per_day=2), clock=clock)
    admissions = Admissions(limits)
    first, second, third = object(), object(), object()
    assert admit(admissions, first) is None
    assert admit(admissions, second, images=2) == Blocked(LimitKind.DAILY_IMAGES, 1, 2, resets_at=TOMORROW)
    assert admit(admissions, third, user_id="U2", images=2) is None  # another person's figures
    admissions.settle(first)  # its commit failed: nothing in the table, nothing pending
    assert admit(admissions, second, images=2) is None


def test_a_committed_request_is_counted_once(engine: Engine, clock: FrozenClock) -> None:
    limits = Limits(UsageReader(engine), LimitSettings(jobs_in_flight_per_user=2), clock=clock)
    admissions = Admissions(limits)
    first = object()
    assert admit(admissions, first) is None
    seed(engine, [row(NOW, status=Status.QUEUED)])  # the first request's row, committed
    admissions.settle(first)
    assert admit(admissions, object()) is None  # 1 in flight, not 2
    assert admit(admissions, object()) == Blocked(LimitKind.IN_FLIGHT, 2, 2)


def test_the_budget_counts_the_workspaces_pending_estimates(engine: Engine, clock: FrozenClock) -> None:
    limits = Limits(UsageReader(engine), LimitSettings(monthly_budget_usd=Decimal("1.00")), clock=clock)
    admissions = Admissions(limits)
    assert admit(admissions, object(), user_id="U1", estimated_cost=Decimal("0.60")) is None
    blocked = admit(admissions, object(), user_id="U2", estimated_cost=Decimal("0.60"))
    spent = Decimal("0.60")  # another person's, of the same workspace, not committed yet
    assert blocked == Blocked(LimitKind.MONTHLY_BUDGET, spent=spent, budget=Decimal("1.00"), resets_at=NEXT_MONTH)
    assert admit(admissions, object(), team_id="T2", estimated_cost=Decimal("0.60")) is None


def test_a_request_never_submitted_stops_counting_after_a_minute(engine: Engine, clock: FrozenClock) -> None:
    monotonic = Monotonic()
    limits = Limits(UsageReader(engine), LimitSettings(jobs_in_flight_per_user=1), clock=clock)
    admissions = Admissions(limits, monotonic=monotonic, expire_s=60)
    assert admit(admissions, object()) is None
    assert admit(admissions, object()) == Blocked(LimitKind.IN_FLIGHT, 1, 1)
    monotonic.now = 61.0
    assert admit(admissions, object()) is None
