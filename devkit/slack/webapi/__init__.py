"""Slack's Web API: method families, each declaring its scopes and documented errors, behind one dispatcher.

docs/contracts/slack.md §3: tokens come as `Authorization: Bearer …` or a `token` argument; errors are
HTTP 200 with `ok: false` except rate limits (HTTP 429 with Retry-After); every bot-token answer carries
the `x-oauth-scopes` header listing the granted scopes.
"""

from __future__ import annotations

import copy
import json
from typing import Any

from werkzeug.wrappers import Request

from devkit.slack.records import ApiCall
from devkit.slack.scopes import APP_TOKEN_SCOPES
from devkit.slack.webapi import auth, chat, conversations, files, views
from devkit.slack.webapi.core import ApiError, Args, WebMethod
from devkit.slack.workspace import Workspace

__all__ = ["METHODS", "WebApi", "parse_arguments"]

METHODS: dict[str, WebMethod] = {
    method.name: method for family in (auth, chat, files, conversations, views) for method in family.METHODS
}


def parse_arguments(request: Request) -> tuple[dict[str, Any], str | None]:
    """Query merged with the form or JSON body (§3.1), and the parse error Slack would name, if any."""
    values: dict[str, Any] = dict(request.args.items())
    body = request.get_data(cache=True)
    if not body:
        return values, None
    content_type = request.headers.get("content-type", "")
    if "json" in content_type:
        try:
            parsed = json.loads(body)
        except ValueError:
            return values, "invalid_json"
        if not isinstance(parsed, dict):
            return values, "invalid_json"
        values.update(parsed)
        return values, None
    try:
        body.decode("utf-8")
    except UnicodeDecodeError:
        return values, "invalid_form_data"
    values.update(request.form.items())
    return values, None


class WebApi:
    """Answers `/api/<method>` requests from one workspace's state."""

    def __init__(self, ws: Workspace) -> None:
        self._ws = ws

    def answer(self, request: Request, method_name: str) -> tuple[int, dict[str, Any], dict[str, str]]:
        """(HTTP status, JSON body, headers) for one call, recorded as an ApiCall."""
        ws = self._ws
        values, parse_error = parse_arguments(request)
        authorization = request.headers.get("authorization", "")
        token = authorization[7:].strip() if authorization.lower().startswith("bearer ") else None
        token_arg = values.pop("token", None)
        token = token or (str(token_arg) if token_arg else None)
        headers: dict[str, str] = {}
        status = 200
        with ws.cond:
            method = METHODS.get(method_name)
            try:
                if parse_error:
                    raise ApiError(parse_error)
                if method is None:
                    raise ApiError("unknown_method")
                self._authenticate(method, token)
                if token == ws.identity.bot_token:
                    headers["x-oauth-scopes"] = ",".join(sorted(ws.scopes))
                    headers["x-accepted-oauth-scopes"] = ",".join(method.scopes)
                self._inject_fault(method)
                granted = APP_TOKEN_SCOPES if method.token == "app" else ws.scopes
                for scope in method.scopes:
                    if scope not in granted:
                        raise ApiError("missing_scope", needed=scope, provided=",".join(sorted(granted)))
                body = method.handler(ws, Args(values))
            except ApiError as exc:
                body = exc.body()
                status = exc.status
                headers.update(exc.headers)
            ws.calls.append(
                ApiCall(
                    method=method_name,
                    args=copy.deepcopy(values),
                    token=token,
                    status=status,
                    ok=bool(body.get("ok")),
                    error=body.get("error"),
                    at=ws.clock(),
                    response=copy.deepcopy(body),
                )
            )
            ws.changed()
        return status, body, headers

    def _authenticate(self, method: WebMethod, token: str | None) -> None:
        identity = self._ws.identity
        if token is None:
            raise ApiError("not_authed")
        # §9.1: the app-level token opens sockets and does nothing else; the bot token cannot open them.
        expected = identity.app_token if method.token == "app" else identity.bot_token
        if token != expected:
            known = token in (identity.bot_token, identity.app_token)
            raise ApiError("not_allowed_token_type" if known else "invalid_auth")

    def _inject_fault(self, method: WebMethod) -> None:
        fault = self._ws.faults.next_for(method.name)
        if fault is None:
            return
        if fault.error is None:
            raise ApiError("ratelimited", status=429, headers={"Retry-After": str(fault.retry_after)})
        raise ApiError(fault.error, **fault.extra)
