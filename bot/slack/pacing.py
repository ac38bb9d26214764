"""How fast the bot talks to Slack: per-channel pacing of new messages (about one per second per
channel, docs/contracts/slack.md §4.6, §13.3) and slack_sdk retry handlers that sleep through an
injected `sleep`, so tests drive them without waiting."""

from __future__ import annotations

import random
import threading
import time
from collections.abc import Callable

from slack_sdk.http_retry import (
    ConnectionErrorRetryHandler,
    HttpRequest,
    HttpResponse,
    RateLimitErrorRetryHandler,
    RetryHandler,
    RetryState,
)


class ChannelPacing:
    """A token bucket per channel: `burst` messages at once, then `rate` per second (§4.6)."""

    def __init__(
        self,
        rate: float = 1.0,
        burst: int = 3,
        *,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self._rate, self._burst = rate, burst
        self._clock, self._sleep = clock, sleep
        self._buckets: dict[str, tuple[float, float]] = {}  # channel → (tokens, at)
        self._lock = threading.Lock()

    def ready(self, channel_id: str, *, spare: int = 0) -> bool:
        """Whether a message could go to the channel now and still leave `spare` more that could go
        without waiting (reads the bucket; takes nothing)."""
        with self._lock:
            now = self._clock()
            tokens, at = self._buckets.get(channel_id, (float(self._burst), now))
            return tokens + (now - at) * self._rate >= 1 + spare

    def crowded(self, *, spare: int = 0) -> list[str]:
        """The channels that could not take a message now and `spare` more without waiting (the opposite
        of `ready`, for every channel this process has posted to; takes nothing)."""
        with self._lock:
            now = self._clock()
            return [c for c, (tokens, at) in self._buckets.items() if tokens + (now - at) * self._rate < 1 + spare]

    def wait(self, channel_id: str) -> None:
        while (delay := self._take(channel_id)) > 0:
            self._sleep(delay)

    def _take(self, channel_id: str) -> float:
        with self._lock:
            now = self._clock()
            tokens, at = self._buckets.get(channel_id, (float(self._burst), now))
            tokens = min(float(self._burst), tokens + (now - at) * self._rate)
            if tokens >= 1:
                self._buckets[channel_id] = (tokens - 1, now)
                return 0.0
            self._buckets[channel_id] = (tokens, now)
            return (1 - tokens) / self._rate


class _RateLimitRetry(RateLimitErrorRetryHandler):
    """slack_sdk's 429 handler (Retry-After plus up to a second of jitter), sleeping through `sleep`."""

    def __init__(self, sleep: Callable[[float], None], max_retry_count: int) -> None:
        super().__init__(max_retry_count=max_retry_count)
        self._sleep = sleep

    def prepare_for_next_attempt(
        self,
        *,
        state: RetryState,
        request: HttpRequest,
        response: HttpResponse | None = None,
        error: Exception | None = None,
    ) -> None:
        if response is None:
            raise error or RuntimeError("no response to retry")
        state.next_attempt_requested = True
        header = next((v for k, v in response.headers.items() if k.lower() == "retry-after"), None)
        seconds = int(header[0]) if header and str(header[0]).isdigit() else 1
        self._sleep(seconds + random.random())
        state.increment_current_attempt()


class _ConnectionRetry(ConnectionErrorRetryHandler):
    def __init__(self, sleep: Callable[[float], None], max_retry_count: int) -> None:
        super().__init__(max_retry_count=max_retry_count)
        self._sleep = sleep

    def prepare_for_next_attempt(
        self,
        *,
        state: RetryState,
        request: HttpRequest,
        response: HttpResponse | None = None,
        error: Exception | None = None,
    ) -> None:
        state.next_attempt_requested = True
        self._sleep(self.interval_calculator.calculate_sleep_duration(state.current_attempt))
        state.increment_current_attempt()


def retry_handlers(sleep: Callable[[float], None] = time.sleep) -> list[RetryHandler]:
    """Connection errors twice, and 429s after Slack's Retry-After, three times."""
    return [_ConnectionRetry(sleep, 2), _RateLimitRetry(sleep, 3)]
