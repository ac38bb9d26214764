"""The Responses API with the `image_generation` tool: how today's models give a revised prompt (contract §5).

Section numbers refer to docs/contracts/azure-openai-images.md.
"""

from __future__ import annotations

import base64
import json
import uuid
from dataclasses import dataclass
from typing import Any, Final

from devkit.azure.faults import Fault, Malformed, OutputFiltered, PromptFiltered, StreamBreaks
from devkit.azure.gpt_image import break_connection, broken_base64
from devkit.azure.models import output_tokens, revised_prompt_for, text_tokens
from devkit.azure.params import ImageParams
from devkit.azure.wire import bad_request, json_response
from devkit.http import Response
from devkit.pictures import draw, pad_png

__all__ = ["IMAGE_DEPLOYMENT_HEADER", "ResponsesRequest", "read_responses_request", "responses_answer"]

IMAGE_DEPLOYMENT_HEADER: Final = "x-ms-oai-image-generation-deployment"  # §5.1
_TOOL_OVERHEAD_TOKENS: Final = 60  # §5.4, the emulator's figure for the tool definition the model reads
_BLOCKED: Final = "Your request was rejected by the safety system. It may contain content that is not allowed."
_DONE_TEXT: Final = "Here is the image I generated for you."
_REFUSED_TEXT: Final = "I couldn't create that image because it was blocked by the safety system."


@dataclass(frozen=True)
class ResponsesRequest:
    """The parts of a `POST /openai/v1/responses` body the emulator acts on."""

    chat_model: str
    prompt: str  # the text of the last user turn
    tools: list[dict[str, Any]]
    image_tool: dict[str, Any] | None  # None: the model answers in words only
    tool_choice: Any


def _text_of(content: Any) -> str:
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        parts = [p.get("text", "") for p in content if isinstance(p, dict) and p.get("type") in ("input_text", "text")]
        return " ".join(part for part in parts if isinstance(part, str))
    return ""


def read_responses_request(body: dict[str, Any]) -> ResponsesRequest | Response:
    """§5.2: the model, the prompt and the tools; `stream: true` is refused, as Azure's image tool does not stream."""
    model = body.get("model")
    if not isinstance(model, str) or not model:
        return bad_request("missing_required_parameter", "Missing required parameter: 'model'.", "model")
    if body.get("stream") is True:
        return bad_request(
            "invalid_value",
            "The image_generation tool does not support streaming on Azure OpenAI. Call the image generation "
            "API directly to stream partial images.",
            "stream",
        )
    source = body.get("input")
    if isinstance(source, list):
        turns = [item for item in source if isinstance(item, dict) and item.get("role", "user") == "user"]
        prompt = _text_of(turns[-1].get("content")) if turns else ""
    else:
        prompt = _text_of(source)
    if not prompt.strip():
        return bad_request("missing_required_parameter", "Missing required parameter: 'input'.", "input")
    tools = body.get("tools") or []
    if not isinstance(tools, list) or not all(isinstance(t, dict) and isinstance(t.get("type"), str) for t in tools):
        return bad_request("invalid_type", "Invalid 'tools': expected a list of tool objects with a 'type'.", "tools")
    image_tools = [t for t in tools if t["type"] == "image_generation"]
    if len(image_tools) > 1:
        return bad_request("invalid_value", "Only one image_generation tool may be given.", "tools")
    tool_choice = body.get("tool_choice", "auto")
    image_tool = image_tools[0] if image_tools and tool_choice != "none" else None
    return ResponsesRequest(model, prompt, tools, image_tool, tool_choice)


def tool_fields(tool: dict[str, Any]) -> dict[str, Any]:
    """The tool's image parameters, checked like a generation's (§5.2); `type` and `action` are the tool's own."""
    return {k: v for k, v in tool.items() if k not in ("type",)}


def _usage(prompt: str, output_text: str) -> dict[str, Any]:
    # §5.4: the chat model's own tokens; the image tokens are in tool_usage.
    input_tokens = text_tokens(prompt) + _TOOL_OVERHEAD_TOKENS
    output = text_tokens(output_text)
    return {
        "input_tokens": input_tokens,
        "input_tokens_details": {"cached_tokens": 0, "cache_write_tokens": 0},
        "output_tokens": output,
        "output_tokens_details": {"reasoning_tokens": 0},
        "total_tokens": input_tokens + output,
    }


