"""Injected failures and Slack's per-channel posting rate.

Not thread-safe on their own: the workspace lock guards every call.
"""

from __future__ import annotations

import math
from collections import deque
from dataclasses import dataclass, field
from typing import Any

__all__ = ["Fault", "Faults", "PostRateLimiter"]


@dataclass(frozen=True)
class Fault:
    """One injected answer for a method: an error body, or (error None) HTTP 429 with Retry-After."""

    error: str | None
    retry_after: int = 0
    extra: dict[str, Any] = field(default_factory=dict)


class Faults:
    """Per-method queues of injected answers, consumed in order; and injected upload_url statuses."""

    def __init__(self) -> None:
        self._by_method: dict[str, deque[Fault]] = {}
        self._uploads: deque[int] = deque()

    def add(self, method: str, fault: Fault, times: int) -> None:
        self._by_method.setdefault(method, deque()).extend([fault] * times)

    def next_for(self, method: str) -> Fault | None:
        queue = self._by_method.get(method)
        return queue.popleft() if queue else None

    def add_upload(self, status: int, times: int) -> None:
        self._uploads.extend([status] * times)

    def next_upload(self) -> int | None:
        return self._uploads.popleft() if self._uploads else None


class PostRateLimiter:
    """A token bucket per channel on the injected clock (docs/contracts/slack.md §4.6).

    Slack allows about one message per second per channel with short bursts; `rate` is messages per
    second and `burst` the bucket's size. `take` answers 0 when the post may go, or the whole seconds
    to wait (the Retry-After value) when it may not.
    """

    def __init__(self, rate: float | None, burst: int) -> None:
        if rate is not None and rate <= 0:
            raise ValueError("channel_post_rate must be positive (or None for no limit)")
        if burst < 1:
            raise ValueError("channel_post_burst must be at least 1")
        self._rate = rate
        self._burst = burst
        self._buckets: dict[str, tuple[float, float]] = {}  # channel -> (tokens, clock time of that count)

    def reset(self) -> None:
        self._buckets.clear()

    def take(self, channel_id: str, now: float) -> int:
        if self._rate is None:
            return 0
        tokens, since = self._buckets.get(channel_id, (float(self._burst), now))
        tokens = min(float(self._burst), tokens + max(0.0, now - since) * self._rate)
        if tokens >= 1.0:
            self._buckets[channel_id] = (tokens - 1.0, now)
            return 0
        self._buckets[channel_id] = (tokens, now)
        return max(1, math.ceil((1.0 - tokens) / self._rate))
