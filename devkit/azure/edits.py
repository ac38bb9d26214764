"""The uploaded files of an image edit: checked as Azure checks them, then turned into the picture to edit.

Section numbers refer to docs/contracts/azure-openai-images.md.
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from typing import Final

from PIL import Image, UnidentifiedImageError

from devkit.azure.models import input_image_tokens
from devkit.azure.recording import ParsedBody
from devkit.azure.wire import bad_request
from devkit.http import Response
from devkit.pictures import side_by_side

__all__ = ["EditInputs", "auto_edit_size", "check_edit_files"]

MAX_IMAGES: Final = 16  # §3.2
MAX_IMAGE_BYTES: Final = 50 * 1024 * 1024
MAX_MASK_BYTES: Final = 4 * 1024 * 1024


@dataclass(frozen=True)
class EditInputs:
    """The images to edit, read: the picture the result is drawn from, and what the inputs cost."""

    source: bytes  # the first image, or every image side by side
    first_size: tuple[int, int]
    image_tokens: int
    note: str


def _format_of(data: bytes) -> str | None:
    """§3.2: PNG, JPEG or WEBP, recognised by their magic bytes, not by the file name or content type."""
    if data.startswith(b"\x89PNG\r\n\x1a\n"):
        return "png"
    if data.startswith(b"\xff\xd8\xff"):
        return "jpeg"
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "webp"
    return None


def _size_of(data: bytes) -> tuple[int, int] | None:
    try:
        with Image.open(io.BytesIO(data)) as picture:
            return picture.size
    except (UnidentifiedImageError, OSError):
        return None


def check_edit_files(parsed: ParsedBody) -> EditInputs | Response:
    """The images and mask of an edit, or the 400 Azure answers for them."""
    fields = parsed.fields or {}
    for name in ("image", "image[]", "mask"):
        if name in fields:
            return bad_request("invalid_type", f"'{name}' must be sent as a file, not as a text field.", name)
    if parsed.other_files:
        name = parsed.other_files[0]
        return bad_request("unknown_parameter", f"Unrecognized file field supplied: {name}", name)
    if not parsed.images:
        return bad_request("missing_required_parameter", "Missing required parameter: 'image'.", "image")
    if len(parsed.images) > MAX_IMAGES:
        return bad_request("invalid_value", f"Too many images: at most {MAX_IMAGES} can be edited at once.", "image")
    sizes: list[tuple[int, int]] = []
    for index, data in enumerate(parsed.images):
        if len(data) >= MAX_IMAGE_BYTES:
            return bad_request("invalid_value", f"Image {index} is 50 MB or larger.", "image")
        size = _size_of(data) if _format_of(data) is not None else None
        if size is None:
            return bad_request(
                "invalid_image_format",
                f"Invalid image file or mode for image {index}. Supported formats are 'png', 'jpeg' and 'webp'.",
                "image",
            )
        sizes.append(size)
    if parsed.mask is not None:
        refusal = _check_mask(parsed.mask, sizes[0])
        if refusal is not None:
            return refusal
    source = parsed.images[0] if len(parsed.images) == 1 else side_by_side(parsed.images)
    count = len(parsed.images)
    note = "edit" if count == 1 else f"edit of {count} images"
    if parsed.mask is not None:
        note = f"masked {note}"
    tokens = sum(input_image_tokens(w, h) for w, h in sizes)
    return EditInputs(source=source, first_size=sizes[0], image_tokens=tokens, note=note)


def _check_mask(mask: bytes, first: tuple[int, int]) -> Response | None:
    """§3.3: a PNG under 4 MB, with an alpha channel, exactly as big as the first image."""
    if len(mask) >= MAX_MASK_BYTES:
        return bad_request("invalid_value", "The mask must be smaller than 4 MB.", "mask")
    if _format_of(mask) != "png":
        return bad_request("invalid_image_format", "The mask must be a PNG image.", "mask")
    try:
        with Image.open(io.BytesIO(mask)) as picture:
            size, has_alpha = picture.size, "A" in picture.getbands() or "transparency" in picture.info
    except (UnidentifiedImageError, OSError):
        return bad_request("invalid_image_format", "The mask is not a readable PNG image.", "mask")
    if not has_alpha:
        return bad_request("invalid_value", "The mask must have an alpha channel (transparent = area to edit).", "mask")
    if size != first:
        return bad_request(
            "invalid_value",
            f"The mask is {size[0]}x{size[1]} but the image is {first[0]}x{first[1]}; they must be the same size.",
            "mask",
        )
    return None


def auto_edit_size(first: tuple[int, int]) -> tuple[int, int]:
    """§3.4 (the emulator's choice): `size=auto` follows the first input's shape among the standard sizes."""
    width, height = first
    if width > height * 1.25:
        return 1536, 1024
    if height > width * 1.25:
        return 1024, 1536
    return 1024, 1024
