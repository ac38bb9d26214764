"""What every Web API method shares: argument reading, errors, and the method table's entry type.

docs/contracts/slack.md §3: errors are HTTP 200 `{"ok": false, "error": …}` except rate limits (429);
arguments come as a query string, a form body or a JSON body, and structured arguments (blocks, files,
view, metadata) arrive as JSON strings inside forms.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from devkit.slack.blocks import BlockRules, InvalidBlocks
from devkit.slack.workspace import Workspace

__all__ = [
    "ApiError",
    "Args",
    "Handler",
    "WebMethod",
    "checked_blocks",
    "invalid_arguments",
    "require_scope",
    "take_post_slot",
]


class ApiError(Exception):
    """A refusal: the error code, extra body fields, and an HTTP status other than 200 for 429s."""

    def __init__(self, error: str, *, status: int = 200, headers: dict[str, str] | None = None, **extra: Any):
        super().__init__(error)
        self.error = error
        self.status = status
        self.headers = dict(headers or {})
        self.extra = extra

    def body(self) -> dict[str, Any]:
        return {"ok": False, "error": self.error, **self.extra}


def invalid_arguments(message: str) -> ApiError:
    return ApiError("invalid_arguments", response_metadata={"messages": [f"[ERROR] {message}"]})


class Args:
    """A method's arguments, whether they came as form fields (always strings) or JSON values."""

    def __init__(self, values: dict[str, Any]) -> None:
        self.values = values

    def text(self, name: str) -> str | None:
        value = self.values.get(name)
        if value is None or value == "":
            return None
        if isinstance(value, bool):
            return "true" if value else "false"
        if isinstance(value, str | int | float):
            return str(value)
        raise invalid_arguments(f"expected a scalar [json-pointer:/{name}]")

    def required(self, name: str) -> str:
        value = self.text(name)
        if value is None:
            raise invalid_arguments(f"missing required field: {name}")
        return value

    def flag(self, name: str) -> bool | None:
        value = self.values.get(name)
        if value is None or value == "":
            return None
        if isinstance(value, bool):
            return value
        return str(value).lower() in ("1", "true")

    def json(self, name: str, *, error: str) -> Any:
        """A structured argument: JSON bodies carry it as-is, form bodies as a JSON string."""
        value = self.values.get(name)
        if isinstance(value, str):
            if not value:
                return None
            try:
                return json.loads(value)
            except ValueError:
                raise ApiError(error) from None
        return value


Handler = Callable[[Workspace, Args], dict[str, Any]]


@dataclass(frozen=True)
class WebMethod:
    """One Web API method: its handler, the scopes it always needs, and the errors Slack documents for it.

    `errors` lists the method's own documented codes (docs/contracts/slack.md §4–§9); every one can be
    injected with `fail_next`, and those the emulator can model are also produced by the handler.
    """

    name: str
    handler: Handler
    scopes: tuple[str, ...] = ()
    errors: tuple[str, ...] = ()
    token: str = "bot"  # "bot": the xoxb token; "app": the xapp app-level token


def require_scope(ws: Workspace, scope: str) -> None:
    """`missing_scope` with Slack's `needed` and `provided` fields (docs/contracts/slack.md §3.3)."""
    if scope not in ws.scopes:
        raise ApiError("missing_scope", needed=scope, provided=",".join(sorted(ws.scopes)))


def checked_blocks(ws: Workspace, value: Any, channel_id: str | None) -> list[dict[str, Any]] | None:
    """Blocks validated by blocks.BlockRules, or Slack's invalid_blocks(_format) answer (§4.4)."""
    try:
        return BlockRules(ws).check(value, channel_id=channel_id)
    except InvalidBlocks as exc:
        body = exc.body()
        body.pop("ok")
        raise ApiError(body.pop("error"), **body) from None


def take_post_slot(ws: Workspace, channel_id: str) -> None:
    """Slack's per-channel posting rate (§4.6): HTTP 429 `ratelimited` with Retry-After when over it."""
    wait = ws.post_rate.take(channel_id, ws.clock())
    if wait:
        raise ApiError("ratelimited", status=429, headers={"Retry-After": str(wait)})
