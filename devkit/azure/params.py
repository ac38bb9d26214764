"""Checks a GPT image request's parameters the way Azure does, or explains the refusal as Azure would (§7.5).

The same rules serve three callers: generations (JSON), edits (multipart text fields, so every value
arrives as a string) and the Responses API's `image_generation` tool. Section numbers refer to
docs/contracts/azure-openai-images.md.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Final, Literal

from devkit.azure.models import parse_size, resolve_quality, takes_any_size
from devkit.azure.wire import bad_request
from devkit.http import Response

__all__ = ["ImageParams", "check_gpt_image"]

Kind = Literal["generate", "edit", "tool"]

MAX_PROMPT: Final = 32_000  # §2.3
_COMMON: Final = frozenset(
    {"model", "size", "quality", "background", "output_format", "output_compression", "moderation", "partial_images"}
)
_FIELDS: Final[dict[Kind, frozenset[str]]] = {
    "generate": _COMMON | {"prompt", "n", "stream", "user", "safety_identifier"},
    "edit": _COMMON | {"prompt", "n", "stream", "user", "safety_identifier", "input_fidelity"},
    "tool": _COMMON | {"type", "action", "input_fidelity"},
}
_INTEGERS: Final = ("n", "output_compression", "partial_images")
_ENUMS: Final[dict[str, tuple[str, ...]]] = {
    "quality": ("low", "medium", "high", "auto"),
    "background": ("transparent", "opaque", "auto"),
    "moderation": ("low", "auto"),
    "input_fidelity": ("high", "low"),
    "action": ("generate", "edit", "auto"),
}


@dataclass(frozen=True)
class ImageParams:
    """A GPT image request that passed every check, with Azure's defaults filled in."""

    prompt: str
    n: int
    size: tuple[int, int] | None  # None: `auto`, decided by the caller (edits follow the input's shape)
    quality: Literal["low", "medium", "high"]  # `auto` resolved (§2.3)
    background: Literal["transparent", "opaque"]  # `auto` resolved to opaque
    output_format: Literal["png", "jpeg"]
    compression: int
    stream: bool
    partial_images: int


def check_gpt_image(
    fields: dict[str, Any], model: str, kind: Kind, *, multipart: bool = False
) -> ImageParams | Response:
    """The parameters of one GPT image call, or the 400 that Azure would answer (§2.3, §3.1, §4.1)."""
    given = {k: v for k, v in fields.items() if v is not None and not (multipart and v == "")}
    for name in given:
        if name not in _FIELDS[kind]:
            return bad_request("unknown_parameter", f"Unrecognized request argument supplied: {name}", name)
    if multipart:
        converted = _from_form(given)
        if isinstance(converted, Response):
            return converted
        given = converted

    prompt = given.get("prompt", "")
    if kind != "tool":
        if "prompt" not in given:
            return bad_request("missing_required_parameter", "Missing required parameter: 'prompt'.", "prompt")
        if not isinstance(prompt, str):
            return bad_request("invalid_type", "Invalid type for 'prompt': expected a string.", "prompt")
        if not prompt.strip():
            return bad_request("invalid_value", "Invalid 'prompt': the prompt must not be empty.", "prompt")
        if len(prompt) > MAX_PROMPT:
            return bad_request(
                "string_above_max_length",
                f"Invalid 'prompt': string too long. Expected a string with maximum length {MAX_PROMPT}, "
                f"but got a string with length {len(prompt)} instead.",
                "prompt",
            )
    for name in _INTEGERS:
        value = given.get(name)
        if value is not None and (not isinstance(value, int) or isinstance(value, bool)):
            return bad_request("invalid_type", f"Invalid type for '{name}': expected an integer.", name)
    for name, allowed in _ENUMS.items():
        if name in given and given[name] not in allowed:
            return _enum_error(name, given[name], allowed)
    for name in ("user", "safety_identifier", "model"):
        if name in given and not isinstance(given[name], str):
            return bad_request("invalid_type", f"Invalid type for '{name}': expected a string.", name)

    n = given.get("n", 1)
    if not 1 <= n <= 10:
        return bad_request("invalid_value", "Invalid 'n': must be between 1 and 10.", "n")
    size_text = given.get("size", "auto")
    size: tuple[int, int] | None = None
    if not isinstance(size_text, str):
        return bad_request("invalid_type", "Invalid type for 'size': expected a string.", "size")
    if size_text != "auto":
        parsed = parse_size(model, size_text)
        if isinstance(parsed, str):
            return bad_request("invalid_size", parsed, "size")
        size = parsed

    output_format = given.get("output_format", "png")
    if output_format not in ("png", "jpeg"):
        return bad_request(
            "invalid_value",
            f"Invalid value: {output_format!r}. Supported values are: 'png' and 'jpeg'. "
            "WEBP output is not supported on Azure.",
            "output_format",
        )
    compression = given.get("output_compression", 100)
    if not 0 <= compression <= 100:
        return bad_request(
            "invalid_value", "Invalid 'output_compression': expected an integer from 0 to 100.", "output_compression"
        )
    if compression != 100 and output_format != "jpeg":
        return bad_request(
            "invalid_value", "'output_compression' below 100 is only supported for jpeg.", "output_compression"
        )
    background = given.get("background", "auto")
    if background == "transparent" and output_format != "png":
        return bad_request("invalid_value", "Transparent background requires output_format 'png'.", "background")

    stream = given.get("stream", False)
    if not isinstance(stream, bool):
        return bad_request("invalid_type", "Invalid type for 'stream': expected a boolean.", "stream")
    partial_images = given.get("partial_images", 0)
    if not 0 <= partial_images <= 3:
        return bad_request("invalid_value", "Invalid 'partial_images': must be between 0 and 3.", "partial_images")
    if partial_images and not stream and kind != "tool":
        return bad_request(
            "invalid_value", "'partial_images' is only supported when 'stream' is true.", "partial_images"
        )
    if stream and n > 1:  # §4.3: the emulator's rule, one image a stream
        return bad_request("invalid_value", "Streaming supports only n=1.", "n")
    if "input_fidelity" in given and (model.startswith("gpt-image-1-mini") or takes_any_size(model)):
        return bad_request(
            "invalid_value", f"'input_fidelity' is not supported by the model {model}.", "input_fidelity"
        )
    return ImageParams(
        prompt=prompt,
        n=n,
        size=size,
        quality=resolve_quality(model, given.get("quality")),
        background="transparent" if background == "transparent" else "opaque",
        output_format="jpeg" if output_format == "jpeg" else "png",
        compression=compression,
        stream=stream,
        partial_images=partial_images,
    )


def _from_form(given: dict[str, Any]) -> dict[str, Any] | Response:
    """Multipart values are text: the integers and the boolean are read back from it (§3.1)."""
    converted = dict(given)
    for name, value in given.items():
        if isinstance(value, list):
            return bad_request("invalid_value", f"The field '{name}' was sent more than once.", name)
    for name in _INTEGERS:
        if name in converted:
            try:
                converted[name] = int(converted[name])
            except ValueError:
                return bad_request("invalid_type", f"Invalid type for '{name}': expected an integer.", name)
    if "stream" in converted:
        text = str(converted["stream"]).lower()
        if text not in ("true", "false"):
            return bad_request("invalid_type", "Invalid type for 'stream': expected a boolean.", "stream")
        converted["stream"] = text == "true"
    return converted


def _enum_error(param: str, value: Any, allowed: tuple[str, ...]) -> Response:
    choices = ", ".join(f"'{a}'" for a in allowed)
    return bad_request("invalid_value", f"Invalid value: {value!r}. Supported values are: {choices}.", param)
