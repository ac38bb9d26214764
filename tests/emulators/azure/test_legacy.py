"""Legacy DALL-E: DALL-E 3 on the deployments path, DALL-E 2's submit and poll, blob URLs; routing and api-versions."""

from __future__ import annotations

import base64
import calendar
import json
import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from devkit.azure import (
    AzureEmulator,
    ContentPolicy,
    Fault,
    Malformed,
    OperationStatus,
    OutputFiltered,
    PromptFiltered,
    RateLimited,
    ServerError,
)

from .support import (
    DALLE2_VERSION,
    DALLE3_VERSION,
    KEY,
    NOT_FOUND,
    FakeClock,
    assert_undecodable,
    generate,
    generate_on,
    image_of,
)


def dalle3(client: httpx.Client, body: dict[str, Any], api_version: str = DALLE3_VERSION) -> httpx.Response:
    return generate_on(client, "dalle3", body, api_version)


def submit(client: httpx.Client, body: dict[str, Any], api_version: str = DALLE2_VERSION) -> httpx.Response:
    return client.post("/openai/images/generations:submit", params={"api-version": api_version}, json=body)


def poll_to_end(client: httpx.Client, location: str) -> tuple[list[str], dict[str, Any]]:
    statuses: list[str] = []
    for _ in range(20):
        body = client.get(location).json()
        statuses.append(body["status"])
        if body["status"] not in ("notRunning", "running"):
            return statuses, body
    raise AssertionError(f"the operation never ended: {statuses}")


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def timed(clock: FakeClock) -> Iterator[tuple[AzureEmulator, httpx.Client]]:
    """An emulator whose images live 60 s and whose DALL-E 2 operations take 2 s, on a fake clock."""
    with (
        AzureEmulator(clock=clock, image_ttl_s=60, poll_retry_after_s=2) as emu,
        httpx.Client(base_url=emu.url, headers={"api-key": KEY}, timeout=10) as http,
    ):
        yield emu, http


# -- DALL-E 3 ---------------------------------------------------------------------------------------------------


def test_dalle3_answers_the_reference_shape_with_a_working_blob_url(
    client: httpx.Client, emulator: AzureEmulator
) -> None:
    response = dalle3(client, {"prompt": "A cat in a hat", "size": "1792x1024", "quality": "hd", "style": "natural"})

    assert response.status_code == 200
    body = response.json()
    assert set(body) == {"created", "data"}
    (item,) = body["data"]
    assert list(item) == ["revised_prompt", "prompt_filter_results", "url", "content_filter_results"]
    assert item["revised_prompt"] != "A cat in a hat"
    assert "a cat in a hat" in item["revised_prompt"]
    assert set(item["prompt_filter_results"]) == {"sexual", "violence", "hate", "self_harm", "profanity"}
    assert item["prompt_filter_results"]["profanity"] == {"detected": False, "filtered": False}
    assert set(item["content_filter_results"]) == {"sexual", "violence", "hate", "self_harm"}
    assert item["content_filter_results"]["violence"] == {"severity": "safe", "filtered": False}

    url = httpx.URL(item["url"])
    assert item["url"].startswith(f"{emulator.url}/blob/")
    expiry = calendar.timegm(time.strptime(url.params["se"], "%Y-%m-%dT%H:%M:%SZ"))
    assert expiry - body["created"] == 86400  # se = created + 24 h
    blob = httpx.get(item["url"])  # no api-key: the SAS query is the credential
    assert blob.status_code == 200
    assert blob.headers["content-type"] == "image/png"
    assert image_of(blob.content).size == (1792, 1024)
    assert httpx.get(item["url"]).content == blob.content


def test_dalle3_b64_json_is_deterministic_after_reset(client: httpx.Client, emulator: AzureEmulator) -> None:
    body = {"prompt": "A lighthouse at dusk", "size": "1024x1792", "response_format": "b64_json"}

    first = dalle3(client, body).json()["data"][0]
    emulator.reset()
    again = dalle3(client, body).json()["data"][0]
    other = dalle3(client, body | {"prompt": "A lighthouse at dawn"}).json()["data"][0]

    assert "url" not in first
    assert first["b64_json"] == again["b64_json"]
    assert image_of(base64.b64decode(first["b64_json"])).size == (1024, 1792)
    assert other["b64_json"] != first["b64_json"]


def test_dalle3_accepts_the_sdks_model_field_and_answers_on_v1_too(client: httpx.Client) -> None:
    assert dalle3(client, {"prompt": "a fox", "model": "dalle3", "response_format": "b64_json"}).status_code == 200
    on_v1 = generate(client, {"model": "dalle3", "prompt": "a fox", "response_format": "b64_json"})
    assert on_v1.status_code == 200
    assert "revised_prompt" in on_v1.json()["data"][0]


