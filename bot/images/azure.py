"""Azure OpenAI's image API over httpx: the only module that knows its URLs, headers and JSON.

Wire contract: shared/reference/azure-images-api.md. Three families:
- dall-e-3 (§1): synchronous POST on the deployment URL; the answer carries a 24-hour blob URL and the
  revised prompt, so the bytes are downloaded at once.
- dall-e-2 (§2): POST `images/generations:submit`, then poll the absolute `operation-location` until a
  terminal status, within an overall deadline.
- gpt-image-* (§3): synchronous POST on the deployment URL; base64 images and token usage.
Every refusal is mapped onto the hierarchy in `bot.images.generator` (classification table: §4.8).
"""

from __future__ import annotations

import base64
import binascii
import logging
import time
from collections.abc import Callable
from typing import Any

import httpx
from pydantic import SecretStr

from bot.images.generator import (
    ContentRejected,
    GeneratedImage,
    ImageGenerationError,
    ImageResult,
    InvalidRequest,
    Misconfigured,
    RateLimited,
    ServiceUnavailable,
    TokenUsage,
)
from bot.request import Family, ImageRequest

log = logging.getLogger(__name__)

DEFAULT_API_VERSIONS = {
    Family.DALL_E_2: "2023-06-01-preview",  # the only versions with the :submit flow
    Family.DALL_E_3: "2024-10-21",  # latest GA version
    Family.GPT_IMAGE: "2025-04-01-preview",  # first version with gpt-image-1
}
# Azure's own error codes for a refused prompt or image (§4.1, §4.2, §3.3).
_CONTENT_CODES = frozenset(
    {"content_policy_violation", "contentFilter", "ResponsibleAIPolicyViolation", "moderation_blocked"}
)
_TERMINAL_FAILURES = frozenset({"failed", "canceled", "deleted"})
_MAX_REDIRECTS = 3
_DOWNLOAD_DEADLINE_S = 120.0


