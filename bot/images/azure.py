"""Azure OpenAI's GPT image models through the official `openai` client: the only module that knows
their URLs, headers and JSON (legacy DALL·E deployments: `azure_legacy.py`).

- Images API on the v1 path (`{endpoint}/openai/v1/images/generations` and `/images/edits`, the
  deployment name as `model`), streaming partial images where a preview is wanted.
- The Responses API (`/openai/v1/responses`, a chat deployment as `model`, the image deployment in the
  `x-ms-oai-image-generation-deployment` header) when a chat deployment is configured: the only way
  today's models report the prompt they actually used.
Contract and sources: docs/contracts/azure-openai-images.md §1–§7. Every refusal becomes one of the
errors in `bot.images.generator`; the SDK's own retries are off, the job queue retries instead.
"""

from __future__ import annotations

import binascii
import contextlib
import logging
import ssl
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from typing import Any, Literal, cast

import httpx2
import openai
import orjson
import pybase64
from openai import APIResponse
from pydantic import SecretStr

from bot.images import sse
from bot.images.generator import (
    ContentRejected,
    DeploymentNotFound,
    GeneratedImage,
    ImageGenerationError,
    ImageResult,
    InvalidRequest,
    Misconfigured,
    OnPartial,
    PartialImage,
    RateLimited,
    ServiceUnavailable,
    TokenUsage,
)
from bot.images.models import Deployment
from bot.images.request import ImageRequest, InputImage, sniff_image_type

log = logging.getLogger(__name__)

# Azure's codes for a refused prompt or image (docs/contracts/azure-openai-images.md §7);
# "moderation_blocked" is the GPT image models'.
CONTENT_CODES = frozenset(
    {"content_policy_violation", "contentFilter", "ResponsibleAIPolicyViolation", "moderation_blocked"}
)
PARTIAL_IMAGES = 2  # previews per streamed image: enough to watch it form, few enough to stay cheap
_IMAGE_DEPLOYMENT_HEADER = "x-ms-oai-image-generation-deployment"


def openai_client(endpoint: str, api_key: SecretStr, http: httpx2.Client, timeout_s: float) -> openai.OpenAI:
    """The v1 API of one Azure resource. The key goes in Azure's `api-key` header (and as the bearer the
    SDK always sends, which Azure's v1 API also accepts); `max_retries=0`: the job queue retries."""
    key = api_key.get_secret_value()
    return openai.OpenAI(
        api_key=key,
        base_url=f"{endpoint.rstrip('/')}/openai/v1/",
        default_headers={"api-key": key},
        max_retries=0,
        timeout=httpx2.Timeout(timeout_s, connect=10.0),
        http_client=http,
    )


