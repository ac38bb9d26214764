"""The image-making routes: which deployment a request means, whether its path and api-version fit, and how
its answer is made. `AzureEmulator` owns the state and the shared pipeline; this module decides the rest.

Section numbers refer to docs/contracts/azure-openai-images.md.
"""

from __future__ import annotations

import re
import time
from typing import TYPE_CHECKING, Final, Literal

from devkit.azure.dalle import DallEParams, check_dalle, dalle3_answer
from devkit.azure.edits import EditInputs, auto_edit_size, check_edit_files
from devkit.azure.faults import ContentPolicy, Fault, Malformed, StreamBreaks
from devkit.azure.gpt_image import ImageJob, break_connection, images_answer, stream_answer
from devkit.azure.models import Family
from devkit.azure.params import ImageParams, check_gpt_image
from devkit.azure.recording import ParsedBody
from devkit.azure.responses_api import (
    IMAGE_DEPLOYMENT_HEADER,
    ResponsesRequest,
    read_responses_request,
    responses_answer,
    tool_fields,
)
from devkit.azure.wire import (
    bad_request,
    deployment_not_found,
    error_response,
    operation_not_supported,
    policy_violation,
    resource_not_found,
)
from devkit.http import Request, Response

if TYPE_CHECKING:
    from devkit.azure.emulator import AzureEmulator, Call

__all__ = ["Routes"]

# §6.2: the api-versions each family answers on the deployments path; anything else is "Resource not found".
DALLE2_VERSIONS: Final = frozenset({"2023-06-01-preview", "2023-07-01-preview", "2023-08-01-preview"})
_DALLE3_VERSIONS: Final = frozenset(
    {
        "2023-12-01-preview",
        "2024-02-01",
        "2024-02-15-preview",
        "2024-03-01-preview",
        "2024-04-01-preview",
        "2024-05-01-preview",
        "2024-06-01",
        "2024-10-21",
    }
)
_PREVIEW = re.compile(r"(\d{4}-\d{2}-\d{2})-preview")
_GPT_IMAGE_FIRST: Final = "2025-04-01"
_V1_VERSIONS: Final = frozenset({"preview", "latest", "v1"})  # §1.2, or none at all


def _version_supported(family: Family, api_version: str) -> bool:
    preview = _PREVIEW.fullmatch(api_version)
    if family == "dall-e-2":
        return api_version in DALLE2_VERSIONS
    if family == "dall-e-3":
        return api_version in _DALLE3_VERSIONS or (preview is not None and api_version.startswith("2025-"))
    return preview is not None and preview.group(1) >= _GPT_IMAGE_FIRST


def _no_json() -> Response:
    return bad_request("invalid_json", "We could not parse the JSON body of your request.", None)


def _not_multipart() -> Response:
    return bad_request(
        "invalid_request_error", "The image edit API takes multipart/form-data, not a JSON body.", "content-type"
    )


