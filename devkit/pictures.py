"""Offline stand-ins for generated images: abstract, colourful, clearly labelled pictures drawn with Pillow.

`draw` paints the shapes on a small canvas and scales it up, then writes the banner and the prompt at full
resolution, so even a 3840x2160 picture costs a few tens of milliseconds plus a fast PNG encode. The same
arguments always give the same bytes; a different seed gives a visibly different picture (palette, shapes,
layout). `roughness` makes the pixelated, less detailed previews that streaming sends before the final image,
and `source` turns the picture into a visible edit of an input image.
"""

from __future__ import annotations

import colorsys
import hashlib
import io
import random
import textwrap
import zlib
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import Final, Literal

from PIL import Image, ImageDraw, ImageFont

__all__ = ["BANNER", "draw", "pad_png", "side_by_side"]

BANNER: Final = "OFFLINE PREVIEW — emulated Azure OpenAI"
_SKETCH_EDGE: Final = 384  # shapes are painted at most this big, then scaled: cheap at any output size
_MAX_PROMPT_DRAWN: Final = 280  # a 32,000-character prompt would take longer to lay out than to draw
_PNG_LEVEL: Final = 1  # zlib level 1: several times faster than Pillow's default at large sizes
_JPEG_QUALITY: Final = 85

_Font = ImageFont.FreeTypeFont | ImageFont.ImageFont
_RGBA = tuple[int, int, int, int]


@dataclass(frozen=True)
class _Layout:
    """Everything a seed decides: the palette, where the banner and the prompt go, which shapes appear."""

    hues: tuple[float, ...]
    gradient: Literal["vertical", "horizontal", "diagonal"]
    banner_on_top: bool
    panel: Literal["top", "middle", "bottom"]
    shapes: tuple[tuple[str, float, float, float, int, float], ...]  # kind, x, y, radius, colour index, tilt


def draw(
    prompt: str,
    width: int,
    height: int,
    *,
    fmt: Literal["png", "jpeg"] = "png",
    seed: int = 0,
    transparent: bool = False,
    roughness: float = 0.0,
    source: bytes | None = None,
    note: str | None = None,
) -> bytes:
    """A `width`x`height` PNG or JPEG with `prompt` written on it under an "offline preview" banner.

    `roughness` in [0, 1]: 0 is the finished picture; higher values pixelate it, leave shapes out and blank
    the prompt, as a streamed partial image would look. `source` (PNG/JPEG/WEBP bytes) is scaled to fill the
    picture and re-tinted, so the result reads as an edit of it. `note` is a short label in a corner.
    """
    if width < 1 or height < 1:
        raise ValueError(f"the picture must be at least 1x1, not {width}x{height}")
    if fmt not in ("png", "jpeg"):
        raise ValueError(f"fmt must be 'png' or 'jpeg', not {fmt!r}")
    if not 0.0 <= roughness <= 1.0:
        raise ValueError(f"roughness must be between 0 and 1, not {roughness}")
    return _draw(prompt, width, height, fmt, seed, transparent, round(roughness, 3), source, note)


