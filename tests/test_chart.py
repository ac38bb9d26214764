"""The usage chart: daily figures from a seeded database, the PNG, the sparkline, the signed HTTP endpoint."""

from __future__ import annotations

import io
import json
import re
from collections.abc import Callable, Iterable
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any
from urllib.parse import urlsplit
from wsgiref.util import setup_testing_defaults

import pytest
from PIL import Image
from pydantic import SecretStr
from sqlalchemy import Engine, insert

from bot.charts_http import CHART_TITLE, ChartEndpoint, chart_signing_key
from bot.usage.chart import HEIGHT, WIDTH, DayFigures, daily_series, render_chart, sparkline
from bot.usage.models import Generation
from tests.test_report import job as report_job

NOW = datetime(2026, 3, 31, 15, 0, tzinfo=UTC)
FIRST_DAY = date(2026, 3, 2)  # 30 UTC days up to and including NOW's day
TEAM, OTHER_TEAM = "T0TEAM0001", "T0OTHER001"
KEY = b"k" * 32
D = Decimal


def job(
    created_at: str,
    *,
    user: str = "U1",
    team: str = TEAM,
    n: int = 1,
    status: str = "succeeded",
    cost: str | None = "0.04",
) -> dict[str, Any]:
    """A seeded row: the report tests' builder, with this file's team and a dall-e-3 list price."""
    return report_job(created_at, user=user, team=team, n=n, status=status, cost=cost)


SEED = [
    job("2026-03-02T00:00:00", n=3, cost="0.12"),  # the first day of the window, at its first instant
    job("2026-03-01T23:59:59.999999", cost="1.00"),  # a microsecond before the window
    job("2026-03-30T23:59:59", cost="0.08"),  # the last second of a day stays on that day
    job("2026-03-29T10:00:00", user="U2", status="failed", cost=None),  # failures draw nothing
    job("2026-03-29T11:00:00", user="U2", status="rejected", cost=None),
    job("2026-03-29T12:00:00", user="U2", status="queued", cost="0.04"),  # not made yet
    job("2026-03-31T00:00:00", cost="0.04"),
    job("2026-03-31T09:00:00", user="U2", n=2, cost="0.16"),
    job("2026-03-31T14:59:00", user="U3", cost="0.04"),
    job("2026-03-30T12:00:00", team=OTHER_TEAM, n=5, cost="0.20"),  # another workspace
]


@pytest.fixture
def seeded(engine: Engine) -> Engine:
    with engine.begin() as connection:
        connection.execute(insert(Generation), SEED)
    return engine


# --- daily_series -------------------------------------------------------------------------------


def test_daily_series_counts_delivered_images_per_utc_day_and_fills_the_gaps(seeded: Engine) -> None:
    series = daily_series(seeded, team_id=TEAM, now=NOW)

    assert [d.day for d in series] == [FIRST_DAY + timedelta(days=i) for i in range(30)]
    busy = {d.day: (d.images, d.cost_usd) for d in series if d.images or d.cost_usd}
    assert busy == {
        date(2026, 3, 2): (3, D("0.12")),
        date(2026, 3, 30): (1, D("0.08")),
        date(2026, 3, 31): (4, D("0.24")),
    }
    assert all((d.images, d.cost_usd) == (0, D(0)) for d in series if d.day not in busy)


def test_daily_series_without_a_team_is_every_workspace(seeded: Engine) -> None:
    series = daily_series(seeded, team_id=None, now=NOW)

    assert series[-2] == DayFigures(date(2026, 3, 30), 6, D("0.28"))
    assert sum(d.images for d in series) == 3 + 6 + 4


def test_daily_series_of_another_length_and_of_an_empty_database(seeded: Engine, engine: Engine) -> None:
    week = daily_series(seeded, team_id=TEAM, now=NOW, days=7)
    assert [d.day for d in week] == [date(2026, 3, 25) + timedelta(days=i) for i in range(7)]
    assert [d.images for d in week] == [0, 0, 0, 0, 0, 1, 4]
    nothing = daily_series(engine, team_id="T0NOBODY01", now=NOW)
    assert len(nothing) == 30
    assert {(d.images, d.cost_usd) for d in nothing} == {(0, D(0))}


def test_daily_series_refuses_naive_times_and_empty_windows(engine: Engine) -> None:
    with pytest.raises(ValueError, match="timezone"):
        daily_series(engine, team_id=TEAM, now=NOW.replace(tzinfo=None))
    with pytest.raises(ValueError, match="days"):
        daily_series(engine, team_id=TEAM, now=NOW, days=0)


