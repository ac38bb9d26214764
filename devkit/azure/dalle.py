"""DALL-E 3 (synchronous, deployments path) and DALL-E 2 (submit, then poll), for resources that still serve them.

Section numbers refer to docs/contracts/azure-openai-images.md.
"""

from __future__ import annotations

import base64
import json
from dataclasses import dataclass, field
from typing import Any, Final, Literal

from devkit.azure.blobs import BlobStore
from devkit.azure.faults import (
    ContentPolicy,
    Fault,
    Malformed,
    OperationStatus,
    OutputFiltered,
    PromptFiltered,
    StreamBreaks,
)
from devkit.azure.gpt_image import OUTPUT_FILTERED, TASK_FILTERED, break_connection, broken_base64
from devkit.azure.models import DALLE_SIZES, revised_prompt_for
from devkit.azure.wire import bad_request, json_response, server_error
from devkit.http import Response
from devkit.pictures import draw, pad_png

__all__ = ["DallEParams", "Operation", "check_dalle", "dalle3_answer", "finish_operation", "operation_body"]

_MAX_PROMPT: Final = {"dall-e-2": 1000, "dall-e-3": 4000}  # §9.1, §9.2
_MAX_N: Final = {"dall-e-2": 5, "dall-e-3": 1}
# `model` is in the spec for every family and openai-python leaves it in the JSON body when it moves it into
# the deployment path, so refusing it would reject the SDK's own requests.
_FIELDS: Final = {
    "dall-e-2": frozenset({"prompt", "n", "size", "response_format", "user"}),
    "dall-e-3": frozenset({"prompt", "n", "size", "quality", "style", "response_format", "user", "model"}),
}
_TASK_FAILED_ERROR: Final = {  # §9.2 gives no text for a failure that is not a filter; Azure.Core shape only
    "code": "InternalFailure",
    "message": "The image generation task failed. Please submit it again.",
}


@dataclass(frozen=True)
class DallEParams:
    prompt: str
    n: int
    size: tuple[int, int]
    response_format: Literal["url", "b64_json"]


def check_dalle(family: Literal["dall-e-2", "dall-e-3"], body: dict[str, Any]) -> DallEParams | Response:
    """§9.1, §9.2: DALL-E's request rules; JSON null means "use the default"."""
    for name in body:
        if name not in _FIELDS[family]:
            return bad_request("unknown_parameter", f"Unrecognized request argument supplied: {name}", name)
    given = {k: v for k, v in body.items() if v is not None}
    prompt = given.get("prompt")
    if prompt is None:
        return bad_request("missing_required_parameter", "Missing required parameter: 'prompt'.", "prompt")
    if not isinstance(prompt, str):
        return bad_request("invalid_type", "Invalid type for 'prompt': expected a string.", "prompt")
    if not prompt.strip():
        return bad_request("invalid_value", "Invalid 'prompt': the prompt must not be empty.", "prompt")
    if len(prompt) > _MAX_PROMPT[family]:
        limit = _MAX_PROMPT[family]
        return bad_request(
            "string_above_max_length",
            f"Invalid 'prompt': string too long. Expected a string with maximum length {limit}, "
            f"but got a string with length {len(prompt)} instead.",
            "prompt",
        )
    n = given.get("n", 1)
    if not isinstance(n, int) or isinstance(n, bool):
        return bad_request("invalid_type", "Invalid type for 'n': expected an integer.", "n")
    if family == "dall-e-3" and n != 1:
        return bad_request("invalid_value", "You must provide n=1 for this model.", "n")
    if not 1 <= n <= _MAX_N[family]:
        return bad_request("invalid_value", f"Invalid 'n': must be between 1 and {_MAX_N[family]}.", "n")
    size = given.get("size", "1024x1024")
    if size not in DALLE_SIZES[family]:
        supported = ", ".join(DALLE_SIZES[family])
        return bad_request(
            "invalid_size", f"The size is not supported by this model. Supported sizes: {supported}.", "size"
        )
    for name, allowed in (("quality", ("standard", "hd")), ("style", ("vivid", "natural"))):
        if name in given and given[name] not in allowed:
            choices = ", ".join(f"'{a}'" for a in allowed)
            return bad_request(
                "invalid_value", f"Invalid value: {given[name]!r}. Supported values are: {choices}.", name
            )
    response_format = given.get("response_format", "url")
    if response_format not in ("url", "b64_json"):
        return bad_request(
            "invalid_value",
            f"Invalid value: {response_format!r}. Supported values are: 'url', 'b64_json'.",
            "response_format",
        )
    width, _, height = size.partition("x")
    return DallEParams(prompt, n, (int(width), int(height)), "b64_json" if response_format == "b64_json" else "url")


