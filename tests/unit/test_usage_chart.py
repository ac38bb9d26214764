"""bot.usage.chart: the daily chart as a PNG, and the sparkline where no picture can go."""

from __future__ import annotations

import io
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

import pytest
from PIL import Image

from bot.store.usage import DayFigures
from bot.usage.chart import HEIGHT, WIDTH, render_chart, sparkline

FIRST_DAY = date(2026, 3, 2)
D = Decimal
SERIES = [DayFigures(FIRST_DAY + timedelta(days=i), i % 5, D(i % 5) * D("0.04")) for i in range(30)]


def test_render_chart_draws_a_real_png() -> None:
    png = render_chart(SERIES, title="Images and cost")

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
    first = render_chart(SERIES, title="Usage")

    assert render_chart(list(SERIES), title="Usage") == first
    assert render_chart(SERIES, title="Other title") != first
    assert render_chart([*SERIES[:-1], DayFigures(SERIES[-1].day, 9, D("0.36"))], title="Usage") != first


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
        ([-3, 0, 3], "▁▁█"),
    ],
)
def test_sparkline(values: list[Any], expected: str) -> None:
    assert sparkline(values) == expected
