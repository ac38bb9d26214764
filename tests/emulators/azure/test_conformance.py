"""The official openai SDK against the emulator: every answer validates into the SDK's own types, every error
raises the SDK's matching exception with its body parsed."""

from __future__ import annotations

import base64
import json
from typing import Any

import httpx
import openai
import pytest
from openai.types import ImageEditStreamEvent, ImageGenStreamEvent, ImagesResponse
from openai.types.responses import Response
from pydantic import BaseModel, TypeAdapter

from devkit.azure import (
    AzureEmulator,
    ContentPolicy,
    Malformed,
    OutputFiltered,
    RateLimited,
    ServerError,
    StreamBreaks,
)
from devkit.pictures import draw

from .support import png

CAT = draw("a cat on a sofa", 1024, 1024, seed=1)
IMAGE_HEADER = "x-ms-oai-image-generation-deployment"
GEN_EVENTS: TypeAdapter[Any] = TypeAdapter(ImageGenStreamEvent)
EDIT_EVENTS: TypeAdapter[Any] = TypeAdapter(ImageEditStreamEvent)
# openai 3.x types `http_client` as an httpx2 client but still takes a legacy httpx one at run time, which is
# what the brief's client (and the bot) pass; the type: ignore comments below say so to mypy.


def without_extras(model: BaseModel, where: str = "") -> None:
    """Every field the emulator sent is one the SDK declares: nothing lands in `model_extra`."""
    assert not model.model_extra, f"{where or type(model).__name__} has undeclared fields {list(model.model_extra)}"
    for name in type(model).model_fields:
        value = getattr(model, name)
        for item in value if isinstance(value, list) else [value]:
            if isinstance(item, BaseModel):
                without_extras(item, f"{where}.{name}")


@pytest.fixture
def sdk(emulator: AzureEmulator, sdk_http: httpx.Client) -> openai.OpenAI:
    key = emulator.api_key
    client = openai.OpenAI(
        base_url=f"{emulator.url}/openai/v1/",
        api_key=key,
        default_headers={"api-key": key},
        default_query={"api-version": "preview"},
        max_retries=0,
        http_client=sdk_http,  # type: ignore[arg-type]
    )
    return client  # not closed: closing would close the session's shared transport


@pytest.fixture
def azure_sdk(emulator: AzureEmulator, sdk_http: httpx.Client) -> openai.AzureOpenAI:
    client = openai.AzureOpenAI(  # type: ignore[call-overload]
        azure_endpoint=emulator.url,
        api_key=emulator.api_key,
        api_version="2024-10-21",
        max_retries=0,
        http_client=sdk_http,
    )
    return client  # not closed: closing would close the session's shared transport


# -- answers ------------------------------------------------------------------------------------------------------


def test_images_generate(sdk: openai.OpenAI) -> None:
    raw = sdk.images.with_raw_response.generate(
        model="gpt-image-2", prompt="a fox", size="1536x864", quality="low", n=2
    )

    parsed = ImagesResponse.model_validate(raw.http_response.json(), strict=True)
    without_extras(parsed)
    assert parsed.size == "1536x864"
    assert parsed.usage is not None
    assert parsed.usage.output_tokens_details is not None
    assert parsed.data is not None
    assert len(parsed.data) == 2
    assert all(item.b64_json and base64.b64decode(item.b64_json) for item in parsed.data)
    assert raw.parse().usage == parsed.usage


def test_images_generate_stream(sdk: openai.OpenAI) -> None:
    events = list(
        sdk.images.generate(model="gpt-image-2", prompt="a fox", quality="low", stream=True, partial_images=2)
    )

    validated = [GEN_EVENTS.validate_python(event.to_dict(), strict=True) for event in events]
    assert [event.type for event in validated] == ["image_generation.partial_image"] * 2 + [
        "image_generation.completed"
    ]
    for event in validated:
        without_extras(event)
    assert [event.partial_image_index for event in validated[:2]] == [0, 1]
    assert validated[-1].usage.output_tokens == 272


@pytest.mark.parametrize("count", [1, 3])
def test_images_edit(sdk: openai.OpenAI, emulator: AzureEmulator, count: int) -> None:
    images = [(f"in{i}.png", CAT, "image/png") for i in range(count)]
    raw = sdk.images.with_raw_response.edit(
        model="gpt-image-1.5", image=images if count > 1 else images[0], prompt="make it night", quality="low"
    )

    parsed = ImagesResponse.model_validate(raw.http_response.json(), strict=True)
    without_extras(parsed)
    assert parsed.usage is not None
    assert parsed.usage.input_tokens_details.image_tokens == 581 * count
    (call,) = emulator.calls("edit")
    assert call.images == (CAT,) * count


