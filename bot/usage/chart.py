"""Images and cost per UTC day (`UsageReader.daily`) as a PNG (`render_chart`) and as a one-line text
version (`sparkline`) for where no picture can go.

The App Home shows the PNG to admins (through `bot/web/charts.py`, since Slack must fetch an image
block's URL itself), the playground shows it on its usage page, and the README's picture is one.
Rendering is Pillow only, with its bundled font, so the same series always gives the same bytes.
"""

from __future__ import annotations

import io
import math
from collections.abc import Sequence
from datetime import date
from decimal import Decimal

from PIL import Image, ImageDraw, ImageFont

from bot.store.usage import DayFigures

# --- text ---------------------------------------------------------------------------------------

_TICKS = "▁▂▃▄▅▆▇█"


def sparkline(values: Sequence[int | float | Decimal]) -> str:
    """One block character per value, scaled to the largest; zero (or less) is always the lowest.

    A value above zero never gets the lowest block, so a quiet day stays visible next to an empty one.
    """
    top = max((float(v) for v in values), default=0.0)
    if top <= 0:
        return _TICKS[0] * len(values)
    return "".join(
        _TICKS[0] if float(v) <= 0 else _TICKS[1 + round(float(v) / top * (len(_TICKS) - 2))] for v in values
    )


# --- the picture --------------------------------------------------------------------------------

WIDTH, HEIGHT = 900, 360
# Drawn at twice the size and scaled down: Pillow does not antialias lines or shapes itself.
_SCALE = 2
_LEFT, _RIGHT, _TOP, _BOTTOM = 64, 76, 92, 44  # the plot area's margins

_BACKGROUND = (250, 250, 252)
_TEXT = (29, 28, 29)
_MUTED = (97, 96, 97)
_GRID = (226, 227, 232)
_AXIS = (160, 160, 168)
_BARS = (88, 101, 214)
_LINE = (230, 126, 34)

_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")
_Font = ImageFont.FreeTypeFont | ImageFont.ImageFont


def render_chart(series: Sequence[DayFigures], *, title: str) -> bytes:
    """A WIDTH x HEIGHT PNG: bars for images per day (left axis), a line for cost in USD (right axis).

    With the title, the period's totals, a legend, value ticks on both axes and a date tick a week apart,
    ending on the last day. Deterministic: the same series and title give the same bytes.
    """
    canvas = _Canvas()
    canvas.text((24, 16), title, size=18, fill=_TEXT, bold=True)
    total_images = sum(d.images for d in series)
    total_cost = sum((d.cost_usd for d in series), Decimal(0))
    # "to", not an en dash: the bundled font has no glyph for one.
    period = f"{_day_label(series[0].day)} to {_day_label(series[-1].day)} (UTC)" if series else "no days"
    images_word = "image" if total_images == 1 else "images"
    canvas.text((24, 44), f"{total_images:,} {images_word} · ${total_cost:,.2f} estimated · {period}", size=13)
    _legend(canvas)

    x0, x1, y0, y1 = _LEFT, WIDTH - _RIGHT, _TOP, HEIGHT - _BOTTOM
    intervals = 4
    image_step = max(1, math.ceil(_nice_step(max((d.images for d in series), default=0), intervals, integer=True)))
    cost_step = _nice_step(float(max((d.cost_usd for d in series), default=Decimal(0))), intervals)
    image_top, cost_top = image_step * intervals, cost_step * intervals
    cost_digits = 2 if cost_step >= 0.01 else 3

    for i in range(intervals + 1):
        y = y1 - (y1 - y0) * i / intervals
        canvas.line([(x0, y), (x1, y)], fill=_AXIS if i == 0 else _GRID, width=1)
        canvas.text((x0 - 8, y), f"{image_step * i:,}", size=12, anchor="rm")
        canvas.text((x1 + 8, y), f"${cost_step * i:,.{cost_digits}f}", size=12, anchor="lm")
    canvas.text((x0 - 8, y0 - 16), "images", size=12, anchor="rs", fill=_BARS)
    canvas.text((x1 + 8, y0 - 16), "USD", size=12, anchor="ls", fill=_LINE)

    if not series:
        return canvas.png()
    slot = (x1 - x0) / len(series)
    bar = max(1.0, slot * 0.64)
    points = []
    for index, day in enumerate(series):
        centre = x0 + slot * (index + 0.5)
        if day.images > 0:
            top = y1 - (y1 - y0) * day.images / image_top
            canvas.bar(centre - bar / 2, top, centre + bar / 2, y1)
        points.append((centre, y1 - (y1 - y0) * float(day.cost_usd) / cost_top))
        if (len(series) - 1 - index) % 7 == 0:
            canvas.line([(centre, y1), (centre, y1 + 4)], fill=_AXIS, width=1)
            canvas.text((centre, y1 + 8), _day_label(day.day), size=12, anchor="mt")
    if total_cost > 0:
        if len(points) > 1:
            canvas.line(points, fill=_LINE, width=2.5)
        # Dots only where something was spent: a row of them along the baseline would be noise.
        for point, day in zip(points, series, strict=True):
            if day.cost_usd > 0:
                canvas.dot(point, radius=3, fill=_LINE)
    if total_images == 0:
        canvas.text(((x0 + x1) / 2, (y0 + y1) / 2), "No images in this period", size=15, anchor="mm", boxed=True)
    return canvas.png()


