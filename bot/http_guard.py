"""The door in front of Bolt: what an HTTP request to `/slack/events` must be before anything parses it.

Bolt verifies Slack's signature too, but only after it has read and decoded the whole body, and some
bodies make it raise instead of refusing: a body that is not UTF-8, a non-numeric timestamp header
(answered 200 by the app's error handler, even unsigned), or a signed payload whose fields have the
wrong JSON types (a 500 from the server). This guard answers those itself, in this order:

1. a body over the size limit → 413, decided from Content-Length before a byte is read;
2. a content type Slack never sends → 415;
3. a missing, malformed, stale (±5 minutes) or wrong signature → 401, Bolt's own answer;
4. a body that is not UTF-8, not a form or JSON object, or a `payload` field that is not a JSON
   object, or a slash command without a user or channel → 400.

Whatever Bolt still raises on becomes a 400 too. No answer ever carries exception text.
Reference: shared/reference/slack-platform.md §1.2 (signing) and §6.1 (Bolt's body parser).
"""

from __future__ import annotations

import hashlib
import hmac
import io
import json
import logging
import sys
import time
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qsl

from pydantic import SecretStr

if TYPE_CHECKING:
    from _typeshed.wsgi import StartResponse, WSGIApplication, WSGIEnvironment

log = logging.getLogger(__name__)

# The two content types Slack sends: slash commands and interactivity are forms, the Events API is JSON.
CONTENT_TYPES = frozenset({"application/x-www-form-urlencoded", "application/json"})
# Slack's replay window (SignatureVerifier.is_valid): a request older or newer than this is refused.
MAX_CLOCK_SKEW_S = 60 * 5

_REASONS = {400: "Bad Request", 401: "Unauthorized", 413: "Payload Too Large", 415: "Unsupported Media Type"}


def signature_is_valid(secret: str, timestamp: str | None, signature: str | None, body: bytes, *, now: float) -> bool:
    """Slack's v0 scheme over the raw bytes received: `v0=` + hex HMAC-SHA256 of `v0:{timestamp}:{body}`.

    Written out rather than borrowed from slack_sdk because the SDK's verifier decodes the body as
    UTF-8 and raises on a non-numeric timestamp; here every odd input is simply "not valid".
    """
    if not timestamp or not signature or not timestamp.isascii() or not timestamp.isdigit():
        return False
    if len(timestamp) > 12 or abs(now - int(timestamp)) > MAX_CLOCK_SKEW_S:
        return False
    if not signature.isascii():
        return False
    expected = hmac.new(secret.encode(), b"v0:" + timestamp.encode() + b":" + body, hashlib.sha256).hexdigest()
    return hmac.compare_digest(f"v0={expected}".encode(), signature.encode())


def parse_slack_body(text: str, media_type: str) -> dict[str, Any]:
    """The body as Bolt will see it (same choice as `slack_compat.parse_body`), or ValueError.

    JSON when the content type says so or the body is an object; otherwise a form, whose `payload`
    field, when present, is the JSON of an interactivity payload.
    """
    if media_type == "application/json" or text.startswith("{"):
        parsed = json.loads(text)
        if not isinstance(parsed, dict):
            raise ValueError("the JSON body is not an object")
        return parsed
    fields = dict(parse_qsl(text, keep_blank_values=True))
    if "payload" in fields:
        payload = json.loads(fields["payload"])
        if not isinstance(payload, dict):
            raise ValueError("payload is not a JSON object")
        return payload
    return fields


def _shape_problem(body: dict[str, Any]) -> str | None:
    """Why a parsed body cannot be a Slack request, or None. Only what would otherwise reach a listener."""
    if not body:
        return "empty body"
    if "command" in body:
        # A slash command with nobody to credit and nowhere to post would still become a job.
        for field in ("command", "user_id", "channel_id"):
            if not isinstance(body.get(field), str) or not body[field]:
                return f"slash command without {field}"
        if not isinstance(body.get("text", ""), str):
            return "slash command text is not a string"
    return None


class SlackRequestGuard:
    """WSGI middleware for the Slack endpoint: checks size, content type, signature and shape first."""

    def __init__(
        self,
        app: WSGIApplication,
        *,
        signing_secret: SecretStr,
        max_body_bytes: int,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._app = app
        self._secret = signing_secret
        self._max_body_bytes = max_body_bytes
        self._clock = clock

    def __call__(self, environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
        raw_length = str(environ.get("CONTENT_LENGTH") or "0").strip()
        if not raw_length.isascii() or not raw_length.isdigit():
            return refuse(start_response, 400, "bad content-length")
        length = int(raw_length)
        if length > self._max_body_bytes:
            return refuse(start_response, 413, "request body too large")
        media_type = str(environ.get("CONTENT_TYPE") or "").split(";")[0].strip().lower()
        if media_type not in CONTENT_TYPES:
            return refuse(start_response, 415, "unsupported content type")
        body = environ["wsgi.input"].read(length) if length else b""
        if len(body) != length:
            return refuse(start_response, 400, "incomplete body")
        if not signature_is_valid(
            self._secret.get_secret_value(),
            environ.get("HTTP_X_SLACK_REQUEST_TIMESTAMP"),
            environ.get("HTTP_X_SLACK_SIGNATURE"),
            body,
            now=self._clock(),
        ):
            return refuse(start_response, 401, "invalid request")  # Bolt's own words for this
        try:
            problem = _shape_problem(parse_slack_body(body.decode("utf-8"), media_type))
        except ValueError as error:  # UnicodeDecodeError and json.JSONDecodeError are ValueErrors
            problem = type(error).__name__
        if problem is not None:
            log.info("refused a signed request with a malformed body (%s)", problem)
            return refuse(start_response, 400, "malformed request")
        # Bolt reads the body again: hand it the bytes already read, and the normalised content type
        # it compares literally.
        inner = dict(environ)
        inner.update({"wsgi.input": io.BytesIO(body), "CONTENT_LENGTH": str(length), "CONTENT_TYPE": media_type})
        try:
            return self._app(inner, start_response)
        except Exception:
            # Bolt raised outside any listener (its error handler could not even build the arguments
            # for a payload with wrongly typed fields). The request was signed, so it is logged.
            log.warning("Slack request that Bolt could not dispatch; answered 400", exc_info=True)
            return refuse(start_response, 400, "malformed request", exc_info=True)


def refuse(start_response: StartResponse, status: int, error: str, *, exc_info: bool = False) -> list[bytes]:
    payload = json.dumps({"error": error}).encode()
    start_response(
        f"{status} {_REASONS[status]}",
        [("Content-Type", "application/json"), ("Content-Length", str(len(payload)))],
        # If the inner app had already started its response, this replaces it (PEP 3333).
        sys.exc_info() if exc_info else None,
    )
    return [payload]
