"""Usage reports: the time window words, the figures on a seeded database, the three formats, the CLI."""

from __future__ import annotations

import csv
import io
import json
import os
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from sqlalchemy import Engine, event, insert

from bot.database import create_database_engine
from bot.usage.models import Generation
from bot.usage.report import (
    Grouping,
    Report,
    ReportRow,
    format_csv,
    format_json,
    format_table,
    parse_since,
    parse_until,
    usage_report,
)

ROOT = Path(__file__).resolve().parent.parent
NOW = datetime(2026, 11, 20, 12, 30, tzinfo=UTC)
SINCE = datetime(2026, 11, 1, tzinfo=UTC)
UNTIL = datetime(2026, 11, 4, tzinfo=UTC)


def at(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


# --- the time window ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("30d", NOW - timedelta(days=30)),
        ("12h", NOW - timedelta(hours=12)),
        ("2w", NOW - timedelta(days=14)),
        ("1h", NOW - timedelta(hours=1)),
        (" 7D ", NOW - timedelta(days=7)),
        ("2026-01-01", at("2026-01-01T00:00")),
        ("2026-01-01T10:00", at("2026-01-01T10:00")),
        ("2026-01-01t10:00", at("2026-01-01T10:00")),
        ("2026-01-01 10:00", at("2026-01-01T10:00")),
        ("2026-01-01T10:00:30", at("2026-01-01T10:00:30")),
        ("2026-01-01T10:00Z", at("2026-01-01T10:00")),
        ("2026-01-01T10:00+02:00", at("2026-01-01T08:00")),
        ("2024-02-29", at("2024-02-29T00:00")),
    ],
)
def test_parse_since_understands_ages_dates_and_times(value: str, expected: datetime) -> None:
    parsed = parse_since(value, NOW)

    assert parsed == expected
    assert parsed.tzinfo is not None
    assert parsed.utcoffset() == timedelta(0)


@pytest.mark.parametrize(
    "value",
    [
        "",
        "30",
        "d",
        "0d",
        "-5d",
        "1.5d",
        "30 days",
        "3m",
        "yesterday",
        "2026-13-01",
        "2025-02-29",
        "2026-01-01T25:00",
        "2026-1-1",
        "01/02/2026",
        "20260101",
        "99999999d",
    ],
)
def test_parse_since_refuses_anything_else_in_plain_words(value: str) -> None:
    with pytest.raises(ValueError, match=r"expected an age such as 30d|before the year 1") as caught:
        parse_since(value, NOW)

    assert "\n" not in str(caught.value)


@given(st.integers(min_value=1, max_value=3650))
def test_any_number_of_days_is_that_many_days_before_now(days: int) -> None:
    assert parse_since(f"{days}d", NOW) == NOW - timedelta(days=days)


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (None, NOW),
        ("1d", NOW - timedelta(days=1)),
        ("2026-01-31", at("2026-02-01T00:00")),  # a bare date includes that whole day
        ("2026-01-31T12:00", at("2026-01-31T12:00")),
    ],
)
def test_parse_until_defaults_to_now_and_reads_a_date_as_the_end_of_that_day(
    value: str | None, expected: datetime
) -> None:
    assert parse_until(value, NOW) == expected


def test_parse_until_refuses_what_parse_since_refuses() -> None:
    with pytest.raises(ValueError, match="not understood"):
        parse_until("soon", NOW)


# --- the report on a seeded database ------------------------------------------------------------


def job(
    created_at: str | datetime,
    *,
    user: str = "U1",
    channel: str = "C1",
    team: str = "T1",
    model: str = "dall-e-3",
    n: int = 1,
    status: str = "succeeded",
    cost: str | None = None,
) -> dict[str, Any]:
    created = at(created_at) if isinstance(created_at, str) else created_at
    return {
        "team_id": team,
        "channel_id": channel,
        "user_id": user,
        "prompt": "a fox",
        "model": model,
        "deployment": "d",
        "size": "1024x1024",
        "quality": None if model == "dall-e-2" else "standard",
        "n": n,
        "status": status,
        "attempts": 1,
        "created_at": created,
        "not_before": created,
        "response_url_uses": 0,
        "estimated_cost_usd": None if cost is None else Decimal(cost),
    }


