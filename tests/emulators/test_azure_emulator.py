"""The Azure OpenAI emulator, driven over real HTTP, against shared/reference/azure-images-api.md."""

from __future__ import annotations

import base64
import calendar
import io
import json
import math
import threading
import time
import uuid
from collections.abc import Iterator
from types import SimpleNamespace
from typing import Any

import httpx
import pytest
from PIL import Image

from bot.emulators import azure
from bot.emulators.azure import (
    DEFAULT_DEPLOYMENTS,
    AzureEmulator,
    ContentPolicy,
    Fault,
    Malformed,
    OperationStatus,
    OutputFiltered,
    RateLimited,
    ServerError,
    Slow,
    render_image,
)

KEY = "test-azure-key"
DALLE3 = "2024-10-21"
GPT_IMAGE = "2025-04-01-preview"
DALLE2 = "2023-06-01-preview"
NOT_FOUND = b'{"error":{"code":"404","message": "Resource not found"}}'


# Stopping a server waits out serve_forever's 0.5 s poll, so tests share emulators where they can.
@pytest.fixture(scope="module")
def shared_emulator() -> Iterator[AzureEmulator]:
    with AzureEmulator(deployments={**DEFAULT_DEPLOYMENTS, "mini": "gpt-image-1-mini"}) as emu:
        yield emu


@pytest.fixture
def emulator(shared_emulator: AzureEmulator) -> AzureEmulator:
    shared_emulator.reset()
    return shared_emulator


@pytest.fixture(scope="module")
def slow_emulator() -> Iterator[AzureEmulator]:
    with AzureEmulator(latency_s=0.1, poll_retry_after_s=1, image_ttl_s=0.3) as emu:
        yield emu


@pytest.fixture
def client(emulator: AzureEmulator) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=emulator.url, headers={"api-key": KEY}, timeout=5) as http:
        yield http


def generate(
    client: httpx.Client, deployment: str, body: dict[str, Any], api_version: str | None = None
) -> httpx.Response:
    version = api_version or (GPT_IMAGE if deployment.startswith("gpt") else DALLE3)
    return client.post(
        f"/openai/deployments/{deployment}/images/generations", params={"api-version": version}, json=body
    )


def submit(client: httpx.Client, body: dict[str, Any], api_version: str = DALLE2) -> httpx.Response:
    return client.post("/openai/images/generations:submit", params={"api-version": api_version}, json=body)


def poll_to_end(client: httpx.Client, location: str) -> tuple[list[str], dict[str, Any]]:
    statuses: list[str] = []
    for _ in range(50):
        body = client.get(location).json()
        statuses.append(body["status"])
        if body["status"] not in ("notRunning", "running"):
            return statuses, body
    raise AssertionError(f"the operation never ended: {statuses}")


def image_of(data: bytes) -> Image.Image:
    image = Image.open(io.BytesIO(data))
    image.load()
    return image


# -- success shapes -----------------------------------------------------------------------------------


def test_dalle3_answers_the_reference_shape_with_a_working_blob_url(
    client: httpx.Client, emulator: AzureEmulator
) -> None:
    response = generate(client, "dalle3", {"prompt": "A cat in a hat", "size": "1792x1024", "quality": "hd"})

    assert response.status_code == 200
    uuid.UUID(response.headers["apim-request-id"])
    assert response.headers["x-ms-region"] == "emulated"
    body = response.json()
    assert set(body) == {"created", "data"}
    (item,) = body["data"]
    assert list(item) == ["revised_prompt", "prompt_filter_results", "url", "content_filter_results"]
    assert item["revised_prompt"] != "A cat in a hat"
    assert "a cat in a hat" in item["revised_prompt"]
    assert set(item["prompt_filter_results"]) == {"sexual", "violence", "hate", "self_harm", "profanity"}
    assert item["prompt_filter_results"]["profanity"] == {"detected": False, "filtered": False}
    assert item["content_filter_results"]["violence"] == {"severity": "safe", "filtered": False}
    assert set(item["content_filter_results"]) == {"sexual", "violence", "hate", "self_harm"}

    url = httpx.URL(item["url"])
    assert item["url"].startswith(f"{emulator.url}/blob/")
    expiry = calendar.timegm(time.strptime(url.params["se"], "%Y-%m-%dT%H:%M:%SZ"))
    assert expiry - body["created"] == 86400  # §1.4: se = created + 24 h
    blob = httpx.get(item["url"])  # no api-key: the SAS query is the credential
    assert blob.status_code == 200
    assert blob.headers["content-type"] == "image/png"
    assert image_of(blob.content).size == (1792, 1024)
    assert blob.content == render_image("A cat in a hat", 1792, 1024)