def test_images_edit_with_a_mask_and_streamed(sdk: openai.OpenAI, emulator: AzureEmulator) -> None:
    mask = png(1024, 1024, (0, 0, 0, 0))
    events = list(
        sdk.images.edit(
            model="gpt-image-2",
            image=("cat.png", CAT, "image/png"),
            mask=("mask.png", mask, "image/png"),
            prompt="add a moon",
            quality="low",
            stream=True,
            partial_images=1,
        )
    )

    validated = [EDIT_EVENTS.validate_python(event.to_dict(), strict=True) for event in events]
    assert [event.type for event in validated] == ["image_edit.partial_image", "image_edit.completed"]
    for event in validated:
        without_extras(event)
    (call,) = emulator.calls("edit")
    assert call.mask == mask
    assert call.stream is True


def test_responses_create(sdk: openai.OpenAI) -> None:
    raw = sdk.responses.with_raw_response.create(
        model="gpt-5.4-mini",
        input="a lighthouse at dusk",
        tools=[{"type": "image_generation", "quality": "low", "size": "1024x1024", "output_format": "png"}],
        tool_choice={"type": "image_generation"},
        extra_headers={IMAGE_HEADER: "gpt-image-2"},
    )

    response = Response.model_validate(raw.http_response.json(), strict=True)
    without_extras(response)
    call = response.output[0]
    assert call.type == "image_generation_call"
    assert call.status == "completed"
    assert call.result is not None
    assert call.revised_prompt is not None
    assert call.revised_prompt != "a lighthouse at dusk"
    assert response.output_text  # the SDK finds the assistant's words
    assert response.tool_usage is not None
    assert response.tool_usage.image_gen.output_tokens == 272


def test_responses_moderation_failure_validates(sdk: openai.OpenAI, emulator: AzureEmulator) -> None:
    emulator.fail_next(OutputFiltered(code="moderation_blocked"))
    raw = sdk.responses.with_raw_response.create(
        model="gpt-5.4-mini",
        input="something",
        tools=[{"type": "image_generation", "quality": "low"}],
        extra_headers={IMAGE_HEADER: "gpt-image-2"},
    )

    response = Response.model_validate(raw.http_response.json(), strict=True)
    call = response.output[0]
    assert call.type == "image_generation_call"
    assert call.status == "failed"
    assert call.error is not None
    assert call.error.code == "moderation_blocked"
    assert call.error.moderation_details is not None
    assert call.error.moderation_details.moderation_stage == "output"


def test_a_filtered_200_parses_with_the_error_as_an_extra(sdk: openai.OpenAI, emulator: AzureEmulator) -> None:
    emulator.fail_next(OutputFiltered())

    result = sdk.images.generate(model="gpt-image-2", prompt="a fox", quality="low")

    assert result.data is None  # a client must look for the top-level error even on a 200
    assert result.model_extra is not None
    assert result.model_extra["error"]["code"] == "contentFilter"


def test_legacy_azure_client_on_dalle3(azure_sdk: openai.AzureOpenAI) -> None:
    raw = azure_sdk.images.with_raw_response.generate(model="dalle3", prompt="a fox", quality="hd", style="natural")

    parsed = ImagesResponse.model_validate(raw.http_response.json(), strict=True)
    assert parsed.data is not None
    (item,) = parsed.data
    assert item.revised_prompt is not None
    assert item.url is not None
    assert httpx.get(item.url).status_code == 200


def test_azure_client_on_the_deployments_path_for_gpt_image(emulator: AzureEmulator) -> None:
    with openai.AzureOpenAI(  # type: ignore[call-overload]
        azure_endpoint=emulator.url,
        api_key=emulator.api_key,
        api_version="2025-04-01-preview",
        max_retries=0,
        http_client=httpx.Client(),
    ) as client:
        generated = client.images.generate(model="gpt-image-1-mini", prompt="a fox", quality="low")
        edited = client.images.edit(model="gpt-image-1.5", image=("cat.png", CAT, "image/png"), prompt="night")

    assert generated.quality == "low"
    assert edited.usage is not None
    assert [c.path for c in emulator.calls()] == [
        "/openai/deployments/gpt-image-1-mini/images/generations",
        "/openai/deployments/gpt-image-1.5/images/edits",
    ]


# -- errors -------------------------------------------------------------------------------------------------------


def test_bad_request_for_a_parameter(sdk: openai.OpenAI) -> None:
    with pytest.raises(openai.BadRequestError) as caught:
        sdk.images.generate(model="gpt-image-2", prompt="a fox", size="512x512")

    assert caught.value.code == "invalid_size"
    assert caught.value.param == "size"
    assert isinstance(caught.value.body, dict)


