"""Helpers for the Azure emulator's tests: a fake clock, request builders, image and event readers."""

from __future__ import annotations

import base64
import binascii
import io
import json
import threading
from dataclasses import dataclass, field
from typing import Any

import httpx
import pytest
from PIL import Image

KEY = "test-azure-key"
GPT_IMAGE_VERSION = "2025-04-01-preview"
DALLE3_VERSION = "2024-10-21"
DALLE2_VERSION = "2023-06-01-preview"
NOT_FOUND = b'{"error":{"code":"404","message": "Resource not found"}}'


@dataclass
class FakeClock:
    """The emulator's clock in tests: time moves only when a test says so."""

    now: float = 1000.0
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def __call__(self) -> float:
        with self._lock:
            return self.now

    def advance(self, seconds: float) -> None:
        with self._lock:
            self.now += seconds


def generate(client: httpx.Client, body: dict[str, Any], **params: str) -> httpx.Response:
    """`POST /openai/v1/images/generations`; `body["model"]` names the deployment."""
    return client.post("/openai/v1/images/generations", params=params or {"api-version": "preview"}, json=body)


def generate_on(client: httpx.Client, deployment: str, body: dict[str, Any], api_version: str) -> httpx.Response:
    """The deployments path of older API versions."""
    return client.post(
        f"/openai/deployments/{deployment}/images/generations", params={"api-version": api_version}, json=body
    )


def edit(
    client: httpx.Client,
    fields: dict[str, str],
    images: list[bytes],
    *,
    mask: bytes | None = None,
    field_name: str = "image[]",
    path: str = "/openai/v1/images/edits",
    api_version: str = "preview",
) -> httpx.Response:
    """A multipart edit, encoded as the openai SDK encodes it: text fields, then repeated `image[]` files."""
    files: list[tuple[str, tuple[str, bytes, str]]] = [
        (field_name, (f"input{i}.png", data, "image/png")) for i, data in enumerate(images)
    ]
    if mask is not None:
        files.append(("mask", ("mask.png", mask, "image/png")))
    return client.post(path, params={"api-version": api_version}, data=fields, files=files)


def respond(client: httpx.Client, body: dict[str, Any], image_deployment: str | None = "gpt-image-2") -> httpx.Response:
    headers = {} if image_deployment is None else {"x-ms-oai-image-generation-deployment": image_deployment}
    return client.post("/openai/v1/responses", params={"api-version": "preview"}, json=body, headers=headers)


def image_of(data: bytes) -> Image.Image:
    """The picture in `data`, opened lazily: size, mode and format are read now, pixels only when used."""
    return Image.open(io.BytesIO(data))


def decoded(item: dict[str, Any]) -> Image.Image:
    return image_of(base64.b64decode(item["b64_json"]))


def png(width: int, height: int, colour: tuple[int, int, int, int] = (200, 40, 40, 255), mode: str = "RGBA") -> bytes:
    out = io.BytesIO()
    Image.new(mode, (width, height), colour[: len(mode)]).save(out, "PNG")
    return out.getvalue()


def sse_events(response: httpx.Response) -> list[tuple[str, dict[str, Any] | str]]:
    """(event name, parsed data, or the raw text when it is not JSON) for each server-sent event."""
    events: list[tuple[str, dict[str, Any] | str]] = []
    for block in response.text.split("\n\n"):
        if not block.strip():
            continue
        name, data = "", ""
        for line in block.split("\n"):
            key, _, value = line.partition(": ")
            if key == "event":
                name = value
            elif key == "data":
                data = value
        try:
            events.append((name, json.loads(data)))
        except ValueError:
            events.append((name, data))
    return events


def assert_undecodable(text: str) -> None:
    """Broken base64: a lenient decoder (the default) and a strict one both refuse it."""
    with pytest.raises(binascii.Error):
        base64.b64decode(text)
    with pytest.raises(binascii.Error):
        base64.b64decode(text, validate=True)