def test_dalle3_b64_json_is_a_deterministic_png(client: httpx.Client) -> None:
    body = {"prompt": "A lighthouse at dusk", "size": "1024x1792", "response_format": "b64_json"}
    first, second = (generate(client, "dalle3", body).json()["data"][0] for _ in range(2))

    assert "url" not in first
    assert first["b64_json"] == second["b64_json"]
    png = base64.b64decode(first["b64_json"])
    assert image_of(png).format == "PNG"
    assert image_of(png).size == (1024, 1792)
    other = generate(client, "dalle3", {**body, "prompt": "A lighthouse at dawn"}).json()["data"][0]
    assert other["b64_json"] != first["b64_json"]


@pytest.mark.parametrize(
    ("body", "size", "tokens_per_image"),
    [
        ({"quality": "low"}, (1024, 1024), 272),
        ({"quality": "medium", "size": "1024x1536"}, (1024, 1536), 1584),
        ({"quality": "high", "size": "1536x1024"}, (1536, 1024), 6208),
        ({"size": "auto", "quality": "auto"}, (1024, 1024), 4160),  # auto means high (§3.1 docs)
        ({}, (1024, 1024), 4160),
    ],
)
def test_gpt_image_answers_base64_and_usage(
    client: httpx.Client, body: dict[str, Any], size: tuple[int, int], tokens_per_image: int
) -> None:
    response = generate(client, "gpt-image", {"prompt": "two red foxes, snow", "n": 2, **body})

    assert response.status_code == 200
    payload = response.json()
    assert set(payload) == {"created", "data", "usage"}
    assert all(set(item) == {"b64_json"} for item in payload["data"])
    images = [base64.b64decode(item["b64_json"]) for item in payload["data"]]
    assert [image_of(png).size for png in images] == [size, size]
    assert images[0] != images[1]  # a batch holds distinct pictures
    usage = payload["usage"]
    assert usage["output_tokens"] == 2 * tokens_per_image
    assert usage["input_tokens"] == usage["input_tokens_details"]["text_tokens"] == 5  # 4 words + ","
    assert usage["input_tokens_details"]["image_tokens"] == 0
    assert usage["total_tokens"] == usage["input_tokens"] + usage["output_tokens"]


def test_gpt_image_jpeg_output_and_mini_defaults_to_medium(client: httpx.Client) -> None:
    response = generate(client, "mini", {"prompt": "a bowl of ramen", "output_format": "jpeg"}, GPT_IMAGE)

    payload = response.json()
    assert image_of(base64.b64decode(payload["data"][0]["b64_json"])).format == "JPEG"
    assert payload["usage"]["output_tokens"] == 1056


def test_transparent_background_gives_an_rgba_png(client: httpx.Client) -> None:
    response = generate(client, "gpt-image", {"prompt": "a sticker of a star", "background": "transparent"})

    image = image_of(base64.b64decode(response.json()["data"][0]["b64_json"]))
    assert image.mode == "RGBA"
    alpha = image.getchannel("A")
    assert alpha.getextrema()[0] == 0


# -- DALL-E 2 operations ------------------------------------------------------------------------------


def test_dalle2_submit_poll_succeeds_and_delete_removes_the_images(
    client: httpx.Client, emulator: AzureEmulator
) -> None:
    submitted = submit(client, {"prompt": "a watercolor owl", "n": 2, "size": "256x256"})

    assert submitted.status_code == 202
    body = submitted.json()
    assert body == {"id": body["id"], "status": "notRunning"}
    location = submitted.headers["operation-location"]
    assert location == f"{emulator.url}/openai/operations/images/{body['id']}?api-version={DALLE2}"

    statuses, final = poll_to_end(client, location)
    assert statuses == ["notRunning", "running", "succeeded"]
    assert list(final) == ["created", "expires", "id", "result", "status"]
    assert final["expires"] - final["created"] == 86400
    urls = [item["url"] for item in final["result"]["data"]]
    assert len(urls) == 2
    assert client.get(location).json() == final  # terminal: polling again changes nothing
    assert image_of(httpx.get(urls[0]).content).size == (256, 256)

    assert client.delete(location).status_code == 204
    assert client.get(location).json()["status"] == "deleted"
    assert httpx.get(urls[1]).status_code == 404