@lru_cache(maxsize=32)
def _draw(
    prompt: str,
    width: int,
    height: int,
    fmt: str,
    seed: int,
    transparent: bool,
    roughness: float,
    source: bytes | None,
    note: str | None,
) -> bytes:
    layout = _layout(prompt, seed)
    size = (width, height)
    scale = min(1.0, _SKETCH_EDGE / max(width, height))
    small = (max(1, round(width * scale)), max(1, round(height * scale)))
    shapes = _shapes(layout, small, roughness=roughness, edit=source is not None)
    if source is None:
        # Everything but the words is painted small and scaled once: the cost hardly grows with the size.
        base = Image.new("RGBA", small, (0, 0, 0, 0)) if transparent else _gradient(layout, small)
        canvas = Image.alpha_composite(base, shapes)
    else:
        # The source keeps its full resolution, so its own banner and words stay legible through an edit.
        base = _tinted(source, size, layout.hues[0])
        canvas = Image.alpha_composite(base, shapes.resize(size, Image.Resampling.BILINEAR))
    if not transparent:
        canvas = canvas.convert("RGB")
    if roughness > 0:
        # Pixelate: the rougher the preview, the bigger its blocks (measured on the sketch's scale).
        block = 1 + round(roughness * 15)
        tiny = canvas.resize((max(1, small[0] // block), max(1, small[1] // block)), Image.Resampling.BILINEAR)
        canvas = tiny.resize(size, Image.Resampling.NEAREST)
    elif canvas.size != size:
        canvas = canvas.resize(size, Image.Resampling.BILINEAR)
    _write_text(canvas, layout, prompt, note, rough=roughness > 0)
    out = io.BytesIO()
    if fmt == "jpeg":
        canvas.convert("RGB").save(out, "JPEG", quality=_JPEG_QUALITY)
    else:
        canvas.save(out, "PNG", compress_level=_PNG_LEVEL)
    return out.getvalue()


def _layout(prompt: str, seed: int) -> _Layout:
    digest = hashlib.sha256(f"{seed}\0{prompt}".encode()).digest()
    rng = random.Random(int.from_bytes(digest[:8], "big"))
    base = rng.random()
    scheme = rng.choice(((0.0, 0.08, -0.08), (0.0, 0.5, 0.45), (0.0, 1 / 3, 2 / 3), (0.0, 0.15, 0.58)))
    hues = tuple((base + offset) % 1.0 for offset in scheme)
    kinds = ("ellipse", "rectangle", "triangle", "ring", "stripe")
    shapes = tuple(
        (
            rng.choice(kinds),
            rng.uniform(0.0, 1.0),
            rng.uniform(0.0, 1.0),
            rng.uniform(0.05, 0.24),
            rng.randrange(len(hues)),
            rng.uniform(0.0, 1.0),
        )
        for _ in range(rng.randint(7, 14))
    )
    return _Layout(
        hues=hues,
        gradient=rng.choice(("vertical", "horizontal", "diagonal")),
        banner_on_top=rng.random() < 0.5,
        panel=rng.choice(("top", "middle", "bottom")),
        shapes=shapes,
    )


def _colour(hue: float, saturation: float, value: float, alpha: int = 255) -> _RGBA:
    r, g, b = colorsys.hsv_to_rgb(hue % 1.0, saturation, value)
    return round(r * 255), round(g * 255), round(b * 255), alpha


def _shapes(layout: _Layout, size: tuple[int, int], *, roughness: float, edit: bool) -> Image.Image:
    width, height = size
    overlay = Image.new("RGBA", size, (0, 0, 0, 0))
    pen = ImageDraw.Draw(overlay)
    unit = min(width, height)
    # A rough preview has fewer shapes; an edit keeps a few translucent ones, so the source stays visible.
    keep = 3 if edit else len(layout.shapes)
    keep = max(1, round(keep * (1.0 - 0.6 * roughness)))
    alpha, grow = (140, 0.8) if edit else (255, 1.2)
    for kind, fx, fy, fr, colour_index, tilt in layout.shapes[:keep]:
        cx, cy, r = fx * width, fy * height, fr * unit * grow
        fill = _colour(layout.hues[colour_index] + (tilt - 0.5) * 0.06, 0.55 + 0.35 * tilt, 0.9, alpha)
        if kind == "ellipse":
            pen.ellipse((cx - r, cy - r, cx + r, cy + r), fill=fill)
        elif kind == "rectangle":
            pen.rectangle((cx - r, cy - r * (0.4 + tilt * 0.5), cx + r, cy + r * (0.4 + tilt * 0.5)), fill=fill)
        elif kind == "triangle":
            pen.polygon([(cx, cy - r), (cx + r, cy + r * tilt), (cx - r, cy + r)], fill=fill)
        elif kind == "ring":
            pen.ellipse((cx - r, cy - r, cx + r, cy + r), outline=fill, width=max(1, round(r * 0.25)))
        else:
            pen.line(
                [(cx - 2 * r, cy - r * tilt), (cx + 2 * r, cy + r * (1 - tilt))], fill=fill, width=max(1, round(r / 3))
            )
    return overlay


def _gradient(layout: _Layout, size: tuple[int, int]) -> Image.Image:
    width, height = size
    canvas = Image.new("RGBA", size)
    pen = ImageDraw.Draw(canvas)
    bands = 16  # a stepped gradient: a few polygons instead of per-pixel blending
    hue_from, hue_to = layout.hues[0], layout.hues[-1]
    for i in range(bands):
        t = i / (bands - 1)
        fill = _colour(hue_from + (hue_to - hue_from) * t * 0.5, 0.5, 0.22 + 0.45 * t)
        a, b = i / bands, (i + 1) / bands
        if layout.gradient == "vertical":
            pen.rectangle((0, a * height, width, b * height + 1), fill=fill)
        elif layout.gradient == "horizontal":
            pen.rectangle((a * width, 0, b * width + 1, height), fill=fill)
        else:
            span = width + height
            pen.polygon(
                [(a * span, 0), (b * span + 1, 0), (b * span + 1 - height, height), (a * span - height, height)],
                fill=fill,
            )
    return canvas


def _tinted(source: bytes, size: tuple[int, int], hue: float) -> Image.Image:
    with Image.open(io.BytesIO(source)) as opened:
        picture = opened.convert("RGBA")
    # Contain, inset in a frame: the whole source stays in view (its own banner and words too), so a chain
    # of edits reads as pictures within pictures.
    ratio = 0.86 * min(size[0] / picture.width, size[1] / picture.height)
    scaled = picture.resize((max(1, round(picture.width * ratio)), max(1, round(picture.height * ratio))))
    canvas = Image.new("RGBA", size, _colour(hue, 0.5, 0.2))
    canvas.paste(scaled, ((size[0] - scaled.width) // 2, (size[1] - scaled.height) // 2))
    return Image.blend(canvas, Image.new("RGBA", size, _colour(hue, 0.8, 0.9)), 0.3)


@lru_cache(maxsize=16)
def _font(size: int) -> _Font:
    return ImageFont.load_default(size=size)


def _font_size(font: _Font) -> int:
    return int(font.size) if isinstance(font, ImageFont.FreeTypeFont) else 10


def _wrap(text: str, font: _Font, width: int) -> list[str]:
    per_line = max(8, int(width / (_font_size(font) * 0.45)))
    while True:
        lines = textwrap.wrap(text, per_line, break_long_words=True) or [""]
        if per_line <= 8 or all(font.getlength(line) <= width for line in lines):
            return lines
        per_line -= 2


def _write_text(canvas: Image.Image, layout: _Layout, prompt: str, note: str | None, *, rough: bool) -> None:
    width, height = canvas.size
    pen = ImageDraw.Draw(canvas)
    unit = min(width, height)
    bar = max(14, min(height // 14, width // 14))
    bar_top = 0 if layout.banner_on_top else height - bar
    pen.rectangle((0, bar_top, width, bar_top + bar), fill=(20, 20, 24, 255))
    _banner(pen, _font(max(6, min(bar * 9 // 20, width // 24))), width / 2, bar_top + bar / 2)

    size = max(8, unit // 26)
    font = _font(size)
    margin = max(4, unit // 32)
    text = " ".join(prompt.split())
    if len(text) > _MAX_PROMPT_DRAWN:
        text = text[: _MAX_PROMPT_DRAWN - 1] + "…"
    lines = _wrap(text, font, width - 4 * margin)[:8]
    line_h = size * 5 // 4
    panel_h = 2 * margin + line_h * len(lines)
    free_top, free_bottom = (bar, height) if layout.banner_on_top else (0, height - bar)
    if layout.panel == "top":
        top = free_top + margin
    elif layout.panel == "middle":
        top = (free_top + free_bottom - panel_h) // 2
    else:
        top = free_bottom - margin - panel_h
    pen.rectangle((margin, top, width - margin, top + panel_h), fill=(0, 0, 0, 200))
    if not rough:  # a streamed preview has not "drawn" the words yet
        for i, line in enumerate(lines):
            pen.text((2 * margin, top + margin + i * line_h), line, font=font, fill=(245, 245, 245, 255))
    if note:
        note_font = _font(max(8, size * 3 // 4))
        label = note if len(note) <= 80 else note[:79] + "…"
        y = bar_top + bar + margin if layout.banner_on_top else bar_top - margin
        anchor = "ra" if layout.banner_on_top else "rd"
        box = pen.textbbox((width - 2 * margin, y), label, font=note_font, anchor=anchor)
        pad = max(2, margin // 2)
        pen.rectangle((box[0] - pad, box[1] - pad, box[2] + pad, box[3] + pad), fill=(255, 196, 0, 230))
        pen.text((width - 2 * margin, y), label, font=note_font, fill=(20, 20, 24, 255), anchor=anchor)


def _banner(pen: ImageDraw.ImageDraw, font: _Font, cx: float, cy: float) -> None:
    # Pillow's bundled font has no em dash glyph, so the dash in BANNER is drawn as a bar.
    left, _, right = BANNER.partition(" — ")
    size = _font_size(font)
    gap = size * 1.6
    x = cx - (font.getlength(left) + gap + font.getlength(right)) / 2
    amber = (255, 196, 0, 255)
    pen.text((x, cy), left, font=font, fill=amber, anchor="lm")
    x += font.getlength(left)
    thickness = max(1, round(size / 12))
    pen.rectangle((x + size * 0.3, cy - thickness / 2, x + gap - size * 0.3, cy + thickness / 2), fill=amber)
    pen.text((x + gap, cy), right, font=font, fill=amber, anchor="lm")


def side_by_side(pictures: Sequence[bytes], *, height: int = 512) -> bytes:
    """Several input images (PNG/JPEG/WEBP bytes) scaled to one height and placed left to right, as a PNG.

    An edit with several reference images uses this as its `source`, so every input shows in the result.
    """
    if not pictures:
        raise ValueError("side_by_side needs at least one picture")
    opened: list[Image.Image] = []
    for data in pictures:
        with Image.open(io.BytesIO(data)) as source:
            rgba = source.convert("RGBA")
        opened.append(rgba.resize((max(1, round(rgba.width * height / rgba.height)), height)))
    strip = Image.new("RGBA", (sum(p.width for p in opened), height))
    x = 0
    for scaled in opened:
        strip.paste(scaled, (x, 0))
        x += scaled.width
    out = io.BytesIO()
    strip.save(out, "PNG", compress_level=_PNG_LEVEL)
    return out.getvalue()


_PNG_SIGNATURE: Final = b"\x89PNG\r\n\x1a\n"
_PAD_KEYWORD: Final = b"Comment\0"


def pad_png(png: bytes, size: int | None) -> bytes:
    """`png` grown to `size` bytes with a tEXt chunk before IEND; still a valid PNG that decodes the same.

    Real Azure images are 1-3 MB; the drawn ones are far smaller, so a benchmark of the bot's byte handling
    pads them. Anything that is not a PNG, or is already big enough, is returned unchanged.
    """
    chunk_overhead = 12 + len(_PAD_KEYWORD)  # length, type and CRC fields, plus the keyword
    if size is None or not png.startswith(_PNG_SIGNATURE) or len(png) + chunk_overhead > size:
        return png
    data = _PAD_KEYWORD + b"x" * (size - len(png) - chunk_overhead)
    chunk = len(data).to_bytes(4, "big") + b"tEXt" + data + zlib.crc32(b"tEXt" + data).to_bytes(4, "big")
    end = len(png) - 12  # IEND is always the last chunk, and always 12 bytes
    return png[:end] + chunk + png[end:]
