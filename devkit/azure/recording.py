"""What the Azure emulator remembers about each request: `Recorded`, plus how a request is read into one."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any, Final, Literal

from werkzeug.datastructures import FileStorage

from devkit.http import Request

__all__ = [
    "IMAGE_OPERATIONS",
    "OPERATIONS",
    "Operation",
    "ParsedBody",
    "Recorded",
    "parse_body",
    "redacted_headers",
    "wants_stream",
]

Operation = Literal["generate", "edit", "responses", "submit", "poll", "blob", "other"]
OPERATIONS: Final[frozenset[str]] = frozenset({"generate", "edit", "responses", "submit", "poll", "blob", "other"})
# The calls that make images: what `calls()` lists, what a fault or a gate with operation=None applies to.
IMAGE_OPERATIONS: Final[frozenset[str]] = frozenset({"generate", "edit", "responses", "submit"})


@dataclass(frozen=True)
class Recorded:
    """One request as the emulator received it, and the status it answered.

    `headers` are lower-cased; the `api-key` value is "***" and a bearer token is "Bearer ***". `body` is the
    JSON object sent, or a multipart request's text fields (strings; a repeated field becomes a list).
    `images` and `mask` are a multipart edit's files. `status` is 0 while the emulator is still working on
    the answer. `at` is the emulator's clock when the request arrived.
    """

    method: str
    path: str
    query: dict[str, str]
    headers: dict[str, str]
    operation: Operation
    deployment: str | None
    body: dict[str, Any] | None
    images: tuple[bytes, ...] = ()
    mask: bytes | None = None
    status: int = 0
    stream: bool = False
    at: float = 0.0


@dataclass(frozen=True)
class ParsedBody:
    """A request body read once: the JSON object or the multipart fields, and any uploaded files."""

    fields: dict[str, Any] | None
    json_error: bool = False  # the body was meant to be JSON and is not a JSON object
    images: tuple[bytes, ...] = ()
    image_names: tuple[str, ...] = field(default=())  # the form field of each image: "image" or "image[]"
    mask: bytes | None = None
    other_files: tuple[str, ...] = ()  # names of file fields the API does not know


def redacted_headers(request: Request) -> dict[str, str]:
    headers = {name.lower(): value for name, value in request.headers.items()}
    if "api-key" in headers:
        headers["api-key"] = "***"
    if "authorization" in headers:
        scheme, _, _ = headers["authorization"].partition(" ")
        headers["authorization"] = f"{scheme} ***"
    return headers


def parse_body(request: Request) -> ParsedBody:
    """Reads a JSON or multipart/form-data body; anything else (or nothing) gives `fields=None`."""
    if request.mimetype == "multipart/form-data":
        try:
            return _parse_multipart(request)
        finally:
            request.close()  # werkzeug spools big uploads to temporary files; close every one of them
    raw = request.get_data()
    if not raw:
        return ParsedBody(None, json_error=request.method == "POST")
    try:
        parsed = json.loads(raw)
    except ValueError:
        return ParsedBody(None, json_error=True)
    if not isinstance(parsed, dict):
        return ParsedBody(None, json_error=True)
    return ParsedBody(parsed)


def _parse_multipart(request: Request) -> ParsedBody:
    fields: dict[str, Any] = {}
    for name in request.form:
        values = request.form.getlist(name)
        fields[name] = values[0] if len(values) == 1 else values
    images: list[bytes] = []
    names: list[str] = []
    mask: bytes | None = None
    other: list[str] = []
    for name, upload in request.files.items(multi=True):
        if name in ("image", "image[]"):
            images.append(_read(upload))
            names.append(name)
        elif name == "mask" and mask is None:
            mask = _read(upload)
        else:
            other.append(name)
    return ParsedBody(fields, images=tuple(images), image_names=tuple(names), mask=mask, other_files=tuple(other))


def _read(upload: FileStorage) -> bytes:
    return upload.stream.read()


def wants_stream(fields: dict[str, Any] | None) -> bool:
    """`stream: true` in JSON, or the text "true" in a multipart form (how the openai SDK encodes it)."""
    if fields is None:
        return False
    value = fields.get("stream")
    return value is True or (isinstance(value, str) and value.lower() == "true")