def test_dalle2_keeps_running_until_latency_and_sends_retry_after(slow_emulator: AzureEmulator) -> None:
    with httpx.Client(base_url=slow_emulator.url, headers={"api-key": KEY}) as http:
        location = submit(http, {"prompt": "a fox"}).headers["operation-location"]
        first = http.get(location)
        second = http.get(location)
        third = http.get(location)  # latency_s has not passed yet
        assert http.delete(location).status_code == 409  # not terminal yet (§2.3)
        time.sleep(0.12)
        last = http.get(location)

    statuses = [r.json()["status"] for r in (first, second, third, last)]
    assert statuses == ["notRunning", "running", "running", "succeeded"]
    assert first.headers["retry-after"] == third.headers["retry-after"] == "1"
    assert "retry-after" not in last.headers


@pytest.mark.parametrize(
    ("fault", "status", "error"),
    [
        (ContentPolicy(), "failed", "contentFilter"),
        (OperationStatus("failed"), "failed", "InternalFailure"),
        (OperationStatus("canceled"), "canceled", None),
        (OperationStatus("deleted"), "deleted", None),
    ],
)
def test_dalle2_faults_end_the_operation(
    client: httpx.Client, emulator: AzureEmulator, fault: Fault, status: str, error: str | None
) -> None:
    emulator.fail_next(fault)
    location = submit(client, {"prompt": "a fox"}).headers["operation-location"]

    statuses, final = poll_to_end(client, location)

    assert statuses[-1] == status
    assert "result" not in final
    assert (final["error"]["code"] if "error" in final else None) == error
    assert client.delete(location).status_code == 204


def test_dalle2_output_filter_is_an_error_item_in_a_succeeded_operation(
    client: httpx.Client, emulator: AzureEmulator
) -> None:
    emulator.fail_next(OutputFiltered())
    location = submit(client, {"prompt": "a fox", "n": 2}).headers["operation-location"]

    _, final = poll_to_end(client, location)

    assert final["status"] == "succeeded"
    good, filtered = final["result"]["data"]
    assert "url" in good
    assert filtered == {
        "error": {
            "code": "contentFilter",
            "message": "Generated image was filtered as a result of our safety system.",
        }
    }


def test_unknown_operation_is_404(client: httpx.Client) -> None:
    response = client.get("/openai/operations/images/nope", params={"api-version": DALLE2})
    assert response.status_code == 404


# -- faults on the synchronous families ---------------------------------------------------------------


def test_content_policy_body_is_the_reference_body(client: httpx.Client, emulator: AzureEmulator) -> None:
    emulator.fail_next(ContentPolicy(revised_prompt="A calm scene."), ContentPolicy(revised_prompt=None))

    first = generate(client, "dalle3", {"prompt": "something violent"})
    second = generate(client, "gpt-image", {"prompt": "something violent"})

    assert first.status_code == second.status_code == 400
    error = first.json()["error"]
    assert error["code"] == "content_policy_violation"
    assert error["type"] == "invalid_request_error"
    assert error["message"].startswith("Your request was rejected as a result of our safety system.")
    assert error["inner_error"]["code"] == "ResponsibleAIPolicyViolation"
    assert error["inner_error"]["content_filter_results"]["violence"] == {"filtered": True, "severity": "low"}
    assert error["inner_error"]["revised_prompt"] == "A calm scene."
    assert "revised_prompt" not in second.json()["error"]["inner_error"]


@pytest.mark.parametrize("status", [400, 200])
def test_output_filtered_comes_with_either_status(client: httpx.Client, emulator: AzureEmulator, status: int) -> None:
    emulator.fail_next(OutputFiltered(status=status))

    response = generate(client, "dalle3", {"prompt": "a fox"})

    assert response.status_code == status
    body = response.json()
    assert set(body) == {"created", "error"}
    assert body["error"] == {
        "code": "contentFilter",
        "message": "Generated image was filtered as a result of our safety system.",
    }


