"""Fixtures for the Slack emulator's tests: one emulator per module (reset per test), a fake clock, the
official WebClient pointed at it, and a stand-in bot that verifies signatures as Bolt does."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from slack_sdk import WebClient
from slack_sdk.signature import SignatureVerifier

from devkit.slack import SlackEmulator
from tests.emulators.slack.support import ANNOUNCE, ARCHIVED, MEMBER, PRIVATE, FakeClock, StandInBot


@pytest.fixture(autouse=True)
def _no_proxies(monkeypatch: pytest.MonkeyPatch) -> None:
    # slack_sdk and its socket client pick proxies up from the environment; loopback must not use one.
    for name in ("HTTP_PROXY", "HTTPS_PROXY", "http_proxy", "https_proxy", "ALL_PROXY", "all_proxy"):
        monkeypatch.delenv(name, raising=False)


@pytest.fixture(scope="module")
def _shared_clock() -> FakeClock:
    return FakeClock()


@pytest.fixture(scope="module")
def _shared_emulator(_shared_clock: FakeClock) -> Iterator[SlackEmulator]:
    with SlackEmulator(clock=_shared_clock) as emulator:
        yield emulator


@pytest.fixture
def clock(_shared_clock: FakeClock) -> FakeClock:
    _shared_clock.now = FakeClock().now
    return _shared_clock


@pytest.fixture
def emu(_shared_emulator: SlackEmulator, clock: FakeClock) -> SlackEmulator:
    _shared_emulator.reset()
    _shared_emulator.add_channel(MEMBER, name="imagine")
    _shared_emulator.add_channel(PRIVATE, member=False)
    _shared_emulator.add_channel(ARCHIVED, archived=True)
    _shared_emulator.add_channel(ANNOUNCE, name="announcements", posting_restricted=True)
    return _shared_emulator


@pytest.fixture
def client(emu: SlackEmulator) -> WebClient:
    return WebClient(token=emu.bot_token, base_url=emu.api_url, timeout=5)


@pytest.fixture(scope="module")
def _shared_bot() -> Iterator[StandInBot]:
    with StandInBot() as stand_in:
        yield stand_in


@pytest.fixture
def bot(_shared_bot: StandInBot) -> StandInBot:
    _shared_bot.received.clear()
    _shared_bot.verifier = SignatureVerifier("test-signing-secret")
    return _shared_bot
