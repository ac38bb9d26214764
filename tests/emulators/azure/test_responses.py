"""The Responses API's image tool: the revised prompt, the header, deployments, usage, moderation failures."""

from __future__ import annotations

import base64
import json
from typing import Any

import httpx
import pytest

from devkit.azure import AzureEmulator, ContentPolicy, Malformed, OutputFiltered, PromptFiltered

from .support import assert_undecodable, image_of, respond

TOOL = {"type": "image_generation", "quality": "low", "size": "1536x1024", "output_format": "png"}


def body(**extra: Any) -> dict[str, Any]:
    return {
        "model": "gpt-5.4-mini",
        "input": "a lighthouse at dusk",
        "tools": [TOOL],
        "tool_choice": {"type": "image_generation"},
    } | extra


def image_call(response: httpx.Response) -> dict[str, Any]:
    (call,) = [item for item in response.json()["output"] if item["type"] == "image_generation_call"]
    assert isinstance(call, dict)
    return call


def test_the_image_call_carries_the_picture_and_a_revised_prompt(client: httpx.Client) -> None:
    response = respond(client, body())

    assert response.status_code == 200
    payload = response.json()
    assert (payload["object"], payload["status"], payload["model"]) == ("response", "completed", "gpt-5.4-mini")
    assert payload["id"].startswith("resp_")
    call = image_call(response)
    assert call["id"].startswith("ig_")
    assert (call["status"], call["action"], call["size"], call["quality"]) == (
        "completed",
        "generate",
        "1536x1024",
        "low",
    )
    assert (call["output_format"], call["background"]) == ("png", "opaque")
    assert image_of(base64.b64decode(call["result"])).size == (1536, 1024)
    revised = call["revised_prompt"]
    assert revised != "a lighthouse at dusk"
    assert "a lighthouse at dusk" in revised
    assert len(revised) > len("a lighthouse at dusk") + 20
    message = payload["output"][-1]
    assert (message["type"], message["role"], message["status"]) == ("message", "assistant", "completed")
    assert message["content"][0]["type"] == "output_text"


def test_the_revised_prompt_is_deterministic(client: httpx.Client) -> None:
    first = image_call(respond(client, body()))["revised_prompt"]
    second = image_call(respond(client, body()))["revised_prompt"]

    assert first == second
    assert image_call(respond(client, body(input="an owl")))["revised_prompt"] != first


def test_usage_is_the_chat_models_and_tool_usage_the_images(client: httpx.Client) -> None:
    payload = respond(client, body()).json()

    usage, image_gen = payload["usage"], payload["tool_usage"]["image_gen"]
    assert usage["total_tokens"] == usage["input_tokens"] + usage["output_tokens"]
    assert usage["input_tokens_details"] == {"cached_tokens": 0, "cache_write_tokens": 0}
    assert usage["output_tokens_details"] == {"reasoning_tokens": 0}
    assert image_gen["output_tokens"] == 400  # low, 1536x1024
    assert image_gen["output_tokens_details"] == {"image_tokens": 400, "text_tokens": 0}
    assert image_gen["input_tokens_details"]["image_tokens"] == 0
    assert image_gen["total_tokens"] == image_gen["input_tokens"] + 400
    assert payload["tool_usage"]["web_search"] == {"num_requests": 0}


def test_the_tools_are_echoed_with_their_defaults(client: httpx.Client) -> None:
    (tool,) = respond(client, body()).json()["tools"]

    assert tool == {
        "type": "image_generation",
        "background": "auto",
        "model": "gpt-image-2",
        "moderation": "auto",
        "output_compression": 100,
        "output_format": "png",
        "quality": "low",
        "size": "1536x1024",
    }


def test_list_input_uses_the_last_user_turn(client: httpx.Client) -> None:
    conversation = [
        {"role": "user", "content": "a red bus"},
        {"role": "assistant", "content": "Sure."},
        {"role": "user", "content": [{"type": "input_text", "text": "a green tram"}]},
    ]
    call = image_call(respond(client, body(input=conversation)))

    assert "a green tram" in call["revised_prompt"]


def test_the_image_deployment_header_is_required(client: httpx.Client) -> None:
    response = respond(client, body(), image_deployment=None)

    assert response.status_code == 400
    error = response.json()["error"]
    assert error["param"] == "x-ms-oai-image-generation-deployment"
    assert "x-ms-oai-image-generation-deployment" in error["message"]