class AzureImages:
    """An `ImageGenerator` for one GPT image deployment."""

    def __init__(
        self,
        client: openai.OpenAI,
        deployment: Deployment,
        *,
        responses_deployment: str | None = None,
        partial_images: int = PARTIAL_IMAGES,
        clock: Callable[[], float] = time.monotonic,
        give_way: Callable[[], object] = lambda: None,
    ) -> None:
        if not deployment.family.is_gpt_image:
            raise ValueError(f"{deployment.model} is not a GPT image model")
        self._client = client
        self._deployment = deployment
        self._responses_deployment = responses_deployment
        self._partial_images = partial_images
        self._clock = clock
        self._give_way = give_way

    def generate(self, request: ImageRequest, *, on_partial: OnPartial | None = None) -> ImageResult:
        started = self._clock()
        with _mapped_errors(self._deployment.name):
            # The Responses API makes one image per call and cannot stream on Azure (§5): it is used for
            # single images unless the requester asked for the prompt as written (--raw).
            if self._responses_deployment is not None and not request.raw and request.n == 1:
                return self._via_responses(request, started)
            params = {**_image_params(request), "model": self._deployment.name, "prompt": request.prompt}
            if on_partial is not None and request.n == 1:
                streamed = self._client.images.with_streaming_response.generate(
                    **params, stream=True, partial_images=self._partial_images, extra_query=_PREVIEW
                )
                with streamed as response:
                    return self._from_stream(_stream_events(response, self._give_way), on_partial, started)
            raw = self._client.images.with_raw_response.generate(**params, extra_query=_PREVIEW)
            return self._from_images_response(orjson.loads(raw.http_response.content), started)

    def edit(
        self,
        request: ImageRequest,
        images: Sequence[InputImage],
        *,
        mask: InputImage | None = None,
        on_partial: OnPartial | None = None,
    ) -> ImageResult:
        started = self._clock()
        params: dict[str, Any] = {
            **_image_params(request),
            "model": self._deployment.name,
            "prompt": request.prompt,
            "image": [(image.name, image.content, image.media_type) for image in images],
        }
        if mask is not None:
            params["mask"] = (mask.name, mask.content, mask.media_type)
        if self._deployment.model.startswith("gpt-image-1") and not self._deployment.model.startswith(
            "gpt-image-1-mini"
        ):
            params["input_fidelity"] = "high"  # keeps faces and logos; -mini and gpt-image-2 refuse it (§3)
        with _mapped_errors(self._deployment.name):
            if on_partial is not None and request.n == 1:
                streamed = self._client.images.with_streaming_response.edit(
                    **params, stream=True, partial_images=self._partial_images, extra_query=_PREVIEW
                )
                with streamed as response:
                    return self._from_stream(_stream_events(response, self._give_way), on_partial, started)
            raw = self._client.images.with_raw_response.edit(**params, extra_query=_PREVIEW)
            return self._from_images_response(orjson.loads(raw.http_response.content), started)

    # --- answers ------------------------------------------------------------------------------

    def _from_images_response(self, body: Any, started: float) -> ImageResult:
        if not isinstance(body, dict):
            raise ServiceUnavailable("malformed_response", "the answer is not a JSON object")
        error = body.get("error")
        if isinstance(error, dict) and not body.get("data"):
            # HTTP 200 with a top-level error: Azure's content filter (§7.2).
            raise content_or_invalid(error, status=200)
        data = body.get("data")
        if not isinstance(data, list) or not data:
            raise ServiceUnavailable("malformed_response", "the answer has no images")
        images = tuple(_decoded(item.get("b64_json") if isinstance(item, dict) else None) for item in data)
        return ImageResult(images, None, _usage(body.get("usage")), self._elapsed_ms(started))

    def _from_stream(self, events: Iterable[dict[str, Any]], on_partial: OnPartial, started: float) -> ImageResult:
        for event in events:
            kind = str(event.get("type") or "")
            if kind.endswith(".partial_image"):
                partial = PartialImage(int(event["partial_image_index"]), _decoded(event.get("b64_json")))
                try:
                    on_partial(partial)
                except Exception:  # a preview must never cost the final image
                    log.warning("showing preview %d failed; the image goes on", partial.index, exc_info=True)
            elif kind.endswith(".completed"):
                result = (_decoded(event.get("b64_json")),)
                return ImageResult(result, None, _usage(event.get("usage")), self._elapsed_ms(started))
        raise ServiceUnavailable("stream_ended", "the stream ended before the completed event")

    def _via_responses(self, request: ImageRequest, started: float) -> ImageResult:
        assert self._responses_deployment is not None
        tool: dict[str, Any] = {"type": "image_generation", **_image_params(request)}
        tool.pop("n", None)
        response = self._client.responses.create(
            model=self._responses_deployment,
            input=request.prompt,
            tools=[cast(Any, tool)],  # the SDK's TypedDict for the tool; built as a plain dict here
            tool_choice={"type": "image_generation"},
            extra_headers={_IMAGE_DEPLOYMENT_HEADER: self._deployment.name},
        )
        calls = [item for item in response.output if item.type == "image_generation_call"]
        if not calls:
            raise ServiceUnavailable("malformed_response", "the response holds no image_generation_call")
        call = calls[0]
        if call.error is not None or call.status == "failed" or not call.result:
            error = call.error.model_dump() if call.error is not None else {"code": "", "message": "no image"}
            stage = (
                call.error.moderation_details.moderation_stage if call.error and call.error.moderation_details else ""
            )
            if str(error.get("code")) in CONTENT_CODES:
                raise ContentRejected("prompt" if stage == "input" else "output", _detail(error))
            raise ServiceUnavailable("image_call_failed", _detail(error))
        image_tokens = response.tool_usage.image_gen if response.tool_usage is not None else None
        usage = TokenUsage(
            text_input_tokens=image_tokens.input_tokens_details.text_tokens if image_tokens else 0,
            image_input_tokens=image_tokens.input_tokens_details.image_tokens if image_tokens else 0,
            output_tokens=image_tokens.output_tokens if image_tokens else 0,
            chat_model=self._responses_deployment,
            chat_input_tokens=response.usage.input_tokens if response.usage else 0,
            chat_output_tokens=response.usage.output_tokens if response.usage else 0,
        )
        revised = call.revised_prompt.strip() if call.revised_prompt else None
        return ImageResult((_decoded(call.result),), revised or None, usage, self._elapsed_ms(started))

    def _elapsed_ms(self, started: float) -> int:
        return round((self._clock() - started) * 1000)


