"""A loopback emulator of Azure OpenAI's image API (DALL-E 2, DALL-E 3, gpt-image-*).

It follows `shared/reference/azure-images-api.md`; §8 ("Fake-server checklist") is the requirements list:

- §1 DALL-E 3: `POST /openai/deployments/{dep}/images/generations` answers the §1.4 shape (revised prompt,
  filter annotations, a 24-hour blob URL or `b64_json`).
- §2 DALL-E 2: `POST /openai/images/generations:submit` answers 202 with an absolute `operation-location`;
  `GET` on it walks `notRunning` → `running` → a terminal status; `DELETE` works once terminal (§2.3).
- §3.1 gpt-image-*: the deployment URL again, base64 images only, plus a `usage` block priced from the
  §3.1 output-token table.
- §4 errors: 400 content policy (§4.1), output filter (§4.2), 429 with `retry-after-ms`/`retry-after`/
  `x-ratelimit-*` (§4.3), 401 (§4.4), 404 (§4.5), 400 parameter errors (§4.6), 500/503 (§4.7).
- §5.1 rate limits: requests-per-minute quotas are enforced over 10-second windows.

Images are real PNG/JPEG files drawn with Pillow, seeded from the prompt, so the same prompt and size
always give the same bytes, and a human looking at one in the demo can tell it is not from Azure.
"""

from __future__ import annotations

import base64
import colorsys
import contextlib
import hashlib
import hmac
import io
import json
import math
import random
import re
import secrets
import textwrap
import threading
import time
import uuid
import zlib
from collections import deque
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import lru_cache
from typing import Any, Final, Literal, Self
from urllib.parse import unquote, urlencode

from PIL import Image, ImageDraw, ImageFont

from bot.emulators._http import LoopbackServer, Request, Response

__all__ = [
    "DEFAULT_DEPLOYMENTS",
    "AzureEmulator",
    "ContentPolicy",
    "Fault",
    "Malformed",
    "OperationStatus",
    "OutputFiltered",
    "RateLimited",
    "RecordedRequest",
    "ServerError",
    "Slow",
    "pad_png",
    "render_image",
    "revised_prompt_for",
]

DEFAULT_DEPLOYMENTS: Final[Mapping[str, str]] = {
    "dalle3": "dall-e-3",
    "gpt-image": "gpt-image-1",
    "dalle2": "dall-e-2",
}

# --------------------------------------------------------------------------------------------------
# Faults
# --------------------------------------------------------------------------------------------------

_POLICY_REVISED_PROMPT = "A dark and intense illustration of a man in a dramatic action scene."  # §4.1


@dataclass(frozen=True)
class ContentPolicy:
    """The prompt is refused: 400 `content_policy_violation` (§4.1); DALL-E 2: a `failed` operation (§2.2)."""

    revised_prompt: str | None = _POLICY_REVISED_PROMPT


@dataclass(frozen=True)
class OutputFiltered:
    """The generated image is filtered (§4.2) with HTTP 400 or 200; DALL-E 2: a per-image `error` item."""

    status: int = 400

    def __post_init__(self) -> None:
        if self.status not in (200, 400):
            raise ValueError(f"OutputFiltered status must be 200 or 400, not {self.status}")


@dataclass(frozen=True)
class RateLimited:
    """A 429 with the §4.3 body and headers, whatever the emulator's own quota says."""

    retry_after_ms: int = 2000

    def __post_init__(self) -> None:
        if self.retry_after_ms < 0:
            raise ValueError("retry_after_ms must be >= 0")


@dataclass(frozen=True)
class ServerError:
    """A transient 500 (`InternalServerError`) or 503 (`ServiceUnavailable`), §4.7."""

    status: int = 500

    def __post_init__(self) -> None:
        if self.status not in (500, 503):
            raise ValueError(f"ServerError status must be 500 or 503, not {self.status}")


@dataclass(frozen=True)
class Slow:
    """Waits `seconds` before answering normally, so a client's read timeout can fire."""

    seconds: float

    def __post_init__(self) -> None:
        if self.seconds < 0:
            raise ValueError("seconds must be >= 0")


@dataclass(frozen=True)
class Malformed:
    """A 200 whose body is truncated JSON, as a broken gateway would send."""


_OperationEnd = Literal["failed", "canceled", "deleted"]


@dataclass(frozen=True)
class OperationStatus:
    """DALL-E 2 only: the operation ends in this terminal status instead of `succeeded` (§2.2)."""

    status: _OperationEnd

    def __post_init__(self) -> None:
        if self.status not in ("failed", "canceled", "deleted"):
            raise ValueError(f"OperationStatus must be failed, canceled or deleted, not {self.status!r}")


Fault = ContentPolicy | OutputFiltered | RateLimited | ServerError | Slow | Malformed | OperationStatus


@dataclass(frozen=True)
class RecordedRequest:
    """One request exactly as the emulator received it."""

    method: str
    path: str
    query: dict[str, str]
    headers: dict[str, str]  # lowercase names
    body: bytes
    json: Any | None  # the parsed body, or None when it is empty or not JSON
    at: float  # time.monotonic() on arrival


# --------------------------------------------------------------------------------------------------
# Wire constants (§1-§5)
# --------------------------------------------------------------------------------------------------

_Family = Literal["dall-e-2", "dall-e-3", "gpt-image"]

