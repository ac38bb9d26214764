"""Scripted faults for the Azure emulator (`AzureEmulator.fail_next`) and the `Gate` that holds a call.

Each fault applies to exactly one call. Section numbers refer to docs/contracts/azure-openai-images.md.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from typing import Final, Literal

__all__ = [
    "ContentPolicy",
    "DeploymentGone",
    "Fault",
    "Gate",
    "Malformed",
    "OperationStatus",
    "OutputFiltered",
    "PromptFiltered",
    "RateLimited",
    "ServerError",
    "StreamBreaks",
]

# docs/contracts/azure-openai-images.md §7.1: the revised prompt in Azure's own content-policy example.
POLICY_REVISED_PROMPT: Final = "A dark and intense illustration of a man in a dramatic action scene."


@dataclass(frozen=True)
class ContentPolicy:
    """The prompt is refused: 400 `content_policy_violation` with `inner_error.code` ResponsibleAIPolicyViolation.

    On the DALL-E 2 submit flow the operation ends `failed` with a `contentFilter` error (§7.1, §9.2).
    """

    revised_prompt: str | None = POLICY_REVISED_PROMPT


@dataclass(frozen=True)
class PromptFiltered:
    """HTTP 200 whose body is only `created` and a top-level `contentFilter` error about the task (§7.2).

    In a stream it is an `error` event before any partial image; on the Responses API a failed
    `image_generation_call` (moderation stage "input"); on DALL-E 2 a `failed` operation.
    """


@dataclass(frozen=True)
class OutputFiltered:
    """The generated image is withheld: HTTP 200 with a top-level error "Generated image was filtered…" (§7.2).

    `code` is Azure's `contentFilter` or gpt-image's `moderation_blocked`. In a stream: the partial images,
    then an `error` event. On the Responses API: a failed `image_generation_call` with `moderation_blocked`
    (moderation stage "output"). On DALL-E 2: an `error` item among the operation's images.
    """

    code: Literal["contentFilter", "moderation_blocked"] = "contentFilter"

    def __post_init__(self) -> None:
        if self.code not in ("contentFilter", "moderation_blocked"):
            raise ValueError(f"OutputFiltered code must be contentFilter or moderation_blocked, not {self.code!r}")


@dataclass(frozen=True)
class RateLimited:
    """A 429 with Azure's body and `retry-after-ms`, `retry-after` and `x-ratelimit-*` headers (§7.3).

    It does not take a slot in the emulator's own quota window.
    """

    retry_after_s: float = 2.0

    def __post_init__(self) -> None:
        if self.retry_after_s < 0:
            raise ValueError("retry_after_s must be >= 0")


@dataclass(frozen=True)
class ServerError:
    """A transient 500 (`InternalServerError`) or 503 (`ServiceUnavailable`), §7.6."""

    status: int = 500

    def __post_init__(self) -> None:
        if self.status not in (500, 503):
            raise ValueError(f"ServerError status must be 500 or 503, not {self.status}")


@dataclass(frozen=True)
class Malformed:
    """A 200 that a careful client must refuse (§7.7).

    `not_json`: the body (or a stream's last event) is cut off mid-JSON. `no_data`: valid JSON without the
    images. `bad_base64`: the images are there, but their base64 does not decode.
    """

    kind: Literal["not_json", "no_data", "bad_base64"] = "not_json"

    def __post_init__(self) -> None:
        if self.kind not in ("not_json", "no_data", "bad_base64"):
            raise ValueError(f"Malformed kind must be not_json, no_data or bad_base64, not {self.kind!r}")


@dataclass(frozen=True)
class StreamBreaks:
    """The answer stops short (§7.7).

    In a stream: after `after_partials` partial images (None: all of them) the stream either just ends
    (`kind="cut"`) or sends an `error` event (`kind="error_event"`); the completed event never comes.
    A call that is not a stream gets a truncated body and a closed connection instead.
    """

    kind: Literal["cut", "error_event"] = "cut"
    after_partials: int | None = None

    def __post_init__(self) -> None:
        if self.kind not in ("cut", "error_event"):
            raise ValueError(f"StreamBreaks kind must be cut or error_event, not {self.kind!r}")
        if self.after_partials is not None and self.after_partials < 0:
            raise ValueError("after_partials must be >= 0 or None")


@dataclass(frozen=True)
class DeploymentGone:
    """One 404 `DeploymentNotFound`, as if the deployment had just been deleted; the next call works (§6.1)."""


_OperationEnd = Literal["failed", "canceled", "deleted"]


@dataclass(frozen=True)
class OperationStatus:
    """DALL-E 2 only: the operation ends in this terminal status instead of `succeeded` (§9.2)."""

    status: _OperationEnd

    def __post_init__(self) -> None:
        if self.status not in ("failed", "canceled", "deleted"):
            raise ValueError(f"OperationStatus must be failed, canceled or deleted, not {self.status!r}")


Fault = (
    ContentPolicy
    | PromptFiltered
    | OutputFiltered
    | RateLimited
    | ServerError
    | Malformed
    | StreamBreaks
    | DeploymentGone
    | OperationStatus
)


@dataclass(eq=False)
class Gate:
    """Holds one call of the emulator at its hold point until `release()` (see `AzureEmulator.pause`).

    `reached` is set when the call arrives there, so a test can `gate.reached.wait(timeout)` and then look at
    what the client did meanwhile. Releasing before the call arrives lets it pass without stopping.
    """

    operation: str | None
    reached: threading.Event = field(default_factory=threading.Event)
    _released: threading.Event = field(default_factory=threading.Event, repr=False)

    def release(self) -> None:
        """Lets the held call (or the one still to come) go on."""
        self._released.set()

    @property
    def released(self) -> bool:
        return self._released.is_set()

    def hold(self) -> None:
        """Called by the emulator's request thread: signals `reached`, then waits for `release()`."""
        self.reached.set()
        self._released.wait()