def _filter_results(*, prompt: bool) -> dict[str, Any]:
    results: dict[str, Any] = {
        category: {"severity": "safe", "filtered": False} for category in ("sexual", "violence", "hate", "self_harm")
    }
    if prompt:  # §9.1: only the prompt side carries `profanity`
        results["profanity"] = {"detected": False, "filtered": False}
    return results


def dalle3_answer(
    params: DallEParams,
    seed: int,
    created: int,
    fault: Fault | None,
    blobs: BlobStore,
    base_url: str,
    pad_to: int | None,
) -> Response:
    """§9.1: revised prompt, filter annotations and a 24-hour blob URL or base64; or a fault's answer."""
    if isinstance(fault, PromptFiltered):
        return json_response(200, {"created": created, "error": {"code": "contentFilter", "message": TASK_FILTERED}})
    if isinstance(fault, OutputFiltered):
        return json_response(200, {"created": created, "error": {"code": fault.code, "message": OUTPUT_FILTERED}})
    if isinstance(fault, OperationStatus):
        return server_error(500)  # a synchronous call has no operation to end; the nearest wire equivalent
    item: dict[str, Any] = {
        "revised_prompt": revised_prompt_for(params.prompt),
        "prompt_filter_results": _filter_results(prompt=True),
    }
    if params.response_format == "b64_json" or fault == Malformed("bad_base64"):
        png = pad_png(draw(params.prompt, *params.size, seed=seed), pad_to)
        item["b64_json"] = broken_base64(png) if fault == Malformed("bad_base64") else base64.b64encode(png).decode()
    else:
        item["url"] = blobs.issue(base_url, params.prompt, params.size, seed, 0, created)[1]
    item["content_filter_results"] = _filter_results(prompt=False)
    body: dict[str, Any] = {"created": created, "data": [item]}
    if fault == Malformed("no_data"):
        del body["data"]
    text = json.dumps(body)
    if isinstance(fault, StreamBreaks):
        return break_connection(text.encode())
    if fault == Malformed("not_json"):
        return Response(text[:120], status=200, content_type="application/json")
    return json_response(200, body)


@dataclass
class Operation:
    """One DALL-E 2 task (§9.2): it walks notRunning, running, then a terminal status."""

    id: str
    deployment: str
    created: int
    submitted_at: float  # emulator clock
    params: DallEParams
    seeds: tuple[int, ...]
    outcome: Fault | None
    status: str = "notRunning"
    polls: int = 0
    result: dict[str, Any] | None = None
    blob_paths: list[str] = field(default_factory=list)


def terminal_status(outcome: Fault | None) -> str:
    if isinstance(outcome, ContentPolicy | PromptFiltered):
        return "failed"
    if isinstance(outcome, OperationStatus):
        return outcome.status
    return "succeeded"


def finish_operation(
    op: Operation, blobs: BlobStore, base_url: str, pad_to: int | None, wall_now: float
) -> tuple[dict[str, Any], list[str]]:
    """A succeeded operation's `result`, with its images issued; and the blob paths to delete with it."""
    params = op.params
    items: list[dict[str, Any]] = []
    paths: list[str] = []
    for i in range(params.n):
        if isinstance(op.outcome, OutputFiltered) and i == params.n - 1:
            # §9.2: the filtered image shows up as an `error` item among the good ones.
            items.append({"error": {"code": op.outcome.code, "message": OUTPUT_FILTERED}})
        elif params.response_format == "b64_json" or op.outcome == Malformed("bad_base64"):
            png = pad_png(draw(params.prompt, *params.size, seed=op.seeds[i]), pad_to)
            encoded = base64.b64encode(png).decode()
            items.append({"b64_json": broken_base64(png) if op.outcome == Malformed("bad_base64") else encoded})
        else:
            path, url = blobs.issue(base_url, params.prompt, params.size, op.seeds[i], i, wall_now)
            paths.append(path)
            items.append({"url": url})
    result: dict[str, Any] = {"created": op.created, "data": items}
    if op.outcome == Malformed("no_data"):
        del result["data"]
    return result, paths


def operation_body(op: Operation, ttl_s: float) -> dict[str, Any]:
    """§9.2: the poll answer for the operation's current status."""
    if op.status == "succeeded":
        return {
            "created": op.created,
            "expires": op.created + int(ttl_s),
            "id": op.id,
            "result": op.result,
            "status": op.status,
        }
    if op.status == "failed":
        filtered = isinstance(op.outcome, ContentPolicy | PromptFiltered)
        error = {"code": "contentFilter", "message": TASK_FILTERED} if filtered else dict(_TASK_FAILED_ERROR)
        return {"created": op.created, "error": error, "id": op.id, "status": op.status}
    return {"created": op.created, "id": op.id, "status": op.status}
