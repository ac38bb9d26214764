"""Usage reports: who, where, which model or which day, how many images and what they cost.

Pure of CLI concerns: `usage_report` runs one aggregate query over `generations`; the `parse_*`
functions turn the command line's time words into UTC datetimes; the `format_*` functions render a
`Report` as a terminal table, CSV or JSON. The window is half-open, `since <= created_at < until`, so
consecutive reports (`--since 2026-01-01 --until 2026-02-01`, then from 2026-02-01) never count a job
twice. Costs are what the worker estimated when the job finished (NULL, e.g. for a failed job, is 0).
"""

from __future__ import annotations

import csv
import io
import json
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from enum import StrEnum
from typing import Any

from sqlalchemy import ColumnElement, Date, Engine, Integer, Numeric, case, cast, func, literal, select

from bot.usage.models import Generation, Status


class Grouping(StrEnum):
    USER = "user"
    CHANNEL = "channel"
    DAY = "day"
    MODEL = "model"

    @property
    def key_name(self) -> str:
        """The key's column name in CSV and JSON output."""
        return _KEY_NAMES[self]


_KEY_NAMES = {Grouping.USER: "user_id", Grouping.CHANNEL: "channel_id", Grouping.DAY: "day", Grouping.MODEL: "model"}


@dataclass(frozen=True)
class ReportRow:
    key: str
    images: int  # images delivered: the sum of n over succeeded jobs
    failed: int
    rejected: int
    requests: int  # jobs of any status, including ones still queued or running
    estimated_cost_usd: Decimal


@dataclass(frozen=True)
class Report:
    since: datetime
    until: datetime
    rows: tuple[ReportRow, ...]
    totals: ReportRow


# --- the query ----------------------------------------------------------------------------------

_COST_SCALE = Decimal("0.000001")  # the column's scale, Numeric(12, 6)


def _day(dialect: str) -> ColumnElement[Any]:
    """The UTC calendar day of created_at, as SQL both backends can group by.

    PostgreSQL stores timestamptz, whose ::date follows the session's TimeZone; `AT TIME ZONE 'UTC'`
    pins the day to UTC whatever the connection says. SQLite stores naive UTC text, so date() is UTC.
    """
    if dialect == "postgresql":
        return cast(func.timezone("UTC", Generation.created_at), Date)
    return func.date(Generation.created_at)


def _key(by: Grouping, dialect: str) -> ColumnElement[Any]:
    match by:
        case Grouping.USER:
            return Generation.user_id.expression
        case Grouping.CHANNEL:
            return Generation.channel_id.expression
        case Grouping.MODEL:
            return Generation.model.expression
        case Grouping.DAY:
            return _day(dialect)


def _count_of(status: Status) -> ColumnElement[int]:
    return func.sum(case((Generation.status == status.value, 1), else_=0), type_=Integer)


def usage_report(
    engine: Engine, *, since: datetime, until: datetime, by: Grouping, team_id: str | None = None
) -> Report:
    """One GROUP BY over the window; totals are the sum of the groups, not a second query.

    Served from the covering indexes `ix_generations_report` (created_at first) and, with a team,
    `ix_generations_team_report` (team_id first): see migration 0002 and bench/report.py.
    """
    if since.tzinfo is None or until.tzinfo is None:
        raise ValueError("since and until must be timezone-aware")
    key = _key(by, engine.dialect.name).label("key")
    query = (
        select(
            key,
            func.sum(case((Generation.status == Status.SUCCEEDED.value, Generation.n), else_=0), type_=Integer),
            _count_of(Status.FAILED),
            _count_of(Status.REJECTED),
            func.count(),
            func.coalesce(func.sum(Generation.estimated_cost_usd), literal(0), type_=Numeric(18, 6)),
        )
        .where(Generation.created_at >= since, Generation.created_at < until)
        .group_by(key)
    )
    if team_id is not None:
        query = query.where(Generation.team_id == team_id)
    with engine.connect() as connection:
        result = connection.execute(query).all()
    rows = [
        ReportRow(
            key=_key_text(group),
            images=int(images or 0),
            failed=int(failed or 0),
            rejected=int(rejected or 0),
            requests=int(requests),
            # SQLite sums NUMERIC as a float: round back to the column's scale so both backends agree.
            estimated_cost_usd=Decimal(cost or 0).quantize(_COST_SCALE),
        )
        for group, images, failed, rejected, requests, cost in result
    ]
    if by is Grouping.DAY:
        rows.sort(key=lambda row: row.key)
    else:
        # Sorted here, not in SQL: the groups are few, and PostgreSQL's collation would order keys
        # differently from SQLite's.
        rows.sort(key=lambda row: (-row.estimated_cost_usd, row.key))
    return Report(since=since, until=until, rows=tuple(rows), totals=_total(rows))


def _key_text(value: object) -> str:
    # PostgreSQL returns a date, SQLite the text 'YYYY-MM-DD'; both print the same way.
    return value.isoformat() if isinstance(value, date) else str(value)


def _total(rows: Sequence[ReportRow]) -> ReportRow:
    return ReportRow(
        key="total",
        images=sum(row.images for row in rows),
        failed=sum(row.failed for row in rows),
        rejected=sum(row.rejected for row in rows),
        requests=sum(row.requests for row in rows),
        estimated_cost_usd=sum((row.estimated_cost_usd for row in rows), Decimal(0)),
    )