@pytest.mark.parametrize(
    ("chat", "image", "status", "code"),
    [
        ("nope", "gpt-image-2", 404, "DeploymentNotFound"),
        ("gpt-5.4-mini", "nope", 404, "DeploymentNotFound"),
        ("gpt-5.4-mini", "dalle3", 400, "OperationNotSupported"),
        ("gpt-image-2", "gpt-image-2", 400, "OperationNotSupported"),  # an image model cannot chat
        ("gpt-5.4-mini", "gpt-5.4-mini", 400, "OperationNotSupported"),
    ],
)
def test_deployments(client: httpx.Client, chat: str, image: str, status: int, code: str) -> None:
    response = respond(client, body(model=chat), image_deployment=image)

    assert response.status_code == status
    assert response.json()["error"]["code"] == code


def test_retired_deployments(client: httpx.Client, emulator: AzureEmulator) -> None:
    emulator.retire("gpt-image-1.5")
    emulator.retire("gpt-5.4-mini")

    assert respond(client, body(), image_deployment="gpt-image-1.5").status_code == 404
    assert respond(client, body(), image_deployment="gpt-image-2").status_code == 404


@pytest.mark.parametrize(
    ("extra", "param"),
    [
        ({"stream": True}, "stream"),
        ({"tools": [TOOL | {"size": "1536x864"}]}, "size"),  # fine for gpt-image-2, refused on gpt-image-1.5
        ({"tools": [TOOL | {"output_format": "webp"}]}, "output_format"),
        ({"tools": [TOOL | {"style": "vivid"}]}, "style"),
        ({"tools": [TOOL | {"input_fidelity": "high"}]}, None),  # allowed on gpt-image-1.5
        ({"tools": [TOOL, TOOL]}, "tools"),
        ({"input": ""}, "input"),
        ({"model": None}, "model"),
    ],
)
def test_request_checks(client: httpx.Client, extra: dict[str, Any], param: str | None) -> None:
    response = respond(client, body(**extra), image_deployment="gpt-image-1.5")

    if param is None:
        assert response.status_code == 200
    else:
        assert response.status_code == 400
        assert response.json()["error"]["param"] == param


def test_without_the_image_tool_the_model_answers_in_words(client: httpx.Client) -> None:
    for request in (body(tools=[]), body(tool_choice="none")):
        payload = respond(client, request, image_deployment=None).json()
        assert [item["type"] for item in payload["output"]] == ["message"]
        assert payload["tool_usage"]["image_gen"]["output_tokens"] == 0


@pytest.mark.parametrize(("fault", "stage"), [(OutputFiltered(), "output"), (PromptFiltered(), "input")])
def test_moderation_fails_the_image_call(
    client: httpx.Client, emulator: AzureEmulator, fault: OutputFiltered | PromptFiltered, stage: str
) -> None:
    emulator.fail_next(fault)

    response = respond(client, body())

    assert response.status_code == 200
    call = image_call(response)
    assert call["status"] == "failed"
    assert call["result"] is None
    assert call["error"]["code"] == "moderation_blocked"
    assert call["error"]["moderation_details"]["moderation_stage"] == stage
    assert response.json()["status"] == "completed"


def test_content_policy_is_a_400_here_too(client: httpx.Client, emulator: AzureEmulator) -> None:
    emulator.fail_next(ContentPolicy())

    response = respond(client, body())

    assert response.status_code == 400
    assert response.json()["error"]["inner_error"]["code"] == "ResponsibleAIPolicyViolation"


def test_malformed_responses(client: httpx.Client, emulator: AzureEmulator) -> None:
    emulator.fail_next(Malformed("no_data"), Malformed("bad_base64"), Malformed("not_json"))

    no_call = respond(client, body()).json()
    bad = image_call(respond(client, body()))
    cut = respond(client, body())

    assert [item["type"] for item in no_call["output"]] == ["message"]
    assert_undecodable(bad["result"])
    with pytest.raises(json.JSONDecodeError):
        cut.json()


def test_responses_are_recorded_under_the_image_deployment(client: httpx.Client, emulator: AzureEmulator) -> None:
    respond(client, body(), image_deployment="gpt-image-1-mini")

    (call,) = emulator.calls("responses")
    assert call.deployment == "gpt-image-1-mini"
    assert call.headers["x-ms-oai-image-generation-deployment"] == "gpt-image-1-mini"
    assert call.body is not None
    assert call.body["model"] == "gpt-5.4-mini"