@pytest.mark.parametrize(("status", "code"), [(500, "InternalServerError"), (503, "ServiceUnavailable")])
def test_server_errors(client: httpx.Client, emulator: AzureEmulator, status: int, code: str) -> None:
    emulator.fail_next(ServerError(status))

    response = generate(client, "gpt-image", {"prompt": "a fox"})

    assert response.status_code == status
    assert response.json()["error"]["code"] == code


@pytest.mark.parametrize(("retry_ms", "retry_s"), [(1500, "2"), (2000, "2"), (100, "1")])
def test_scripted_rate_limit(client: httpx.Client, emulator: AzureEmulator, retry_ms: int, retry_s: str) -> None:
    emulator.fail_next(RateLimited(retry_after_ms=retry_ms))

    response = generate(client, "dalle3", {"prompt": "a fox"})

    assert response.status_code == 429
    assert response.headers["retry-after-ms"] == str(retry_ms)
    assert response.headers["retry-after"] == retry_s
    assert response.headers["x-ratelimit-remaining-requests"] == "0"
    assert "x-ratelimit-limit-requests" in response.headers
    assert response.json()["error"]["code"] == "429"


def test_malformed_is_a_200_that_is_not_json(client: httpx.Client, emulator: AzureEmulator) -> None:
    emulator.fail_next(Malformed())

    response = generate(client, "dalle3", {"prompt": "a fox"})

    assert response.status_code == 200
    with pytest.raises(json.JSONDecodeError):
        response.json()


def test_slow_fault_outlasts_a_short_client_timeout(client: httpx.Client, emulator: AzureEmulator) -> None:
    emulator.fail_next(Slow(0.4), Slow(0.1))

    with (
        httpx.Client(base_url=emulator.url, headers={"api-key": KEY}, timeout=0.1) as impatient,
        pytest.raises(httpx.ReadTimeout),
    ):
        generate(impatient, "dalle3", {"prompt": "a fox"})
    started = time.monotonic()
    response = generate(client, "dalle3", {"prompt": "a fox"})
    assert time.monotonic() - started >= 0.1
    assert response.status_code == 200


def test_faults_are_fifo_and_survive_rejected_requests(client: httpx.Client, emulator: AzureEmulator) -> None:
    emulator.fail_next(ServerError(503), ContentPolicy())

    assert generate(client, "dalle3", {"prompt": "a fox", "n": 2}).status_code == 400  # validation first
    client.headers["api-key"] = "wrong"
    assert generate(client, "dalle3", {"prompt": "a fox"}).status_code == 401
    client.headers["api-key"] = KEY
    statuses = [generate(client, "dalle3", {"prompt": "a fox"}).status_code for _ in range(3)]

    assert statuses == [503, 400, 200]


def test_the_sync_route_applies_latency(slow_emulator: AzureEmulator) -> None:
    with httpx.Client(base_url=slow_emulator.url, headers={"api-key": KEY}) as http:
        started = time.monotonic()
        assert generate(http, "gpt-image", {"prompt": "a fox", "quality": "low"}).status_code == 200
    assert time.monotonic() - started >= 0.1


# -- auth, routing, api-version -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("headers", "status"),
    [
        ({}, 401),
        ({"api-key": "wrong"}, 401),
        ({"Authorization": f"Bearer {KEY}"}, 200),
        ({"Authorization": "Bearer wrong"}, 401),
        ({"Api-Key": KEY}, 200),
    ],
)
def test_auth(emulator: AzureEmulator, headers: dict[str, str], status: int) -> None:
    with httpx.Client(base_url=emulator.url, headers=headers) as http:
        response = generate(http, "dalle3", {"prompt": "a fox", "response_format": "b64_json"})

    assert response.status_code == status
    if status == 401:
        assert response.json()["error"]["code"] == "401"
        assert response.json()["error"]["message"].startswith("Access denied due to invalid subscription key")