@pytest.mark.parametrize(
    ("body", "code", "param"),
    [
        ({"prompt": "a fox", "n": 2}, "invalid_value", "n"),
        ({"prompt": "a fox", "size": "512x512"}, "invalid_size", "size"),
        ({"prompt": "a fox", "style": "bold"}, "invalid_value", "style"),
        ({"prompt": "a fox", "quality": "high"}, "invalid_value", "quality"),
        ({"prompt": "a fox", "response_format": "png"}, "invalid_value", "response_format"),
        ({"prompt": "x" * 4001}, "string_above_max_length", "prompt"),
        ({"size": "1024x1024"}, "missing_required_parameter", "prompt"),
        ({"prompt": "a fox", "seed": 3}, "unknown_parameter", "seed"),
        ({"prompt": "a fox", "output_format": "png"}, "unknown_parameter", "output_format"),
    ],
)
def test_dalle3_validation(client: httpx.Client, body: dict[str, Any], code: str, param: str) -> None:
    response = dalle3(client, body)

    assert response.status_code == 400
    error = response.json()["error"]
    assert (error["code"], error["param"], error["type"]) == (code, param, "invalid_request_error")


@pytest.mark.parametrize(
    ("fault", "status", "error_code"),
    [
        (PromptFiltered(), 200, "contentFilter"),
        (OutputFiltered(), 200, "contentFilter"),
        (ContentPolicy(), 400, "content_policy_violation"),
        (RateLimited(), 429, "429"),
        (ServerError(503), 503, "ServiceUnavailable"),
    ],
)
def test_dalle3_faults(
    client: httpx.Client, emulator: AzureEmulator, fault: Fault, status: int, error_code: str
) -> None:
    emulator.fail_next(fault)

    response = dalle3(client, {"prompt": "a fox"})

    assert response.status_code == status
    assert response.json()["error"]["code"] == error_code


def test_dalle3_malformed(client: httpx.Client, emulator: AzureEmulator) -> None:
    emulator.fail_next(Malformed("no_data"), Malformed("bad_base64"))

    assert dalle3(client, {"prompt": "a fox"}).json() == {"created": pytest.approx(time.time(), abs=60)}
    assert_undecodable(dalle3(client, {"prompt": "a fox"}).json()["data"][0]["b64_json"])


# -- blobs --------------------------------------------------------------------------------------------------------


def test_expire_images_turns_urls_into_blob_auth_errors(client: httpx.Client, emulator: AzureEmulator) -> None:
    url = dalle3(client, {"prompt": "a fox"}).json()["data"][0]["url"]
    assert httpx.get(url).status_code == 200

    emulator.expire_images()
    expired = httpx.get(url)

    assert expired.status_code == 403
    assert expired.headers["content-type"] == "application/xml"
    assert expired.headers["x-ms-error-code"] == "AuthenticationFailed"
    assert "<Error><Code>AuthenticationFailed</Code>" in expired.text
    assert "Signed expiry time" in expired.text
    later = dalle3(client, {"prompt": "a fox"}).json()["data"][0]["url"]
    assert httpx.get(later).status_code == 200  # only URLs issued so far expire


def test_image_urls_expire_after_the_ttl_on_the_emulator_clock(
    timed: tuple[AzureEmulator, httpx.Client], clock: FakeClock
) -> None:
    _, http = timed
    url = dalle3(http, {"prompt": "a fox"}).json()["data"][0]["url"]

    clock.advance(59.9)
    assert httpx.get(url).status_code == 200
    clock.advance(0.1)
    assert httpx.get(url).status_code == 403


def test_blob_urls_need_their_signature(client: httpx.Client) -> None:
    url = httpx.URL(dalle3(client, {"prompt": "a fox"}).json()["data"][0]["url"])

    unsigned = httpx.get(url.copy_with(query=None))
    missing = httpx.get(url.copy_with(path="/blob/images/nope/generated_00.png"))

    assert unsigned.status_code == 403
    assert "Signature did not match" in unsigned.text
    assert missing.status_code == 404
    assert "<Code>BlobNotFound</Code>" in missing.text


# -- DALL-E 2 -----------------------------------------------------------------------------------------------------


