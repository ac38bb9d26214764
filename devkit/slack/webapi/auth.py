"""auth.test and apps.connections.open (docs/contracts/slack.md §3.4, §9.1)."""

from __future__ import annotations

import secrets
from typing import Any

from devkit.slack.webapi.core import Args, WebMethod
from devkit.slack.workspace import Workspace

__all__ = ["METHODS"]


def auth_test(ws: Workspace, args: Args) -> dict[str, Any]:
    # The x-oauth-scopes header is added by the dispatcher to every bot-token answer.
    return {
        "ok": True,
        "url": f"https://{ws.identity.team_domain}.slack.com/",
        "team": ws.identity.team_domain,
        "user": ws.identity.bot_name,
        "team_id": ws.identity.team_id,
        "user_id": ws.identity.bot_user_id,
        "bot_id": ws.identity.bot_id,
        "is_enterprise_install": False,
    }


def apps_connections_open(ws: Workspace, args: Args) -> dict[str, Any]:
    # Slack answers wss://…/link/?ticket=…&app_id=…; each ticket is good for one connection (§9.1).
    ticket = secrets.token_hex(16)
    ws.socket_tickets.add(ticket)
    return {"ok": True, "url": f"{ws.socket_url}/link/?ticket={ticket}&app_id={ws.identity.api_app_id}"}


METHODS = (
    WebMethod("auth.test", auth_test, errors=("not_authed", "invalid_auth", "token_revoked", "account_inactive")),
    WebMethod(
        "apps.connections.open",
        apps_connections_open,
        scopes=("connections:write",),
        errors=("invalid_auth", "missing_args", "forbidden_team", "internal_error"),
        token="app",
    ),
)