def test_bad_request_for_the_content_policy(sdk: openai.OpenAI, emulator: AzureEmulator) -> None:
    emulator.fail_next(ContentPolicy())

    with pytest.raises(openai.BadRequestError) as caught:
        sdk.images.generate(model="gpt-image-2", prompt="a fox")

    assert caught.value.code == "content_policy_violation"
    assert isinstance(caught.value.body, dict)
    assert caught.value.body["inner_error"]["code"] == "ResponsibleAIPolicyViolation"


def test_authentication_error(emulator: AzureEmulator) -> None:
    with (
        openai.OpenAI(
            base_url=f"{emulator.url}/openai/v1/",
            api_key="wrong",
            max_retries=0,
            http_client=httpx.Client(),  # type: ignore[arg-type]
        ) as client,
        pytest.raises(openai.AuthenticationError) as caught,
    ):
        client.images.generate(model="gpt-image-2", prompt="a fox")

    assert caught.value.code == "401"


@pytest.mark.parametrize("deployment", ["nope", "retired"])
def test_not_found_error(sdk: openai.OpenAI, emulator: AzureEmulator, deployment: str) -> None:
    if deployment == "retired":
        emulator.retire("gpt-image-1.5")
        deployment = "gpt-image-1.5"

    with pytest.raises(openai.NotFoundError) as caught:
        sdk.images.generate(model=deployment, prompt="a fox")

    assert caught.value.code == "DeploymentNotFound"
    assert isinstance(caught.value.body, dict)


def test_not_found_on_the_responses_api(sdk: openai.OpenAI) -> None:
    with pytest.raises(openai.NotFoundError) as caught:
        sdk.responses.create(
            model="gpt-5.4-mini",
            input="x",
            tools=[{"type": "image_generation"}],
            extra_headers={IMAGE_HEADER: "nope"},
        )

    assert caught.value.code == "DeploymentNotFound"


def test_rate_limit_error(sdk: openai.OpenAI, emulator: AzureEmulator) -> None:
    emulator.fail_next(RateLimited(retry_after_s=3))

    with pytest.raises(openai.RateLimitError) as caught:
        sdk.images.generate(model="gpt-image-2", prompt="a fox")

    assert caught.value.code == "429"
    assert caught.value.response.headers["retry-after-ms"] == "3000"


@pytest.mark.parametrize("status", [500, 503])
def test_internal_server_error(sdk: openai.OpenAI, emulator: AzureEmulator, status: int) -> None:
    emulator.fail_next(ServerError(status))

    with pytest.raises(openai.InternalServerError) as caught:
        sdk.images.generate(model="gpt-image-2", prompt="a fox")

    assert caught.value.status_code == status
    assert isinstance(caught.value.body, dict)


def test_a_stream_error_event_raises_api_error(sdk: openai.OpenAI, emulator: AzureEmulator) -> None:
    emulator.fail_next(StreamBreaks(kind="error_event"))
    stream = sdk.images.generate(model="gpt-image-2", prompt="a fox", quality="low", stream=True, partial_images=1)

    events = iter(stream)

    assert next(events).type == "image_generation.partial_image"
    with pytest.raises(openai.APIError) as caught:
        next(events)
    assert isinstance(caught.value.body, dict)
    assert caught.value.body["code"] == "server_error"


def test_a_cut_stream_just_ends_without_the_completed_event(sdk: openai.OpenAI, emulator: AzureEmulator) -> None:
    emulator.fail_next(StreamBreaks(after_partials=1))

    events = list(
        sdk.images.generate(model="gpt-image-2", prompt="a fox", quality="low", stream=True, partial_images=2)
    )

    assert [event.type for event in events] == ["image_generation.partial_image"]


def test_broken_answers_surface_in_the_sdk(sdk: openai.OpenAI, emulator: AzureEmulator) -> None:
    emulator.fail_next(StreamBreaks(), Malformed("not_json"))

    with pytest.raises(openai.APIConnectionError):
        sdk.images.generate(model="gpt-image-2", prompt="a fox", quality="low")
    with pytest.raises(json.JSONDecodeError):  # the SDK does not wrap a body cut mid-JSON
        sdk.images.generate(model="gpt-image-2", prompt="a fox", quality="low")


def test_a_cut_completed_event_is_not_json(sdk: openai.OpenAI, emulator: AzureEmulator) -> None:
    emulator.fail_next(Malformed("not_json"))

    with pytest.raises(json.JSONDecodeError):
        list(sdk.images.generate(model="gpt-image-2", prompt="a fox", quality="low", stream=True))
