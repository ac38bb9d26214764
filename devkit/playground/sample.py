"""The picture a person posts when the playground starts, for "Imagine from this image" to start from.

Drawn here (a small landscape: sky, sun, hills and a lake) rather than shipped as a binary, and
deliberately unlike the Azure emulator's pictures, so an edit of it is easy to tell from the original.
"""

from __future__ import annotations

import io
from functools import lru_cache

from PIL import Image, ImageDraw, ImageFilter

__all__ = ["SAMPLE_NAME", "SAMPLE_TEXT", "sample_picture"]

SAMPLE_NAME = "hills-at-sunset.png"
SAMPLE_TEXT = "Here is a photo from my walk yesterday. Try ⋯ → *Imagine from this image* on it!"


@lru_cache(maxsize=1)
def sample_picture(width: int = 768, height: int = 512) -> bytes:
    """A PNG landscape at sunset, the same every time."""
    image = Image.new("RGB", (width, height))
    draw = ImageDraw.Draw(image)
    horizon = int(height * 0.62)
    for y in range(horizon):  # the sky: deep blue at the top to orange at the horizon
        t = y / horizon
        draw.line([(0, y), (width, y)], fill=(int(40 + 215 * t), int(60 + 100 * t), int(140 - 60 * t)))
    sun = (int(width * 0.68), int(horizon * 0.78), int(height * 0.09))
    draw.ellipse([sun[0] - sun[2], sun[1] - sun[2], sun[0] + sun[2], sun[1] + sun[2]], fill=(255, 214, 120))
    for y in range(horizon, height):  # the lake, reflecting the sky
        t = (y - horizon) / (height - horizon)
        draw.line([(0, y), (width, y)], fill=(int(200 - 150 * t), int(120 - 60 * t), int(90 + 40 * t)))
    hills = [
        ((46, 84, 62), [(0, horizon), (0, 0.50), (0.18, 0.40), (0.38, 0.52), (0.55, 0.45), (0.75, 0.56), (1, 0.48)]),
        ((28, 60, 44), [(0, horizon), (0, 0.58), (0.25, 0.52), (0.45, 0.60), (0.7, 0.54), (1, 0.60)]),
    ]
    for colour, outline in hills:
        points = [(0.0, float(horizon))] + [(x * width, y * height) for x, y in outline[1:]] + [(width, horizon)]
        draw.polygon(points, fill=colour)
    image = image.filter(ImageFilter.GaussianBlur(0.8))
    buffer = io.BytesIO()
    image.save(buffer, format="PNG", optimize=True)
    return buffer.getvalue()
