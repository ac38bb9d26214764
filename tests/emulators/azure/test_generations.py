"""GPT image generations on the v1 path and the deployments path: shapes, sizes, options, usage, routing, auth."""

from __future__ import annotations

import base64
import uuid
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from devkit.azure import AzureEmulator

from .support import GPT_IMAGE_VERSION, KEY, decoded, generate, generate_on, image_of


def test_v1_generation_answers_the_sdk_images_response_shape(client: httpx.Client) -> None:
    response = generate(client, {"model": "gpt-image-2", "prompt": "a fox in the snow", "quality": "low"})

    assert response.status_code == 200
    assert response.headers["content-type"] == "application/json"
    uuid.UUID(response.headers["apim-request-id"])
    assert response.headers["x-ms-region"] == "emulated"
    body = response.json()
    assert list(body) == ["created", "background", "data", "output_format", "quality", "size", "usage"]
    assert (body["background"], body["output_format"], body["quality"], body["size"]) == (
        "opaque",
        "png",
        "low",
        "1024x1024",
    )
    (item,) = body["data"]
    assert list(item) == ["b64_json"]  # no url, no revised_prompt on GPT image models
    assert decoded(item).format == "PNG"
    assert decoded(item).size == (1024, 1024)


@pytest.mark.parametrize(
    ("body", "size", "tokens_per_image"),
    [
        ({"quality": "low"}, (1024, 1024), 272),
        ({"quality": "medium", "size": "1024x1536"}, (1024, 1536), 1584),
        ({"quality": "high", "size": "1536x1024"}, (1536, 1024), 6208),
        ({"quality": "low", "size": "1024x1536"}, (1024, 1536), 408),
        ({"size": "auto", "quality": "auto"}, (1024, 1024), 4160),  # auto means high
        ({}, (1024, 1024), 4160),
    ],
)
def test_usage_follows_the_token_table(
    client: httpx.Client, body: dict[str, Any], size: tuple[int, int], tokens_per_image: int
) -> None:
    prompt = "two red foxes, snow"  # 19 characters: 5 text tokens
    response = generate(client, {"model": "gpt-image-1.5", "prompt": prompt, "n": 2, **body})

    payload = response.json()
    assert [decoded(item).size for item in payload["data"]] == [size, size]
    usage = payload["usage"]
    assert usage["output_tokens"] == 2 * tokens_per_image
    assert usage["output_tokens_details"] == {"image_tokens": 2 * tokens_per_image, "text_tokens": 0}
    assert usage["input_tokens"] == usage["input_tokens_details"]["text_tokens"] == 5
    assert usage["input_tokens_details"]["image_tokens"] == 0
    assert usage["total_tokens"] == usage["input_tokens"] + usage["output_tokens"]


def test_other_sizes_scale_the_square_figure_by_area(client: httpx.Client) -> None:
    response = generate(client, {"model": "gpt-image-2", "prompt": "a fox", "size": "2048x1152", "quality": "medium"})

    assert response.json()["usage"]["output_tokens"] == 1056 * 2048 * 1152 // (1024 * 1024)
    assert decoded(response.json()["data"][0]).size == (2048, 1152)


def test_n_images_differ_and_a_second_call_draws_new_ones(client: httpx.Client, emulator: AzureEmulator) -> None:
    body = {"model": "gpt-image-1-mini", "prompt": "a lighthouse", "n": 4, "quality": "low"}

    first = [item["b64_json"] for item in generate(client, body).json()["data"]]
    second = [item["b64_json"] for item in generate(client, body).json()["data"]]
    emulator.reset()  # restarts the call counter: the same pictures again
    again = [item["b64_json"] for item in generate(client, body).json()["data"]]

    assert len(set(first)) == 4
    assert not set(first) & set(second)
    assert again == first


def test_the_emulator_seed_changes_the_pictures(client: httpx.Client) -> None:
    body = {"model": "gpt-image-2", "prompt": "a lighthouse", "quality": "low"}
    with AzureEmulator(seed=1) as other, httpx.Client(base_url=other.url, headers={"api-key": KEY}) as http:
        theirs = generate(http, body).json()["data"][0]["b64_json"]

    assert generate(client, body).json()["data"][0]["b64_json"] != theirs


def test_jpeg_output_and_mini_defaults_to_medium(client: httpx.Client) -> None:
    response = generate(client, {"model": "gpt-image-1-mini", "prompt": "ramen", "output_format": "jpeg"})

    payload = response.json()
    assert decoded(payload["data"][0]).format == "JPEG"
    assert (payload["output_format"], payload["quality"]) == ("jpeg", "medium")
    assert payload["usage"]["output_tokens"] == 1056


def test_transparent_background_gives_an_rgba_png(client: httpx.Client) -> None:
    response = generate(client, {"model": "gpt-image-2", "prompt": "a sticker", "background": "transparent"})

    picture = decoded(response.json()["data"][0])
    assert response.json()["background"] == "transparent"
    assert picture.mode == "RGBA"
    assert picture.getchannel("A").getextrema()[0] == 0


