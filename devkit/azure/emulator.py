"""`AzureEmulator`: Azure OpenAI's image APIs of December 2026 on a loopback port, with scriptable faults.

docs/contracts/azure-openai-images.md is the specification; its section numbers appear in the comments.
Checks run in Azure's order: route, auth, api-version, deployment, the quota, then the request body; only
a call that passes all of them takes a queued fault (§7).
"""

from __future__ import annotations

import hmac
import re
import time
import uuid
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Final, TypeVar
from urllib.parse import unquote

from devkit.azure.blobs import BLOB_PREFIX, BlobStore
from devkit.azure.faults import (
    ContentPolicy,
    DeploymentGone,
    Fault,
    Gate,
    Malformed,
    OperationStatus,
    RateLimited,
    ServerError,
)
from devkit.azure.models import family_of
from devkit.azure.operations import OperationBook
from devkit.azure.quota import Admission, Refusal, RequestQuota
from devkit.azure.recording import (
    IMAGE_OPERATIONS,
    OPERATIONS,
    Operation,
    ParsedBody,
    Recorded,
    parse_body,
    redacted_headers,
    wants_stream,
)
from devkit.azure.routes import Routes
from devkit.azure.state import EmulatorState
from devkit.azure.wire import (
    DEFAULT_RPM,
    deployment_not_found,
    resource_not_found,
    server_error,
    too_many_requests,
    unauthorized,
)
from devkit.http import LoopbackServer, Request, Response

__all__ = ["DEFAULT_CHAT_DEPLOYMENTS", "DEFAULT_DEPLOYMENTS", "AzureEmulator"]

DEFAULT_DEPLOYMENTS: Final[Mapping[str, str]] = {
    "gpt-image-2": "gpt-image-2",
    "gpt-image-1-mini": "gpt-image-1-mini",
    "gpt-image-1.5": "gpt-image-1.5",
    "dalle3": "dall-e-3",
    "dalle2": "dall-e-2",
}
DEFAULT_CHAT_DEPLOYMENTS: Final[frozenset[str]] = frozenset({"gpt-5.4-mini"})

_T = TypeVar("_T")
_V1_IMAGES = re.compile(r"/openai/v1/images/(generations|edits)")
_DEPLOYMENT_IMAGES = re.compile(r"/openai/deployments/([^/]+)/images/(generations|edits)")
_SUBMIT = "/openai/images/generations:submit"
_OPERATION = re.compile(r"/openai/operations/images/([^/]+)")
_RESPONSES = "/openai/v1/responses"
_POLL_FAULTS: Final = (RateLimited, ServerError, DeploymentGone)
_OPERATION_IDS: Final = {  # §7.3: the spec operationId a 429 message names
    "generate": "ImageGenerations_Create",
    "edit": "ImageEdits_Create",
    "responses": "Responses_Create",
    "submit": "ImageGenerations_Submit",
    "poll": "ImageGenerations_GetOperation",
}


@dataclass
class Call:
    """One request in flight: what it is, its call number, the gate holding it, how it is answered."""

    operation: Operation
    k: int | None
    api_version: str | None
    gate: Gate | None = None
    streaming: bool = False  # a stream holds its gate itself, between the partial images and the end


def _classify(request: Request) -> tuple[Operation, str | None, str | None]:
    """The operation a request asks for, with the deployment or operation id its path names."""
    path, method = request.path, request.method
    if method in ("GET", "HEAD") and path.startswith(BLOB_PREFIX):
        return "blob", None, None
    if method == "POST":
        if match := _V1_IMAGES.fullmatch(path):
            return ("generate" if match.group(1) == "generations" else "edit"), None, None
        if match := _DEPLOYMENT_IMAGES.fullmatch(path):
            return ("generate" if match.group(2) == "generations" else "edit"), unquote(match.group(1)), None
        if path == _RESPONSES:
            return "responses", None, None
        if path == _SUBMIT:
            return "submit", None, None
    if method in ("GET", "DELETE") and (match := _OPERATION.fullmatch(path)):
        return "poll", None, match.group(1)
    return "other", None, None