# §4.5: byte-for-byte, including the lone space after `"message":`.
_NOT_FOUND_BODY: Final = b'{"error":{"code":"404","message": "Resource not found"}}'
_DEPLOYMENT_NOT_FOUND: Final = {
    "error": {
        "code": "DeploymentNotFound",
        "message": "The API deployment for this resource does not exist. If you created the deployment "
        "within the last 5 minutes, please wait a moment and try again.",
    }
}
_UNAUTHORIZED: Final = {  # §4.4
    "error": {
        "code": "401",
        "message": "Access denied due to invalid subscription key or wrong API endpoint. Make sure to "
        "provide a valid key for an active subscription and use a correct regional API endpoint for "
        "your resource.",
    }
}
_POLICY_MESSAGE: Final = (
    "Your request was rejected as a result of our safety system. Your prompt may contain text that is "
    "not allowed by our safety system."
)
_OUTPUT_FILTERED_ERROR: Final = {
    "code": "contentFilter",
    "message": "Generated image was filtered as a result of our safety system.",
}
_TASK_FILTERED_ERROR: Final = {
    "code": "contentFilter",
    "message": "Your task failed as a result of our safety system.",
}
_TASK_FAILED_ERROR: Final = {  # §2.2 gives no text for a non-filter failure; Azure.Core shape only
    "code": "InternalFailure",
    "message": "The image generation task failed. Please submit it again.",
}
_SERVER_ERRORS: Final = {
    500: ("InternalServerError", "The server had an error while processing your request. Sorry about that!"),
    503: (
        "ServiceUnavailable",
        "The service is temporarily unable to process your request. Try again later.",
    ),
}
# Cut off mid-string: a client must notice this is not JSON rather than trust the content type.
_MALFORMED_BODY: Final = b'{"created": 1698342300, "data": [{"url": "https://dalletipusw2.blob.core.win'

_DALLE2_VERSIONS: Final = frozenset({"2023-06-01-preview", "2023-07-01-preview", "2023-08-01-preview"})
_DALLE3_VERSIONS: Final = frozenset(
    {
        "2023-12-01-preview",
        "2024-02-01",
        "2024-02-15-preview",
        "2024-03-01-preview",
        "2024-04-01-preview",
        "2024-05-01-preview",
        "2024-06-01",
        "2024-10-21",
    }
)
_PREVIEW_VERSION = re.compile(r"(\d{4}-\d{2}-\d{2})-preview")
_GPT_IMAGE_FIRST_VERSION: Final = "2025-04-01"

_MAX_PROMPT: Final[dict[_Family, int]] = {"dall-e-2": 1000, "dall-e-3": 4000, "gpt-image": 32000}
_SIZES: Final[dict[_Family, tuple[str, ...]]] = {
    "dall-e-2": ("256x256", "512x512", "1024x1024"),
    "dall-e-3": ("1024x1024", "1792x1024", "1024x1792"),
    "gpt-image": ("1024x1024", "1536x1024", "1024x1536", "auto"),
}
_MAX_N: Final[dict[_Family, int]] = {"dall-e-2": 5, "dall-e-3": 1, "gpt-image": 10}
_FIELDS: Final[dict[_Family, frozenset[str]]] = {
    "dall-e-2": frozenset({"prompt", "n", "size", "response_format", "user"}),
    # `model` is in the TypeSpec for every family and openai-python leaves it in the JSON body when it
    # moves it into the deployment path, so refusing it would reject the SDK's own requests.
    "dall-e-3": frozenset({"prompt", "n", "size", "quality", "style", "response_format", "user", "model"}),
    "gpt-image": frozenset(
        {
            "prompt",
            "n",
            "size",
            "quality",
            "output_format",
            "output_compression",
            "background",
            "user",
            "model",
            "moderation",
        }
    ),
}
# §3.1 "Image generation tokens", per image, keyed by quality then (width, height).
_OUTPUT_TOKENS: Final[dict[str, dict[tuple[int, int], int]]] = {
    "low": {(1024, 1024): 272, (1024, 1536): 408, (1536, 1024): 400},
    "medium": {(1024, 1024): 1056, (1024, 1536): 1584, (1536, 1024): 1568},
    "high": {(1024, 1024): 4160, (1024, 1536): 6240, (1536, 1024): 6208},
}
_WORD = re.compile(r"\w+|[^\w\s]")

_RATE_WINDOW_S: Final = 10.0  # §4.3: "RPM is enforced over 1 s or 10 s windows"
_DEFAULT_RPM: Final = 6  # §5.1 default DALL-E 3 quota, reported when a scripted 429 has no real quota

_SYNC_ROUTE = re.compile(r"/openai/deployments/([^/]+)/images/generations")
_SUBMIT_ROUTE = re.compile(r"/openai/images/generations:submit")
_OPERATION_ROUTE = re.compile(r"/openai/operations/images/([^/]+)")
_BLOB_PREFIX: Final = "/blob/"

_TERMINAL: Final = frozenset({"succeeded", "failed", "canceled", "deleted"})


def _family_of(model: str) -> _Family:
    if model == "dall-e-2":
        return "dall-e-2"
    if model == "dall-e-3":
        return "dall-e-3"
    if model.startswith("gpt-image"):
        return "gpt-image"
    raise ValueError(f"unsupported model {model!r}: expected dall-e-2, dall-e-3 or gpt-image-*")


def _version_supported(family: _Family, api_version: str) -> bool:
    preview = _PREVIEW_VERSION.fullmatch(api_version)
    if family == "dall-e-2":
        return api_version in _DALLE2_VERSIONS
    if family == "dall-e-3":
        return api_version in _DALLE3_VERSIONS or (preview is not None and api_version.startswith("2025-"))
    return preview is not None and preview.group(1) >= _GPT_IMAGE_FIRST_VERSION


def _any_version_supported(api_version: str) -> bool:
    return any(_version_supported(f, api_version) for f in ("dall-e-2", "dall-e-3", "gpt-image"))


