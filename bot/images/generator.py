"""The contract between the worker and whatever makes images.

Errors form one hierarchy, and each says whether trying again can help:

    ImageGenerationError          code (stored in the usage row), detail (for operators' logs only)
    ├── ContentRejected           the content policy refused the prompt or the image: final
    ├── Misconfigured             bad key, wrong endpoint or api-version: final
    │   └── DeploymentNotFound    the deployment does not exist (or its model is retired): final
    ├── InvalidRequest            any other refusal of the request itself: final
    ├── RateLimited               429: retry after `retry_after` seconds when the service gave one
    └── ServiceUnavailable        5xx, timeouts, connection errors, garbled answers: retry with backoff

No message here is meant for Slack users; `bot.replies` turns each kind into plain words.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Literal, Protocol

from bot.images.request import ImageRequest, InputImage


@dataclass(frozen=True, slots=True)
class GeneratedImage:
    content: bytes
    media_type: str  # "image/png" or "image/jpeg"

    @property
    def extension(self) -> str:
        return "jpg" if self.media_type == "image/jpeg" else "png"


@dataclass(frozen=True, slots=True)
class TokenUsage:
    """What a call consumed, as the answer's `usage` reports it (docs/contracts/azure-openai-images.md §2)."""

    text_input_tokens: int = 0
    image_input_tokens: int = 0  # the pictures an edit starts from
    output_tokens: int = 0  # the image tokens drawn
    chat_model: str | None = None  # the Responses API's chat deployment, when it revised the prompt
    chat_input_tokens: int = 0
    chat_output_tokens: int = 0


@dataclass(frozen=True, slots=True)
class ImageResult:
    images: tuple[GeneratedImage, ...]
    revised_prompt: str | None  # dall-e-3, and GPT image models through the Responses API
    usage: TokenUsage | None  # GPT image models only
    latency_ms: int  # time Azure took, from the first request to the final answer


@dataclass(frozen=True, slots=True)
class PartialImage:
    """A rough preview while the model draws; `index` counts from 0."""

    index: int
    image: GeneratedImage


OnPartial = Callable[[PartialImage], None]


class ImageGenerator(Protocol):
    def generate(self, request: ImageRequest, *, on_partial: OnPartial | None = None) -> ImageResult:
        """Make the images, or raise an `ImageGenerationError`. Previews go to `on_partial` where the
        model streams; an exception raised by `on_partial` is logged and ignored, never fatal."""
        ...

    def edit(
        self,
        request: ImageRequest,
        images: Sequence[InputImage],
        *,
        mask: InputImage | None = None,
        on_partial: OnPartial | None = None,
    ) -> ImageResult:
        """Change `images` as the prompt says (1 to 16 of them), or raise an `ImageGenerationError`."""
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


class DeploymentNotFound(Misconfigured):
    def __init__(self, deployment: str, detail: str) -> None:
        super().__init__("azure_deployment_not_found", detail)
        self.deployment = deployment


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
