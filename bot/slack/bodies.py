"""What Slack sends to `/slack/events`, before anything acts on it: the one body parser, the checks a
request must pass, and a fix for Bolt's own parser (docs/contracts/slack.md §7).

1. a body over the size limit → 413, decided from Content-Length before a byte is read;
2. a content type Slack never sends → 415;
3. Slack's unsigned `ssl_check=1` probe → 200 with nothing done (Slack sends it without a signature);
4. a missing, malformed, stale (±5 minutes) or wrong signature → 401 (slack_sdk's verifier, after the
   cheap checks that keep it from raising on odd input);
5. a body that is not a form or JSON object, a `payload` that is not a JSON object, or a slash command
   without a user or channel → 400.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from enum import StrEnum
from typing import Any
from urllib.parse import parse_qsl

import slack_bolt.request.request
from pydantic import SecretStr
from slack_sdk.signature import Clock, SignatureVerifier

# Slack's largest payloads (modal submissions) are tens of kilobytes; refuse anything far beyond.
MAX_BODY_BYTES = 1024 * 1024
# The two content types Slack sends: slash commands and interactivity are forms, the Events API is JSON.
CONTENT_TYPES = frozenset({"application/x-www-form-urlencoded", "application/json"})


class Verdict(StrEnum):
    OK = "ok"
    SSL_CHECK = "ssl_check"
    TOO_LARGE = "too_large"
    BAD_CONTENT_TYPE = "bad_content_type"
    UNSIGNED = "unsigned"
    MALFORMED = "malformed"


STATUS = {
    Verdict.OK: 200,
    Verdict.SSL_CHECK: 200,
    Verdict.TOO_LARGE: 413,
    Verdict.BAD_CONTENT_TYPE: 415,
    Verdict.UNSIGNED: 401,
    Verdict.MALFORMED: 400,
}


def parse_body(text: str, media_type: str) -> dict[str, Any]:
    """JSON when the content type says so or the body is an object; otherwise a form, whose `payload`
    field, when present, is the JSON of an interactivity payload. ValueError for anything else."""
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


def _bolt_parse_body(body: str, content_type: str | None) -> dict[str, Any]:
    try:
        return parse_body(body, content_type or "") if body else {}
    except ValueError:
        return {}  # a malformed body matches no listener, so Bolt answers 404 instead of raising


def patch_bolt() -> None:
    """slack-bolt ≤ 1.30 takes a form body for an interactivity payload when the substring "payload"
    appears anywhere in it, so `/imagine a payload truck` parsed as `{}` and was answered 404 (§13.1).
    Bolt calls `parse_body` by the name its request module imported: replace that name."""
    slack_bolt.request.request.parse_body = _bolt_parse_body  # type: ignore[attr-defined]


def shape_problem(body: dict[str, Any]) -> str | None:
    """Why a parsed body cannot be a Slack request, or None. Only what would otherwise reach a listener."""
    if not body:
        return "empty body"
    if "command" in body:
        for field in ("command", "user_id", "channel_id"):
            if not isinstance(body.get(field), str) or not body[field]:
                return f"slash command without {field}"
        if not isinstance(body.get("text", ""), str):
            return "slash command text is not a string"
    return None


class _Clock(Clock):
    def __init__(self, now: Callable[[], float]) -> None:
        self._now = now

    def now(self) -> float:
        return self._now()


class RequestCheck:
    """Decides what an HTTP request to `/slack/events` is, before any listener sees it."""

    def __init__(self, signing_secret: SecretStr, *, clock: Callable[[], float] | None = None) -> None:
        secret = signing_secret.get_secret_value()
        self._verifier = SignatureVerifier(secret, _Clock(clock)) if clock else SignatureVerifier(secret)

    @staticmethod
    def before_reading(content_length: str | None, content_type: str | None) -> Verdict:
        raw = (content_length or "0").strip()
        if not raw.isascii() or not raw.isdigit():
            return Verdict.MALFORMED
        if int(raw) > MAX_BODY_BYTES:
            return Verdict.TOO_LARGE
        return Verdict.OK if media_type(content_type) in CONTENT_TYPES else Verdict.BAD_CONTENT_TYPE

    def after_reading(
        self, body: bytes, content_type: str | None, timestamp: str | None, signature: str | None
    ) -> tuple[Verdict, dict[str, Any]]:
        try:
            text = body.decode("utf-8")
        except UnicodeDecodeError:
            return Verdict.UNSIGNED, {}  # Slack signs UTF-8 text; these bytes cannot be its request
        try:
            parsed = parse_body(text, media_type(content_type))
        except ValueError:
            parsed = None
        if not _plausible(timestamp, signature) or not self._verifier.is_valid(text, timestamp, signature):
            # Slack's ssl_check probe is the one request it sends unsigned (§7.5).
            ssl_check = parsed is not None and parsed.get("ssl_check") == "1" and "command" not in parsed
            return (Verdict.SSL_CHECK if ssl_check else Verdict.UNSIGNED), {}
        if parsed is None or shape_problem(parsed):
            return Verdict.MALFORMED, {}
        return Verdict.OK, parsed


def media_type(content_type: str | None) -> str:
    return (content_type or "").split(";")[0].strip().lower()


def _plausible(timestamp: str | None, signature: str | None) -> bool:
    # The SDK's verifier would raise on a non-numeric timestamp; these are simply "not valid".
    return (
        bool(timestamp and signature)
        and timestamp is not None
        and timestamp.isascii()
        and timestamp.isdigit()
        and len(timestamp) <= 12
        and signature is not None
        and signature.isascii()
    )
