"""What each image model accepts and what it costs in tokens.

Section numbers refer to docs/contracts/azure-openai-images.md.
"""

from __future__ import annotations

import hashlib
import math
import re
from typing import Final, Literal

__all__ = [
    "Family",
    "family_of",
    "input_image_tokens",
    "output_tokens",
    "parse_size",
    "resolve_quality",
    "revised_prompt_for",
    "takes_any_size",
    "text_tokens",
]

Family = Literal["dall-e-2", "dall-e-3", "gpt-image"]

STANDARD_SIZES: Final = ("1024x1024", "1536x1024", "1024x1536")  # §2.2: every GPT image model
DALLE_SIZES: Final[dict[Family, tuple[str, ...]]] = {
    "dall-e-2": ("256x256", "512x512", "1024x1024"),  # §9.2
    "dall-e-3": ("1024x1024", "1792x1024", "1024x1792"),  # §9.1
}
# §2.2, gpt-image-2 arbitrary sizes.
_MIN_PIXELS: Final = 655_360
_MAX_PIXELS: Final = 8_294_400
_MAX_EDGE: Final = 3840
_MAX_RATIO: Final = 3
_SIZE = re.compile(r"([1-9][0-9]{0,4})x([1-9][0-9]{0,4})")

# §2.5, output image tokens per image for the three standard sizes, keyed by quality.
_OUTPUT_TOKENS: Final[dict[str, dict[tuple[int, int], int]]] = {
    "low": {(1024, 1024): 272, (1024, 1536): 408, (1536, 1024): 400},
    "medium": {(1024, 1024): 1056, (1024, 1536): 1584, (1536, 1024): 1568},
    "high": {(1024, 1024): 4160, (1024, 1536): 6240, (1536, 1024): 6208},
}


def family_of(model: str) -> Family:
    if model == "dall-e-2":
        return "dall-e-2"
    if model == "dall-e-3":
        return "dall-e-3"
    if model.startswith("gpt-image"):
        return "gpt-image"
    raise ValueError(f"unsupported model {model!r}: expected dall-e-2, dall-e-3 or gpt-image-*")


def takes_any_size(model: str) -> bool:
    """§2.1: gpt-image-2 and every gpt-image-2* model take arbitrary WxH sizes; other GPT image models the
    standard three."""
    return model.startswith("gpt-image-2")


def parse_size(model: str, size: str) -> tuple[int, int] | str:
    """The (width, height) of a GPT image `size` other than auto, or the reason it is refused."""
    match = _SIZE.fullmatch(size)
    if not takes_any_size(model):
        if size not in STANDARD_SIZES:
            return f"Invalid size {size!r}. Supported sizes are {', '.join(STANDARD_SIZES)} and auto."
    elif match is None:
        return f"Invalid size {size!r}: expected 'auto' or WIDTHxHEIGHT, for example 1536x864."
    assert match is not None  # the standard sizes match too
    width, height = int(match.group(1)), int(match.group(2))
    if not takes_any_size(model):
        return width, height
    if width % 16 or height % 16:
        return f"Invalid size {size!r}: width and height must both be multiples of 16."
    if max(width, height) > _MAX_EDGE:
        return f"Invalid size {size!r}: the longest edge must be at most {_MAX_EDGE} pixels."
    if max(width, height) > _MAX_RATIO * min(width, height):
        return f"Invalid size {size!r}: the aspect ratio must be between 1:3 and 3:1."
    if not _MIN_PIXELS <= width * height <= _MAX_PIXELS:
        return f"Invalid size {size!r}: the total pixel count must be between {_MIN_PIXELS:,} and {_MAX_PIXELS:,}."
    return width, height


def resolve_quality(model: str, quality: str | None) -> Literal["low", "medium", "high"]:
    """§2.3: unset or `auto` means high, except on gpt-image-1-mini, where it means medium."""
    if quality == "low":
        return "low"
    if quality == "medium":
        return "medium"
    if quality == "high":
        return "high"
    return "medium" if model.startswith("gpt-image-1-mini") else "high"


def output_tokens(quality: str, width: int, height: int) -> int:
    """§2.5: the table's figure for a standard size; other sizes scale the square figure by pixel area."""
    table = _OUTPUT_TOKENS[quality]
    if (width, height) in table:
        return table[(width, height)]
    return math.ceil(table[(1024, 1024)] * width * height / (1024 * 1024))


def text_tokens(text: str) -> int:
    """§2.5: about four characters a token, at least one."""
    return max(1, math.ceil(len(text) / 4))


def input_image_tokens(width: int, height: int) -> int:
    """§3.4 (the emulator's own formula): 65 + 129 per 512-pixel tile, after fitting the image in 2048x2048
    and then its short side in 768, the way OpenAI counts vision input."""
    scale = min(1.0, 2048 / max(width, height))
    w, h = width * scale, height * scale
    scale = min(1.0, 768 / min(w, h))
    w, h = w * scale, h * scale
    return 65 + 129 * math.ceil(w / 512) * math.ceil(h / 512)


_STYLES: Final = (
    "soft natural light, rich colour and a clear focal point",
    "crisp detail, gentle depth of field and a balanced composition",
    "warm cinematic lighting, fine textures and a calm background",
    "bright daylight, vivid but natural colours and sharp focus",
)


def revised_prompt_for(prompt: str) -> str:
    """The emulator's prompt rewriting (§2.6, §9.1): deterministic, longer, more specific, never the prompt."""
    core = " ".join(prompt.split()).rstrip(".!?")
    if core[:1].isupper() and not core[1:2].isupper():  # keep acronyms like "NASA" intact
        core = core[0].lower() + core[1:]
    style = _STYLES[hashlib.sha256(prompt.encode()).digest()[0] % len(_STYLES)]
    return f"A richly detailed illustration of {core}, with {style}."
