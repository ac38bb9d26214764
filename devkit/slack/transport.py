"""HTTP routing of the emulator (Web API, upload URLs, response URLs, the file host) on werkzeug.

docs/contracts/slack.md §5.2 (upload URL), §5.5 (file host), §6 (response_url). Socket Mode has its own
server in socket_mode.py.
"""

from __future__ import annotations

import json
import re

from werkzeug.wrappers import Request, Response

from devkit.slack.blocks import BlockRules, InvalidBlocks
from devkit.slack.records import Download, ResponsePost
from devkit.slack.webapi import WebApi
from devkit.slack.workspace import RESPONSE_URL_LIFETIME_S, RESPONSE_URL_USES, Workspace

__all__ = ["LOGIN_PAGE", "Router"]

_FILE_PATH = re.compile(r"^/files-pri/(?P<team>[A-Z0-9]+)-(?P<file>F[A-Z0-9]+)/(?:download/)?[^/]+$")

# What Slack serves a url_private fetch without a usable token (§5.5): a sign-in page, with status 200.
LOGIN_PAGE = (
    '<!DOCTYPE html><html lang="en-US"><head><meta charset="utf-8"><title>Slack</title></head>'
    '<body><h1>Sign in to emulated.slack.com</h1><form action="/signin" method="post"></form></body></html>'
)


def _text(status: int, text: str) -> Response:
    return Response(text, status=status, content_type="text/plain; charset=utf-8")


class Router:
    """Maps one request to the part of Slack that answers it."""

    def __init__(self, ws: Workspace) -> None:
        self._ws = ws
        self._api = WebApi(ws)

    def handle(self, request: Request) -> Response:
        path = request.path
        if path.startswith("/api/"):
            status, body, headers = self._api.answer(request, path.removeprefix("/api/"))
            return Response(
                json.dumps(body), status=status, headers=headers, content_type="application/json; charset=utf-8"
            )
        if path.startswith("/upload/v1/") and request.method == "POST":
            return self._upload(request, path.removeprefix("/upload/v1/"))
        if path.startswith("/response/") and request.method == "POST":
            return self._respond(request, path.removeprefix("/response/"))
        found = _FILE_PATH.match(path)
        if found is not None and request.method in ("GET", "HEAD"):
            return self._download(request, found.group("team"), found.group("file"))
        return _text(404, "not_found")

    # ------------------------------------------------------------------ upload URL (§5.2)

    def _upload(self, request: Request, upload_token: str) -> Response:
        ws = self._ws
        is_multipart = request.mimetype == "multipart/form-data"
        # Raw bodies first: urllib (which files_upload_v2 uses) labels raw bytes as a urlencoded form.
        raw = b"" if is_multipart else request.get_data(cache=True, parse_form_data=False)
        with ws.cond:
            uploaded = ws.files.get(ws.upload_tokens.get(upload_token, ""))
            if uploaded is None:
                return _text(404, "upload_url not found")
            status = ws.faults.next_upload()
            if status is not None:
                ws.changed()
                return _text(status, f"upload failed (injected {status})")
            if uploaded.completed:
                return _text(400, "upload already completed")
        if is_multipart:
            try:
                parts = list(request.files.values())
                raw = parts[0].read() if parts else b""
            finally:
                request.close()  # werkzeug spools parts to temporary files; close them now
            if not parts:
                return _text(400, "multipart body without a file part")
        with ws.cond:
            if len(raw) != uploaded.length:
                return _text(400, f"length mismatch: expected {uploaded.length} bytes, got {len(raw)}")
            uploaded.content, uploaded.uploaded = raw, True
            ws.changed()
        return _text(200, f"OK - {len(raw)}")

    # ------------------------------------------------------------------ response_url (§6)

    def _respond(self, request: Request, url_id: str) -> Response:
        ws = self._ws
        with ws.cond:
            record = ws.response_urls.get(url_id)
            if record is None:
                return _text(404, "no_service")
            if record.expired or ws.clock() - record.minted_at > RESPONSE_URL_LIFETIME_S:
                return _text(404, "expired_url")
            if record.uses >= RESPONSE_URL_USES:
                return _text(404, "used_url")
            try:
                body = json.loads(request.get_data())
            except ValueError:
                return _text(400, "invalid_payload")
            if not isinstance(body, dict):
                return _text(400, "invalid_payload")
            if not (body.get("text") or body.get("blocks") or body.get("attachments") or body.get("delete_original")):
                return _text(400, "no_text")
            try:
                BlockRules(ws).check(body.get("blocks"), channel_id=record.channel_id)
            except InvalidBlocks as exc:
                return _text(400, exc.code)
            record.uses += 1
            ws.responses.append(
                ResponsePost(
                    url=f"{ws.base_url}/response/{url_id}",
                    body=body,
                    at=ws.clock(),
                    channel_id=record.channel_id,
                    user_id=record.user_id,
                    message_ts=record.message_ts,
                )
            )
            ws.changed()
        return _text(200, "ok")

    # ------------------------------------------------------------------ file host (§5.5)

    def _download(self, request: Request, team: str, file_id: str) -> Response:
        ws = self._ws
        authorization = request.headers.get("authorization", "")
        token = authorization[7:].strip() if authorization.lower().startswith("bearer ") else None
        with ws.cond:
            found = ws.files.get(file_id) if team == ws.identity.team_id else None
            if found is None or found.deleted or not found.uploaded:
                return _text(404, "file_not_found")
            token_ok = token == ws.identity.bot_token and "files:read" in ws.scopes
            ws.downloads.append(Download(file_id, token_ok, ws.clock()))
            ws.changed()
            if not token_ok:
                return Response(LOGIN_PAGE, status=200, content_type="text/html; charset=utf-8")
            return Response(found.content, status=200, content_type=found.mimetype)
