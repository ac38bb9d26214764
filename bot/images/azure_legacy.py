"""The retired DALL·E deployments, for Azure resources that still serve them (hand-written over httpx).

- dall-e-3: a synchronous POST on the deployment URL; the answer carries a 24-hour blob URL and the
  revised prompt, so the bytes are downloaded at once, within size, type, redirect and time limits.
- dall-e-2: POST `images/generations:submit`, then poll the absolute `operation-location` until a
  terminal status, within an overall deadline. The `openai` SDK has no operation for this flow.
Both are kept as they were written and tested before the models retired, rather than ported to the
SDK: nobody can deploy them any more. docs/contracts/azure-openai-images.md §9.
"""

from __future__ import annotations

import base64
import binascii
import time
from collections.abc import Callable, Sequence
from typing import Any

import httpx
from pydantic import SecretStr

from bot.images.azure import classify_status, content_or_invalid
from bot.images.generator import (
    ContentRejected,
    GeneratedImage,
    ImageGenerationError,
    ImageResult,
    InvalidRequest,
    OnPartial,
    ServiceUnavailable,
)
from bot.images.models import Deployment, Family
from bot.images.request import ImageRequest, InputImage, sniff_image_type

DEFAULT_API_VERSIONS = {Family.DALL_E_2: "2023-06-01-preview", Family.DALL_E_3: "2024-10-21"}
_TERMINAL_FAILURES = frozenset({"failed", "canceled", "deleted"})
_MAX_REDIRECTS = 3
_DOWNLOAD_DEADLINE_S = 120.0


class LegacyAzureImages:
    """An `ImageGenerator` for one dall-e-3 or dall-e-2 deployment."""

    def __init__(
        self,
        *,
        endpoint: str,
        api_key: SecretStr,
        deployment: Deployment,
        http: httpx.Client,
        api_version: str | None = None,
        timeout_s: float = 180.0,
        poll_interval_s: float = 1.0,
        max_image_bytes: int = 20 * 1024 * 1024,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        if deployment.family not in DEFAULT_API_VERSIONS:
            raise ValueError(f"{deployment.model} is not a DALL·E model")
        self._endpoint = endpoint.rstrip("/")
        self._api_key = api_key
        self._deployment = deployment
        self._api_version = api_version or DEFAULT_API_VERSIONS[deployment.family]
        self._http = http
        self._timeout_s = timeout_s
        self._poll_interval_s = poll_interval_s
        self._max_image_bytes = max_image_bytes
        self._clock = clock
        self._sleep = sleep

    def generate(self, request: ImageRequest, *, on_partial: OnPartial | None = None) -> ImageResult:
        started = self._clock()
        if self._deployment.family is Family.DALL_E_2:
            items, revised = self._submit_and_poll(request), None
        else:
            body = _json_or_raise(
                self._send(
                    "POST",
                    f"{self._endpoint}/openai/deployments/{self._deployment.name}/images/generations",
                    json={
                        "prompt": request.prompt,
                        "n": request.n,
                        "size": request.size,
                        "quality": request.quality,
                        "style": request.style,
                        "response_format": "url",
                    },
                )
            )
            items, revised = _data_items(body), _revised_prompt(body)
        images = tuple(self._image_of(item) for item in items)
        if not images:
            raise ServiceUnavailable("malformed_response", "Azure returned no images")
        return ImageResult(images, revised, None, round((self._clock() - started) * 1000))

    def edit(
        self,
        request: ImageRequest,
        images: Sequence[InputImage],
        *,
        mask: InputImage | None = None,
        on_partial: OnPartial | None = None,
    ) -> ImageResult:
        raise InvalidRequest("edits_unsupported", f"{self._deployment.model} has no edits")

    def _send(self, method: str, url: str, **kwargs: Any) -> httpx.Response:
        try:
            response = self._http.request(
                method,
                url,
                params={"api-version": self._api_version} if "api-version=" not in url else None,
                headers={"api-key": self._api_key.get_secret_value()},
                timeout=httpx.Timeout(self._timeout_s, connect=10.0),
                **kwargs,
            )
        except httpx.TimeoutException as exc:
            raise ServiceUnavailable("timeout", f"{method} {_path(url)} timed out") from exc
        except httpx.TransportError as exc:
            raise ServiceUnavailable("connection_error", f"{method} {_path(url)} failed: {type(exc).__name__}") from exc
        if response.status_code >= 300:
            try:
                payload = response.json()
            except ValueError:
                payload = {}
            error = payload.get("error") if isinstance(payload, dict) else None
            raise classify_status(
                response.status_code, error if isinstance(error, dict) else {}, response.headers, self._deployment.name
            )
        return response

    def _submit_and_poll(self, request: ImageRequest) -> list[dict[str, Any]]:
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
                # The docs show `data` both under `result` and at the top level.
                return _data_items(result if isinstance(result, dict) else body)
            if status in _TERMINAL_FAILURES:
                raise _operation_error(status, body.get("error"))
            if status not in ("notRunning", "running"):
                raise ServiceUnavailable("malformed_response", f"unknown operation status {status!r}")
            hint = poll.headers.get("retry-after")
            wait = float(hint) if hint and hint.replace(".", "", 1).isdigit() else self._poll_interval_s
            if self._clock() + wait > deadline:
                raise ServiceUnavailable("timeout", f"dall-e-2 operation still {status} after {self._timeout_s:.0f} s")
            self._sleep(wait)

    def _image_of(self, item: dict[str, Any]) -> GeneratedImage:
        error = item.get("error")
        if isinstance(error, dict):
            rejected = content_or_invalid(error, status=200)
            if isinstance(rejected, ContentRejected):
                raise ContentRejected("output", rejected.detail)  # a per-image error is the output filter
            raise rejected
        if isinstance(item.get("b64_json"), str):
            try:
                content = base64.b64decode(item["b64_json"], validate=True)
            except (binascii.Error, ValueError) as exc:
                raise ServiceUnavailable("malformed_response", "b64_json is not base64") from exc
            return GeneratedImage(content, sniff_image_type(content) or "image/png")
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
        return GeneratedImage(content, sniff_image_type(content) or media_type)


def _json_or_raise(response: httpx.Response) -> dict[str, Any]:
    try:
        body = response.json()
    except ValueError as exc:
        raise ServiceUnavailable("malformed_response", f"HTTP {response.status_code} body is not JSON") from exc
    if not isinstance(body, dict):
        raise ServiceUnavailable("malformed_response", "response body is not a JSON object")
    error = body.get("error")  # a 200 with a top-level error is the content filter
    if isinstance(error, dict) and "data" not in body and "status" not in body:
        raise content_or_invalid(error, status=200)
    return body


def _operation_error(status: str, error: Any) -> ImageGenerationError:
    if isinstance(error, dict):
        refused = content_or_invalid(error, status=200)
        if isinstance(refused, ContentRejected):
            return refused
    message = str(error.get("message") or "") if isinstance(error, dict) else ""
    # `canceled` means Azure timed the task out; `failed`/`deleted` without a policy code are transient.
    return ServiceUnavailable(f"operation_{status}", f"dall-e-2 operation {status}: {message[:300]}")


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


def _path(url: str) -> str:
    # Log lines name the path only: the query may carry a SAS signature.
    return httpx.URL(url).path
