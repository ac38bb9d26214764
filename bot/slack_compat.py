"""Work-arounds for defects in slack-bolt, applied once by the composition root.

slack-bolt ≤ 1.30 decides a form body is an interactivity payload when the substring "payload"
appears anywhere in it, so `/imagine a payload truck` (or a channel called #payload-team) is parsed
as `{}` and answered 404 (shared/reference/slack-platform.md §6.1). The fix parses the form first and
only decodes `payload` when it is an actual field.
"""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import parse_qsl

import slack_bolt.request.request


def parse_body(body: str, content_type: str | None) -> dict[str, Any]:
    if not body:
        return {}
    try:
        if content_type == "application/json" or body.startswith("{"):
            parsed = json.loads(body)
            return parsed if isinstance(parsed, dict) else {}
        fields = dict(parse_qsl(body, keep_blank_values=True))
        if "payload" in fields:
            payload = json.loads(fields["payload"])
            return payload if isinstance(payload, dict) else {}
        return fields
    except ValueError:
        # A malformed body matches no listener, so Bolt answers 404 instead of raising a 500.
        return {}


def apply() -> None:
    # Bolt imports the function by name into its request module; patch the name it calls. (The async
    # twin has the same defect but needs aiohttp, which this sync app does not use.)
    slack_bolt.request.request.parse_body = parse_body  # type: ignore[attr-defined]