def _tool_usage(revised: str, params: ImageParams | None, size: tuple[int, int]) -> dict[str, Any]:
    text_in = text_tokens(revised) if params is not None else 0
    out = output_tokens(params.quality, *size) if params is not None else 0
    return {
        "image_gen": {
            "input_tokens": text_in,
            "input_tokens_details": {"image_tokens": 0, "text_tokens": text_in},
            "output_tokens": out,
            "output_tokens_details": {"image_tokens": out, "text_tokens": 0},
            "total_tokens": text_in + out,
        },
        "web_search": {"num_requests": 0},
    }


def _message(text: str) -> dict[str, Any]:
    return {
        "id": f"msg_{uuid.uuid4().hex}",
        "type": "message",
        "role": "assistant",
        "status": "completed",
        "content": [{"type": "output_text", "text": text, "annotations": [], "logprobs": []}],
    }


def responses_answer(
    request: ResponsesRequest,
    params: ImageParams | None,
    image_model: str | None,
    size: tuple[int, int],
    seed: int,
    created: int,
    fault: Fault | None,
    pad_to: int | None,
) -> Response:
    """§5.3: a complete `Response`: the image call (or its moderation failure) and a short assistant message."""
    output: list[dict[str, Any]] = []
    revised = revised_prompt_for(request.prompt)
    text = _DONE_TEXT
    echoed_tools = [dict(tool) for tool in request.tools]
    if params is not None and request.image_tool is not None:
        call: dict[str, Any] = {
            "id": f"ig_{uuid.uuid4().hex}",
            "type": "image_generation_call",
            "status": "completed",
            "action": "generate",
            "background": params.background,
            "output_format": params.output_format,
            "quality": params.quality,
            "revised_prompt": revised,
            "size": f"{size[0]}x{size[1]}",
            "result": None,
        }
        if isinstance(fault, PromptFiltered | OutputFiltered):
            stage = "input" if isinstance(fault, PromptFiltered) else "output"
            call |= {
                "status": "failed",
                "error": {
                    "code": "moderation_blocked",
                    "message": _BLOCKED,
                    "type": "image_generation_user_error",
                    "moderation_details": {"categories": ["violence"], "moderation_stage": stage},
                },
            }
            text = _REFUSED_TEXT
        else:
            fmt = params.output_format
            picture = draw(revised, *size, fmt=fmt, seed=seed, transparent=params.background == "transparent")
            picture = pad_png(picture, pad_to)
            encoded = base64.b64encode(picture).decode()
            call["result"] = broken_base64(picture) if fault == Malformed("bad_base64") else encoded
        if fault != Malformed("no_data"):
            output.append(call)
        defaults = {"background": "auto", "moderation": "auto", "output_compression": 100, "output_format": "png"}
        echoed_tools = [
            defaults | {"quality": "auto", "size": "auto", "model": image_model} | tool
            if tool["type"] == "image_generation"
            else tool
            for tool in echoed_tools
        ]
    else:
        text = f"{revised} (No image tool was available, so here is a description instead.)"
    output.append(_message(text))
    body = {
        "id": f"resp_{uuid.uuid4().hex}",
        "object": "response",
        "created_at": created,
        "completed_at": created,
        "status": "completed",
        "error": None,
        "incomplete_details": None,
        "instructions": None,
        "metadata": {},
        "model": request.chat_model,
        "output": output,
        "parallel_tool_calls": True,
        "temperature": 1.0,
        "tool_choice": request.tool_choice,
        "tools": echoed_tools,
        "top_p": 1.0,
        "truncation": "disabled",
        "usage": _usage(request.prompt, revised + text if params is not None else text),
        "tool_usage": _tool_usage(revised, params if fault is None or isinstance(fault, Malformed) else None, size),
    }
    raw = json.dumps(body)
    if isinstance(fault, StreamBreaks):
        return break_connection(raw.encode())
    if fault == Malformed("not_json"):
        return Response(raw[:160], status=200, content_type="application/json")
    return json_response(200, body)
