"""bot.usage.report: the time words of `imagine-bot report` and the table, CSV and JSON it prints."""

from __future__ import annotations

import csv
import io
import json
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.store.usage import Grouping, Report, ReportRow
from bot.usage.report import FORMATS, format_csv, format_json, format_table, parse_since, parse_until

NOW = datetime(2026, 11, 20, 12, 30, tzinfo=UTC)
SINCE = datetime(2026, 11, 1, tzinfo=UTC)
UNTIL = datetime(2026, 11, 4, tzinfo=UTC)
D = Decimal


def at(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


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
        ("2026-01-01T10:00:30.5", at("2026-01-01T10:00:30.5")),
        ("2026-01-01T10:00Z", at("2026-01-01T10:00")),
        ("2026-01-01T10:00+02:00", at("2026-01-01T08:00")),
        ("2024-02-29", at("2024-02-29T00:00")),
    ],
)
def test_parse_since_understands_ages_dates_and_times(value: str, expected: datetime) -> None:
    parsed = parse_since(value, NOW)

    assert parsed == expected
    assert parsed.utcoffset() == timedelta(0)


@pytest.mark.parametrize(
    ("value", "reason"),
    [
        ("", "is not understood"),
        ("30", "is not understood"),
        ("d", "is not understood"),
        ("0d", "is an empty window"),
        ("-5d", "is not understood"),
        ("1.5d", "is not understood"),
        ("30 days", "is not understood"),
        ("3m", "is not understood"),
        ("yesterday", "is not understood"),
        ("2026-13-01", "is not a real date"),
        ("2025-02-29", "is not a real date"),
        ("2026-01-01T25:00", "is not a real date"),
        ("2026-1-1", "is not understood"),
        ("01/02/2026", "is not understood"),
        ("20260101", "is not understood"),
        ("99999999d", "reaches back before the year 1"),
    ],
)
def test_parse_since_refuses_anything_else_in_one_plain_line(value: str, reason: str) -> None:
    with pytest.raises(ValueError, match=reason) as caught:
        parse_since(value, NOW)

    assert repr(value) in str(caught.value)
    assert "\n" not in str(caught.value)


@settings(max_examples=50, deadline=None)
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


ROWS = (
    ReportRow("U1", 1200, 3, 2, 1210, D("1234.5")),
    ReportRow("U2", 3, 1, 1, 5, D("0.288")),
    ReportRow("U3", 1, 0, 0, 1, D("0.00004")),
)
REPORT = Report(SINCE, UNTIL, ROWS, ReportRow("total", 1204, 4, 3, 1216, D("1234.78804")))
EMPTY = Report(SINCE, UNTIL, (), ReportRow("total", 0, 0, 0, 0, D(0)))


@pytest.mark.parametrize("by", list(Grouping))
def test_csv_has_a_header_with_the_key_first_and_parses_back(by: Grouping) -> None:
    reader = csv.DictReader(io.StringIO(format_csv(REPORT, by)))
    rows = list(reader)

    assert reader.fieldnames == [by.key_name, "images", "failed", "rejected", "requests", "estimated_cost_usd"]
    assert [row[by.key_name] for row in rows] == ["U1", "U2", "U3"]
    assert [(int(r["images"]), int(r["failed"]), int(r["rejected"]), int(r["requests"])) for r in rows] == [
        (1200, 3, 2, 1210),
        (3, 1, 1, 5),
        (1, 0, 0, 1),
    ]
    # Four places: a cheap model's fraction of a cent is not rounded away.
    assert [row["estimated_cost_usd"] for row in rows] == ["1234.5000", "0.2880", "0.0000"]


def test_the_key_names_of_each_grouping() -> None:
    assert {by: by.key_name for by in Grouping} == {
        Grouping.USER: "user_id",
        Grouping.CHANNEL: "channel_id",
        Grouping.DAY: "day",
        Grouping.MODEL: "model",
        Grouping.ORIGIN: "origin",
    }


def test_csv_of_an_empty_report_is_just_the_header() -> None:
    assert format_csv(EMPTY, Grouping.DAY) == "day,images,failed,rejected,requests,estimated_cost_usd\n"


def test_json_has_the_rows_the_totals_and_the_window() -> None:
    document = json.loads(format_json(REPORT, Grouping.CHANNEL))

    assert document["by"] == "channel"
    assert (document["since"], document["until"]) == ("2026-11-01T00:00:00Z", "2026-11-04T00:00:00Z")
    assert document["rows"][1] == {
        "channel_id": "U2",
        "images": 3,
        "failed": 1,
        "rejected": 1,
        "requests": 5,
        "estimated_cost_usd": 0.288,
    }
    assert document["totals"] == {
        "images": 1204,
        "failed": 4,
        "rejected": 3,
        "requests": 1216,
        "estimated_cost_usd": 1234.788,
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
    assert body[3].endswith("    $0.29")  # figures are right-aligned
    assert lines[0] == "Usage by user, 2026-11-01 00:00 to 2026-11-04 00:00 UTC"


def test_the_table_says_so_when_there_is_nothing_to_show() -> None:
    table = format_table(EMPTY, Grouping.DAY)

    assert "(no requests in this window)" in table
    assert table.rstrip().splitlines()[-1].split() == ["total", "0", "0", "0", "0", "$0.00"]


def test_the_formats_by_name() -> None:
    assert {"table": format_table, "csv": format_csv, "json": format_json} == FORMATS
