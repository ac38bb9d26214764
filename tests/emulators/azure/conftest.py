"""Fixtures for the Azure emulator's tests: one emulator for the whole session, reset around each test."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from devkit.azure import AzureEmulator

from .support import KEY, FakeClock


@pytest.fixture(scope="session")
def shared_clock() -> FakeClock:
    return FakeClock()


@pytest.fixture(scope="session")
def shared_emulator(shared_clock: FakeClock) -> Iterator[AzureEmulator]:
    with AzureEmulator(clock=shared_clock) as emu:
        yield emu


@pytest.fixture
def emulator(shared_emulator: AzureEmulator) -> Iterator[AzureEmulator]:
    shared_emulator.reset()
    yield shared_emulator
    shared_emulator.reset()  # releases any gate a failed test left held


@pytest.fixture(scope="session")
def shared_client(shared_emulator: AzureEmulator) -> Iterator[httpx.Client]:
    # One client for the session: building an httpx.Client (its SSL context) costs tens of milliseconds.
    with httpx.Client(base_url=shared_emulator.url, headers={"api-key": KEY}, timeout=10) as http:
        yield http


@pytest.fixture(scope="session")
def sdk_http() -> Iterator[httpx.Client]:
    """The transport the official SDK clients of these tests share (one SSL context for the session)."""
    with httpx.Client() as http:
        yield http


@pytest.fixture
def client(emulator: AzureEmulator, shared_client: httpx.Client) -> httpx.Client:
    """An httpx client with the emulator's key, on an emulator reset for this test."""
    return shared_client