def _legend(canvas: _Canvas) -> None:
    """Top right: a bar swatch for images, a line with a dot for cost."""
    right = WIDTH - 24
    cost_label, images_label = "cost per day (USD)", "images per day"
    cost_x = right - canvas.text_width(cost_label, 13)
    canvas.line([(cost_x - 30, 26), (cost_x - 8, 26)], fill=_LINE, width=2.5)
    canvas.dot((cost_x - 19, 26), radius=3, fill=_LINE)
    canvas.text((cost_x, 26), cost_label, size=13, anchor="lm")
    images_x = cost_x - 48 - canvas.text_width(images_label, 13)
    canvas.bar(images_x - 22, 20, images_x - 8, 32)
    canvas.text((images_x, 26), images_label, size=13, anchor="lm")


def _nice_step(maximum: float, intervals: int, *, integer: bool = False) -> float:
    """The smallest 1, 2, 2.5 or 5 × 10^k step whose `intervals` multiples reach `maximum`."""
    if maximum <= 0:
        return 1.0 if integer else 0.01
    raw = maximum / intervals
    magnitude = 10.0 ** math.floor(math.log10(raw))
    factors = (1.0, 2.0, 5.0, 10.0) if integer else (1.0, 2.0, 2.5, 5.0, 10.0)
    return next(f * magnitude for f in factors if raw <= f * magnitude * (1 + 1e-9))


def _day_label(day: date) -> str:
    # Not strftime("%b"): that follows the process's locale, and the picture must not.
    return f"{_MONTHS[day.month - 1]} {day.day}"


class _Canvas:
    """A supersampled RGB image addressed in output pixels."""

    def __init__(self) -> None:
        self._image = Image.new("RGB", (WIDTH * _SCALE, HEIGHT * _SCALE), _BACKGROUND)
        self._draw = ImageDraw.Draw(self._image)
        self._fonts: dict[int, _Font] = {}

    def _font(self, size: int) -> _Font:
        if size not in self._fonts:
            # Pillow's bundled font (Aileron), so no system font decides how the chart looks.
            self._fonts[size] = ImageFont.load_default(size=size * _SCALE)
        return self._fonts[size]

    def text(
        self,
        at: tuple[float, float],
        text: str,
        *,
        size: int,
        fill: tuple[int, int, int] = _MUTED,
        anchor: str = "la",
        bold: bool = False,
        boxed: bool = False,
    ) -> None:
        x, y = at
        if boxed:  # on a plain patch, so grid lines do not run through the words
            left, top, right, bottom = self._draw.textbbox((x * _SCALE, y * _SCALE), text, self._font(size), anchor)
            pad = 6 * _SCALE
            self._draw.rectangle((left - pad, top - pad, right + pad, bottom + pad), fill=_BACKGROUND)
        self._draw.text(
            (x * _SCALE, y * _SCALE),
            text,
            font=self._font(size),
            fill=fill,
            anchor=anchor,
            # The bundled font has no bold face; a thin outline in the same colour stands in for one.
            stroke_width=1 if bold else 0,
            stroke_fill=fill,
        )

    def text_width(self, text: str, size: int) -> float:
        return self._draw.textlength(text, font=self._font(size)) / _SCALE

    def line(self, points: Sequence[tuple[float, float]], *, fill: tuple[int, int, int], width: float) -> None:
        scaled = [(x * _SCALE, y * _SCALE) for x, y in points]
        self._draw.line(scaled, fill=fill, width=max(1, round(width * _SCALE)), joint="curve")

    def bar(self, left: float, top: float, right: float, bottom: float) -> None:
        box = (left * _SCALE, top * _SCALE, right * _SCALE, bottom * _SCALE)
        radius = 2 * _SCALE
        if box[3] - box[1] > 2 * radius:
            self._draw.rounded_rectangle(box, radius=radius, fill=_BARS, corners=(True, True, False, False))
        else:
            self._draw.rectangle(box, fill=_BARS)

    def dot(self, at: tuple[float, float], *, radius: float, fill: tuple[int, int, int]) -> None:
        x, y, r = at[0] * _SCALE, at[1] * _SCALE, radius * _SCALE
        self._draw.ellipse((x - r, y - r, x + r, y + r), fill=fill, outline=_BACKGROUND, width=_SCALE)

    def png(self) -> bytes:
        out = io.BytesIO()
        # No metadata chunks (no time stamp), so equal pictures are equal bytes.
        self._image.resize((WIDTH, HEIGHT), Image.Resampling.LANCZOS).save(out, format="PNG", optimize=True)
        return out.getvalue()