def revised_prompt_for(prompt: str) -> str:
    """The emulator's DALL-E 3 `revised_prompt`: deterministic, and visibly not the user's text."""
    core = prompt.strip().rstrip(".!?")
    if core[:1].isupper() and not core[1:2].isupper():  # keep acronyms like "NASA" intact
        core = core[0].lower() + core[1:]
    return f"A richly detailed illustration of {core}, soft natural light, high detail."


def _filter_results(*, prompt: bool) -> dict[str, Any]:
    results: dict[str, Any] = {
        category: {"severity": "safe", "filtered": False} for category in ("sexual", "violence", "hate", "self_harm")
    }
    if prompt:  # §1.4: only the prompt side carries `profanity`
        results["profanity"] = {"detected": False, "filtered": False}
    return results


def _error(code: str, message: str, param: str | None) -> Response:
    return Response(400, {"error": {"code": code, "message": message, "param": param, "type": "invalid_request_error"}})


def _not_found() -> Response:
    return Response(404, _NOT_FOUND_BODY, content_type="application/json")


def _iso_utc(epoch_s: float) -> str:
    return datetime.fromtimestamp(epoch_s, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _http_date(epoch_s: float) -> str:
    return datetime.fromtimestamp(epoch_s, UTC).strftime("%a, %d %b %Y %H:%M:%S GMT")


# --------------------------------------------------------------------------------------------------
# Images
# --------------------------------------------------------------------------------------------------

_BANNER: Final = "OFFLINE PREVIEW — emulated Azure OpenAI"
_MAX_PROMPT_DRAWN: Final = 280  # a 32 000-character prompt would take longer to lay out than to draw


@lru_cache(maxsize=16)
def _font(size: int) -> ImageFont.FreeTypeFont | ImageFont.ImageFont:
    return ImageFont.load_default(size=size)


def _wrap(text: str, font: ImageFont.FreeTypeFont | ImageFont.ImageFont, size: int, width: int) -> list[str]:
    per_line = max(8, int(width / (size * 0.45)))
    while True:
        lines = textwrap.wrap(text, per_line, break_long_words=True) or [""]
        if per_line <= 8 or all(font.getlength(line) <= width for line in lines):
            return lines
        per_line -= 2


def _draw_banner(
    draw: ImageDraw.ImageDraw, font: ImageFont.FreeTypeFont | ImageFont.ImageFont, cx: float, cy: float
) -> None:
    # Pillow's bundled font has no em dash glyph, so the dash in _BANNER is drawn as a bar.
    left, _, right = _BANNER.partition(" — ")
    size = font.size if isinstance(font, ImageFont.FreeTypeFont) else 10
    gap = size * 1.6
    x = cx - (font.getlength(left) + gap + font.getlength(right)) / 2
    amber = (255, 196, 0, 255)
    draw.text((x, cy), left, font=font, fill=amber, anchor="lm")
    x += font.getlength(left)
    thickness = max(1, round(size / 12))
    draw.rectangle((x + size * 0.3, cy - thickness / 2, x + gap - size * 0.3, cy + thickness / 2), fill=amber)
    draw.text((x + gap, cy), right, font=font, fill=amber, anchor="lm")


@lru_cache(maxsize=64)
def _render(prompt: str, width: int, height: int, fmt: str, variant: int, transparent: bool, quality: int) -> bytes:
    seed = hashlib.sha256(f"{variant}\0{prompt}".encode()).digest()
    rng = random.Random(int.from_bytes(seed[:8], "big"))
    hue = rng.random()

    def colour(h: float, s: float, v: float, alpha: int = 255) -> tuple[int, int, int, int]:
        r, g, b = colorsys.hsv_to_rgb(h % 1.0, s, v)
        return round(r * 255), round(g * 255), round(b * 255), alpha

    canvas = Image.new("RGBA", (width, height), colour(hue, 0.35, 0.35, 0 if transparent else 255))
    draw = ImageDraw.Draw(canvas)
    if not transparent:
        bands = 12  # a stepped gradient: a few rectangles, far cheaper than per-pixel blending
        for i in range(bands):
            top, bottom = height * i // bands, height * (i + 1) // bands
            draw.rectangle((0, top, width, bottom), fill=colour(hue, 0.35, 0.25 + 0.03 * i))
    unit = min(width, height)
    for _ in range(9):
        cx, cy = rng.uniform(0, width), rng.uniform(0, height)
        r = rng.uniform(0.06, 0.22) * unit
        fill = colour(hue + rng.uniform(-0.18, 0.18), rng.uniform(0.45, 0.85), rng.uniform(0.55, 0.95))
        match rng.randrange(3):
            case 0:
                draw.ellipse((cx - r, cy - r, cx + r, cy + r), fill=fill)
            case 1:
                draw.rectangle((cx - r, cy - r * 0.6, cx + r, cy + r * 0.6), fill=fill)
            case _:
                draw.polygon([(cx, cy - r), (cx + r, cy + r), (cx - r, cy + r)], fill=fill)

    bar = max(28, min(height // 14, width // 14))
    banner_font = _font(max(8, min(bar * 9 // 20, width // 24)))  # the banner is ~21 ems wide
    draw.rectangle((0, 0, width, bar), fill=(20, 20, 24, 255))
    _draw_banner(draw, banner_font, width / 2, bar / 2)

    text = " ".join(prompt.split())
    if len(text) > _MAX_PROMPT_DRAWN:
        text = text[: _MAX_PROMPT_DRAWN - 1] + "…"
    size = max(10, unit // 26)
    font = _font(size)
    margin = max(8, unit // 32)
    lines = _wrap(text, font, size, width - 4 * margin)[:8]
    line_h = size * 5 // 4
    panel_top = height - margin - 2 * margin - line_h * len(lines)
    draw.rectangle((margin, panel_top, width - margin, height - margin), fill=(0, 0, 0, 200))
    for i, line in enumerate(lines):
        draw.text((2 * margin, panel_top + margin + i * line_h), line, font=font, fill=(245, 245, 245, 255))

    out = io.BytesIO()
    if fmt == "jpeg":
        canvas.convert("RGB").save(out, "JPEG", quality=quality)
    else:
        (canvas if transparent else canvas.convert("RGB")).save(out, "PNG", optimize=False)
    return out.getvalue()


def render_image(
    prompt: str,
    width: int,
    height: int,
    fmt: Literal["png", "jpeg"] = "png",
    *,
    variant: int = 0,
    transparent: bool = False,
    jpeg_quality: int = 100,
) -> bytes:
    """The image the emulator serves for `prompt`: same arguments, same bytes.

    `variant` is the index within one call's `n` images, so a batch holds distinct pictures while the
    first image of every call for a prompt and size is the same.
    """
    return _render(prompt, width, height, fmt, variant, transparent, jpeg_quality)


_PNG_SIGNATURE: Final = b"\x89PNG\r\n\x1a\n"
_PAD_KEYWORD: Final = b"Comment\0"


def pad_png(png: bytes, size: int | None) -> bytes:
    """`png` grown to `size` bytes with a tEXt chunk before IEND; still a valid PNG that decodes the same.

    Real Azure images are 1-3 MB; the drawn ones are far smaller, so a benchmark of the bot's byte
    handling pads them. Anything that is not a PNG, or is already big enough, is returned unchanged.
    """
    chunk_overhead = 12 + len(_PAD_KEYWORD)  # length, type and CRC fields, plus the keyword
    if size is None or not png.startswith(_PNG_SIGNATURE) or len(png) + chunk_overhead > size:
        return png
    data = _PAD_KEYWORD + b"x" * (size - len(png) - chunk_overhead)
    chunk = len(data).to_bytes(4, "big") + b"tEXt" + data + zlib.crc32(b"tEXt" + data).to_bytes(4, "big")
    end = len(png) - 12  # IEND is always the last chunk, and always 12 bytes
    return png[:end] + chunk + png[end:]


# --------------------------------------------------------------------------------------------------
# State
# --------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Params:
    prompt: str
    n: int
    width: int
    height: int
    quality: str | None
    response_format: str  # "url" | "b64_json"
    output_format: Literal["png", "jpeg"]
    compression: int
    transparent: bool


@dataclass
class _Blob:
    prompt: str
    width: int
    height: int
    variant: int
    sig: str
    expires_wall: float
    expires_at: float  # monotonic
    expired: bool = False
    deleted: bool = False


@dataclass(frozen=True)
class _Admission:
    at: float | None  # the slot taken in the rate window; None when there is no quota
    headers: dict[str, str]


@dataclass
class _Operation:
    id: str
    created: int
    submitted_at: float  # monotonic
    params: _Params
    outcome: ContentPolicy | OutputFiltered | OperationStatus | None
    status: str = "notRunning"
    polls: int = 0
    result: list[dict[str, Any]] | None = None
    blob_paths: list[str] = field(default_factory=list)


class AzureEmulator(LoopbackServer):
    """Azure OpenAI's image endpoints on a loopback port, with scriptable faults and a request log.

    Checks run in Azure's order: route, auth, api-version, deployment, the rate limit, then body
    validation; only a call that gets through all of them consumes a scripted fault.
    """

    def __init__(
        self,
        *,
        api_key: str = "test-azure-key",
        deployments: Mapping[str, str] | None = None,
        latency_s: float = 0.0,
        rpm_limit: int | None = None,
        image_ttl_s: float = 86400.0,
        poll_retry_after_s: int | None = None,
        pad_png_to_bytes: int | None = None,
        host: str = "127.0.0.1",
        port: int = 0,
    ) -> None:
        super().__init__(host=host, port=port)
        if rpm_limit is not None and rpm_limit < 1:
            raise ValueError("rpm_limit must be >= 1 or None")
        if latency_s < 0 or image_ttl_s < 0:
            raise ValueError("latency_s and image_ttl_s must be >= 0")
        self._api_key = api_key
        self._deployments = dict(DEFAULT_DEPLOYMENTS if deployments is None else deployments)
        self._families = {name: _family_of(model) for name, model in self._deployments.items()}
        self._latency_s = latency_s
        self._rpm_limit = rpm_limit
        self._image_ttl_s = image_ttl_s
        self._poll_retry_after_s = poll_retry_after_s
        self._pad_png_to_bytes = pad_png_to_bytes  # None: images as drawn (tens of kB)
        self._sas_key = secrets.token_bytes(16)
        self._lock = threading.Lock()
        self._stopping = threading.Event()
        self._faults: deque[Fault] = deque()
        self._recorded: list[RecordedRequest] = []
        self._window: deque[float] = deque()  # monotonic arrival times of calls counted by the quota
        self._operations: dict[str, _Operation] = {}
        self._blobs: dict[str, _Blob] = {}  # path -> blob; bytes are re-rendered on demand

    # -- public controls ---------------------------------------------------------------------------

    @property
    def api_key(self) -> str:
        return self._api_key

    @property
    def deployments(self) -> dict[str, str]:
        """Deployment name -> model name (a copy)."""
        return dict(self._deployments)

    def fail_next(self, *faults: Fault) -> None:
        with self._lock:
            self._faults.extend(faults)

    def recorded(self) -> list[RecordedRequest]:
        with self._lock:
            return list(self._recorded)

    def generation_calls(self) -> list[RecordedRequest]:
        return [
            r
            for r in self.recorded()
            if r.method == "POST" and (_SYNC_ROUTE.fullmatch(r.path) or _SUBMIT_ROUTE.fullmatch(r.path))
        ]

    def expire_images(self) -> None:
        with self._lock:
            for blob in self._blobs.values():
                blob.expired = True

    def reset(self) -> None:
        with self._lock:
            self._recorded.clear()
            self._faults.clear()
            self._window.clear()

    def start(self) -> Self:
        self._stopping.clear()
        return super().start()

    def stop(self) -> None:
        self._stopping.set()  # wakes handlers sleeping in `Slow` or `latency_s`
        super().stop()

    # -- dispatch ----------------------------------------------------------------------------------

    def handle(self, request: Request) -> Response:
        self._record(request)
        response = self._route(request)
        response.headers["apim-request-id"] = str(uuid.uuid4())
        response.headers["x-ms-region"] = "emulated"
        return response

    def _record(self, request: Request) -> None:
        try:
            parsed = json.loads(request.body) if request.body else None
        except ValueError:
            parsed = None
        record = RecordedRequest(
            method=request.method,
            path=request.path,
            query=dict(request.query),
            headers=dict(request.headers),
            body=request.body,
            json=parsed,
            at=time.monotonic(),
        )
        with self._lock:
            self._recorded.append(record)

    def _route(self, request: Request) -> Response:
        path, method = request.path, request.method
        if method in ("GET", "HEAD") and path.startswith(_BLOB_PREFIX):
            return self._serve_blob(request)
        if method == "POST" and (match := _SYNC_ROUTE.fullmatch(path)):
            return self._generate(request, unquote(match.group(1)))
        if method == "POST" and _SUBMIT_ROUTE.fullmatch(path):
            return self._submit(request)
        if method in ("GET", "DELETE") and (match := _OPERATION_ROUTE.fullmatch(path)):
            return self._operation(request, match.group(1))
        return _not_found()

    def _authorized(self, request: Request) -> bool:
        key = request.headers.get("api-key")
        scheme, _, token = request.headers.get("authorization", "").partition(" ")
        bearer = token.strip() if scheme.lower() == "bearer" else None
        expected = self._api_key.encode()
        return any(given is not None and hmac.compare_digest(given.encode(), expected) for given in (key, bearer))

    def _padded(self, image: bytes) -> bytes:
        return pad_png(image, self._pad_png_to_bytes)

    def _sleep(self, seconds: float) -> None:
        if seconds > 0:
            self._stopping.wait(seconds)

    # -- rate limit (§4.3, §5.1) and the shared front half of a generation call ----------------------

    def _admit(self, api_version: str) -> _Admission | Response:
        """Takes a slot in the 10 s window, or answers 429 without taking one."""
        if self._rpm_limit is None:
            return _Admission(None, {})
        cap = max(1, self._rpm_limit // 6)
        now = time.monotonic()
        with self._lock:
            while self._window and self._window[0] <= now - _RATE_WINDOW_S:
                self._window.popleft()
            if len(self._window) >= cap:
                wait_ms = max(1, math.ceil((self._window[0] + _RATE_WINDOW_S - now) * 1000))
                return self._too_many(wait_ms, api_version)
            self._window.append(now)
            remaining = cap - len(self._window)
        headers = {
            "x-ratelimit-limit-requests": str(self._rpm_limit),
            "x-ratelimit-remaining-requests": str(remaining),
        }
        return _Admission(now, headers)

    def _too_many(self, retry_after_ms: int, api_version: str) -> Response:
        seconds = math.ceil(retry_after_ms / 1000)
        body = {
            "error": {
                "code": "429",
                "message": f"Requests to the ImageGenerations_Create Operation under Azure OpenAI API "
                f"version {api_version} have exceeded call rate limit of your current OpenAI S0 pricing "
                f"tier. Please retry after {seconds} seconds. Please go here: "
                "https://aka.ms/oai/quotaincrease if you would like to further increase the default "
                "rate limit.",
            }
        }
        headers = {
            "retry-after-ms": str(retry_after_ms),
            "retry-after": str(seconds),
            "x-ratelimit-limit-requests": str(self._rpm_limit or _DEFAULT_RPM),
            "x-ratelimit-remaining-requests": "0",
            "x-ratelimit-reset-requests": str(seconds),
        }
        return Response(429, body, headers)

    def _front(
        self, api_version: str, family: _Family, model: str, body: bytes
    ) -> tuple[_Params, Fault | None, dict[str, str]] | Response:
        """Quota, validation, then the scripted fault: the part DALL-E 2 shares with the sync families.

        Returns the final response when the call ends here (429, 400, 500/503, malformed), else the
        validated parameters, the fault still to apply, and the rate-limit headers to send.
        """
        admission = self._admit(api_version)
        if isinstance(admission, Response):
            return admission
        params = _validate(family, model, body)
        if isinstance(params, Response):
            params.headers.update(admission.headers)
            return params
        with self._lock:
            fault = self._faults.popleft() if self._faults else None
        response: Response | None = None
        match fault:
            case RateLimited(retry_after_ms=ms):
                if admission.at is not None:
                    with self._lock, contextlib.suppress(ValueError):  # ValueError: already aged out
                        self._window.remove(admission.at)  # a 429 never counts against the quota
                return self._too_many(ms, api_version)
            case ServerError(status=status):
                code, message = _SERVER_ERRORS[status]
                response = Response(status, {"error": {"code": code, "message": message}})
            case Malformed():
                self._sleep(self._latency_s)
                response = Response(200, _MALFORMED_BODY, content_type="application/json")
            case Slow(seconds=seconds):
                self._sleep(seconds)
                fault = None
        if response is not None:
            response.headers.update(admission.headers)
            return response
        return params, fault, admission.headers

    # -- DALL-E 3 and gpt-image (§1, §3) -----------------------------------------------------------

    def _generate(self, request: Request, deployment: str) -> Response:
        if not self._authorized(request):
            return Response(401, _UNAUTHORIZED)
        api_version = request.query.get("api-version", "")
        if not _any_version_supported(api_version):
            return _not_found()
        family = self._families.get(deployment)
        if family is None:
            return Response(404, _DEPLOYMENT_NOT_FOUND)
        if family == "dall-e-2" or not _version_supported(family, api_version):
            return _not_found()
        model = self._deployments[deployment]
        front = self._front(api_version, family, model, request.body)
        if isinstance(front, Response):
            return front
        params, fault, rate_headers = front
        self._sleep(self._latency_s)
        response = self._sync_answer(fault, family, model, params)
        response.headers.update(rate_headers)
        return response

    def _sync_answer(self, fault: Fault | None, family: _Family, model: str, params: _Params) -> Response:
        created = int(time.time())
        match fault:
            case ContentPolicy(revised_prompt=revised):
                return Response(400, _policy_violation(revised))
            case OutputFiltered(status=status):
                return Response(status, {"created": created, "error": dict(_OUTPUT_FILTERED_ERROR)})
            case OperationStatus():
                # A synchronous call has no operation to end; the nearest wire equivalent is a 500.
                code, message = _SERVER_ERRORS[500]
                return Response(500, {"error": {"code": code, "message": message}})
        if family == "gpt-image":
            return Response(200, self._gpt_image_body(created, model, params))
        item: dict[str, Any] = {
            "revised_prompt": revised_prompt_for(params.prompt),
            "prompt_filter_results": _filter_results(prompt=True),
        }
        if params.response_format == "b64_json":
            png = self._padded(render_image(params.prompt, params.width, params.height))
            item["b64_json"] = base64.b64encode(png).decode("ascii")
        else:
            item["url"] = self._issue_blob(params, 0, created)[1]
        item["content_filter_results"] = _filter_results(prompt=False)
        return Response(200, {"created": created, "data": [item]})

    def _gpt_image_body(self, created: int, model: str, params: _Params) -> dict[str, Any]:
        data = [
            {
                "b64_json": base64.b64encode(
                    self._padded(
                        render_image(
                            params.prompt,
                            params.width,
                            params.height,
                            params.output_format,
                            variant=i,
                            transparent=params.transparent,
                            jpeg_quality=params.compression,
                        )
                    )
                ).decode("ascii")
            }
            for i in range(params.n)
        ]
        # Docs (§3.1): unspecified or `auto` quality means high, but medium on gpt-image-1-mini.
        quality = params.quality if params.quality not in (None, "auto") else None
        if quality is None:
            quality = "medium" if model.startswith("gpt-image-1-mini") else "high"
        output_tokens = _OUTPUT_TOKENS[quality][(params.width, params.height)] * params.n
        text_tokens = max(1, len(_WORD.findall(params.prompt)))
        usage = {
            "total_tokens": text_tokens + output_tokens,
            "input_tokens": text_tokens,
            "output_tokens": output_tokens,
            "input_tokens_details": {"text_tokens": text_tokens, "image_tokens": 0},
        }
        return {"created": created, "data": data, "usage": usage}

    # -- blobs (§1.4 url, §8.6) ----------------------------------------------------------------------

    def _issue_blob(self, params: _Params, variant: int, created: float) -> tuple[str, str]:
        """Registers one image at a SAS-style URL valid for `image_ttl_s`; returns (path, url)."""
        blob_id = str(uuid.uuid4())
        path = f"/blob/images/{blob_id}/generated_{variant:02d}.png"
        sig = base64.urlsafe_b64encode(hmac.digest(self._sas_key, path.encode(), "sha256")).decode()
        sig = sig.rstrip("=")
        expiry = created + self._image_ttl_s
        blob = _Blob(
            prompt=params.prompt,
            width=params.width,
            height=params.height,
            variant=variant,
            sig=sig,
            expires_wall=expiry,
            expires_at=time.monotonic() + self._image_ttl_s,
        )
        with self._lock:
            self._blobs[path] = blob
        query = urlencode({"se": _iso_utc(expiry), "sig": sig, "sp": "r", "sr": "b", "sv": "2020-10-02"})
        return path, f"{self.url}{path}?{query}"

    def _serve_blob(self, request: Request) -> Response:
        with self._lock:
            blob = self._blobs.get(request.path)
            gone = blob is None or blob.deleted
            expired = blob is not None and (blob.expired or time.monotonic() >= blob.expires_at)
        if blob is None or gone:
            return _blob_error(404, "BlobNotFound", "The specified blob does not exist.")
        now = time.time()
        if not hmac.compare_digest(request.query.get("sig", "").encode(), blob.sig.encode()):
            return _blob_error(
                403,
                "AuthenticationFailed",
                _AUTH_FAILED,
                "Signature did not match. String to sign used was r",
            )
        if expired:
            return _blob_error(
                403,
                "AuthenticationFailed",
                _AUTH_FAILED,
                f"Signed expiry time [{_http_date(blob.expires_wall)}] must be after signed start time "
                f"and has to be after the current time [{_http_date(now)}]",
            )
        png = self._padded(render_image(blob.prompt, blob.width, blob.height, variant=blob.variant))
        return Response(200, png, {"x-ms-blob-type": "BlockBlob"}, content_type="image/png")

    # -- DALL-E 2 (§2) -------------------------------------------------------------------------------

    def _submit(self, request: Request) -> Response:
        if not self._authorized(request):
            return Response(401, _UNAUTHORIZED)
        api_version = request.query.get("api-version", "")
        if api_version not in _DALLE2_VERSIONS:
            return _not_found()
        model = next((m for m in self._deployments.values() if _family_of(m) == "dall-e-2"), None)
        if model is None:  # the resource has no DALL-E 2 to run the task on
            return Response(404, _DEPLOYMENT_NOT_FOUND)
        front = self._front(api_version, "dall-e-2", model, request.body)
        if isinstance(front, Response):
            return front
        params, fault, rate_headers = front
        operation = _Operation(
            id=str(uuid.uuid4()),
            created=int(time.time()),
            submitted_at=time.monotonic(),
            params=params,
            outcome=fault if isinstance(fault, ContentPolicy | OutputFiltered | OperationStatus) else None,
        )
        with self._lock:
            self._operations[operation.id] = operation
        location = f"{self.url}/openai/operations/images/{operation.id}?api-version={api_version}"
        headers = {"operation-location": location, **rate_headers}
        return Response(202, {"id": operation.id, "status": "notRunning"}, headers)

    def _operation(self, request: Request, operation_id: str) -> Response:
        if not self._authorized(request):
            return Response(401, _UNAUTHORIZED)
        if request.query.get("api-version", "") not in _DALLE2_VERSIONS:
            return _not_found()
        if request.method == "DELETE":
            return self._delete_operation(operation_id)
        now = time.monotonic()
        with self._lock:
            op = self._operations.get(operation_id)
            if op is None:
                return _not_found()
            if op.status not in _TERMINAL:
                op.polls += 1
                # Every client sees at least one `notRunning` and one `running`, however small the latency.
                if op.polls == 1:
                    op.status = "notRunning"
                elif op.polls == 2 or now - op.submitted_at < self._latency_s:
                    op.status = "running"
                else:
                    op.status = _terminal_status(op.outcome)
            status, result = op.status, op.result
        if status == "succeeded" and result is None:
            result = self._finish(op)
        body: dict[str, Any]
        headers: dict[str, str] = {}
        if status == "succeeded":
            body = {
                "created": op.created,
                "expires": op.created + int(self._image_ttl_s),
                "id": op.id,
                "result": {"created": op.created, "data": result},
                "status": status,
            }
        elif status == "failed":
            error = _TASK_FILTERED_ERROR if isinstance(op.outcome, ContentPolicy) else _TASK_FAILED_ERROR
            body = {"created": op.created, "error": dict(error), "id": op.id, "status": status}
        else:
            body = {"created": op.created, "id": op.id, "status": status}
            if status not in _TERMINAL and self._poll_retry_after_s is not None:
                headers["retry-after"] = str(self._poll_retry_after_s)
        return Response(200, body, headers)

    def _finish(self, op: _Operation) -> list[dict[str, Any]]:
        """Issues a succeeded operation's images, once: a concurrent poll's duplicate is discarded."""
        params = op.params
        items: list[dict[str, Any]] = []
        paths: list[str] = []
        for i in range(params.n):
            if isinstance(op.outcome, OutputFiltered) and i == params.n - 1:
                # §2.2: the filtered image shows up as an `error` item among the good ones.
                items.append({"error": dict(_OUTPUT_FILTERED_ERROR)})
            elif params.response_format == "b64_json":
                png = self._padded(render_image(params.prompt, params.width, params.height, variant=i))
                items.append({"b64_json": base64.b64encode(png).decode("ascii")})
            else:
                path, url = self._issue_blob(params, i, time.time())
                paths.append(path)
                items.append({"url": url})
        with self._lock:
            if op.result is None:
                op.result, op.blob_paths = items, paths
            return op.result

    def _delete_operation(self, operation_id: str) -> Response:
        with self._lock:
            op = self._operations.get(operation_id)
            if op is None:
                return _not_found()
            if op.status not in _TERMINAL:
                return Response(
                    409,
                    {
                        "error": {
                            "code": "Conflict",
                            "message": f"The operation is {op.status}; only an operation in a terminal "
                            "state can be deleted.",
                        }
                    },
                )
            # §2.3: deleting the operation deletes its images, so their URLs stop working.
            op.status = "deleted"
            for path in op.blob_paths:
                self._blobs[path].deleted = True
        return Response(204)


_AUTH_FAILED: Final = (
    "Server failed to authenticate the request. Make sure the value of Authorization header is formed "
    "correctly including the signature."
)


def _blob_error(status: int, code: str, message: str, detail: str | None = None) -> Response:
    # Azure Blob Storage's XML error envelope; the message ends with RequestId and Time lines.
    request_id = uuid.uuid4()
    text = f"{message}\nRequestId:{request_id}\nTime:{datetime.now(UTC).isoformat(timespec='microseconds')}"
    xml = f'<?xml version="1.0" encoding="utf-8"?><Error><Code>{code}</Code><Message>{text}</Message>'
    if detail is not None:
        xml += f"<AuthenticationErrorDetail>{detail}</AuthenticationErrorDetail>"
    xml += "</Error>"
    return Response(status, xml.encode("utf-8"), {"x-ms-error-code": code}, content_type="application/xml")


def _terminal_status(outcome: ContentPolicy | OutputFiltered | OperationStatus | None) -> str:
    if isinstance(outcome, ContentPolicy):
        return "failed"
    if isinstance(outcome, OperationStatus):
        return outcome.status
    return "succeeded"


def _policy_violation(revised_prompt: str | None) -> dict[str, Any]:
    filters = {
        "hate": {"filtered": False, "severity": "safe"},
        "profanity": {"detected": False, "filtered": False},
        "self_harm": {"filtered": False, "severity": "safe"},
        "sexual": {"filtered": False, "severity": "safe"},
        "violence": {"filtered": True, "severity": "low"},
    }
    inner: dict[str, Any] = {"code": "ResponsibleAIPolicyViolation", "content_filter_results": filters}
    if revised_prompt is not None:
        inner["revised_prompt"] = revised_prompt
    return {
        "error": {
            "code": "content_policy_violation",
            "inner_error": inner,
            "message": _POLICY_MESSAGE,
            "type": "invalid_request_error",
        }
    }


# --------------------------------------------------------------------------------------------------
# Validation (§1.3, §2.1, §3.1, §4.6)
# --------------------------------------------------------------------------------------------------


def _validate(family: _Family, model: str, raw: bytes) -> _Params | Response:
    """Azure-strict request checking: a bot bug should fail here, not on the real service."""
    try:
        body = json.loads(raw)
    except ValueError:
        return _error("invalid_json", "We could not parse the JSON body of your request.", None)
    if not isinstance(body, dict):
        return _error("invalid_json", "The request body must be a JSON object.", None)
    for name in body:
        if name not in _FIELDS[family]:
            return _error("unknown_parameter", f"Unrecognized request argument supplied: {name}", name)
    # JSON null means "use the default", as the OpenAI API treats it.
    given = {k: v for k, v in body.items() if v is not None}

    prompt = given.get("prompt")
    if prompt is None:
        return _error("missing_required_parameter", "Missing required parameter: 'prompt'.", "prompt")
    if not isinstance(prompt, str):
        return _error("invalid_type", "Invalid type for 'prompt': expected a string.", "prompt")
    if not prompt.strip():
        return _error("invalid_value", "Invalid 'prompt': the prompt must not be empty.", "prompt")
    limit = _MAX_PROMPT[family]
    if len(prompt) > limit:
        return _error(
            "string_above_max_length",
            f"Invalid 'prompt': string too long. Expected a string with maximum length {limit}, "
            f"but got a string with length {len(prompt)} instead.",
            "prompt",
        )

    n = given.get("n", 1)
    if not isinstance(n, int) or isinstance(n, bool):
        return _error("invalid_type", "Invalid type for 'n': expected an integer.", "n")
    if family == "dall-e-3" and n != 1:
        return _error("invalid_value", "You must provide n=1 for this model.", "n")
    if not 1 <= n <= _MAX_N[family]:
        return _error("invalid_value", f"Invalid 'n': must be between 1 and {_MAX_N[family]}.", "n")

    size = given.get("size", "auto" if family == "gpt-image" else "1024x1024")
    if size not in _SIZES[family]:
        return _error(
            "invalid_size",
            f"The size is not supported by this model. Supported sizes: {', '.join(_SIZES[family])}.",
            "size",
        )
    width, _, height = ("1024x1024" if size == "auto" else size).partition("x")

    quality = given.get("quality")
    qualities = ("standard", "hd") if family == "dall-e-3" else ("low", "medium", "high", "auto")
    if quality is not None and quality not in qualities:
        return _enum_error("quality", quality, qualities)
    style = given.get("style")
    if style is not None and style not in ("vivid", "natural"):
        return _enum_error("style", style, ("vivid", "natural"))
    response_format = given.get("response_format", "url")
    if response_format not in ("url", "b64_json"):
        return _enum_error("response_format", response_format, ("url", "b64_json"))

    output_format = given.get("output_format", "png")
    if output_format not in ("png", "jpeg"):
        return _error(
            "invalid_value",
            f"Invalid value: {output_format!r}. Supported values are: 'png' and 'jpeg'. "
            "WEBP output is not supported on Azure.",
            "output_format",
        )
    compression = given.get("output_compression", 100)
    if not isinstance(compression, int) or isinstance(compression, bool) or not 0 <= compression <= 100:
        return _error(
            "invalid_value",
            "Invalid 'output_compression': expected an integer from 0 to 100.",
            "output_compression",
        )
    if compression != 100 and output_format != "jpeg":
        return _error(
            "invalid_value",
            "'output_compression' below 100 is only supported for jpeg.",
            "output_compression",
        )
    background = given.get("background", "auto")
    if background not in ("transparent", "opaque", "auto"):
        return _enum_error("background", background, ("transparent", "opaque", "auto"))
    if background == "transparent" and output_format != "png":
        return _error("invalid_value", "Transparent background requires output_format 'png'.", "background")
    moderation = given.get("moderation")
    if moderation is not None and moderation not in ("low", "auto"):
        return _enum_error("moderation", moderation, ("low", "auto"))
    for name in ("user", "model"):
        if name in given and not isinstance(given[name], str):
            return _error("invalid_type", f"Invalid type for '{name}': expected a string.", name)

    return _Params(
        prompt=prompt,
        n=n,
        width=int(width),
        height=int(height),
        quality=quality,
        response_format=response_format,
        output_format=output_format,
        compression=compression,
        transparent=background == "transparent",
    )


def _enum_error(param: str, value: Any, allowed: tuple[str, ...]) -> Response:
    choices = ", ".join(f"'{a}'" for a in allowed)
    return _error("invalid_value", f"Invalid value: {value!r}. Supported values are: {choices}.", param)