# --- render_chart and sparkline -----------------------------------------------------------------


def test_render_chart_draws_a_real_png_from_seeded_data(seeded: Engine) -> None:
    series = daily_series(seeded, team_id=TEAM, now=NOW)

    png = render_chart(series, title="Images and cost")

    assert png.startswith(b"\x89PNG\r\n\x1a\n")
    with Image.open(io.BytesIO(png)) as image:
        image.load()
        assert image.format == "PNG"
        assert image.size == (WIDTH, HEIGHT) == (900, 360)
        colours = image.convert("RGB").getcolors(maxcolors=WIDTH * HEIGHT)
    assert colours is not None
    assert len(colours) > 50  # bars, line, text and their antialiased edges, not a blank or two-tone image
    bars = sum(count for count, rgb in colours if rgb == (88, 101, 214))
    assert bars > 1000  # the bars' colour covers a real area


def test_render_chart_is_deterministic_and_follows_its_input() -> None:
    series = [DayFigures(FIRST_DAY + timedelta(days=i), i % 5, D(i % 5) * D("0.04")) for i in range(30)]

    first = render_chart(series, title="Usage")

    assert render_chart(list(series), title="Usage") == first
    assert render_chart(series, title="Other title") != first
    assert render_chart([*series[:-1], DayFigures(series[-1].day, 9, D("0.36"))], title="Usage") != first


@pytest.mark.parametrize(
    "series",
    [
        [],
        [DayFigures(FIRST_DAY, 0, D(0))],
        [DayFigures(FIRST_DAY + timedelta(days=i), 0, D(0)) for i in range(30)],
        [DayFigures(FIRST_DAY, 1, D("0.001"))],
        [DayFigures(FIRST_DAY + timedelta(days=i), 5000, D("4321.5")) for i in range(90)],
    ],
    ids=["no days", "one empty day", "thirty empty days", "a tiny cost", "large figures"],
)
def test_render_chart_copes_with_edge_cases(series: list[DayFigures]) -> None:
    with Image.open(io.BytesIO(render_chart(series, title="Edge"))) as image:
        assert image.size == (WIDTH, HEIGHT)


@pytest.mark.parametrize(
    ("values", "expected"),
    [
        ([], ""),
        ([0, 0, 0], "▁▁▁"),
        ([0, 1, 2, 4], "▁▄▅█"),
        ([5], "█"),
        ([0, 100, 1], "▁█▂"),  # a quiet day stays above an empty one
        ([D("0.5"), D("1.0")], "▅█"),
    ],
)
def test_sparkline(values: list[Any], expected: str) -> None:
    assert sparkline(values) == expected


# --- the signed chart endpoint ------------------------------------------------------------------


class Clock:
    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


def get(app: Callable[..., Iterable[bytes]], url: str, method: str = "GET") -> tuple[str, dict[str, str], bytes]:
    parts = urlsplit(url)
    environ: dict[str, Any] = {"REQUEST_METHOD": method, "PATH_INFO": parts.path, "QUERY_STRING": parts.query}
    setup_testing_defaults(environ)
    answer: dict[str, Any] = {}

    def start_response(status: str, headers: list[tuple[str, str]], exc_info: Any = None) -> Any:
        answer["status"], answer["headers"] = status, dict(headers)

    body = app(environ, start_response)
    return answer["status"], answer["headers"], b"".join(body)


@pytest.fixture
def clock() -> Clock:
    return Clock(NOW)


@pytest.fixture
def charts(seeded: Engine, clock: Clock) -> ChartEndpoint:
    return ChartEndpoint(seeded, KEY, clock)


def test_a_minted_url_has_the_documented_shape(charts: ChartEndpoint) -> None:
    url = charts.url_for("https://bot.example.com/", TEAM, NOW)

    match = re.fullmatch(r"https://bot\.example\.com/charts/T0TEAM0001\.png\?exp=(\d+)&sig=([0-9a-f]{64})", url)
    assert match is not None, url
    assert int(match[1]) == int((NOW + timedelta(hours=1)).timestamp())


