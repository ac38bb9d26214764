"""DALL-E 2's asynchronous operations: created by `:submit`, walked forward by polling, deleted once terminal.

Section numbers refer to docs/contracts/azure-openai-images.md.
"""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Callable
from typing import Final

from devkit.azure.blobs import BlobStore
from devkit.azure.dalle import DallEParams, Operation, finish_operation, operation_body, terminal_status
from devkit.azure.faults import Fault
from devkit.azure.wire import error_response, json_response, resource_not_found
from devkit.http import Response

__all__ = ["TERMINAL", "OperationBook"]

TERMINAL: Final = frozenset({"succeeded", "failed", "canceled", "deleted"})


class OperationBook:
    """Every DALL-E 2 operation of one emulator; `reset()` of the emulator keeps them, as Azure would."""

    def __init__(self, clock: Callable[[], float], blobs: BlobStore, *, ttl_s: float, retry_after_s: float) -> None:
        self._clock = clock
        self._blobs = blobs
        self._ttl_s = ttl_s
        self._retry_after_s = retry_after_s
        self._lock = threading.Lock()
        self._operations: dict[str, Operation] = {}

    def deployment_of(self, operation_id: str) -> str | None:
        with self._lock:
            op = self._operations.get(operation_id)
            return None if op is None else op.deployment

    def submit(
        self,
        deployment: str,
        params: DallEParams,
        seeds: tuple[int, ...],
        outcome: Fault | None,
        *,
        base_url: str,
        api_version: str,
    ) -> Response:
        """§9.2: 202, `{"id", "status": "notRunning"}` and an absolute `operation-location` to poll."""
        op = Operation(
            id=str(uuid.uuid4()),
            deployment=deployment,
            created=int(time.time()),
            submitted_at=self._clock(),
            params=params,
            seeds=seeds,
            outcome=outcome,
        )
        with self._lock:
            self._operations[op.id] = op
        return json_response(
            202,
            {"id": op.id, "status": "notRunning"},
            {"operation-location": f"{base_url}/openai/operations/images/{op.id}?api-version={api_version}"},
        )

    def poll(self, operation_id: str, base_url: str, pad_to: int | None) -> Response:
        """§9.2: always 200 while the operation exists; the status moves on with each poll and the clock.

        The first poll sees `notRunning`, the second `running`; after that the operation ends once
        `poll_retry_after_s` has passed on the emulator's clock since it was submitted.
        """
        now = self._clock()
        with self._lock:
            op = self._operations.get(operation_id)
            if op is None:
                return resource_not_found()
            if op.status not in TERMINAL:
                op.polls += 1
                if op.polls == 1:
                    op.status = "notRunning"
                elif op.polls == 2 or now - op.submitted_at < self._retry_after_s:
                    op.status = "running"
                else:
                    op.status = terminal_status(op.outcome)
            needs_result = op.status == "succeeded" and op.result is None
        if needs_result:
            result, paths = finish_operation(op, self._blobs, base_url, pad_to, time.time())
            with self._lock:
                if op.result is None:  # a concurrent poll may have finished it first; keep one set of images
                    op.result, op.blob_paths = result, paths
        with self._lock:
            body = operation_body(op, self._ttl_s)
            running = op.status not in TERMINAL
        headers = {"retry-after": f"{self._retry_after_s:g}"} if running and self._retry_after_s > 0 else None
        return json_response(200, body, headers)

    def delete(self, operation_id: str) -> Response:
        """§9.2: 204 once terminal, and the operation's images go with it; 409 while it still runs."""
        with self._lock:
            op = self._operations.get(operation_id)
            if op is None:
                return resource_not_found()
            if op.status not in TERMINAL:
                return error_response(
                    409,
                    "Conflict",
                    f"The operation is {op.status}; only an operation in a terminal state can be deleted.",
                )
            op.status = "deleted"
            paths = list(op.blob_paths)
        self._blobs.delete(paths)
        return Response(status=204)
