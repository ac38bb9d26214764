"""Azure's requests-per-minute quota, enforced the way docs/contracts/azure-openai-images.md §8 describes it:
a sliding 10-second window holding at most max(1, rpm // 6) calls per deployment."""

from __future__ import annotations

import threading
from collections import deque
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Final

__all__ = ["Admission", "Refusal", "RequestQuota"]

WINDOW_S: Final = 10.0


@dataclass(frozen=True)
class Admission:
    """A call let through: the slot it took (None without a quota) and the headers to answer with."""

    deployment: str
    at: float | None
    headers: dict[str, str]


@dataclass(frozen=True)
class Refusal:
    """A call over the quota: how long until the oldest call in the window leaves it."""

    retry_after_s: float
    rpm: int


class RequestQuota:
    """Per-deployment sliding windows on an injected clock; thread-safe."""

    def __init__(self, rpm: Mapping[str, int], clock: Callable[[], float]) -> None:
        for deployment, limit in rpm.items():
            if limit < 1:
                raise ValueError(f"rpm for {deployment!r} must be >= 1, not {limit}")
        self._rpm = dict(rpm)
        self._clock = clock
        self._lock = threading.Lock()
        self._windows: dict[str, deque[float]] = {name: deque() for name in self._rpm}

    def rpm_of(self, deployment: str | None) -> int | None:
        return None if deployment is None else self._rpm.get(deployment)

    def admit(self, deployment: str) -> Admission | Refusal:
        """Takes a slot in the deployment's window (failed calls count too), or refuses without taking one."""
        rpm = self._rpm.get(deployment)
        if rpm is None:
            return Admission(deployment, None, {})
        cap = max(1, rpm // 6)
        now = self._clock()
        with self._lock:
            window = self._windows[deployment]
            while window and window[0] <= now - WINDOW_S:
                window.popleft()
            if len(window) >= cap:
                return Refusal(window[0] + WINDOW_S - now, rpm)
            window.append(now)
            remaining = cap - len(window)
        headers = {"x-ratelimit-limit-requests": str(rpm), "x-ratelimit-remaining-requests": str(remaining)}
        return Admission(deployment, now, headers)

    def give_back(self, admission: Admission) -> None:
        """Returns a slot: a scripted 429 never counts against the real quota."""
        if admission.at is None:
            return
        with self._lock:
            window = self._windows[admission.deployment]
            if admission.at in window:
                window.remove(admission.at)

    def reset(self) -> None:
        with self._lock:
            for window in self._windows.values():
                window.clear()