def test_a_valid_url_answers_the_teams_chart_as_a_png(charts: ChartEndpoint, seeded: Engine) -> None:
    status, headers, body = get(charts, charts.url_for("https://bot.example.com", TEAM, NOW))

    assert status == "200 OK"
    assert headers["Content-Type"] == "image/png"
    assert headers["Cache-Control"] == "private, max-age=300"
    assert headers["Content-Length"] == str(len(body))
    assert body == render_chart(daily_series(seeded, team_id=TEAM, now=NOW), title=CHART_TITLE)
    head_status, _, head_body = get(charts, charts.url_for("https://bot.example.com", TEAM, NOW), "HEAD")
    assert (head_status, head_body) == ("200 OK", b"")


def test_a_url_works_until_it_expires(charts: ChartEndpoint, clock: Clock) -> None:
    url = charts.url_for("https://bot.example.com", TEAM, NOW)
    clock.now = NOW + timedelta(minutes=59, seconds=59)
    assert get(charts, url)[0] == "200 OK"
    clock.now = NOW + timedelta(hours=1)
    assert get(charts, url)[0] == "403 Forbidden"


def _tampered(url: str) -> dict[str, str]:
    sig = url[-64:]
    flipped = ("0" if sig[0] != "0" else "1") + sig[1:]
    exp = re.search(r"exp=(\d+)", url)
    assert exp is not None
    return {
        "bad signature": url[:-64] + flipped,
        "other team": url.replace(TEAM, OTHER_TEAM),
        "later expiry": url.replace(f"exp={exp[1]}", f"exp={int(exp[1]) + 3600}"),
        "no signature": url.split("&sig=")[0],
        "two signatures": url + "&sig=" + sig,
        "upper-case signature": url[:-64] + sig.upper(),
        "not a team id": url.replace(TEAM, "../T0TEAM0001"),
        "other path": url.replace("/charts/", "/chart/"),
        "not png": url.replace(".png", ".svg"),
    }


@pytest.mark.parametrize(
    "case",
    [
        "bad signature",
        "other team",
        "later expiry",
        "no signature",
        "two signatures",
        "upper-case signature",
        "not a team id",
        "other path",
        "not png",
    ],
)
def test_anything_but_a_valid_signature_is_a_bare_403(charts: ChartEndpoint, case: str) -> None:
    url = _tampered(charts.url_for("https://bot.example.com", TEAM, NOW))[case]

    status, headers, body = get(charts, url)

    assert status == "403 Forbidden"
    assert body == b"forbidden\n"  # no hint of what was wrong
    assert headers["Content-Type"].startswith("text/plain")


def test_a_url_signed_with_another_key_is_refused(seeded: Engine, clock: Clock) -> None:
    theirs = ChartEndpoint(seeded, b"x" * 32, clock).url_for("https://bot.example.com", TEAM, NOW)
    assert get(ChartEndpoint(seeded, KEY, clock), theirs)[0] == "403 Forbidden"


def test_only_get_and_head_are_served(charts: ChartEndpoint) -> None:
    assert get(charts, charts.url_for("https://bot.example.com", TEAM, NOW), "POST")[0] == "405 Method Not Allowed"


def test_the_signing_key_is_derived_from_the_signing_secret() -> None:
    key = chart_signing_key(SecretStr("test-signing-secret"))
    assert key == chart_signing_key(SecretStr("test-signing-secret"))
    assert key != chart_signing_key(SecretStr("another-secret"))
    assert len(key) == 32
    assert b"test-signing-secret" not in key
    with pytest.raises(ValueError, match="short"):
        ChartEndpoint(None, b"short")  # type: ignore[arg-type]


# --- the playground shows it ----------------------------------------------------------------------


class _Backend:
    """Just enough of the running playground for its usage routes."""

    class slack:  # stands in for the emulator: the page only asks it for the bot's name and id
        bot_user_id = "U0BOT00001"
        bot_name = "imagine-bot"

    def __init__(self, engine: Engine) -> None:
        self._engine = engine

    def engine(self) -> Engine:
        return self._engine


def test_the_playground_usage_page_links_its_chart_and_serves_it(seeded: Engine) -> None:
    from bot.playground.server import CHART_PATH, PlaygroundApp

    app = PlaygroundApp(_Backend(seeded))  # type: ignore[arg-type]

    status, _, body = get(app, "/api/usage?by=day&since=30d")
    assert status == "200 OK"
    report = json.loads(body)
    assert report["chart"].startswith(CHART_PATH + "?")
    assert report["chart_note"] is None
    status, headers, png = get(app, report["chart"])
    assert status == "200 OK"
    assert headers["Content-Type"] == "image/png"
    with Image.open(io.BytesIO(png)) as image:
        assert image.size == (WIDTH, HEIGHT)