def _between(chunks: Iterator[bytes], give_way: Callable[[], object]) -> Iterator[bytes]:
    """The chunks, with `give_way` before each: a worker can pause mid-stream while the front is rushed
    (bot/jobs/rush.py); not reading holds Azure's sending back too."""
    for chunk in chunks:
        give_way()
        yield chunk


_PREVIEW = {"api-version": "preview"}  # the v1 images path as Azure documents it (§1)


def _stream_events(response: APIResponse[Any], give_way: Callable[[], object]) -> Iterator[dict[str, Any]]:
    """The JSON objects of a streamed answer, read by `bot.images.sse` instead of the SDK's decoder (why:
    that module's docstring), with the SDK's rules: `[DONE]` ends the stream, an object carrying `error`
    raises `openai.APIError`, and a broken or stalled connection raises the SDK's connection errors."""
    try:
        for event in sse.events(_between(response.iter_bytes(), give_way)):
            if event.data.startswith(b"[DONE]"):
                return
            payload = orjson.loads(event.data)
            if isinstance(payload, dict) and payload.get("error"):
                error = payload["error"]
                message = error.get("message") if isinstance(error, dict) else None
                raise openai.APIError(
                    message if isinstance(message, str) and message else "An error occurred during streaming",
                    response.http_request,
                    body=error,
                )
            if not isinstance(payload, dict):
                raise ValueError("a streamed event is not a JSON object")
            yield payload
    except httpx2.TimeoutException as error:
        raise openai.APITimeoutError(request=response.http_request) from error
    except (httpx2.RequestError, ssl.SSLError) as error:
        raise openai.APIConnectionError(request=response.http_request) from error


def _image_params(request: ImageRequest) -> dict[str, Any]:
    """The request's options as the GPT image models name them; nothing they lack (no style,
    no response_format: they always answer base64)."""
    params: dict[str, Any] = {"size": request.size, "n": request.n, "output_format": request.output_format or "png"}
    if request.quality is not None:
        params["quality"] = request.quality
    if request.background is not None:
        params["background"] = request.background
    return params


def _decoded(b64: object) -> GeneratedImage:
    if not isinstance(b64, str) or not b64:
        raise ServiceUnavailable("malformed_response", "an image came without b64_json")
    try:
        # pybase64 (SIMD): 0.07 ms for a 1 MiB image where the standard library's decoder takes 6 ms, the
        # largest piece of the worker's CPU per image after Azure answers (BENCHMARKS.md). Strict, like
        # `binascii.a2b_base64(strict_mode=True)`: anything outside the alphabet or bad padding raises.
        content = pybase64.b64decode(b64, validate=True)
    except (binascii.Error, ValueError) as exc:
        raise ServiceUnavailable("malformed_response", "b64_json is not base64") from exc
    media_type = sniff_image_type(content)
    if media_type not in ("image/png", "image/jpeg"):
        raise ServiceUnavailable("malformed_response", "the image is neither PNG nor JPEG")
    return GeneratedImage(content, media_type)


