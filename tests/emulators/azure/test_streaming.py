"""Streamed partial images: event names and fields, rougher-to-finer previews, gates, breaks and filters in a stream."""

from __future__ import annotations

import base64
import threading
from typing import Any

import httpx
import pytest
from PIL import ImageChops, ImageStat

from devkit.azure import AzureEmulator, Malformed, OutputFiltered, PromptFiltered, StreamBreaks
from devkit.pictures import draw

from .support import assert_undecodable, edit, image_of, sse_events

BODY = {"model": "gpt-image-2", "prompt": "a fox in the snow", "stream": True, "quality": "low"}


def stream(client: httpx.Client, **extra: Any) -> httpx.Response:
    return client.post("/openai/v1/images/generations", params={"api-version": "preview"}, json=BODY | extra)


def test_partial_images_then_the_completed_event(client: httpx.Client) -> None:
    response = stream(client, partial_images=3, size="1536x864")

    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/event-stream")
    events = sse_events(response)
    assert [name for name, _ in events] == ["image_generation.partial_image"] * 3 + ["image_generation.completed"]
    settings = {"background": "opaque", "output_format": "png", "quality": "low", "size": "1536x864"}
    for index, (_, data) in enumerate(events[:3]):
        assert isinstance(data, dict)
        assert data["type"] == "image_generation.partial_image"
        assert data["partial_image_index"] == index
        assert {k: data[k] for k in settings} == settings
        assert isinstance(data["created_at"], int)
        assert image_of(base64.b64decode(data["b64_json"])).size == (1536, 864)
    completed = events[-1][1]
    assert isinstance(completed, dict)
    assert completed["type"] == "image_generation.completed"
    assert {k: completed[k] for k in settings} == settings
    assert completed["usage"] == {
        "input_tokens": 5,
        "input_tokens_details": {"image_tokens": 0, "text_tokens": 5},
        "output_tokens": 272 * 1536 * 864 // (1024 * 1024) + 1,
        "total_tokens": 5 + 272 * 1536 * 864 // (1024 * 1024) + 1,
    }


def test_each_partial_is_closer_to_the_final_picture(client: httpx.Client) -> None:
    events = sse_events(stream(client, partial_images=3))
    pictures = [
        image_of(base64.b64decode(data["b64_json"])).convert("RGB") for _, data in events if isinstance(data, dict)
    ]
    final = pictures[-1]

    distances = [sum(ImageStat.Stat(ImageChops.difference(p, final)).mean) for p in pictures[:-1]]
    assert distances == sorted(distances, reverse=True)
    assert distances[-1] > 0


def test_zero_partial_images_is_just_the_completed_event(client: httpx.Client) -> None:
    assert [name for name, _ in sse_events(stream(client))] == ["image_generation.completed"]


def test_edits_stream_image_edit_events(client: httpx.Client) -> None:
    cat = draw("a cat", 1024, 1024, seed=1)
    response = edit(client, {"model": "gpt-image-2", "prompt": "night", "stream": "true", "partial_images": "1"}, [cat])

    events = sse_events(response)
    assert [name for name, _ in events] == ["image_edit.partial_image", "image_edit.completed"]
    completed = events[-1][1]
    assert isinstance(completed, dict)
    assert completed["usage"]["input_tokens_details"]["image_tokens"] == 581


def test_a_stream_call_is_recorded_as_one(client: httpx.Client, emulator: AzureEmulator) -> None:
    stream(client, partial_images=1)

    (call,) = emulator.calls()
    assert (call.operation, call.stream, call.status, call.deployment) == ("generate", True, 200, "gpt-image-2")


def test_a_paused_stream_holds_after_the_partials(emulator: AzureEmulator) -> None:
    gate = emulator.pause("generate")
    seen: list[str] = []
    partials_arrived = threading.Event()

    def consume() -> None:
        with (
            httpx.Client(base_url=emulator.url, headers={"api-key": emulator.api_key}, timeout=10) as http,
            http.stream("POST", "/openai/v1/images/generations", json=BODY | {"partial_images": 2}) as response,
        ):
            for line in response.iter_lines():
                if line.startswith("event: "):
                    seen.append(line.removeprefix("event: "))
                    if len(seen) == 2:
                        partials_arrived.set()

    worker = threading.Thread(target=consume)
    worker.start()
    assert gate.reached.wait(10)
    assert partials_arrived.wait(10)
    # Both partial images reached the client before the hold point; the completed event waits for the test.
    assert seen == ["image_generation.partial_image"] * 2
    gate.release()
    worker.join(10)

    assert seen == ["image_generation.partial_image"] * 2 + ["image_generation.completed"]
    assert gate.released


@pytest.mark.parametrize(
    ("fault", "names"),
    [
        (StreamBreaks(), ["image_generation.partial_image"] * 2),
        (StreamBreaks(after_partials=1), ["image_generation.partial_image"]),
        (StreamBreaks(kind="error_event", after_partials=0), ["error"]),
        (OutputFiltered(code="moderation_blocked"), ["image_generation.partial_image"] * 2 + ["error"]),
        (PromptFiltered(), ["error"]),
    ],
)
def test_streams_that_end_early(client: httpx.Client, emulator: AzureEmulator, fault: Any, names: list[str]) -> None:
    emulator.fail_next(fault)

    events = sse_events(stream(client, partial_images=2))

    assert [name for name, _ in events] == names
    if names[-1] == "error":
        data = events[-1][1]
        assert isinstance(data, dict)
        assert data["type"] == "error"
        assert set(data["error"]) == {"code", "message", "param", "type"}


def test_filter_codes_in_a_stream(client: httpx.Client, emulator: AzureEmulator) -> None:
    emulator.fail_next(PromptFiltered(), OutputFiltered())

    prompt_error = sse_events(stream(client))[-1][1]
    output_error = sse_events(stream(client))[-1][1]

    assert isinstance(prompt_error, dict)
    assert isinstance(output_error, dict)
    assert prompt_error["error"]["code"] == output_error["error"]["code"] == "contentFilter"
    assert prompt_error["error"]["message"] == "Your task failed as a result of our safety system."
    assert output_error["error"]["message"] == "Generated image was filtered as a result of our safety system."


def test_malformed_completed_events(client: httpx.Client, emulator: AzureEmulator) -> None:
    emulator.fail_next(Malformed("not_json"), Malformed("no_data"), Malformed("bad_base64"))

    not_json = sse_events(stream(client))[-1][1]
    no_data = sse_events(stream(client))[-1][1]
    bad = sse_events(stream(client))[-1][1]

    assert isinstance(not_json, str)
    assert isinstance(no_data, dict)
    assert "b64_json" not in no_data
    assert isinstance(bad, dict)
    assert_undecodable(bad["b64_json"])
