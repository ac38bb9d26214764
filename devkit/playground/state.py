"""The page's whole world as JSON: the channel with its threads, the open modal, the App Home, the bot.

`PageState.snapshot()` renders everything (HTML escaped here, never in the browser) and stamps it with
a version that grows whenever anything in it changes; `wait_newer(since)` is the long poll behind the
page's live updates: it answers as soon as the emulator records a change that alters the page.
"""

from __future__ import annotations

import contextlib
import hashlib
import html
import json
import threading
import time
from collections.abc import Callable
from typing import Any, Protocol
from urllib.parse import quote

from devkit.playground.blocks import Renderer, button_actions
from devkit.playground.channel import SLACKBOT, Item, build_channel
from devkit.playground.mrkdwn import Directory, mrkdwn
from devkit.playground.person import Person
from devkit.playground.runner import CHANNEL_ID, CHANNEL_NAME, MODELS, USER_ID, USER_NAME, BotChoice
from devkit.slack import SlackEmulator, UploadedFile

__all__ = ["PageState", "file_path"]

_IMAGE_TYPES = ("image/png", "image/jpeg", "image/gif", "image/webp")
SHORTCUTS = {"imagine_from_image": "Imagine from this image", "imagine_this": "Imagine this"}


class _Playground(Protocol):
    @property
    def slack(self) -> SlackEmulator: ...
    @property
    def choice(self) -> BotChoice: ...
    def status(self) -> tuple[str, str]: ...


def file_path(uploaded: UploadedFile) -> str:
    """Where the page loads a Slack file's bytes from (the emulator's url_private needs the bot token)."""
    return f"/files/{quote(uploaded.id)}/{quote(uploaded.filename)}"