SEED = [
    job("2026-11-01T00:00:00", cost="0.04"),  # exactly at since: counted
    job("2026-11-01T23:59:59", cost="0.08"),
    job("2026-11-02T00:00:00", channel="C2", model="gpt-image-1", n=4, cost="0.168"),
    job("2026-11-02T10:00:00", user="U2", channel="C2", model="gpt-image-1", n=2, status="failed"),
    job("2026-11-02T11:00:00", user="U2", status="rejected"),
    job("2026-11-03T12:00:00", user="U2", model="dall-e-2", n=3, cost="0.06"),
    job("2026-11-03T23:00:00", user="U3", channel="C2", status="queued"),
    job("2026-11-02T12:00:00", user="U9", channel="C9", team="T2", cost="0.04"),
    # Outside the window: a microsecond before since, and exactly at until (the window is half-open).
    job("2026-10-31T23:59:59.999999", cost="1.00"),
    job("2026-11-04T00:00:00", cost="1.00"),
]


def seed(engine: Engine, rows: list[dict[str, Any]]) -> None:
    with engine.begin() as connection:
        connection.execute(insert(Generation), rows)


@pytest.fixture
def seeded(engine: Engine) -> Engine:
    seed(engine, SEED)
    return engine


def figures(report: Report) -> list[tuple[str, int, int, int, int, Decimal]]:
    return [(r.key, r.images, r.failed, r.rejected, r.requests, r.estimated_cost_usd) for r in report.rows]


def total(report: Report) -> tuple[str, int, int, int, int, Decimal]:
    t = report.totals
    return (t.key, t.images, t.failed, t.rejected, t.requests, t.estimated_cost_usd)


D = Decimal
EXPECTED = {
    # key, images (n of succeeded jobs), failed, rejected, requests, cost; by cost, then key; days in order
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
        ("gpt-image-1", 4, 1, 0, 2, D("0.168")),
        ("dall-e-3", 3, 0, 1, 5, D("0.16")),
        ("dall-e-2", 3, 0, 0, 1, D("0.06")),
    ],
}


@pytest.mark.parametrize("by", list(Grouping))
def test_every_grouping_counts_images_outcomes_requests_and_cost(seeded: Engine, by: Grouping) -> None:
    report = usage_report(seeded, since=SINCE, until=UNTIL, by=by)

    assert figures(report) == EXPECTED[by]
    assert total(report) == ("total", 10, 1, 1, 8, D("0.388"))
    assert (report.since, report.until) == (SINCE, UNTIL)


def test_the_team_filter_leaves_other_workspaces_out(seeded: Engine) -> None:
    report = usage_report(seeded, since=SINCE, until=UNTIL, by=Grouping.USER, team_id="T1")

    assert [row.key for row in report.rows] == ["U1", "U2", "U3"]
    assert total(report) == ("total", 9, 1, 1, 7, D("0.348"))
    assert usage_report(seeded, since=SINCE, until=UNTIL, by=Grouping.USER, team_id="T404").rows == ()


@pytest.mark.parametrize(
    ("since", "until", "requests"),
    [
        ("2026-10-31T23:59:59.999999", "2026-11-04T00:00:00.000001", 10),  # both edges in
        ("2026-11-01T00:00:00.000001", "2026-11-04T00:00:00", 7),  # the row at since drops out
        ("2026-11-02T00:00:00", "2026-11-02T00:00:00.000001", 1),  # one microsecond, one row
        ("2026-11-05T00:00:00", "2026-11-06T00:00:00", 0),
    ],
)
def test_the_window_includes_since_and_excludes_until(seeded: Engine, since: str, until: str, requests: int) -> None:
    report = usage_report(seeded, since=at(since), until=at(until), by=Grouping.DAY)

    assert report.totals.requests == requests
    assert sum(row.requests for row in report.rows) == requests