def _usage(raw: object) -> TokenUsage | None:
    if not isinstance(raw, dict):
        return None
    details = raw.get("input_tokens_details") if isinstance(raw.get("input_tokens_details"), dict) else {}
    assert isinstance(details, dict)

    def count(mapping: dict[str, Any], key: str) -> int:
        value = mapping.get(key)
        return value if isinstance(value, int) else 0

    text = count(details, "text_tokens") if details else count(raw, "input_tokens")
    return TokenUsage(text, count(details, "image_tokens"), count(raw, "output_tokens"))


def _detail(error: dict[str, Any], status: int | None = None) -> str:
    prefix = f"HTTP {status} " if status else ""
    return f"{prefix}{error.get('code') or ''}: {str(error.get('message') or '')[:300]}"


def content_or_invalid(error: dict[str, Any], *, status: int) -> ImageGenerationError:
    """A refusal's body: the content filter (prompt or output, told apart by Azure's message) or invalid."""
    code = str(error.get("code") or "")
    inner = error.get("inner_error")
    inner_code = str(inner.get("code") or "") if isinstance(inner, dict) else ""
    if code in CONTENT_CODES or inner_code in CONTENT_CODES:
        message = str(error.get("message") or "").lower()
        # §7.2: "Generated image was filtered…" is the output filter; a 400 or "Your task failed…" is
        # the prompt's.
        stage: Literal["prompt", "output"] = (
            "output" if "generated image" in message or "output" in message else "prompt"
        )
        return ContentRejected(stage, _detail(error, status))
    return InvalidRequest("azure_invalid_request", _detail(error, status))


def retry_after_s(headers: httpx2.Headers | Any) -> float | None:
    """Azure's hint in seconds: `retry-after-ms` first, then `retry-after` (the SDK's order)."""
    for name, scale in (("retry-after-ms", 0.001), ("retry-after", 1.0)):
        raw = headers.get(name)
        try:
            value = float(raw) * scale if raw is not None else None
        except ValueError:
            value = None
        if value is not None and value >= 0:
            return value
    return None


def classify_status(status: int, error: dict[str, Any], headers: Any, deployment: str) -> ImageGenerationError:
    """An HTTP refusal as one of the typed errors (§6, §7)."""
    code = str(error.get("code") or status)
    detail = _detail(error, status)
    if status == 429:
        return RateLimited(detail, retry_after_s(headers))
    if status in (408, 409) or status >= 500:
        return ServiceUnavailable("service_unavailable", detail, retry_after_s(headers))
    if status in (401, 403):
        return Misconfigured("azure_auth_failed", detail)
    if status in (404, 410) and (code == "DeploymentNotFound" or status == 410):
        return DeploymentNotFound(deployment, detail)
    if status == 404:
        return Misconfigured("azure_not_found", detail)
    if status == 400 and "deprecat" in code.lower() + str(error.get("message") or "").lower():
        return DeploymentNotFound(deployment, detail)  # a retired model's deployment (§6)
    if status == 400:
        return content_or_invalid(error, status=status)
    return InvalidRequest("azure_rejected_request", detail)


@contextlib.contextmanager
def _mapped_errors(deployment: str) -> Iterator[None]:
    """Turns the SDK's exceptions into the bot's error hierarchy."""
    try:
        yield
    except ImageGenerationError:
        raise
    except openai.APITimeoutError as error:
        raise ServiceUnavailable("timeout", "Azure did not answer in time") from error
    except openai.APIConnectionError as error:
        cause = type(error.__cause__).__name__
        raise ServiceUnavailable("connection_error", f"could not reach Azure: {cause}") from error
    except openai.APIStatusError as error:
        body = error.body if isinstance(error.body, dict) else {}
        raise classify_status(error.status_code, body, error.response.headers, deployment) from error
    except openai.APIError as error:  # an `error` event inside a stream, or an answer the SDK cannot read
        body = error.body if isinstance(error.body, dict) else {"message": str(error)}
        if str(body.get("code") or "") in CONTENT_CODES:
            raise content_or_invalid(body, status=200) from error
        raise ServiceUnavailable("stream_error", _detail(body)) from error
    except (ValueError, KeyError, AttributeError) as error:
        raise ServiceUnavailable("malformed_response", f"{type(error).__name__} reading the answer") from error