def test_dalle2_submit_poll_succeeds_and_delete_removes_the_images(
    client: httpx.Client, emulator: AzureEmulator
) -> None:
    submitted = submit(client, {"prompt": "a watercolor owl", "n": 2, "size": "256x256"})

    assert submitted.status_code == 202
    body = submitted.json()
    assert body == {"id": body["id"], "status": "notRunning"}
    location = submitted.headers["operation-location"]
    assert location == f"{emulator.url}/openai/operations/images/{body['id']}?api-version={DALLE2_VERSION}"

    statuses, final = poll_to_end(client, location)
    assert statuses == ["notRunning", "running", "succeeded"]
    assert list(final) == ["created", "expires", "id", "result", "status"]
    assert final["expires"] - final["created"] == 86400
    urls = [item["url"] for item in final["result"]["data"]]
    assert len(urls) == 2
    assert client.get(location).json() == final  # terminal: polling again changes nothing
    assert image_of(httpx.get(urls[0]).content).size == (256, 256)
    assert httpx.get(urls[0]).content != httpx.get(urls[1]).content

    assert client.delete(location).status_code == 204
    assert client.get(location).json()["status"] == "deleted"
    assert httpx.get(urls[1]).status_code == 404


def test_dalle2_keeps_running_until_its_time_and_sends_retry_after(
    timed: tuple[AzureEmulator, httpx.Client], clock: FakeClock
) -> None:
    _, http = timed
    location = submit(http, {"prompt": "a fox"}).headers["operation-location"]

    first, second, third = (http.get(location) for _ in range(3))
    assert http.delete(location).status_code == 409  # not terminal yet
    clock.advance(2)
    last = http.get(location)

    statuses = [r.json()["status"] for r in (first, second, third, last)]
    assert statuses == ["notRunning", "running", "running", "succeeded"]
    assert first.headers["retry-after"] == third.headers["retry-after"] == "2"
    assert "retry-after" not in last.headers


@pytest.mark.parametrize(
    ("fault", "status", "error"),
    [
        (ContentPolicy(), "failed", "contentFilter"),
        (PromptFiltered(), "failed", "contentFilter"),
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
        "error": {"code": "contentFilter", "message": "Generated image was filtered as a result of our safety system."}
    }


def test_dalle2_submit_faults_and_poll_faults(client: httpx.Client, emulator: AzureEmulator) -> None:
    emulator.fail_next(ServerError())
    assert submit(client, {"prompt": "a fox"}).status_code == 500
    location = submit(client, {"prompt": "a fox"}).headers["operation-location"]
    emulator.fail_next(RateLimited(retry_after_s=1), ServerError(503), Malformed(), operation="poll")

    assert client.get(location).status_code == 429
    assert client.get(location).status_code == 503
    with pytest.raises(json.JSONDecodeError):
        client.get(location).json()
    assert client.get(location).json()["status"] == "notRunning"  # the failed polls did not move it on
    with pytest.raises(ValueError, match=r"Malformed\(not_json\)"):
        emulator.fail_next(Malformed("no_data"), operation="poll")


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


def test_unknown_operation_is_404(client: httpx.Client) -> None:
    response = client.get("/openai/operations/images/nope", params={"api-version": DALLE2_VERSION})

    assert response.status_code == 404


def test_no_dalle2_deployment_cannot_run_the_task() -> None:
    with (
        AzureEmulator(deployments={"dalle3": "dall-e-3"}) as emu,
        httpx.Client(base_url=emu.url, headers={"api-key": KEY}) as http,
    ):
        response = submit(http, {"prompt": "a fox"})
        emu.retire("dalle3")
        retired = dalle3(http, {"prompt": "a fox"})

    assert (response.status_code, response.json()["error"]["code"]) == (404, "DeploymentNotFound")
    assert (retired.status_code, retired.json()["error"]["code"]) == (404, "DeploymentNotFound")


# -- routing and api-versions ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("method", "path", "api_version"),
    [
        ("POST", "/openai/deployments/dalle3/images/generations", "2022-12-01"),
        ("POST", "/openai/deployments/dalle3/images/generations", None),
        ("POST", "/openai/deployments/gpt-image-2/images/generations", "2024-10-21"),
        ("POST", "/openai/deployments/gpt-image-2/images/generations", "2025-03-01-preview"),
        ("POST", "/openai/deployments/dalle2/images/generations", "2024-10-21"),
        ("POST", "/openai/images/generations:submit", "2024-02-01"),
        ("GET", "/openai/operations/images/x", "2024-02-01"),
        ("POST", "/openai/deployments/dalle3/images/edits", DALLE3_VERSION),
        ("GET", "/openai/deployments/dalle3/images/generations", DALLE3_VERSION),
        ("GET", "/openai/v1/images/generations", None),
        ("POST", "/openai/v1/images/variations", None),
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
    [("dalle3", "2023-12-01-preview"), ("dalle3", "2025-01-01-preview"), ("dalle3", "2024-06-01")],
)
def test_accepted_dalle3_api_versions(client: httpx.Client, deployment: str, api_version: str) -> None:
    body = {"prompt": "a fox", "response_format": "b64_json"}
    assert generate_on(client, deployment, body, api_version).status_code == 200
