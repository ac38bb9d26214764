"""views.open, views.update, views.publish (docs/contracts/slack.md §10)."""

from __future__ import annotations

from typing import Any

from devkit.slack.blocks import BlockRules, InvalidBlocks
from devkit.slack.webapi.core import ApiError, Args, WebMethod, invalid_arguments
from devkit.slack.workspace import TRIGGER_LIFETIME_S, Workspace

__all__ = ["METHODS"]


def _view(ws: Workspace, args: Args) -> dict[str, Any]:
    view = args.json("view", error="invalid_arguments")
    if not isinstance(view, dict) or not isinstance(view.get("type"), str):
        raise invalid_arguments("missing required field: view")
    # Views are in no channel: a slack_file there needs a ready share anywhere (§4.5, emulator choice).
    # Bad view blocks answer invalid_arguments with pointers under /view/blocks, not invalid_blocks (§10.1).
    try:
        BlockRules(ws).check(view.get("blocks", []), channel_id=None, root="/view/blocks")
    except InvalidBlocks as exc:
        errors = exc.errors or ["must provide an array [json-pointer:/view/blocks]"]
        raise ApiError("invalid_arguments", response_metadata={"messages": [f"[ERROR] {e}" for e in errors]}) from None
    return view


def _stamped(ws: Workspace, view: dict[str, Any], view_id: str) -> dict[str, Any]:
    return {
        **view,
        "id": view_id,
        "team_id": ws.identity.team_id,
        "app_id": ws.identity.api_app_id,
        "bot_id": ws.identity.bot_id,
        "state": {"values": {}},
        "hash": f"{int(ws.clock())}.{view_id}",
        "root_view_id": view_id,
    }


def open_view(ws: Workspace, args: Args) -> dict[str, Any]:
    trigger = ws.triggers.get(args.text("trigger_id") or "")
    if trigger is None:
        raise ApiError("invalid_trigger_id")
    if trigger.used:
        raise ApiError("exchanged_trigger_id")
    if ws.clock() - trigger.minted_at > TRIGGER_LIFETIME_S:
        raise ApiError("expired_trigger_id")
    view = _view(ws, args)
    trigger.used = True
    stamped = _stamped(ws, view, ws.next_id("V"))
    ws.opened_views.append(stamped)
    return {"ok": True, "view": stamped}


def update(ws: Workspace, args: Args) -> dict[str, Any]:
    view_id, external_id = args.text("view_id"), args.text("external_id")
    view = _view(ws, args)
    for index, opened in enumerate(ws.opened_views):
        if (view_id and opened["id"] == view_id) or (external_id and opened.get("external_id") == external_id):
            ws.opened_views[index] = _stamped(ws, view, opened["id"])
            return {"ok": True, "view": ws.opened_views[index]}
    for user_id, home in ws.home_views.items():
        if view_id and home["id"] == view_id:
            ws.home_views[user_id] = _stamped(ws, view, view_id)
            return {"ok": True, "view": ws.home_views[user_id]}
    raise ApiError("not_found")


def publish(ws: Workspace, args: Args) -> dict[str, Any]:
    user_id = args.required("user_id")
    view = _view(ws, args)
    if view["type"] != "home":
        raise invalid_arguments("views.publish takes a home view [json-pointer:/view/type]")
    previous = ws.home_views.get(user_id)
    stamped = _stamped(ws, view, previous["id"] if previous else ws.next_id("V"))
    ws.home_views[user_id] = stamped
    return {"ok": True, "view": stamped}


METHODS = (
    WebMethod(
        "views.open",
        open_view,
        errors=("invalid_trigger_id", "expired_trigger_id", "exchanged_trigger_id", "view_too_large"),
    ),
    WebMethod("views.update", update, errors=("not_found", "hash_conflict", "view_too_large")),
    WebMethod("views.publish", publish, errors=("not_enabled", "hash_conflict", "view_too_large")),
)
