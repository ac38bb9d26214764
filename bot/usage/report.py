"""`imagine-bot report`'s words and output: the `parse_*` functions turn the command line's time words
into UTC datetimes; the `format_*` functions render a `Report` (`UsageReader.report`) as a terminal
table, CSV or JSON. Costs are what the worker computed when the job finished (a failed job costs 0).
"""

from __future__ import annotations

import csv
import io
import json
import re
from collections.abc import Callable, Sequence
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

from bot.store.usage import Grouping, Report, ReportRow

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