# --- the time window ----------------------------------------------------------------------------

_UNITS = {"h": timedelta(hours=1), "d": timedelta(days=1), "w": timedelta(weeks=1)}
_AGO = re.compile(r"([0-9]+)([hdw])")
_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")
# Date, then hours and minutes, optional seconds and fraction, optional zone ("Z" or "+02:00").
_DATETIME = re.compile(_DATE.pattern + r"[T ][0-9]{2}:[0-9]{2}(:[0-9]{2}(\.[0-9]+)?)?(Z|[+-][0-9]{2}:[0-9]{2})?")
_EXPECTED = "expected an age such as 30d, 12h or 2w, or a UTC date or time such as 2026-01-01 or 2026-01-01T10:00"


def parse_since(value: str, now: datetime) -> datetime:
    """`30d` / `12h` / `2w` before `now`, or a date (midnight UTC) or date and time (UTC unless it says)."""
    text = value.strip().lower()
    if match := _AGO.fullmatch(text):
        count = int(match[1])
        if count == 0:
            raise ValueError(f"{value!r} is an empty window; {_EXPECTED}")
        try:
            return now - count * _UNITS[match[2]]
        except OverflowError:
            raise ValueError(f"{value!r} reaches back before the year 1") from None
    if _DATE.fullmatch(text) or _DATETIME.fullmatch(text.upper()):
        try:
            moment = datetime.fromisoformat(text.upper())
        except ValueError:
            raise ValueError(f"{value!r} is not a real date or time; {_EXPECTED}") from None
        return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)
    raise ValueError(f"{value!r} is not understood; {_EXPECTED}")


def parse_until(value: str | None, now: datetime) -> datetime:
    """Like `parse_since`, default now; a bare date means through the end of that day.

    `--since 2026-01-01 --until 2026-01-31` then reports all of January, as people read it.
    """
    if value is None:
        return now
    moment = parse_since(value, now)
    return moment + timedelta(days=1) if _DATE.fullmatch(value.strip()) else moment


# --- output -------------------------------------------------------------------------------------

_FIELDS = ("images", "failed", "rejected", "requests", "estimated_cost_usd")
_CSV_COST = Decimal("0.0001")  # cheap models cost fractions of a cent: cents alone would round them away


def _figures(row: ReportRow) -> dict[str, Any]:
    return {
        "images": row.images,
        "failed": row.failed,
        "rejected": row.rejected,
        "requests": row.requests,
        "estimated_cost_usd": row.estimated_cost_usd.quantize(_CSV_COST),
    }


def format_table(report: Report, by: Grouping) -> str:
    """Aligned columns for a terminal: keys left, figures right, then a rule and the totals."""
    header = (by.key_name, "images", "failed", "rejected", "requests", "cost")
    lines = [_table_cells(row) for row in report.rows]
    totals = _table_cells(report.totals)
    widths = [max(len(cells[i]) for cells in (header, *lines, totals)) for i in range(len(header))]

    def render(cells: Sequence[str]) -> str:
        first, *rest = cells
        return "  ".join([first.ljust(widths[0]), *(c.rjust(w) for c, w in zip(rest, widths[1:], strict=True))])

    since, until = report.since.astimezone(UTC), report.until.astimezone(UTC)
    title = f"Usage by {by.value}, {since:%Y-%m-%d %H:%M} to {until:%Y-%m-%d %H:%M} UTC"
    body = [render(cells) for cells in lines] or ["(no requests in this window)"]
    rule = "-" * len(render(header))
    return "\n".join([title, "", render(header), rule, *body, rule, render(totals)]) + "\n"


def _table_cells(row: ReportRow) -> tuple[str, ...]:
    cost = f"${row.estimated_cost_usd.quantize(Decimal('0.01')):,}"
    return (row.key, *(f"{n:,}" for n in (row.images, row.failed, row.rejected, row.requests)), cost)


def format_csv(report: Report, by: Grouping) -> str:
    """One line per group, the key first; no totals line, so a spreadsheet's SUM stays right."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow([by.key_name, *_FIELDS])
    for row in report.rows:
        figures = _figures(row)
        writer.writerow([row.key, *(figures[name] for name in _FIELDS)])
    return out.getvalue()


def format_json(report: Report, by: Grouping) -> str:
    document = {
        "by": by.value,
        "since": _iso(report.since),
        "until": _iso(report.until),
        "rows": [{by.key_name: row.key, **_json_figures(row)} for row in report.rows],
        "totals": _json_figures(report.totals),
    }
    return json.dumps(document, indent=2) + "\n"


def _json_figures(row: ReportRow) -> dict[str, Any]:
    figures = _figures(row)
    # A JSON number, which jq and spreadsheets sum; rounded to 4 places it survives the float.
    figures["estimated_cost_usd"] = float(figures["estimated_cost_usd"])
    return figures


def _iso(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat().replace("+00:00", "Z")


FORMATS: dict[str, Callable[[Report, Grouping], str]] = {"table": format_table, "csv": format_csv, "json": format_json}