def test_equal_costs_are_ordered_by_key(engine: Engine) -> None:
    seed(engine, [job("2026-11-02T10:00", user=user, cost="0.04") for user in ("Ub", "Uc", "Ua")])

    report = usage_report(engine, since=SINCE, until=UNTIL, by=Grouping.USER)

    assert [row.key for row in report.rows] == ["Ua", "Ub", "Uc"]


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
        seed(engine, [job("2026-11-01T23:59:59"), job("2026-11-02T00:00:00")])
        report = usage_report(engine, since=SINCE, until=UNTIL, by=Grouping.DAY)
    finally:
        engine.dispose()

    assert [(row.key, row.requests) for row in report.rows] == [("2026-11-01", 1), ("2026-11-02", 1)]


def test_an_empty_window_is_an_empty_report_with_zero_totals(engine: Engine) -> None:
    report = usage_report(engine, since=SINCE, until=UNTIL, by=Grouping.MODEL)

    assert report.rows == ()
    assert total(report) == ("total", 0, 0, 0, 0, D("0"))


def test_naive_datetimes_are_refused(engine: Engine) -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        usage_report(engine, since=datetime(2026, 11, 1), until=UNTIL, by=Grouping.USER)


# --- formats ------------------------------------------------------------------------------------

ROWS = (
    ReportRow("U1", 1200, 3, 2, 1210, D("1234.5")),
    ReportRow("U2", 3, 1, 1, 5, D("0.288")),
    ReportRow("U3", 1, 0, 0, 1, D("0.002")),
)
REPORT = Report(
    since=SINCE,
    until=UNTIL,
    rows=ROWS,
    totals=ReportRow("total", 1204, 4, 3, 1216, D("1234.790")),
)
KEY_NAMES = {Grouping.USER: "user_id", Grouping.CHANNEL: "channel_id", Grouping.DAY: "day", Grouping.MODEL: "model"}


@pytest.mark.parametrize("by", list(Grouping))
def test_csv_has_a_header_with_the_key_first_and_parses_back(by: Grouping) -> None:
    reader = csv.DictReader(io.StringIO(format_csv(REPORT, by)))
    rows = list(reader)

    assert reader.fieldnames == [KEY_NAMES[by], "images", "failed", "rejected", "requests", "estimated_cost_usd"]
    assert [row[KEY_NAMES[by]] for row in rows] == ["U1", "U2", "U3"]
    assert [(int(r["images"]), int(r["failed"]), int(r["rejected"]), int(r["requests"])) for r in rows] == [
        (1200, 3, 2, 1210),
        (3, 1, 1, 5),
        (1, 0, 0, 1),
    ]
    assert [Decimal(row["estimated_cost_usd"]) for row in rows] == [D("1234.5"), D("0.288"), D("0.002")]
    for row in rows:
        decimals = row["estimated_cost_usd"].split(".")[1]
        assert 2 <= len(decimals) <= 4


def test_csv_of_an_empty_report_is_just_the_header() -> None:
    empty = Report(SINCE, UNTIL, (), ReportRow("total", 0, 0, 0, 0, D(0)))

    assert format_csv(empty, Grouping.DAY) == "day,images,failed,rejected,requests,estimated_cost_usd\n"


def test_json_has_the_rows_the_totals_and_the_window() -> None:
    document = json.loads(format_json(REPORT, Grouping.CHANNEL))

    assert document["by"] == "channel"
    assert document["since"] == "2026-11-01T00:00:00Z"
    assert document["until"] == "2026-11-04T00:00:00Z"
    assert document["rows"][1] == {
        "channel_id": "U2",
        "images": 3,
        "failed": 1,
        "rejected": 1,
        "requests": 5,
        "estimated_cost_usd": 0.288,
    }
    assert [row["channel_id"] for row in document["rows"]] == ["U1", "U2", "U3"]
    assert document["totals"] == {
        "images": 1204,
        "failed": 4,
        "rejected": 3,
        "requests": 1216,
        "estimated_cost_usd": 1234.79,
    }