class AzureOpenAIImages:
    """An `ImageGenerator` for one Azure OpenAI deployment."""

    def __init__(
        self,
        *,
        endpoint: str,
        api_key: SecretStr,
        deployment: str,
        model: str,
        http: httpx.Client,
        api_version: str | None = None,
        timeout_s: float = 180.0,
        poll_interval_s: float = 1.0,
        max_image_bytes: int = 20 * 1024 * 1024,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self._endpoint = endpoint.rstrip("/")
        self._api_key = api_key
        self._deployment = deployment
        self.family = Family.of(model)
        self._api_version = api_version or DEFAULT_API_VERSIONS[self.family]
        self._http = http
        self._timeout_s = timeout_s
        self._poll_interval_s = poll_interval_s
        self._max_image_bytes = max_image_bytes
        self._clock = clock
        self._sleep = sleep

    def generate(self, request: ImageRequest) -> ImageResult:
        started = self._clock()
        if self.family is Family.DALL_E_2:
            items, revised, usage = self._submit_and_poll(request)
        else:
            body = self._post(self._deployment_url("images/generations"), self._sync_body(request))
            items, revised, usage = _data_items(body), _revised_prompt(body), _usage(body)
        latency_ms = round((self._clock() - started) * 1000)
        images = tuple(self._image_of(item) for item in items)
        if not images:
            raise ServiceUnavailable("malformed_response", "Azure returned no images")
        return ImageResult(images=images, revised_prompt=revised, usage=usage, latency_ms=latency_ms)

    # --- requests -----------------------------------------------------------------------------

    def _sync_body(self, request: ImageRequest) -> dict[str, Any]:
        body: dict[str, Any] = {"prompt": request.prompt, "n": request.n, "size": request.size}
        if self.family is Family.DALL_E_3:
            body.update(quality=request.quality, style=request.style, response_format="url")
        else:
            # gpt-image always answers in base64 and refuses `response_format` (§3.1).
            body.update(quality=request.quality, output_format=request.output_format or "png")
            if request.background is not None:
                body["background"] = request.background
        return body

    def _deployment_url(self, operation: str) -> str:
        return f"{self._endpoint}/openai/deployments/{self._deployment}/{operation}"

    def _headers(self) -> dict[str, str]:
        return {"api-key": self._api_key.get_secret_value()}

    def _post(self, url: str, body: dict[str, Any]) -> dict[str, Any]:
        response = self._send("POST", url, json=body)
        return _json_or_raise(response)

    def _send(self, method: str, url: str, **kwargs: Any) -> httpx.Response:
        try:
            response = self._http.request(
                method,
                url,
                params={"api-version": self._api_version} if "api-version=" not in url else None,
                headers=self._headers(),
                timeout=httpx.Timeout(self._timeout_s, connect=10.0),
                **kwargs,
            )
        except httpx.TimeoutException as exc:
            raise ServiceUnavailable("timeout", f"{method} {_path(url)} timed out: {type(exc).__name__}") from exc
        except httpx.TransportError as exc:
            raise ServiceUnavailable("connection_error", f"{method} {_path(url)} failed: {type(exc).__name__}") from exc
        if response.status_code >= 300:
            raise _error_for(response)
        return response

    def _submit_and_poll(self, request: ImageRequest) -> tuple[list[dict[str, Any]], str | None, TokenUsage | None]:
        deadline = self._clock() + self._timeout_s
        submitted = self._send(
            "POST",
            f"{self._endpoint}/openai/images/generations:submit",
            json={"prompt": request.prompt, "n": request.n, "size": request.size},
        )
        location = submitted.headers.get("operation-location")
        if not location:
            raise ServiceUnavailable("malformed_response", "submit answered without operation-location")
        while True:
            poll = self._send("GET", location)
            body = _json_or_raise(poll)
            status = body.get("status")
            if status == "succeeded":
                result = body.get("result")
                # The docs show `data` both under `result` and at the top level (§2.2).
                source = result if isinstance(result, dict) else body
                return _data_items(source), None, None
            if status in _TERMINAL_FAILURES:
                raise _operation_error(status, body.get("error"))
            if status not in ("notRunning", "running"):
                raise ServiceUnavailable("malformed_response", f"unknown operation status {status!r}")
            wait = _retry_after(poll.headers)
            wait = self._poll_interval_s if wait is None else wait
            if self._clock() + wait > deadline:
                raise ServiceUnavailable("timeout", f"dall-e-2 operation still {status} after {self._timeout_s:.0f} s")
            self._sleep(wait)

    # --- images -------------------------------------------------------------------------------

    def _image_of(self, item: dict[str, Any]) -> GeneratedImage:
        error = item.get("error")
        if isinstance(error, dict):
            raise _content_or_invalid(error, default_stage="output")
        if isinstance(item.get("b64_json"), str):
            try:
                content = base64.b64decode(item["b64_json"], validate=True)
            except (binascii.Error, ValueError) as exc:
                raise ServiceUnavailable("malformed_response", "b64_json is not base64") from exc
            return GeneratedImage(content, _sniff_media_type(content))
        if isinstance(item.get("url"), str):
            return self._download(item["url"])
        raise ServiceUnavailable("malformed_response", "an image item has neither url nor b64_json")

    def _download(self, url: str) -> GeneratedImage:
        """Fetch exactly the URL Azure returned: no auth header, few redirects, an image, bounded size."""
        timeout = httpx.Timeout(30.0, connect=10.0)
        # Per-read timeouts alone let a server that trickles bytes hold a worker indefinitely.
        deadline = self._clock() + _DOWNLOAD_DEADLINE_S
        request = self._http.build_request("GET", url, timeout=timeout)
        try:
            for _ in range(_MAX_REDIRECTS + 1):
                response = self._http.send(request, stream=True, follow_redirects=False)
                try:
                    if response.is_redirect:
                        target = response.url.join(response.headers.get("location", ""))
                        request = self._http.build_request("GET", target, timeout=timeout)
                        continue
                    return self._read_image(response, deadline)
                finally:
                    response.close()
        except httpx.TimeoutException as exc:
            raise ServiceUnavailable("timeout", "image download timed out") from exc
        except httpx.TransportError as exc:
            raise ServiceUnavailable("connection_error", f"image download failed: {type(exc).__name__}") from exc
        raise ServiceUnavailable("image_download_failed", f"more than {_MAX_REDIRECTS} redirects")

    def _read_image(self, response: httpx.Response, deadline: float) -> GeneratedImage:
        if response.status_code != 200:
            # Blob URLs expire after 24 h (403 AuthenticationFailed); a new attempt gets a fresh one.
            code = "image_expired" if response.status_code in (403, 404) else "image_download_failed"
            raise ServiceUnavailable(code, f"image download answered HTTP {response.status_code}")
        media_type = response.headers.get("content-type", "").split(";")[0].strip().lower()
        if not media_type.startswith("image/"):
            raise ServiceUnavailable("image_download_failed", f"image URL served {media_type!r}")
        if int(response.headers.get("content-length") or 0) > self._max_image_bytes:
            raise ServiceUnavailable("image_too_large", f"image is over {self._max_image_bytes} bytes")
        chunks, total = [], 0
        for chunk in response.iter_bytes():
            if self._clock() > deadline:
                raise ServiceUnavailable("timeout", f"image download took over {_DOWNLOAD_DEADLINE_S:.0f} s")
            total += len(chunk)
            if total > self._max_image_bytes:
                raise ServiceUnavailable("image_too_large", f"image is over {self._max_image_bytes} bytes")
            chunks.append(chunk)
        content = b"".join(chunks)
        return GeneratedImage(content, _sniff_media_type(content, fallback=media_type))


# --- response classification (§4.8) -------------------------------------------------------------


def _json_or_raise(response: httpx.Response) -> dict[str, Any]:
    try:
        body = response.json()
    except ValueError as exc:
        raise ServiceUnavailable("malformed_response", f"HTTP {response.status_code} body is not JSON") from exc
    if not isinstance(body, dict):
        raise ServiceUnavailable("malformed_response", "response body is not a JSON object")
    # An output-filtered image can come back as HTTP 200 with a top-level error (§4.2).
    error = body.get("error")
    if isinstance(error, dict) and "data" not in body and "status" not in body:
        raise _content_or_invalid(error, default_stage="output")
    return body


def _error_for(response: httpx.Response) -> ImageGenerationError:
    status = response.status_code
    try:
        payload = response.json()
    except ValueError:
        payload = {}
    error = payload.get("error") if isinstance(payload, dict) else None
    error = error if isinstance(error, dict) else {}
    code = str(error.get("code") or status)
    detail = f"HTTP {status} {code}: {str(error.get('message') or '')[:300]}"
    retry_after = _retry_after(response.headers)
    if status == 429:
        return RateLimited(detail, retry_after)
    if status in (408, 409) or status >= 500:
        return ServiceUnavailable("service_unavailable", detail, retry_after)
    if status in (401, 403):
        return Misconfigured("azure_auth_failed", detail)
    if status == 404:
        kind = "azure_deployment_not_found" if code == "DeploymentNotFound" else "azure_not_found"
        return Misconfigured(kind, detail)
    if status == 400:
        return _content_or_invalid(error, default_stage="prompt", status=status)
    return InvalidRequest("azure_rejected_request", detail)


def _content_or_invalid(
    error: dict[str, Any], *, default_stage: str, status: int | None = None
) -> ImageGenerationError:
    code = str(error.get("code") or "")
    inner = error.get("inner_error")
    inner_code = str(inner.get("code") or "") if isinstance(inner, dict) else ""
    message = str(error.get("message") or "")
    detail = f"{'HTTP ' + str(status) + ' ' if status else ''}{code}: {message[:300]}"
    if code in _CONTENT_CODES or inner_code in _CONTENT_CODES:
        stage = "output" if "generated image" in message.lower() else default_stage
        return ContentRejected("output" if stage == "output" else "prompt", detail)
    return InvalidRequest("azure_invalid_request", detail)


def _operation_error(status: str, error: Any) -> ImageGenerationError:
    if isinstance(error, dict) and str(error.get("code") or "") in _CONTENT_CODES:
        return _content_or_invalid(error, default_stage="prompt")
    message = str(error.get("message") or "") if isinstance(error, dict) else ""
    # `canceled` means Azure timed the task out; `failed`/`deleted` without a policy code are transient.
    return ServiceUnavailable(f"operation_{status}", f"dall-e-2 operation {status}: {message[:300]}")


def _retry_after(headers: httpx.Headers) -> float | None:
    """Azure's hint in seconds: `retry-after-ms` first, then `retry-after` (the SDK's order, §6)."""
    for name, scale in (("retry-after-ms", 0.001), ("retry-after", 1.0)):
        raw = headers.get(name)
        if raw is None:
            continue
        try:
            value = float(raw) * scale
        except ValueError:
            continue
        if value >= 0:
            return value
    return None


def _data_items(body: dict[str, Any]) -> list[dict[str, Any]]:
    data = body.get("data")
    if not isinstance(data, list):
        raise ServiceUnavailable("malformed_response", "response has no data list")
    return [item for item in data if isinstance(item, dict)]


def _revised_prompt(body: dict[str, Any]) -> str | None:
    for item in _data_items(body):
        revised = item.get("revised_prompt")
        if isinstance(revised, str) and revised.strip():
            return revised
    return None


def _usage(body: dict[str, Any]) -> TokenUsage | None:
    usage = body.get("usage")
    if not isinstance(usage, dict):
        return None

    def count(key: str) -> int | None:
        value = usage.get(key)
        return value if isinstance(value, int) else None

    return TokenUsage(count("input_tokens"), count("output_tokens"), count("total_tokens"))


def _sniff_media_type(content: bytes, fallback: str = "image/png") -> str:
    if content.startswith(b"\x89PNG\r\n\x1a\n"):
        return "image/png"
    if content.startswith(b"\xff\xd8\xff"):
        return "image/jpeg"
    return fallback


def _path(url: str) -> str:
    # Log lines name the path only: the query may carry a SAS signature.
    return httpx.URL(url).path