class PageState:
    """Renders the playground for the page; thread-safe (each request runs on a thread of its own)."""

    def __init__(self, playground: _Playground, person: Person) -> None:
        self._playground = playground
        self._person = person
        self._lock = threading.Lock()
        self._digest = ""
        self._version = 0
        self._state: dict[str, Any] | None = None
        self._closed = threading.Event()
        self._rendered_marker: tuple[object, ...] = ()
        # Each item's rendering, kept while the item is unchanged: (what it depended on, the rendering).
        self._items: dict[str, tuple[tuple[object, ...], dict[str, Any]]] = {}
        slack = playground.slack
        self._directory = Directory(
            users={USER_ID: USER_NAME, slack.bot_user_id: slack.bot_name, SLACKBOT: "Slackbot"},
            channels={CHANNEL_ID: CHANNEL_NAME},
            team_domain=slack.team_domain,
            message_link=lambda channel, ts: f"#msg-{ts}",
        )

    # ------------------------------------------------------------------ the whole state

    def _marker(self) -> tuple[object, ...]:
        """Cheap to read, and different whenever anything the page shows may have changed."""
        playground = self._playground
        return playground.slack.version, self._person.revision, playground.status(), playground.choice

    def snapshot(self) -> dict[str, Any]:
        """The state now; rendered again only when the emulator, the person or the bot changed (callers
        must not modify it: it is shared until the next change)."""
        with self._lock:  # one rendering at a time; the others wait for it and share it
            marker = self._marker()
            if self._state is None or marker != self._rendered_marker:
                state = self._render()
                digest = hashlib.sha256(json.dumps(state, sort_keys=True).encode()).hexdigest()
                if digest != self._digest:
                    self._digest, self._version = digest, self._version + 1
                state["version"] = self._version
                self._state, self._rendered_marker = state, marker
            return self._state

    def wait_newer(self, since: int, timeout: float) -> dict[str, Any]:
        """The state once its version is past `since`, or the current one after `timeout` seconds (or at once
        when the page's server is closing)."""
        deadline = time.monotonic() + timeout
        while not self._closed.is_set():
            try:
                state = self.snapshot()
            except RuntimeError:  # the playground stopped under this request: answer what there was
                break
            remaining = deadline - time.monotonic()
            if int(state["version"]) > since or remaining <= 0:
                return state
            # wait_for re-checks on every change the emulator records (and every 0.1 s for the person's and
            # the bot's); nothing new within the time left raises AssertionError, and the state is answered.
            with contextlib.suppress(AssertionError):
                self._playground.slack.wait_for(self._moved_from(self._rendered_marker), timeout=remaining)
        return self._state or {"version": self._version, "closing": True}

    def close(self) -> None:
        """The page's server is stopping: every long poll answers now."""
        self._closed.set()

    def _moved_from(self, seen: tuple[object, ...]) -> Callable[[], bool]:
        return lambda: self._closed.is_set() or self._marker() != seen

    def _render(self) -> dict[str, Any]:
        slack = self._playground.slack
        files = slack.files()
        renderer = Renderer(self._directory, lambda ref: self._file_src(ref, files))
        items = build_channel(
            CHANNEL_ID,
            user_id=USER_ID,
            bot_user_id=slack.bot_user_id,
            messages=slack.messages(CHANNEL_ID),
            ephemerals=slack.ephemerals(USER_ID),
            responses=slack.responses(),
            commands=self._person.commands(),
        )
        status, detail = self._playground.status()
        choice = self._playground.choice
        # A picture shown by an unchanged message can only vanish when a file is deleted.
        deleted = sum(1 for f in files.values() if f.deleted)
        cache, self._items = self._items, {}
        return {
            "channel": {"id": CHANNEL_ID, "name": CHANNEL_NAME},
            "me": {"id": USER_ID, "name": USER_NAME},
            "bot": {"name": slack.bot_name, "status": status, "detail": detail},
            "choice": {"model": choice.model, "revise_prompts": choice.revise_prompts},
            "models": [{"name": m.name, "label": m.label, "retired": m.retired} for m in MODELS],
            "messages": [self._item(item, renderer, cache, deleted) for item in items],
            "modal": self._modal(renderer),
            "home": self._home(renderer),
        }

    # ------------------------------------------------------------------ parts

    @staticmethod
    def _file_src(ref: dict[str, Any], files: dict[str, UploadedFile]) -> str | None:
        file_id = str(ref.get("id") or "")
        if not file_id and isinstance(
            ref.get("url"), str
        ):  # slack_file by url_private (docs/contracts/slack-client.md §3.1)
            file_id = next((f.id for f in files.values() if f"-{f.id}/" in ref["url"]), "")
        found = files.get(file_id)
        return file_path(found) if found is not None and not found.deleted else None

    def _item(
        self,
        item: Item,
        renderer: Renderer,
        cache: dict[str, tuple[tuple[object, ...], dict[str, Any]]],
        deleted_files: int,
    ) -> dict[str, Any]:
        """The item as the page's JSON; rendered again only when it changed (the rendering is most of the cost)."""
        depends = (
            item.text,
            json.dumps(item.blocks, sort_keys=True),
            tuple(f.id for f in item.files),
            item.tombstone,
            item.edited,
            item.ephemeral,
            deleted_files,
        )
        kept = cache.get(item.key)
        rendered = kept[1] if kept is not None and kept[0] == depends else self._render_item(item, renderer)
        self._items[item.key] = (depends, rendered)
        return {**rendered, "replies": [self._item(r, renderer, cache, deleted_files) for r in item.replies]}

    def _render_item(self, item: Item, renderer: Renderer) -> dict[str, Any]:
        name = self._directory.user(item.user) if item.user else USER_NAME
        message = item.message
        shortcuts = []
        if message is not None and item.tombstone is None:
            if any(f.mimetype in _IMAGE_TYPES for f in item.files):
                shortcuts.append({"callback_id": "imagine_from_image", "label": SHORTCUTS["imagine_from_image"]})
            if item.text.strip():
                shortcuts.append({"callback_id": "imagine_this", "label": SHORTCUTS["imagine_this"]})
        return {
            "key": item.key,
            "ts": item.ts,
            "user": {"id": item.user, "name": name, "bot": item.user in (self._playground.slack.bot_user_id, SLACKBOT)},
            "ephemeral": item.ephemeral,
            "edited": item.edited and item.tombstone is None,
            "tombstone": item.tombstone is not None,
            "html": self._body(item, renderer),
            "channel_message": message is not None,
            "shortcuts": shortcuts,
            "buttons": button_actions(item.blocks) if message is not None else [],
        }

    def _body(self, item: Item, renderer: Renderer) -> str:
        """Blocks if there are any (the text is then only the notification fallback), else the text; files."""
        if item.tombstone is not None:
            return f'<div class="tombstone">{html.escape(item.tombstone)}</div>'
        if item.blocks:
            body = renderer.blocks(item.blocks)
        else:
            body = f'<div class="bk-text">{mrkdwn(item.text, self._directory)}</div>' if item.text else ""
        return body + "".join(_file_html(f) for f in item.files)

    def _modal(self, renderer: Renderer) -> dict[str, Any] | None:
        shown = self._person.open_view()
        if shown is None:
            return None
        view, errors = shown

        def label(name: str, default: str) -> str:
            text = view.get(name)
            return str(text.get("text") or default) if isinstance(text, dict) else default

        return {
            "id": str(view.get("id")),
            "title": label("title", "App"),
            "submit": label("submit", "Submit"),
            "close": label("close", "Cancel"),
            "html": renderer.blocks(view.get("blocks"), errors=errors),
            "errors": errors,
        }

    def _home(self, renderer: Renderer) -> dict[str, Any] | None:
        view = self._playground.slack.home_views().get(USER_ID)
        return None if view is None else {"id": str(view.get("id")), "html": renderer.blocks(view.get("blocks"))}


def _file_html(uploaded: UploadedFile) -> str:
    src = html.escape(file_path(uploaded), quote=True)
    title = html.escape(uploaded.title or uploaded.filename)
    if uploaded.mimetype in _IMAGE_TYPES:
        alt = html.escape(uploaded.alt_txt or uploaded.title or uploaded.filename, quote=True)
        return (
            f'<figure class="file"><figcaption>{title}</figcaption>'
            f'<img class="file-image zoomable" src="{src}" alt="{alt}"></figure>'
        )
    return f'<a class="file-chip" href="{src}" target="_blank" rel="noopener">{title}</a>'