def test_unknown_deployment(client: httpx.Client) -> None:
    response = generate(client, "nope", {"prompt": "a fox"})

    assert response.status_code == 404
    assert response.json() == {
        "error": {
            "code": "DeploymentNotFound",
            "message": "The API deployment for this resource does not exist. If you created the "
            "deployment within the last 5 minutes, please wait a moment and try again.",
        }
    }


@pytest.mark.parametrize(
    ("method", "path", "api_version"),
    [
        ("POST", "/openai/deployments/dalle3/images/generations", "2022-12-01"),
        ("POST", "/openai/deployments/dalle3/images/generations", None),
        ("POST", "/openai/deployments/gpt-image/images/generations", "2024-10-21"),
        ("POST", "/openai/deployments/gpt-image/images/generations", "2025-03-01-preview"),
        ("POST", "/openai/deployments/dalle2/images/generations", "2024-10-21"),
        ("POST", "/openai/images/generations:submit", "2024-02-01"),
        ("GET", "/openai/operations/images/x", "2024-02-01"),
        ("POST", "/openai/deployments/dalle3/images/edits", DALLE3),
        ("GET", "/openai/deployments/dalle3/images/generations", DALLE3),
        ("GET", "/", None),
    ],
)
def test_resource_not_found(client: httpx.Client, method: str, path: str, api_version: str | None) -> None:
    params = {"api-version": api_version} if api_version else {}

    response = client.request(method, path, params=params, json={"prompt": "a fox"})

    assert response.status_code == 404
    assert response.content == NOT_FOUND
    assert response.headers["x-ms-region"] == "emulated"


@pytest.mark.parametrize(
    ("deployment", "api_version"),
    [("dalle3", "2023-12-01-preview"), ("dalle3", "2025-01-01-preview"), ("gpt-image", "2025-06-15-preview")],
)
def test_accepted_api_versions(client: httpx.Client, deployment: str, api_version: str) -> None:
    body = {"prompt": "a fox", "size": "1024x1024"}
    if deployment == "dalle3":
        body["response_format"] = "b64_json"
    assert generate(client, deployment, body, api_version).status_code == 200


# -- validation ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("deployment", "body", "code", "param"),
    [
        ("dalle3", {"prompt": "a fox", "n": 2}, "invalid_value", "n"),
        ("dalle3", {"prompt": "a fox", "size": "512x512"}, "invalid_size", "size"),
        ("dalle3", {"prompt": "a fox", "style": "bold"}, "invalid_value", "style"),
        ("dalle3", {"prompt": "a fox", "quality": "high"}, "invalid_value", "quality"),
        ("dalle3", {"prompt": "x" * 4001}, "string_above_max_length", "prompt"),
        ("dalle3", {"size": "1024x1024"}, "missing_required_parameter", "prompt"),
        ("dalle3", {"prompt": "a fox", "seed": 3}, "unknown_parameter", "seed"),
        ("dalle3", {"prompt": "a fox", "output_format": "png"}, "unknown_parameter", "output_format"),
        ("gpt-image", {"prompt": "a fox", "style": "vivid"}, "unknown_parameter", "style"),
        ("gpt-image", {"prompt": "a fox", "response_format": "b64_json"}, "unknown_parameter", "response_format"),
        ("gpt-image", {"prompt": "a fox", "size": "1792x1024"}, "invalid_size", "size"),
        ("gpt-image", {"prompt": "a fox", "n": 11}, "invalid_value", "n"),
        ("gpt-image", {"prompt": "a fox", "quality": "hd"}, "invalid_value", "quality"),
        ("gpt-image", {"prompt": "a fox", "output_format": "webp"}, "invalid_value", "output_format"),
        (
            "gpt-image",
            {"prompt": "a fox", "output_format": "jpeg", "background": "transparent"},
            "invalid_value",
            "background",
        ),
        ("gpt-image", {"prompt": "a fox", "output_compression": 50}, "invalid_value", "output_compression"),
        ("gpt-image", {"prompt": "a fox", "n": True}, "invalid_type", "n"),
        ("gpt-image", {"prompt": ""}, "invalid_value", "prompt"),
    ],
)
def test_sync_validation(client: httpx.Client, deployment: str, body: dict[str, Any], code: str, param: str) -> None:
    response = generate(client, deployment, body)

    assert response.status_code == 400
    error = response.json()["error"]
    assert (error["code"], error["param"], error["type"]) == (code, param, "invalid_request_error")
    assert error["message"]


