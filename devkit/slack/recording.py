"""What happened, for tests: snapshots of messages, files, calls and views, and `wait_for`.

Every accessor copies under the workspace lock, so it is safe from any thread and its result never
changes under the caller.
"""

from __future__ import annotations

import copy
import reprlib
import time
from collections.abc import Callable
from typing import Any, TypeVar, cast

from devkit.slack.records import ApiCall, Channel, Download, Message, ResponsePost, UploadedFile
from devkit.slack.workspace import Workspace

__all__ = ["Recording"]

T = TypeVar("T")


def _describe(predicate: Callable[[], object]) -> str:
    return getattr(predicate, "__qualname__", None) or repr(predicate)


class Recording:
    """Read-only views of one workspace."""

    def __init__(self, ws: Workspace, extra_summary: Callable[[], str] = lambda: "") -> None:
        self._ws = ws
        self._extra_summary = extra_summary

    def snapshot(self, message: Message) -> Message:
        """A deep copy without deleted files (a deleted file leaves its message, §5.5)."""
        copied = copy.deepcopy(message)
        copied.files = [f for f in copied.files if not f.deleted]
        return copied

    def channels(self) -> dict[str, Channel]:
        with self._ws.cond:
            return copy.deepcopy(self._ws.channels)

    def messages(self, channel_id: str | None = None) -> list[Message]:
        with self._ws.cond:
            return [self.snapshot(m) for m in self._ws.messages if channel_id in (None, m.channel)]

    def message(self, channel_id: str, ts: str) -> Message:
        with self._ws.cond:
            for candidate in self._ws.messages:
                if candidate.channel == channel_id and candidate.ts == ts:
                    return self.snapshot(candidate)
        raise KeyError(f"no message {ts} in {channel_id}; {self.summary()}")

    def thread(self, channel_id: str, ts: str) -> list[Message]:
        with self._ws.cond:
            return [self.snapshot(m) for m in self._ws.thread_of(channel_id, ts)]

    def ephemerals(self, user_id: str | None = None) -> list[Message]:
        with self._ws.cond:
            return [self.snapshot(m) for m in self._ws.ephemerals if user_id in (None, m.ephemeral_user)]

    def responses(self, response_url: str | None = None) -> list[ResponsePost]:
        with self._ws.cond:
            return [copy.deepcopy(r) for r in self._ws.responses if response_url in (None, r.url)]

    def calls(self, method: str | None = None) -> list[ApiCall]:
        with self._ws.cond:
            return [copy.deepcopy(c) for c in self._ws.calls if method in (None, c.method)]

    def files(self, *, include_pending: bool = False) -> dict[str, UploadedFile]:
        """Files that exist in Slack: completed uploads. Orphans of an unfinished flow only on request."""
        with self._ws.cond:
            return {
                file_id: copy.deepcopy(f) for file_id, f in self._ws.files.items() if f.completed or include_pending
            }

    def downloads(self) -> list[Download]:
        with self._ws.cond:
            return list(self._ws.downloads)

    def home_views(self) -> dict[str, dict[str, Any]]:
        with self._ws.cond:
            return copy.deepcopy(self._ws.home_views)

    def opened_views(self) -> list[dict[str, Any]]:
        with self._ws.cond:
            return copy.deepcopy(self._ws.opened_views)

    def wait_for(self, predicate: Callable[[], T | bool | None], timeout: float = 10.0) -> T:
        """Call `predicate` until it returns something truthy, and return that.

        It runs outside the lock, so it may do anything (even call the bot, which calls the emulator).
        It is re-run whenever the workspace changes, and at least every 0.1 s for state outside it.
        """
        deadline = time.monotonic() + timeout
        while True:
            with self._ws.cond:
                version = self._ws.version
            result = predicate()
            if result:
                return cast(T, result)
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise AssertionError(
                    f"wait_for({_describe(predicate)}) still falsy after {timeout}s "
                    f"(last result {reprlib.repr(result)}); {self.summary()}"
                )
            with self._ws.cond:
                if self._ws.version == version:
                    self._ws.cond.wait(min(remaining, 0.1))

    def summary(self) -> str:
        """One line of what happened lately, for assertion messages."""
        with self._ws.cond:
            ws = self._ws
            recent = ", ".join(
                f"{c.method}->{c.error or 'ok'}" if c.status == 200 else f"{c.method}->{c.status}"
                for c in ws.calls[-8:]
            )
            return (
                f"{len(ws.messages)} messages, {len(ws.ephemerals)} ephemerals, "
                f"{len(ws.responses)} response posts, {len(ws.calls)} API calls "
                f"(latest: {recent or 'none'}){self._extra_summary()}"
            )