@pytest.fixture(scope="module")
def every_model() -> Iterator[httpx.Client]:
    """A client on an emulator with one deployment per model name, each named after its model."""
    models = (
        "gpt-image-2",
        "gpt-image-2-2026-04-21",
        "gpt-image-2.5-flare",
        "gpt-image-1.5",
        "gpt-image-1-mini",
        "gpt-image-7-future",
    )
    with (
        AzureEmulator(deployments={m: m for m in models}) as emu,
        httpx.Client(base_url=emu.url, headers={"api-key": KEY}) as http,
    ):
        yield http


@pytest.mark.parametrize(
    ("model", "size", "accepted"),
    [
        ("gpt-image-2", "1536x864", True),
        ("gpt-image-2", "1024x640", True),  # 655,360 pixels: the smallest allowed
        ("gpt-image-2", "3840x2160", True),  # the largest ("experimental" above 2560x1440, still accepted)
        ("gpt-image-2", "3072x1024", True),  # exactly 3:1
        ("gpt-image-2", "512x512", False),  # too few pixels
        ("gpt-image-2", "1030x1030", False),  # not multiples of 16
        ("gpt-image-2", "3856x1024", False),  # longest edge over 3840
        ("gpt-image-2", "3200x1056", False),  # wider than 3:1
        ("gpt-image-2", "4096x2048", False),  # too many pixels and too long
        ("gpt-image-2", "big", False),
        ("gpt-image-2-2026-04-21", "1536x864", True),  # a snapshot of gpt-image-2
        ("gpt-image-2.5-flare", "1536x864", True),  # any gpt-image-2* name
        ("gpt-image-1.5", "1536x864", False),  # only the standard sizes
        ("gpt-image-1.5", "1024x1536", True),
        ("gpt-image-1-mini", "1792x1024", False),
        ("gpt-image-7-future", "1536x1024", True),  # an unknown GPT image name: the standard sizes
        ("gpt-image-7-future", "1536x864", False),
    ],
)
def test_size_rules_per_model(every_model: httpx.Client, model: str, size: str, accepted: bool) -> None:
    response = generate(every_model, {"model": model, "prompt": "a fox", "size": size, "quality": "low"})

    assert response.status_code == (200 if accepted else 400)
    if accepted:
        width, height = (int(side) for side in size.split("x"))
        assert image_of(base64.b64decode(response.json()["data"][0]["b64_json"])).size == (width, height)
        assert response.json()["size"] == size
    else:
        assert (response.json()["error"]["code"], response.json()["error"]["param"]) == ("invalid_size", "size")


@pytest.mark.parametrize(
    ("body", "code", "param"),
    [
        ({"style": "vivid"}, "unknown_parameter", "style"),
        ({"response_format": "b64_json"}, "unknown_parameter", "response_format"),
        ({"seed": 3}, "unknown_parameter", "seed"),
        ({"n": 11}, "invalid_value", "n"),
        ({"n": 0}, "invalid_value", "n"),
        ({"n": True}, "invalid_type", "n"),
        ({"n": "2"}, "invalid_type", "n"),
        ({"quality": "hd"}, "invalid_value", "quality"),
        ({"output_format": "webp"}, "invalid_value", "output_format"),
        ({"output_format": "jpeg", "background": "transparent"}, "invalid_value", "background"),
        ({"background": "clear"}, "invalid_value", "background"),
        ({"output_compression": 50}, "invalid_value", "output_compression"),
        ({"output_format": "jpeg", "output_compression": 101}, "invalid_value", "output_compression"),
        ({"moderation": "none"}, "invalid_value", "moderation"),
        ({"partial_images": 2}, "invalid_value", "partial_images"),  # only with stream
        ({"stream": True, "partial_images": 4}, "invalid_value", "partial_images"),
        ({"stream": True, "n": 2}, "invalid_value", "n"),  # one image a stream
        ({"stream": "yes"}, "invalid_type", "stream"),
        ({"prompt": ""}, "invalid_value", "prompt"),
        ({"prompt": "x" * 32_001}, "string_above_max_length", "prompt"),
        ({"prompt": None}, "missing_required_parameter", "prompt"),
        ({"prompt": 42}, "invalid_type", "prompt"),
        ({"user": 7}, "invalid_type", "user"),
    ],
)
def test_validation(client: httpx.Client, body: dict[str, Any], code: str, param: str) -> None:
    response = generate(client, {"model": "gpt-image-2", "prompt": "a fox", **body})

    assert response.status_code == 400
    error = response.json()["error"]
    assert (error["code"], error["param"], error["type"]) == (code, param, "invalid_request_error")
    assert error["message"]


def test_accepted_extras_and_nulls_mean_defaults(client: httpx.Client) -> None:
    body = {
        "model": "gpt-image-2",
        "prompt": "x" * 32_000,
        "quality": None,
        "size": None,
        "n": None,
        "moderation": "low",
        "user": "U1",
        "safety_identifier": "hash",
        "output_format": "jpeg",
        "output_compression": 40,
        "stream": False,
    }
    response = generate(client, body)

    assert response.status_code == 200
    assert response.json()["quality"] == "high"


