"""Requests-per-minute quotas: a sliding 10-second window per deployment, on the emulator's injected clock."""

from __future__ import annotations

import math
from collections.abc import Iterator

import httpx
import pytest

from devkit.azure import AzureEmulator, RateLimited

from .support import KEY, FakeClock, generate, respond

BODY = {"model": "gpt-image-2", "prompt": "a fox", "quality": "low"}


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def limited(clock: FakeClock) -> Iterator[tuple[AzureEmulator, httpx.Client]]:
    with (
        AzureEmulator(rpm={"gpt-image-2": 6, "gpt-image-1.5": 12}, clock=clock) as emu,
        httpx.Client(base_url=emu.url, headers={"api-key": KEY}, timeout=10) as http,
    ):
        yield emu, http


def test_six_rpm_allows_one_call_per_ten_seconds(limited: tuple[AzureEmulator, httpx.Client], clock: FakeClock) -> None:
    emu, http = limited

    first = generate(http, BODY)
    clock.advance(0.75)
    second = generate(http, BODY)
    clock.advance(9.25)  # ten seconds after the first call: it leaves the window
    third = generate(http, BODY)

    assert first.status_code == 200
    assert first.headers["x-ratelimit-limit-requests"] == "6"
    assert first.headers["x-ratelimit-remaining-requests"] == "0"
    assert second.status_code == 429
    assert second.headers["retry-after-ms"] == "9250"
    assert second.headers["retry-after"] == str(math.ceil(9.25))
    assert second.headers["x-ratelimit-limit-requests"] == "6"
    assert second.headers["x-ratelimit-remaining-requests"] == "0"
    assert second.json()["error"]["code"] == "429"
    assert third.status_code == 200
    assert [c.status for c in emu.calls()] == [200, 429, 200]


def test_the_window_slides_and_scripted_429s_take_no_slot(
    limited: tuple[AzureEmulator, httpx.Client], clock: FakeClock
) -> None:
    emu, http = limited
    body = BODY | {"model": "gpt-image-1.5"}  # 12 RPM: two calls per 10 s window

    assert generate(http, body).status_code == 200
    clock.advance(4)
    emu.fail_next(RateLimited())
    assert generate(http, body).status_code == 429  # scripted: gives its slot back
    second = generate(http, body)
    assert (second.status_code, second.headers["x-ratelimit-remaining-requests"]) == (200, "0")
    clock.advance(1)
    over = generate(http, body)
    assert (over.status_code, over.headers["retry-after-ms"], over.headers["x-ratelimit-limit-requests"]) == (
        429,
        "5000",
        "12",
    )
    clock.advance(5)  # the first call leaves; the 429s never entered
    assert generate(http, body).status_code == 200
    assert generate(http, body).headers["retry-after-ms"] == "4000"


def test_failed_calls_count(limited: tuple[AzureEmulator, httpx.Client]) -> None:
    _, http = limited

    refused = generate(http, BODY | {"size": "1x1"})
    limited_now = generate(http, BODY)

    assert refused.status_code == 400
    assert "x-ratelimit-remaining-requests" in refused.headers
    assert limited_now.status_code == 429


def test_quotas_are_per_deployment_and_others_are_unlimited(limited: tuple[AzureEmulator, httpx.Client]) -> None:
    _, http = limited

    assert generate(http, BODY).status_code == 200
    assert generate(http, BODY | {"model": "gpt-image-1.5"}).status_code == 200
    assert [generate(http, BODY | {"model": "gpt-image-1-mini"}).status_code for _ in range(5)] == [200] * 5


def test_the_responses_api_counts_against_the_image_deployment(limited: tuple[AzureEmulator, httpx.Client]) -> None:
    _, http = limited
    body = {"model": "gpt-5.4-mini", "input": "a fox", "tools": [{"type": "image_generation", "quality": "low"}]}

    assert generate(http, BODY).status_code == 200
    assert respond(http, body, image_deployment="gpt-image-2").status_code == 429
    assert respond(http, body, image_deployment="gpt-image-1-mini").status_code == 200


def test_reset_forgets_the_window(limited: tuple[AzureEmulator, httpx.Client]) -> None:
    emu, http = limited

    assert generate(http, BODY).status_code == 200
    emu.reset()
    assert generate(http, BODY).status_code == 200