class AzureEmulator(LoopbackServer):
    """Azure OpenAI's image endpoints (GPT image models, the Responses image tool, legacy DALL-E) on a loopback
    port, recording every request; faults, pauses, quotas and retirements are scripted from the test."""

    def __init__(
        self,
        *,
        deployments: Mapping[str, str] = DEFAULT_DEPLOYMENTS,
        chat_deployments: Iterable[str] = DEFAULT_CHAT_DEPLOYMENTS,
        api_key: str = "test-azure-key",
        rpm: Mapping[str, int] | None = None,
        clock: Callable[[], float] = time.monotonic,
        seed: int = 0,
        image_bytes: int | None = None,
        poll_retry_after_s: float = 0.0,
        image_ttl_s: float = 24 * 3600,
        host: str = "127.0.0.1",
        port: int = 0,
    ) -> None:
        super().__init__(host=host, port=port)
        self._deployments = dict(deployments)
        for model in self._deployments.values():
            family_of(model)  # refuses a model the emulator cannot play
        self._chat = frozenset(chat_deployments)
        if overlap := self._chat & self._deployments.keys():
            raise ValueError(f"deployments {sorted(overlap)} are named both as image and as chat deployments")
        if rpm is not None and (unknown := set(rpm) - self._deployments.keys() - self._chat):
            raise ValueError(f"rpm names unknown deployments: {sorted(unknown)}")
        if image_ttl_s < 0 or poll_retry_after_s < 0:
            raise ValueError("image_ttl_s and poll_retry_after_s must be >= 0")
        if image_bytes is not None and image_bytes < 0:
            raise ValueError("image_bytes must be >= 0 or None")
        self._api_key = api_key
        self._clock = clock
        self._image_bytes = image_bytes
        self._quota = RequestQuota(rpm or {}, clock)
        self._state = EmulatorState(seed)
        self._blobs = BlobStore(clock, image_ttl_s, image_bytes)
        self._operations = OperationBook(clock, self._blobs, ttl_s=image_ttl_s, retry_after_s=poll_retry_after_s)
        self._routes = Routes(self)

    # -- public controls --------------------------------------------------------------------------------

    @property
    def api_key(self) -> str:
        return self._api_key

    @property
    def deployments(self) -> dict[str, str]:
        """Image deployment name -> model name, as configured (a copy; retired ones included)."""
        return dict(self._deployments)

    def fail_next(self, *faults: Fault, operation: str | None = None) -> None:
        """Queues faults; each is taken, in order, by the next call of `operation` (None: any image-making call:
        generate, edit, responses, submit). `operation="poll"` takes RateLimited, ServerError, DeploymentGone
        or Malformed(not_json) for DALL-E 2 polls."""
        if operation is not None and operation not in IMAGE_OPERATIONS | {"poll"}:
            raise ValueError(f"faults apply to generate, edit, responses, submit or poll, not {operation!r}")
        if operation == "poll" and not all(isinstance(f, _POLL_FAULTS) or f == Malformed("not_json") for f in faults):
            raise ValueError("a poll takes only RateLimited, ServerError, DeploymentGone or Malformed(not_json)")
        with self._state.lock:
            self._state.faults.extend((operation, fault) for fault in faults)

    def retire(self, deployment: str) -> None:
        """From now on `deployment` answers 404 DeploymentNotFound (§6.1), until `reset()`."""
        if deployment not in self._deployments and deployment not in self._chat:
            raise ValueError(f"unknown deployment {deployment!r}")
        with self._state.lock:
            self._state.retired.add(deployment)

    def pause(self, operation: str | None = None) -> Gate:
        """The next matching call stops at its hold point until `gate.release()`: a stream after its partial
        images, before the completed event; any other call before its answer is sent."""
        if operation is not None and operation not in OPERATIONS - {"other"}:
            raise ValueError(f"unknown operation {operation!r}")
        return self._state.add_gate(operation)

    def recorded(self) -> list[Recorded]:
        """Every request since start or `reset()`, in the order they arrived."""
        with self._state.lock:
            return list(self._state.records)

    def calls(self, operation: str | None = None) -> list[Recorded]:
        """The image-making calls (generate, edit, responses, submit), or only those of `operation`."""
        if operation is not None and operation not in OPERATIONS:
            raise ValueError(f"unknown operation {operation!r}")
        wanted = IMAGE_OPERATIONS if operation is None else {operation}
        return [r for r in self.recorded() if r.operation in wanted]

    def expire_images(self) -> None:
        """Every DALL-E blob URL issued so far answers 403 from now on (§9.3)."""
        self._blobs.expire_all()

    def reset(self) -> None:
        """Forgets recordings, faults, gates (releasing held calls), quotas, retirements and the call counter.
        DALL-E 2 operations and issued image URLs stay, as they would on Azure."""
        self._state.reset()
        self._quota.reset()

    def stop(self) -> None:
        self._state.release_all()  # a held call would otherwise keep its thread waiting
        super().stop()

    # -- dispatch -----------------------------------------------------------------------------------------

    def handle(self, request: Request) -> Response:
        operation, path_deployment, operation_id = _classify(request)
        wants_body = request.method == "POST" and operation in IMAGE_OPERATIONS
        parsed = parse_body(request) if wants_body else ParsedBody(None)
        entry = Recorded(
            method=request.method,
            path=request.path,
            query=dict(request.args),
            headers=redacted_headers(request),
            operation=operation,
            deployment=self._routes.deployment_named(operation, path_deployment, operation_id, parsed, request),
            body=parsed.fields,
            images=parsed.images,
            mask=parsed.mask,
            stream=wants_stream(parsed.fields),
            at=self._clock(),
        )
        where, k = self._state.record(entry)
        call = Call(operation, k, request.args.get("api-version"))
        response = self._dispatch(request, parsed, call, path_deployment, operation_id)
        self._state.answered(where, response.status_code)
        response.headers["apim-request-id"] = str(uuid.uuid4())
        response.headers["x-request-id"] = str(uuid.uuid4())
        response.headers["x-ms-region"] = "emulated"
        if call.gate is not None and not call.streaming:
            call.gate.hold()
        return response

    def _dispatch(
        self, request: Request, parsed: ParsedBody, call: Call, path_deployment: str | None, operation_id: str | None
    ) -> Response:
        if call.operation == "other":
            return resource_not_found()
        if call.operation == "blob":  # §9.3: the SAS query is the credential, not the api-key
            call.gate = self._state.take_gate("blob")
            return self._blobs.serve(request)
        if not self._authorized(request):
            return unauthorized()
        call.gate = self._state.take_gate(call.operation)
        if call.operation == "poll":
            assert operation_id is not None
            return self._poll(request, call, operation_id)
        return self._routes.dispatch(request, parsed, call, path_deployment)

    def _authorized(self, request: Request) -> bool:
        """§1.4: `api-key: <key>` or `Authorization: Bearer <key>`."""
        key = request.headers.get("api-key")
        scheme, _, token = request.headers.get("authorization", "").partition(" ")
        bearer = token.strip() if scheme.lower() == "bearer" else None
        expected = self._api_key.encode()
        return any(given is not None and hmac.compare_digest(given.encode(), expected) for given in (key, bearer))

    def _poll(self, request: Request, call: Call, operation_id: str) -> Response:
        if call.api_version not in self._routes.dalle2_versions:
            return resource_not_found()
        fault = self._state.take_fault("poll")
        early = self._fault_answer(fault, call, self._operations.deployment_of(operation_id), None)
        if early is not None:
            return early
        if fault == Malformed("not_json"):
            return Response('{"created": 1698342300, "id": "', status=200, content_type="application/json")
        if request.method == "DELETE":
            return self._operations.delete(operation_id)
        return self._operations.poll(operation_id, self.url, self._image_bytes)

    # -- the part every image-making call shares (§7, §8) ---------------------------------------------------

    def pipeline(
        self,
        call: Call,
        deployment: str,
        check: Callable[[], _T | Response],
        answer: Callable[[_T, Fault | None], Response],
    ) -> Response:
        """Quota, then the request's own checks, then a queued fault or the real answer."""
        admission = self._quota.admit(deployment)
        if isinstance(admission, Refusal):
            return self._too_many(call, admission.retry_after_s, admission.rpm)
        checked = check()
        if isinstance(checked, Response):
            response = checked
        else:
            fault = self._state.take_fault(call.operation)
            early = self._fault_answer(fault, call, deployment, admission)
            if early is not None:
                return early
            response = answer(checked, fault)
        response.headers.update(admission.headers)
        return response

    def _fault_answer(
        self, fault: Fault | None, call: Call, deployment: str | None, admission: Admission | None
    ) -> Response | None:
        """The answer of a fault that replaces the call outright; None when the answer itself must change."""
        if isinstance(fault, RateLimited):
            if admission is not None:
                self._quota.give_back(admission)  # a scripted 429 never counts against the quota
            return self._too_many(call, fault.retry_after_s, self._quota.rpm_of(deployment) or DEFAULT_RPM)
        if isinstance(fault, DeploymentGone):
            return deployment_not_found()
        if isinstance(fault, ServerError):
            return server_error(fault.status)
        if call.operation != "submit":  # DALL-E 2 reports these in the operation it creates (§9.2)
            if isinstance(fault, ContentPolicy):
                return self._routes.policy_answer(fault)
            if isinstance(fault, OperationStatus):
                return server_error(500)  # a synchronous call has no operation to end
        return None

    def _too_many(self, call: Call, retry_after_s: float, rpm: int) -> Response:
        version = call.api_version or "v1"
        return too_many_requests(
            retry_after_s, operation_id=_OPERATION_IDS[call.operation], api_version=version, rpm=rpm
        )

    # -- what the routes read -------------------------------------------------------------------------------

    @property
    def state(self) -> EmulatorState:
        return self._state

    @property
    def image_deployments(self) -> Mapping[str, str]:
        return self._deployments

    @property
    def chat_deployments(self) -> frozenset[str]:
        return self._chat

    @property
    def image_bytes(self) -> int | None:
        return self._image_bytes

    @property
    def blobs(self) -> BlobStore:
        return self._blobs

    @property
    def operations(self) -> OperationBook:
        return self._operations
