"""Azure OpenAI's wire shapes that every route shares: JSON answers, error envelopes, throttling headers.

Section numbers refer to docs/contracts/azure-openai-images.md.
"""

from __future__ import annotations

import json
import math
from typing import Any, Final

from devkit.http import Response

__all__ = [
    "DEPLOYMENT_NOT_FOUND_MESSAGE",
    "bad_request",
    "deployment_not_found",
    "error_response",
    "json_response",
    "operation_not_supported",
    "policy_violation",
    "resource_not_found",
    "server_error",
    "too_many_requests",
    "unauthorized",
]

# §6.2: byte for byte, including the lone space after `"message":`.
_RESOURCE_NOT_FOUND: Final = b'{"error":{"code":"404","message": "Resource not found"}}'
DEPLOYMENT_NOT_FOUND_MESSAGE: Final = (  # §6.1
    "The API deployment for this resource does not exist. If you created the deployment within the last "
    "5 minutes, please wait a moment and try again."
)
_UNAUTHORIZED_MESSAGE: Final = (  # §1.4
    "Access denied due to invalid subscription key or wrong API endpoint. Make sure to provide a valid key "
    "for an active subscription and use a correct regional API endpoint for your resource."
)
_POLICY_MESSAGE: Final = (  # §7.1
    "Your request was rejected as a result of our safety system. Your prompt may contain text that is not "
    "allowed by our safety system."
)
_SERVER_ERRORS: Final = {  # §7.6
    500: ("InternalServerError", "The server had an error while processing your request. Sorry about that!"),
    503: ("ServiceUnavailable", "The service is temporarily unable to process your request. Try again later."),
}
DEFAULT_RPM: Final = 6  # §8: reported by a scripted 429 on a deployment without a configured quota


def json_response(status: int, body: object, headers: dict[str, str] | None = None) -> Response:
    return Response(json.dumps(body), status=status, headers=headers, content_type="application/json")


def error_response(
    status: int,
    code: str,
    message: str,
    *,
    param: str | None = None,
    type_: str | None = None,
    inner_error: dict[str, Any] | None = None,
    headers: dict[str, str] | None = None,
) -> Response:
    """§7: `{"error": {"code", "message", "param"?, "type"?, "inner_error"?}}`; absent parts are left out."""
    error: dict[str, Any] = {"code": code, "message": message}
    if param is not None or type_ is not None:
        error["param"] = param
    if type_ is not None:
        error["type"] = type_
    if inner_error is not None:
        error["inner_error"] = inner_error
    return json_response(status, {"error": error}, headers)


def bad_request(code: str, message: str, param: str | None) -> Response:
    """§7.5: a parameter error, OpenAI-style (`param` always present, `type` invalid_request_error)."""
    return error_response(400, code, message, param=param, type_="invalid_request_error")


def resource_not_found() -> Response:
    return Response(_RESOURCE_NOT_FOUND, status=404, content_type="application/json")


def deployment_not_found() -> Response:
    return error_response(404, "DeploymentNotFound", DEPLOYMENT_NOT_FOUND_MESSAGE)


def unauthorized() -> Response:
    return error_response(401, "401", _UNAUTHORIZED_MESSAGE)


def operation_not_supported(operation: str, model: str) -> Response:
    """§6.3: a deployment asked for an operation its model does not do (a chat model asked for images…)."""
    return error_response(
        400,
        "OperationNotSupported",
        f"The {operation} operation does not work with the specified model, {model}. Please choose different "
        "model and try again. You can learn more about which models can be used with each operation here: "
        "https://go.microsoft.com/fwlink/?linkid=2197993.",
    )


def server_error(status: int) -> Response:
    code, message = _SERVER_ERRORS[status]
    return error_response(status, code, message)


def policy_violation(revised_prompt: str | None) -> Response:
    """§7.1: the prompt broke the content policy (HTTP 400, ResponsibleAIPolicyViolation)."""
    filters = {
        "hate": {"filtered": False, "severity": "safe"},
        "profanity": {"detected": False, "filtered": False},
        "self_harm": {"filtered": False, "severity": "safe"},
        "sexual": {"filtered": False, "severity": "safe"},
        "violence": {"filtered": True, "severity": "low"},
    }
    inner: dict[str, Any] = {"code": "ResponsibleAIPolicyViolation", "content_filter_results": filters}
    if revised_prompt is not None:
        inner["revised_prompt"] = revised_prompt
    return error_response(
        400, "content_policy_violation", _POLICY_MESSAGE, type_="invalid_request_error", inner_error=inner
    )


def too_many_requests(retry_after_s: float, *, operation_id: str, api_version: str, rpm: int) -> Response:
    """§7.3: Azure's 429, with the wait both in milliseconds and in whole seconds."""
    retry_ms = max(0, math.ceil(retry_after_s * 1000))
    seconds = math.ceil(retry_ms / 1000)
    message = (
        f"Requests to the {operation_id} Operation under Azure OpenAI API version {api_version} have exceeded "
        f"call rate limit of your current OpenAI S0 pricing tier. Please retry after {seconds} seconds. Please "
        "go here: https://aka.ms/oai/quotaincrease if you would like to further increase the default rate limit."
    )
    headers = {
        "retry-after-ms": str(retry_ms),
        "retry-after": str(seconds),
        "x-ratelimit-limit-requests": str(rpm),
        "x-ratelimit-remaining-requests": "0",
        "x-ratelimit-reset-requests": str(seconds),
    }
    return error_response(429, "429", message, headers=headers)
