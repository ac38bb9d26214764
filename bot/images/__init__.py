"""Image generation: the interface the worker depends on, its results and its errors.

`azure.py` is the only module that knows Azure's URLs, headers and JSON.
"""

from bot.images.generator import (
    ContentRejected,
    GeneratedImage,
    ImageGenerationError,
    ImageGenerator,
    ImageResult,
    InvalidRequest,
    Misconfigured,
    RateLimited,
    ServiceUnavailable,
    TokenUsage,
)

__all__ = [
    "ContentRejected",
    "GeneratedImage",
    "ImageGenerationError",
    "ImageGenerator",
    "ImageResult",
    "InvalidRequest",
    "Misconfigured",
    "RateLimited",
    "ServiceUnavailable",
    "TokenUsage",
]
