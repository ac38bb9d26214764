"""bot.store.usage.UsageReader on a seeded database: reports by user, channel, day, model and origin over
half-open windows, one team or all, a person's figures, the workspace's spend, and the daily series."""

from __future__ import annotations

import itertools
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest
from sqlalchemy import Engine, event

from bot.store.database import create_database_engine
from bot.store.spec import OriginKind, Status
from bot.store.usage import DayFigures, Grouping, Report, Tally, UsageReader, UserFigures
from tests.store.conftest import row, seed

D = Decimal
SINCE = datetime(2026, 11, 1, tzinfo=UTC)
UNTIL = datetime(2026, 11, 4, tzinfo=UTC)


def at(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


SEED = [
    row(at("2026-11-01T00:00:00"), cost="0.04"),  # exactly at since: counted
    row(at("2026-11-01T23:59:59"), cost="0.08"),
    row(at("2026-11-02T00:00:00"), channel="C2", model="gpt-image-1-mini", kind=OriginKind.MENTION, n=4, cost="0.168"),
    # Failed and rejected jobs cost nothing, even with a cost on the row (an estimate written before it failed).
    row(
        at("2026-11-02T10:00:00"),
        user="U2",
        channel="C2",
        model="gpt-image-1-mini",
        n=2,
        status=Status.FAILED,
        cost="0.5",
    ),
    row(at("2026-11-02T11:00:00"), user="U2", status=Status.REJECTED),
    row(at("2026-11-03T12:00:00"), user="U2", model="dall-e-3", kind=OriginKind.EDIT, n=3, cost="0.06"),
    row(at("2026-11-03T23:00:00"), user="U3", channel="C2", status=Status.QUEUED),
    row(at("2026-11-02T12:00:00"), user="U9", channel="C9", team="T2", cost="0.04"),
    # Outside the window: a microsecond before since, and exactly at until (the window is half-open).
    row(at("2026-10-31T23:59:59.999999"), cost="1.00"),
    row(at("2026-11-04T00:00:00"), cost="1.00"),
]
EXPECTED = {
    # key, images (n of succeeded jobs), failed, rejected, requests, cost; by cost then key; days in order
    Grouping.USER: [
        ("U1", 6, 0, 0, 3, D("0.288")),
        ("U2", 3, 1, 1, 3, D("0.06")),
        ("U9", 1, 0, 0, 1, D("0.04")),
        ("U3", 0, 0, 0, 1, D("0")),
    ],
    Grouping.CHANNEL: [
        ("C1", 5, 0, 1, 4, D("0.18")),
        ("C2", 4, 1, 0, 3, D("0.168")),
        ("C9", 1, 0, 0, 1, D("0.04")),
    ],
    Grouping.DAY: [
        ("2026-11-01", 2, 0, 0, 2, D("0.12")),
        ("2026-11-02", 5, 1, 1, 4, D("0.208")),
        ("2026-11-03", 3, 0, 0, 2, D("0.06")),
    ],
    Grouping.MODEL: [
        ("gpt-image-1-mini", 4, 1, 0, 2, D("0.168")),
        ("gpt-image-2", 3, 0, 1, 5, D("0.16")),
        ("dall-e-3", 3, 0, 0, 1, D("0.06")),
    ],
    Grouping.ORIGIN: [
        ("mention", 4, 0, 0, 1, D("0.168")),
        ("command", 3, 1, 1, 6, D("0.16")),
        ("edit", 3, 0, 0, 1, D("0.06")),
    ],
}


@pytest.fixture
def seeded(engine: Engine) -> UsageReader:
    seed(engine, SEED)
    return UsageReader(engine)


def figures(report: Report) -> list[tuple[Any, ...]]:
    return [(r.key, r.images, r.failed, r.rejected, r.requests, r.estimated_cost_usd) for r in report.rows]


def total(report: Report) -> tuple[Any, ...]:
    t = report.totals
    return (t.key, t.images, t.failed, t.rejected, t.requests, t.estimated_cost_usd)


def test_every_grouping_counts_images_outcomes_requests_and_cost(seeded: UsageReader) -> None:
    for by in Grouping:
        report = seeded.report(since=SINCE, until=UNTIL, by=by)

        assert figures(report) == EXPECTED[by], by
        assert total(report) == ("total", 10, 1, 1, 8, D("0.388")), by
        assert (report.since, report.until) == (SINCE, UNTIL)


def test_the_team_filter_leaves_other_workspaces_out(seeded: UsageReader) -> None:
    report = seeded.report(since=SINCE, until=UNTIL, by=Grouping.USER, team_id="T1")

    assert [r.key for r in report.rows] == ["U1", "U2", "U3"]
    assert total(report) == ("total", 9, 1, 1, 7, D("0.348"))
    assert seeded.report(since=SINCE, until=UNTIL, by=Grouping.USER, team_id="T404").rows == ()


@pytest.mark.parametrize(
    ("since", "until", "requests"),
    [
        ("2026-10-31T23:59:59.999999", "2026-11-04T00:00:00.000001", 10),  # both edges in
        ("2026-11-01T00:00:00.000001", "2026-11-04T00:00:00", 7),  # the row at since drops out
        ("2026-11-02T00:00:00", "2026-11-02T00:00:00.000001", 1),  # one microsecond, one row
        ("2026-11-05T00:00:00", "2026-11-06T00:00:00", 0),
    ],
)
def test_the_window_includes_since_and_excludes_until(
    seeded: UsageReader, since: str, until: str, requests: int
) -> None:
    report = seeded.report(since=at(since), until=at(until), by=Grouping.DAY)

    assert report.totals.requests == requests
    assert sum(r.requests for r in report.rows) == requests


def test_consecutive_windows_never_count_a_job_twice(seeded: UsageReader) -> None:
    edges = [at("2026-10-31T00:00"), at("2026-11-02T00:00"), at("2026-11-02T11:00"), at("2026-11-05T00:00")]
    parts = [seeded.report(since=a, until=b, by=Grouping.USER).totals.requests for a, b in itertools.pairwise(edges)]
    assert sum(parts) == seeded.report(since=edges[0], until=edges[-1], by=Grouping.USER).totals.requests == 10


def test_equal_costs_are_ordered_by_key(engine: Engine) -> None:
    seed(engine, [row(at("2026-11-02T10:00"), user=user, cost="0.04") for user in ("Ub", "Uc", "Ua")])

    report = UsageReader(engine).report(since=SINCE, until=UNTIL, by=Grouping.USER)

    assert [r.key for r in report.rows] == ["Ua", "Ub", "Uc"]


def test_days_are_utc_days_whatever_the_connection_time_zone(database_url: str) -> None:
    # A PostgreSQL session in Auckland would put 23:59 UTC on the next day unless the query pins UTC.
    engine = create_database_engine(database_url)
    if engine.dialect.name == "postgresql":

        @event.listens_for(engine, "connect")
        def _auckland(dbapi_connection: Any, _record: Any) -> None:
            with dbapi_connection.cursor() as cursor:
                cursor.execute("SET TIME ZONE 'Pacific/Auckland'")
            dbapi_connection.commit()

    try:
        seed(engine, [row(at("2026-11-01T23:59:59")), row(at("2026-11-02T00:00:00"))])
        reader = UsageReader(engine)
        report = reader.report(since=SINCE, until=UNTIL, by=Grouping.DAY)
        daily = reader.daily(team_id=None, now=at("2026-11-02T12:00"), days=2)
    finally:
        engine.dispose()

    assert [(r.key, r.requests) for r in report.rows] == [("2026-11-01", 1), ("2026-11-02", 1)]
    assert [(d.day, d.images) for d in daily] == [(date(2026, 11, 1), 1), (date(2026, 11, 2), 1)]


def test_an_empty_window_is_an_empty_report_with_zero_totals(engine: Engine) -> None:
    report = UsageReader(engine).report(since=SINCE, until=UNTIL, by=Grouping.MODEL)

    assert report.rows == ()
    assert total(report) == ("total", 0, 0, 0, 0, D("0"))


def test_naive_datetimes_are_refused(engine: Engine) -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        UsageReader(engine).report(since=datetime(2026, 11, 1), until=UNTIL, by=Grouping.USER)


# --- a person's figures and the workspace's spend ---------------------------------------------------

NOW = at("2026-11-20T12:30")


def test_a_persons_figures_today_this_week_and_this_month(engine: Engine) -> None:
    seed(
        engine,
        [
            row(at("2026-11-20T00:00"), n=2, cost="0.08"),  # today (UTC), from midnight
            row(at("2026-11-20T09:00"), status=Status.QUEUED, n=3),  # asked for, not made yet
            row(at("2026-11-20T10:00"), status=Status.RUNNING),
            row(at("2026-11-20T11:00"), status=Status.FAILED, n=4),  # refused: not counted against the limit
            row(at("2026-11-19T23:59:59"), cost="0.04"),  # yesterday
            row(at("2026-11-13T12:30"), cost="0.04"),  # exactly 7 days ago
            row(at("2026-11-13T12:29:59"), cost="0.04"),  # just over 7 days
            row(at("2026-10-21T12:30"), cost="1.00"),  # exactly 30 days ago
            row(at("2026-10-21T12:29:59"), cost="9.00"),  # beyond
            row(at("2026-11-20T08:00"), user="U2", cost="5.00"),  # someone else
        ],
    )

    figures = UsageReader(engine).user_figures("U1", NOW)

    assert figures == UserFigures(
        today=Tally(2, D("0.08")),
        last_7_days=Tally(4, D("0.16")),
        last_30_days=Tally(6, D("1.20")),
        requested_today=2 + 3 + 1,
        in_flight=2,
    )
    assert UsageReader(engine).in_flight("U1") == 2
    assert UsageReader(engine).user_figures("U404", NOW) == UserFigures(
        Tally(0, D(0)), Tally(0, D(0)), Tally(0, D(0)), 0, 0
    )


def test_the_workspaces_spend_this_month_counts_only_delivered_images(engine: Engine) -> None:
    seed(
        engine,
        [
            row(at("2026-11-01T00:00"), cost="1.25"),
            row(at("2026-11-20T10:00"), cost="0.50"),
            row(at("2026-11-20T10:00"), status=Status.FAILED, cost="7"),
            row(at("2026-10-31T23:59:59"), cost="100"),  # last month
            row(at("2026-11-05T10:00"), team="T2", cost="100"),
        ],
    )

    assert UsageReader(engine).team_spend_this_month("T1", NOW) == D("1.75")
    assert UsageReader(engine).team_spend_this_month("T404", NOW) == D(0)


# --- the daily series ---------------------------------------------------------------------------------

CHART_NOW = at("2026-03-31T15:00")
FIRST_DAY = date(2026, 3, 2)  # 30 UTC days up to and including CHART_NOW's day
CHART_SEED = [
    row(at("2026-03-02T00:00:00"), n=3, cost="0.12"),  # the first day of the window, at its first instant
    row(at("2026-03-01T23:59:59.999999"), cost="1.00"),  # a microsecond before the window
    row(at("2026-03-30T23:59:59"), cost="0.08"),  # the last second of a day stays on that day
    row(at("2026-03-29T10:00:00"), user="U2", status=Status.FAILED),  # failures draw nothing
    row(at("2026-03-29T11:00:00"), user="U2", status=Status.REJECTED),
    row(at("2026-03-29T12:00:00"), user="U2", status=Status.QUEUED, cost="0.04"),  # not made yet
    row(at("2026-03-31T00:00:00"), cost="0.04"),
    row(at("2026-03-31T09:00:00"), user="U2", n=2, cost="0.16"),
    row(at("2026-03-31T14:59:00"), user="U3", cost="0.04"),
    row(at("2026-03-30T12:00:00"), team="T2", n=5, cost="0.20"),  # another workspace
]


@pytest.fixture
def charted(engine: Engine) -> UsageReader:
    seed(engine, CHART_SEED)
    return UsageReader(engine)


def test_daily_counts_delivered_images_per_utc_day_and_fills_the_gaps(charted: UsageReader) -> None:
    series = charted.daily(team_id="T1", now=CHART_NOW)

    assert [d.day for d in series] == [FIRST_DAY + timedelta(days=i) for i in range(30)]
    busy = {d.day: (d.images, d.cost_usd) for d in series if d.images or d.cost_usd}
    assert busy == {
        date(2026, 3, 2): (3, D("0.12")),
        date(2026, 3, 30): (1, D("0.08")),
        date(2026, 3, 31): (4, D("0.24")),
    }
    assert all((d.images, d.cost_usd) == (0, D(0)) for d in series if d.day not in busy)


def test_daily_without_a_team_is_every_workspace(charted: UsageReader) -> None:
    series = charted.daily(team_id=None, now=CHART_NOW)

    assert series[-2] == DayFigures(date(2026, 3, 30), 6, D("0.28"))
    assert sum(d.images for d in series) == 3 + 6 + 4


def test_daily_of_another_length_and_of_an_empty_database(charted: UsageReader) -> None:
    week = charted.daily(team_id="T1", now=CHART_NOW, days=7)
    assert [d.day for d in week] == [date(2026, 3, 25) + timedelta(days=i) for i in range(7)]
    assert [d.images for d in week] == [0, 0, 0, 0, 0, 1, 4]
    nothing = charted.daily(team_id="T0NOBODY01", now=CHART_NOW)
    assert len(nothing) == 30
    assert {(d.images, d.cost_usd) for d in nothing} == {(0, D(0))}


def test_daily_refuses_an_empty_window(charted: UsageReader) -> None:
    with pytest.raises(ValueError, match="days"):
        charted.daily(team_id="T1", now=CHART_NOW, days=0)


def test_recent_jobs_are_a_persons_newest_first(engine: Engine) -> None:
    seed(engine, [row(at(f"2026-11-0{day}T10:00")) for day in range(1, 8)] + [row(at("2026-11-09T10:00"), user="U2")])

    recent = UsageReader(engine).recent_jobs("U1", limit=3)

    assert [job.created_at for job in recent] == [
        at("2026-11-07T10:00"),
        at("2026-11-06T10:00"),
        at("2026-11-05T10:00"),
    ]
    assert all(job.origin.user_id == "U1" for job in recent)