@pytest.mark.parametrize(
    ("body", "param"),
    [
        ({"prompt": "a fox", "quality": "hd"}, "quality"),
        ({"prompt": "a fox", "style": "vivid"}, "style"),
        ({"prompt": "a fox", "n": 6}, "n"),
        ({"prompt": "a fox", "size": "1792x1024"}, "size"),
        ({"prompt": "x" * 1001}, "prompt"),
    ],
)
def test_dalle2_validation(client: httpx.Client, body: dict[str, Any], param: str) -> None:
    response = submit(client, body)

    assert response.status_code == 400
    assert response.json()["error"]["param"] == param


def test_nulls_mean_defaults_and_a_non_json_body_is_rejected(client: httpx.Client) -> None:
    ok = generate(client, "gpt-image", {"prompt": "a fox", "quality": None, "size": None, "n": None})
    bad = client.post(
        "/openai/deployments/dalle3/images/generations",
        params={"api-version": DALLE3},
        content=b"prompt=a fox",
    )

    assert ok.status_code == 200
    assert bad.status_code == 400


def test_the_sdk_style_model_field_is_accepted_on_dalle3(client: httpx.Client) -> None:
    body = {"prompt": "a fox", "model": "dalle3", "response_format": "b64_json"}
    assert generate(client, "dalle3", body).status_code == 200


# -- rate limit ---------------------------------------------------------------------------------------


def test_rate_limit_allows_one_call_per_ten_seconds_at_6_rpm() -> None:
    with (
        AzureEmulator(rpm_limit=6, deployments={"dalle3": "dall-e-3"}) as emu,
        httpx.Client(base_url=emu.url, headers={"api-key": KEY}) as http,
    ):
        first = generate(http, "dalle3", {"prompt": "a fox", "response_format": "b64_json"})
        second = generate(http, "dalle3", {"prompt": "a fox"})
        emu.reset()
        third = generate(http, "dalle3", {"prompt": "a fox", "response_format": "b64_json"})
        no_dalle2 = submit(http, {"prompt": "a fox"})

    assert first.status_code == 200
    assert first.headers["x-ratelimit-limit-requests"] == "6"
    assert first.headers["x-ratelimit-remaining-requests"] == "0"
    assert second.status_code == 429
    retry_ms = int(second.headers["retry-after-ms"])
    assert 9000 < retry_ms <= 10000
    assert second.headers["retry-after"] == str(math.ceil(retry_ms / 1000))
    assert second.headers["x-ratelimit-limit-requests"] == "6"
    assert second.headers["x-ratelimit-remaining-requests"] == "0"
    assert third.status_code == 200  # reset() forgets the window
    assert no_dalle2.status_code == 404  # a resource without a DALL-E 2 deployment cannot run the task
    assert no_dalle2.json()["error"]["code"] == "DeploymentNotFound"


def test_rate_window_rolls_and_429s_do_not_count(monkeypatch: pytest.MonkeyPatch) -> None:
    now = [1000.0]
    fake_time = SimpleNamespace(monotonic=lambda: now[0], time=time.time)
    monkeypatch.setattr(azure, "time", fake_time)
    with (
        AzureEmulator(rpm_limit=12) as emu,  # 12 RPM: two calls per 10 s window
        httpx.Client(base_url=emu.url, headers={"api-key": KEY}) as http,
    ):

        def call() -> httpx.Response:
            return generate(http, "gpt-image", {"prompt": "a fox", "quality": "low"})

        assert call().status_code == 200
        now[0] = 1004.0
        emu.fail_next(RateLimited())
        assert call().status_code == 429  # scripted: does not take a slot
        assert call().headers["x-ratelimit-remaining-requests"] == "0"
        now[0] = 1005.0
        limited = call()
        assert limited.status_code == 429
        assert limited.headers["retry-after-ms"] == "5000"
        now[0] = 1010.0  # the first call leaves the window; the 429s never entered it
        assert call().status_code == 200
        assert call().headers["retry-after-ms"] == "4000"