def test_a_body_that_is_not_json_is_refused(client: httpx.Client) -> None:
    response = client.post("/openai/v1/images/generations", content=b"prompt=a fox")

    assert response.status_code == 400
    assert response.json()["error"]["code"] == "invalid_json"


def test_the_deployment_is_required_and_must_exist(client: httpx.Client, emulator: AzureEmulator) -> None:
    missing = generate(client, {"prompt": "a fox"})
    unknown = generate(client, {"model": "nope", "prompt": "a fox"})
    emulator.retire("gpt-image-1.5")
    retired = generate(client, {"model": "gpt-image-1.5", "prompt": "a fox"})

    assert (missing.status_code, missing.json()["error"]["param"]) == (400, "model")
    assert unknown.status_code == retired.status_code == 404
    assert (
        unknown.json()
        == retired.json()
        == {
            "error": {
                "code": "DeploymentNotFound",
                "message": "The API deployment for this resource does not exist. If you created the deployment within "
                "the last 5 minutes, please wait a moment and try again.",
            }
        }
    )
    emulator.reset()  # forgets retirements
    assert generate(client, {"model": "gpt-image-1.5", "prompt": "a fox", "quality": "low"}).status_code == 200


@pytest.mark.parametrize("deployment", ["gpt-5.4-mini", "dalle2"])
def test_a_deployment_that_cannot_make_images_here_is_operation_not_supported(
    client: httpx.Client, deployment: str
) -> None:
    response = generate(client, {"model": deployment, "prompt": "a fox"})

    assert response.status_code == 400
    assert response.json()["error"]["code"] == "OperationNotSupported"


@pytest.mark.parametrize(
    ("params", "status"), [({}, 200), ({"api-version": "latest"}, 200), ({"api-version": "2024-10-21"}, 400)]
)
def test_v1_api_versions(client: httpx.Client, params: dict[str, str], status: int) -> None:
    response = client.post(
        "/openai/v1/images/generations", params=params, json={"model": "gpt-image-2", "prompt": "a", "quality": "low"}
    )

    assert response.status_code == status


@pytest.mark.parametrize("api_version", [GPT_IMAGE_VERSION, "2025-06-15-preview"])
def test_the_deployments_path_serves_gpt_image_from_2025_04_01_preview(client: httpx.Client, api_version: str) -> None:
    response = generate_on(
        client, "gpt-image-2", {"prompt": "a fox", "size": "1536x864", "quality": "low"}, api_version
    )

    assert response.status_code == 200
    assert response.json()["size"] == "1536x864"


@pytest.mark.parametrize(
    ("headers", "status"),
    [
        ({}, 401),
        ({"api-key": "wrong"}, 401),
        ({"Authorization": f"Bearer {KEY}"}, 200),
        ({"Authorization": "Bearer wrong"}, 401),
        ({"Authorization": f"Basic {KEY}"}, 401),
        ({"Api-Key": KEY}, 200),
    ],
)
def test_auth(emulator: AzureEmulator, headers: dict[str, str], status: int) -> None:
    with httpx.Client(base_url=emulator.url, headers=headers) as http:
        response = generate(http, {"model": "gpt-image-2", "prompt": "a fox", "quality": "low"})

    assert response.status_code == status
    if status == 401:
        assert response.json()["error"]["code"] == "401"
        assert response.json()["error"]["message"].startswith("Access denied due to invalid subscription key")


def test_construction_is_checked() -> None:
    with pytest.raises(ValueError, match="unsupported model"):
        AzureEmulator(deployments={"x": "stable-diffusion"})
    with pytest.raises(ValueError, match="both as image and as chat"):
        AzureEmulator(deployments={"x": "gpt-image-2"}, chat_deployments={"x"})
    with pytest.raises(ValueError, match="unknown deployments"):
        AzureEmulator(rpm={"nope": 6})
    with pytest.raises(ValueError, match=">= 1"):
        AzureEmulator(rpm={"gpt-image-2": 0})
    with pytest.raises(ValueError, match="image_ttl_s"):
        AzureEmulator(image_ttl_s=-1)
    with pytest.raises(ValueError, match="image_bytes"):
        AzureEmulator(image_bytes=-1)
    with pytest.raises(ValueError, match="unknown deployment"):
        AzureEmulator().retire("nope")


def test_deployments_is_a_copy(emulator: AzureEmulator) -> None:
    deployments = emulator.deployments
    deployments["x"] = "y"

    assert "x" not in emulator.deployments
    assert emulator.deployments["dalle3"] == "dall-e-3"


def test_image_bytes_pads_every_png() -> None:
    with (
        AzureEmulator(image_bytes=300_000) as emu,
        httpx.Client(base_url=emu.url, headers={"api-key": KEY}) as http,
    ):
        response = generate(http, {"model": "gpt-image-2", "prompt": "a fox", "quality": "low"})

    picture = base64.b64decode(response.json()["data"][0]["b64_json"])
    assert len(picture) == 300_000
    assert image_of(picture).size == (1024, 1024)
