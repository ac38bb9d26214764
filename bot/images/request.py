"""What the bot asks of an image model: a validated request, and the pictures an edit starts from."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class ImageRequest:
    """One request to an image model, already valid for the model's family (bot.request checks that)."""

    prompt: str
    size: str  # "1536x864", or "auto" where the family lets the model choose
    quality: str | None = None  # None where the family has none (dall-e-2)
    n: int = 1
    style: str | None = None  # dall-e-3 only
    background: str | None = None  # GPT image models: "transparent" or "opaque"; None lets the model decide
    output_format: str | None = None  # GPT image models: "png" or "jpeg"; None is png
    raw: bool = False  # send the prompt as written: no rewrite through the Responses API

    def options_summary(self) -> str:
        """Plain text of the effective options, e.g. "1536x864 · high · 2 images"."""
        images = f"{self.n} image" if self.n == 1 else f"{self.n} images"
        extras = [v for v in (self.quality, self.style) if v is not None]
        if self.background is not None:
            extras.append(f"{self.background} background")
        if self.output_format is not None:
            extras.append(self.output_format)
        if self.raw:
            extras.append("raw")
        return " · ".join([self.size, *extras, images])


@dataclass(frozen=True, slots=True)
class InputImage:
    """A picture an edit starts from: bytes already checked to be an image type Azure takes."""

    content: bytes
    media_type: str  # image/png, image/jpeg or image/webp
    name: str = "image.png"


def sniff_image_type(content: bytes) -> str | None:
    """The media type of PNG, JPEG or WEBP bytes, by their magic numbers; None for anything else."""
    if content.startswith(b"\x89PNG\r\n\x1a\n"):
        return "image/png"
    if content.startswith(b"\xff\xd8\xff"):
        return "image/jpeg"
    if content[:4] == b"RIFF" and content[8:12] == b"WEBP":
        return "image/webp"
    return None