# -- blobs --------------------------------------------------------------------------------------------


def test_expire_images_turns_urls_into_blob_auth_errors(client: httpx.Client, emulator: AzureEmulator) -> None:
    url = generate(client, "dalle3", {"prompt": "a fox"}).json()["data"][0]["url"]
    assert httpx.get(url).status_code == 200

    emulator.expire_images()
    expired = httpx.get(url)

    assert expired.status_code == 403
    assert expired.headers["content-type"] == "application/xml"
    assert "<Error><Code>AuthenticationFailed</Code>" in expired.text
    assert "Signed expiry time" in expired.text
    later = generate(client, "dalle3", {"prompt": "a fox"}).json()["data"][0]["url"]
    assert httpx.get(later).status_code == 200  # only URLs issued so far expire


def test_image_urls_expire_after_the_ttl(slow_emulator: AzureEmulator) -> None:
    with httpx.Client(base_url=slow_emulator.url, headers={"api-key": KEY}) as http:
        url = generate(http, "dalle3", {"prompt": "a fox"}).json()["data"][0]["url"]
        assert httpx.get(url).status_code == 200
        time.sleep(0.35)
        assert httpx.get(url).status_code == 403


def test_blob_urls_need_their_signature(client: httpx.Client) -> None:
    url = httpx.URL(generate(client, "dalle3", {"prompt": "a fox"}).json()["data"][0]["url"])

    unsigned = httpx.get(url.copy_with(query=None))
    missing = httpx.get(url.copy_with(path="/blob/images/nope/generated_00.png"))

    assert unsigned.status_code == 403
    assert missing.status_code == 404
    assert "<Code>BlobNotFound</Code>" in missing.text


# -- recording, concurrency, construction -------------------------------------------------------------


def test_recorded_requests(client: httpx.Client, emulator: AzureEmulator) -> None:
    url = generate(client, "dalle3", {"prompt": "a fox"}).json()["data"][0]["url"]
    httpx.get(url)
    location = submit(client, {"prompt": "an owl"}).headers["operation-location"]
    client.get(location)
    client.get("/elsewhere")

    recorded = emulator.recorded()
    calls = emulator.generation_calls()

    assert [r.method for r in recorded] == ["POST", "GET", "POST", "GET", "GET"]
    assert [r.path for r in calls] == [
        "/openai/deployments/dalle3/images/generations",
        "/openai/images/generations:submit",
    ]
    assert calls[0].json == {"prompt": "a fox"}
    assert calls[0].query == {"api-version": DALLE3}
    assert calls[0].headers["api-key"] == KEY
    assert json.loads(calls[1].body) == {"prompt": "an owl"}
    assert [r.at for r in recorded] == sorted(r.at for r in recorded)
    assert recorded[-1].json is None

    emulator.reset()
    assert emulator.recorded() == []
    assert client.get(location).status_code == 200  # reset keeps operations and images


def test_concurrent_calls_each_consume_one_fault(emulator: AzureEmulator) -> None:
    emulator.fail_next(ServerError(), ServerError(), ServerError())
    statuses: list[int] = []
    lock = threading.Lock()

    def worker() -> None:
        with httpx.Client(base_url=emulator.url, headers={"api-key": KEY}) as http:
            status = generate(http, "gpt-image", {"prompt": "a fox", "quality": "low"}).status_code
        with lock:
            statuses.append(status)

    threads = [threading.Thread(target=worker) for _ in range(10)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert sorted(statuses) == [200] * 7 + [500] * 3
    assert len(emulator.generation_calls()) == 10


def test_construction_and_fault_arguments_are_checked() -> None:
    with pytest.raises(ValueError, match="unsupported model"):
        AzureEmulator(deployments={"x": "stable-diffusion"})
    with pytest.raises(ValueError, match="failed, canceled or deleted"):
        OperationStatus("running")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="200 or 400"):
        OutputFiltered(status=500)


def test_render_image_is_deterministic_and_sized() -> None:
    assert render_image("a fox", 512, 512) == render_image("a fox", 512, 512)
    assert render_image("a fox", 512, 512) != render_image("a fox", 512, 512, variant=1)
    assert image_of(render_image("a fox", 256, 256, "jpeg")).format == "JPEG"