class Routes:
    """Generations, edits, the Responses API and DALL-E 2's submit, for one `AzureEmulator`."""

    dalle2_versions: Final = DALLE2_VERSIONS

    def __init__(self, emulator: AzureEmulator) -> None:
        self._emulator = emulator

    # -- reading a request ----------------------------------------------------------------------------------

    def deployment_named(
        self,
        operation: str,
        path_deployment: str | None,
        operation_id: str | None,
        parsed: ParsedBody,
        request: Request,
    ) -> str | None:
        """The deployment a request is for, as recorded: path, `model` field, image header, or the operation's."""
        if path_deployment is not None:
            return path_deployment
        fields = parsed.fields or {}
        if operation in ("generate", "edit"):
            model = fields.get("model")
            return model if isinstance(model, str) else None
        if operation == "responses":
            header = request.headers.get(IMAGE_DEPLOYMENT_HEADER)
            model = fields.get("model")
            return header if header else model if isinstance(model, str) else None
        if operation == "submit":
            return self._dalle2_deployment()
        if operation == "poll" and operation_id is not None:
            return self._emulator.operations.deployment_of(operation_id)
        return None

    def _dalle2_deployment(self) -> str | None:
        retired = self._emulator.state.retired
        models = self._emulator.image_deployments
        return next((n for n, m in models.items() if m == "dall-e-2" and n not in retired), None)

    def _resolve(self, name: str, label: str, families: frozenset[Family]) -> tuple[str, str, Family] | Response:
        """§6: an image deployment that exists, is not retired and whose model does `label`."""
        emulator = self._emulator
        if name in emulator.state.retired:
            return deployment_not_found()
        if name in emulator.chat_deployments:
            return operation_not_supported(label, name)
        model = emulator.image_deployments.get(name)
        if model is None:
            return deployment_not_found()
        family: Family = (
            "gpt-image" if model.startswith("gpt-image") else "dall-e-3" if model == "dall-e-3" else "dall-e-2"
        )
        if family not in families:
            return operation_not_supported(label, model)
        return name, model, family

    def policy_answer(self, fault: ContentPolicy) -> Response:
        return policy_violation(fault.revised_prompt)

    # -- dispatch -------------------------------------------------------------------------------------------

    def dispatch(self, request: Request, parsed: ParsedBody, call: Call, path_deployment: str | None) -> Response:
        if call.operation == "submit":
            return self._submit(parsed, call)
        if path_deployment is not None:
            return self._deployments_path(parsed, call, path_deployment)
        if call.api_version is not None and call.api_version not in _V1_VERSIONS:
            return error_response(400, "BadRequest", "API version not supported")  # §1.2
        if call.operation == "responses":
            return self._responses(request, parsed, call)
        kind: Literal["generate", "edit"] = "generate" if call.operation == "generate" else "edit"
        if kind == "edit" and request.mimetype != "multipart/form-data":
            return _not_multipart()
        if kind == "generate" and parsed.fields is None:
            return _no_json()
        name = (parsed.fields or {}).get("model")
        if not isinstance(name, str) or not name:
            return bad_request("missing_required_parameter", "Missing required parameter: 'model'.", "model")
        families: frozenset[Family] = frozenset({"gpt-image", "dall-e-3"} if kind == "generate" else {"gpt-image"})
        resolved = self._resolve(name, f"images {kind}", families)
        if isinstance(resolved, Response):
            return resolved
        if resolved[2] == "dall-e-3":
            return self._dalle3(parsed, call, name)
        return self._gpt_image(parsed, call, kind, name, resolved[1])

    def _deployments_path(self, parsed: ParsedBody, call: Call, name: str) -> Response:
        """§1.3, §6.2: the older `/openai/deployments/{d}/images/...?api-version=` routes."""
        version = call.api_version or ""
        if call.operation == "edit":
            if not _version_supported("gpt-image", version):
                return resource_not_found()
            resolved = self._resolve(name, "images edits", frozenset({"gpt-image"}))
            if isinstance(resolved, Response):
                return resolved
            if parsed.fields is None and not parsed.images:
                return _not_multipart()
            return self._gpt_image(parsed, call, "edit", name, resolved[1])
        if not any(_version_supported(f, version) for f in ("dall-e-2", "dall-e-3", "gpt-image")):
            return resource_not_found()
        resolved = self._resolve(name, "images generations", frozenset({"gpt-image", "dall-e-3", "dall-e-2"}))
        if isinstance(resolved, Response):
            return resolved
        family = resolved[2]
        if family == "dall-e-2" or not _version_supported(family, version):
            return resource_not_found()
        if family == "dall-e-3":
            return self._dalle3(parsed, call, name)
        return self._gpt_image(parsed, call, "generate", name, resolved[1])

    # -- GPT image models (§2, §3, §4) ------------------------------------------------------------------------

    def _gpt_image(
        self, parsed: ParsedBody, call: Call, kind: Literal["generate", "edit"], name: str, model: str
    ) -> Response:
        emulator = self._emulator

        def check() -> tuple[ImageParams, EditInputs | None] | Response:
            if parsed.fields is None and kind == "generate":
                return _no_json()
            params = check_gpt_image(parsed.fields or {}, model, kind, multipart=kind == "edit")
            if isinstance(params, Response):
                return params
            inputs = check_edit_files(parsed) if kind == "edit" else None
            if isinstance(inputs, Response):
                return inputs
            return params, inputs

        def answer(checked: tuple[ImageParams, EditInputs | None], fault: Fault | None) -> Response:
            params, inputs = checked
            size = params.size or (auto_edit_size(inputs.first_size) if inputs is not None else (1024, 1024))
            assert call.k is not None
            job = ImageJob(
                kind=kind,
                params=params,
                width=size[0],
                height=size[1],
                seeds=tuple(emulator.state.image_seed(params.prompt, call.k, i) for i in range(params.n)),
                source=inputs.source if inputs is not None else None,
                note=inputs.note if inputs is not None else None,
                image_tokens_in=inputs.image_tokens if inputs is not None else 0,
                pad_to=emulator.image_bytes,
            )
            created = int(time.time())
            if params.stream:
                call.streaming = True
                return stream_answer(job, created, fault, hold=lambda: call.gate.hold() if call.gate else None)
            return images_answer(job, created, fault)

        return emulator.pipeline(call, name, check, answer)

    # -- DALL-E (§9) -----------------------------------------------------------------------------------------

    def _dalle3(self, parsed: ParsedBody, call: Call, name: str) -> Response:
        emulator = self._emulator

        def check() -> DallEParams | Response:
            if parsed.fields is None:
                return _no_json()
            return check_dalle("dall-e-3", parsed.fields)

        def answer(params: DallEParams, fault: Fault | None) -> Response:
            assert call.k is not None
            seed = emulator.state.image_seed(params.prompt, call.k, 0)
            created = int(time.time())
            return dalle3_answer(params, seed, created, fault, emulator.blobs, emulator.url, emulator.image_bytes)

        return emulator.pipeline(call, name, check, answer)

    def _submit(self, parsed: ParsedBody, call: Call) -> Response:
        """§9.2: DALL-E 2's `:submit`; faults about the images end up in the operation it creates."""
        emulator = self._emulator
        if call.api_version not in DALLE2_VERSIONS:
            return resource_not_found()
        name = self._dalle2_deployment()
        if name is None:  # the resource has no DALL-E 2 to run the task on
            return deployment_not_found()

        def check() -> DallEParams | Response:
            if parsed.fields is None:
                return _no_json()
            return check_dalle("dall-e-2", parsed.fields)

        def answer(params: DallEParams, fault: Fault | None) -> Response:
            if fault == Malformed("not_json"):
                return Response('{"id": "', status=200, content_type="application/json")
            if isinstance(fault, StreamBreaks):
                return break_connection(b'{"id": "00000000-0000-0000-0000-000000000000", "status": "notRunning"}')
            assert call.k is not None
            seeds = tuple(emulator.state.image_seed(params.prompt, call.k, i) for i in range(params.n))
            return emulator.operations.submit(
                name, params, seeds, fault, base_url=emulator.url, api_version=call.api_version or ""
            )

        return emulator.pipeline(call, name, check, answer)

    # -- the Responses API (§5) ------------------------------------------------------------------------------

    def _responses(self, request: Request, parsed: ParsedBody, call: Call) -> Response:
        emulator = self._emulator
        if parsed.fields is None:
            return _no_json()
        read = read_responses_request(parsed.fields)
        if isinstance(read, Response):
            return read
        chat = read.chat_model
        if chat in emulator.state.retired or (
            chat not in emulator.chat_deployments and chat not in emulator.image_deployments
        ):
            return deployment_not_found()
        if chat not in emulator.chat_deployments:
            return operation_not_supported("responses", emulator.image_deployments[chat])
        image: tuple[str, str, Family] | None = None
        if read.image_tool is not None:
            header = request.headers.get(IMAGE_DEPLOYMENT_HEADER)
            if not header:
                return bad_request(
                    "missing_required_header",
                    f"The image_generation tool needs the header '{IMAGE_DEPLOYMENT_HEADER}' naming the image "
                    "model deployment to use.",
                    IMAGE_DEPLOYMENT_HEADER,
                )
            resolved = self._resolve(header, "image_generation", frozenset({"gpt-image"}))
            if isinstance(resolved, Response):
                return resolved
            image = resolved
        return self._responses_pipeline(read, call, image)

    def _responses_pipeline(
        self, read: ResponsesRequest, call: Call, image: tuple[str, str, Family] | None
    ) -> Response:
        emulator = self._emulator
        tool = read.image_tool

        def check() -> ImageParams | Response | None:
            if tool is None or image is None:
                return None
            return check_gpt_image(tool_fields(tool), image[1], "tool")

        def answer(params: ImageParams | None, fault: Fault | None) -> Response:
            size = (params.size if params is not None else None) or (1024, 1024)
            assert call.k is not None
            seed = emulator.state.image_seed(read.prompt, call.k, 0)
            created = int(time.time())
            model = image[1] if image is not None else None
            return responses_answer(read, params, model, size, seed, created, fault, emulator.image_bytes)

        quota_name = image[0] if image is not None else read.chat_model
        return emulator.pipeline(call, quota_name, check, answer)
