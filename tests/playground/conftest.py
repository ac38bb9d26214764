"""One running playground per module (emulators, the real bot, the page's server) and a client of its JSON API.

The Azure pacer is off (`pace_s=0`): tests that need a call held arm the emulator's own gates. Waiting is
the page's own long poll: the server answers as soon as the emulator records a change, so no test sleeps.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, TypeVar

import httpx
import pytest

from devkit.playground.person import Person
from devkit.playground.runner import CHANNEL_ID, USER_ID, BotChoice, Playground
from devkit.playground.sample import SAMPLE_NAME, SAMPLE_TEXT, sample_picture
from devkit.playground.server import PlaygroundServer

T = TypeVar("T")
State = dict[str, Any]


class PageClient:
    """The page's side of the JSON API, for tests."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.http = httpx.Client(base_url=url, trust_env=False, timeout=30)

    def state(self) -> State:
        return dict(self.http.get("/api/state", params={"wait": 0}).json())

    def post(self, path: str, body: dict[str, Any] | None = None) -> dict[str, Any]:
        answer = self.http.post(path, json=body or {})
        assert answer.status_code in (200, 202), answer.text
        return dict(answer.json())

    def until(self, predicate: Callable[[State], T | bool | None], timeout: float = 30.0) -> T:
        """Long-poll the state until `predicate` returns something truthy, and return that."""
        since, deadline, state = -1, time.monotonic() + timeout, None
        while (remaining := deadline - time.monotonic()) > 0:
            state = self.http.get("/api/state", params={"since": since, "wait": min(remaining, 5.0)}).json()
            since = state["version"]
            found = predicate(state)
            if found:
                return found  # type: ignore[return-value]
        raise AssertionError(f"still not there after {timeout} s; last state: {state}")

    def close(self) -> None:
        self.http.close()


@dataclass
class Running:
    playground: Playground
    person: Person
    server: PlaygroundServer
    page: PageClient
    sample_ts: str


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    # A module's playground is module-scoped; its tests share one xdist worker (`--dist loadgroup`,
    # dev.py test), or every worker that got one of them would start a playground of its own.
    for item in items:
        if "/playground/" in str(item.fspath):
            item.add_marker(pytest.mark.xdist_group(item.nodeid.split("::")[0]))


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Iterator[None]:
    """A failed playground test carries the bot's log: the playground's directory is gone once the
    module's fixture ends, and a failure seen once under load cannot be read afterwards otherwise."""
    outcome = yield
    report = outcome.get_result()  # type: ignore[attr-defined]
    running = getattr(item, "funcargs", {}).get("running")
    if report.failed and isinstance(running, Running) and running.playground.log_path.exists():
        tail = running.playground.log_path.read_text(errors="replace")[-8000:]
        report.sections.append(("playground bot log, last 8,000 characters", tail))


@contextmanager
def run_playground(choice: BotChoice | None = None) -> Iterator[Running]:
    """The playground as `python -m devkit.playground` starts it, on a free port and without the pacer."""
    # Enough workers that a test's job never waits for an earlier test's; a restart waits at most a second
    # for running jobs (they are released, and run again afterwards).
    settings = {"WORKER_CONCURRENCY": "4", "SHUTDOWN_GRACE_SECONDS": "1"}
    with Playground(choice or BotChoice(), pace_s=0, bot_settings=settings) as playground:
        person = Person(playground)
        sample = playground.slack.post_user_message(
            CHANNEL_ID, SAMPLE_TEXT, user=USER_ID, files=[(SAMPLE_NAME, sample_picture(), "image/png")]
        )
        with PlaygroundServer(playground, person, port=0) as server:
            page = PageClient(server.url)
            try:
                yield Running(playground, person, server, page, sample.ts)
            finally:
                page.close()


@pytest.fixture(scope="module")
def running() -> Iterator[Running]:
    with run_playground() as started:
        yield started


# --- reading the state --------------------------------------------------------------------------------


def all_messages(state: State) -> list[dict[str, Any]]:
    """Top-level messages and every reply, in page order."""
    return [m for top in state["messages"] for m in (top, *top["replies"])]


def action_ids(message: dict[str, Any]) -> set[str]:
    return {button["action_id"] for button in message["buttons"]}


def results(state: State) -> list[dict[str, Any]]:
    """Messages that show a finished result (they carry a Regenerate button), replies included."""
    return [m for m in all_messages(state) if "imagine_regenerate" in action_ids(m)]
