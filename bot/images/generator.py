"""The contract between the worker and whatever makes images.

Errors form one hierarchy, and each says whether trying again can help:

    ImageGenerationError          code (stored in the usage row), detail (for operators' logs only)
    ├── ContentRejected           the content policy refused the prompt or the image: final
    ├── Misconfigured             bad key, missing deployment, wrong api-version or endpoint: final
    ├── InvalidRequest            any other refusal of the request itself: final
    ├── RateLimited               429: retry after `retry_after` seconds when the service gave one
    └── ServiceUnavailable        5xx, timeouts, connection errors, garbled answers: retry with backoff

No message here is meant for Slack users; `bot.replies` turns each kind into plain words.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal, Protocol

from bot.request import ImageRequest


@dataclass(frozen=True, slots=True)
class GeneratedImage:
    content: bytes
    media_type: str  # "image/png" or "image/jpeg"

    @property
    def extension(self) -> str:
        return "jpg" if self.media_type == "image/jpeg" else "png"


@dataclass(frozen=True, slots=True)
class TokenUsage:
    input_tokens: int | None
    output_tokens: int | None
    total_tokens: int | None


@dataclass(frozen=True, slots=True)
class ImageResult:
    images: tuple[GeneratedImage, ...]
    revised_prompt: str | None  # only dall-e-3 revises prompts
    usage: TokenUsage | None  # only gpt-image-* reports tokens
    latency_ms: int  # time Azure took, from the first request to the final answer


class ImageGenerator(Protocol):
    def generate(self, request: ImageRequest) -> ImageResult:
        """Make the images, or raise an `ImageGenerationError`."""
        ...


class ImageGenerationError(Exception):
    retryable: bool = False

    def __init__(self, code: str, detail: str) -> None:
        super().__init__(f"{code}: {detail}")
        self.code = code
        self.detail = detail


class ContentRejected(ImageGenerationError):
    def __init__(self, stage: Literal["prompt", "output"], detail: str) -> None:
        super().__init__(f"content_rejected_{stage}", detail)
        self.stage = stage


class Misconfigured(ImageGenerationError):
    pass


class InvalidRequest(ImageGenerationError):
    pass


class RateLimited(ImageGenerationError):
    retryable = True

    def __init__(self, detail: str, retry_after: float | None) -> None:
        super().__init__("rate_limited", detail)
        self.retry_after = retry_after


class ServiceUnavailable(ImageGenerationError):
    retryable = True

    def __init__(self, code: str, detail: str, retry_after: float | None = None) -> None:
        super().__init__(code, detail)
        self.retry_after = retry_after