def test_the_table_aligns_its_columns_and_ends_with_the_totals() -> None:
    lines = format_table(REPORT, Grouping.USER).rstrip("\n").splitlines()

    header = next(line for line in lines if line.startswith("user_id"))
    body = lines[lines.index(header) :]
    assert header.split() == ["user_id", "images", "failed", "rejected", "requests", "cost"]
    assert len({len(line) for line in body}) == 1  # every line, rules included, is as wide as the header
    assert body[2].split() == ["U1", "1,200", "3", "2", "1,210", "$1,234.50"]
    assert body[3].split() == ["U2", "3", "1", "1", "5", "$0.29"]
    assert body[-1].split() == ["total", "1,204", "4", "3", "1,216", "$1,234.79"]
    assert body[-2].startswith("---")
    assert body[2].endswith("$1,234.50")
    assert body[3].endswith("    $0.29")  # figures are right-aligned
    assert "2026-11-01 00:00 to 2026-11-04 00:00 UTC" in lines[0]


def test_the_table_says_so_when_there_is_nothing_to_show() -> None:
    empty = Report(SINCE, UNTIL, (), ReportRow("total", 0, 0, 0, 0, D(0)))

    table = format_table(empty, Grouping.DAY)

    assert "(no requests in this window)" in table
    assert table.rstrip().splitlines()[-1].split() == ["total", "0", "0", "0", "0", "$0.00"]


# --- the CLI ------------------------------------------------------------------------------------


@pytest.fixture
def cli(database_url: str, tmp_path: Path) -> Any:
    def run(*args: str) -> subprocess.CompletedProcess[str]:
        env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "PYTHONPATH": str(ROOT), "DATABASE_URL": database_url}
        return subprocess.run(
            [sys.executable, "-m", "bot", "report", *args],
            cwd=tmp_path,
            env=env,
            capture_output=True,
            text=True,
            timeout=60,
        )

    return run


def test_the_cli_prints_csv_for_a_window(seeded: Engine, cli: Any) -> None:
    result = cli("--format", "csv", "--by", "model", "--since", "2026-11-01", "--until", "2026-11-03")

    assert result.returncode == 0, result.stderr
    rows = list(csv.DictReader(io.StringIO(result.stdout)))
    assert [(row["model"], row["requests"], Decimal(row["estimated_cost_usd"])) for row in rows] == [
        ("gpt-image-1", "2", D("0.168")),
        ("dall-e-3", "5", D("0.16")),
        ("dall-e-2", "1", D("0.06")),
    ]


def test_the_cli_defaults_to_a_table_by_user_over_the_last_30_days(engine: Engine, cli: Any) -> None:
    now = datetime.now(UTC)
    seed(
        engine, [job(now - timedelta(days=1), user="Urecent", cost="0.04"), job(now - timedelta(days=31), user="Uold")]
    )

    result = cli()

    assert result.returncode == 0, result.stderr
    assert "Urecent" in result.stdout
    assert "Uold" not in result.stdout
    assert result.stdout.rstrip().splitlines()[-1].split() == ["total", "1", "0", "0", "1", "$0.04"]


def test_the_cli_prints_json(seeded: Engine, cli: Any) -> None:
    result = cli("--format", "json", "--by", "day", "--since", "2026-11-01", "--until", "2026-11-03")

    assert result.returncode == 0, result.stderr
    document = json.loads(result.stdout)
    assert [row["day"] for row in document["rows"]] == ["2026-11-01", "2026-11-02", "2026-11-03"]
    assert document["totals"]["requests"] == 8


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--since", "last tuesday"], "imagine-bot: report: --since: 'last tuesday' is not understood"),
        (["--until", "2026-02-30"], "imagine-bot: report: --until: '2026-02-30' is not a real date"),
        (["--since", "1d", "--until", "2d"], "imagine-bot: report: --since 1d is not before --until 2d"),
    ],
)
def test_a_bad_window_is_one_line_on_stderr_and_exit_2(cli: Any, args: list[str], message: str) -> None:
    result = cli(*args)

    assert result.returncode == 2
    assert result.stdout == ""
    [line] = result.stderr.strip().splitlines()
    assert line.startswith(message)
