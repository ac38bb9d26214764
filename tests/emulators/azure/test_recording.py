"""What the emulator records: every request in order, with its operation, deployment, body, files and answer."""

from __future__ import annotations

import threading

import httpx

from devkit.azure import AzureEmulator

from .support import DALLE2_VERSION, KEY, FakeClock, edit, generate, generate_on, png, respond


def test_every_request_is_recorded_in_order(
    client: httpx.Client, emulator: AzureEmulator, shared_clock: FakeClock
) -> None:
    url = generate_on(client, "dalle3", {"prompt": "a fox"}, "2024-10-21").json()["data"][0]["url"]
    httpx.get(url)
    location = client.post(
        "/openai/images/generations:submit", params={"api-version": DALLE2_VERSION}, json={"prompt": "an owl"}
    ).headers["operation-location"]
    shared_clock.advance(1.5)
    client.get(location)
    client.get("/elsewhere")

    recorded = emulator.recorded()

    assert [(r.method, r.operation, r.status) for r in recorded] == [
        ("POST", "generate", 200),
        ("GET", "blob", 200),
        ("POST", "submit", 202),
        ("GET", "poll", 200),
        ("GET", "other", 404),
    ]
    assert [r.deployment for r in recorded] == ["dalle3", None, "dalle2", "dalle2", None]
    first = recorded[0]
    assert first.path == "/openai/deployments/dalle3/images/generations"
    assert first.query == {"api-version": "2024-10-21"}
    assert first.body == {"prompt": "a fox"}
    assert first.headers["api-key"] == "***"  # the key never sits in a recording
    assert first.stream is False
    assert [r.at for r in recorded] == [first.at, first.at, first.at, first.at + 1.5, first.at + 1.5]
    assert recorded[-1].body is None


def test_calls_lists_the_image_making_calls(client: httpx.Client, emulator: AzureEmulator) -> None:
    generate(client, {"model": "gpt-image-2", "prompt": "a fox", "quality": "low"})
    edit(client, {"model": "gpt-image-1.5", "prompt": "night", "quality": "low"}, [png(32, 32)])
    respond(client, {"model": "gpt-5.4-mini", "input": "x", "tools": [{"type": "image_generation", "quality": "low"}]})
    client.get("/elsewhere")

    assert [c.operation for c in emulator.calls()] == ["generate", "edit", "responses"]
    assert [c.operation for c in emulator.calls("edit")] == ["edit"]
    assert [c.operation for c in emulator.calls("other")] == ["other"]


def test_multipart_edits_record_fields_images_and_mask(client: httpx.Client, emulator: AzureEmulator) -> None:
    first, second, mask = png(64, 64), png(32, 32, (0, 255, 0, 255)), png(64, 64, (0, 0, 0, 0))
    edit(client, {"model": "gpt-image-1.5", "prompt": "night", "n": "2", "stream": "false"}, [first, second], mask=mask)

    (call,) = emulator.calls("edit")
    assert call.body == {"model": "gpt-image-1.5", "prompt": "night", "n": "2", "stream": "false"}
    assert call.images == (first, second)
    assert call.mask == mask
    assert call.deployment == "gpt-image-1.5"
    assert call.status == 200


def test_bearer_tokens_are_redacted_too(emulator: AzureEmulator) -> None:
    with httpx.Client(base_url=emulator.url, headers={"Authorization": f"Bearer {KEY}"}) as http:
        generate(http, {"model": "gpt-image-2", "prompt": "a fox", "quality": "low", "stream": True})

    (call,) = emulator.calls()
    assert call.headers["authorization"] == "Bearer ***"
    assert call.stream is True


def test_a_held_call_is_recorded_before_it_is_answered(emulator: AzureEmulator) -> None:
    gate = emulator.pause()

    def call() -> None:
        with httpx.Client(base_url=emulator.url, headers={"api-key": KEY}, timeout=10) as http:
            generate(http, {"model": "gpt-image-2", "prompt": "a fox", "quality": "low"})

    worker = threading.Thread(target=call)
    worker.start()
    assert gate.reached.wait(10)
    assert [c.operation for c in emulator.calls()] == ["generate"]
    gate.release()
    worker.join(10)


def test_reset_forgets_recordings_but_keeps_operations(client: httpx.Client, emulator: AzureEmulator) -> None:
    location = client.post(
        "/openai/images/generations:submit", params={"api-version": DALLE2_VERSION}, json={"prompt": "an owl"}
    ).headers["operation-location"]

    emulator.reset()

    assert emulator.recorded() == []
    assert client.get(location).status_code == 200
