"""The person at the page: everything they do reaches the bot exactly as Slack would send it.

A line typed in the channel is a slash command, a mention or a plain message; a line typed in a thread
is a mention there. Clicks, message shortcuts, modal submissions and opening the App Home go through
the Slack emulator's sender (signed requests to the real bot). Slack waits 3 seconds for an answer and
then tells the person the app failed (docs/contracts/slack-client.md §4.4); so does the playground.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol

import httpx

from devkit.playground.channel import CommandRecord
from devkit.playground.runner import CHANNEL_ID, CHANNEL_NAME, USER_ID, USER_NAME
from devkit.slack import Message, SentRequest, SlackEmulator

__all__ = ["ACK_TIMEOUT_S", "Outcome", "Person", "Refused"]

ACK_TIMEOUT_S = 3.0  # Slack's limit for an answer to a command, click or submission
COMMAND = "/imagine"
HOME_CHANNEL = "D0APPHOME1"  # the person's DM with the app, where app_home_opened says the tab lives


class Refused(ValueError):
    """The page asked for something impossible (an unknown message or view): a 400 with this sentence."""


@dataclass(frozen=True)
class Outcome:
    """How an act went: `ok`, else Slack's word for the failure as the person would see it."""

    ok: bool
    error: str | None = None
    detail: dict[str, Any] | None = None


class _Bot(Protocol):
    @property
    def slack(self) -> SlackEmulator: ...
    @property
    def bot_url(self) -> str | None: ...


def _failure(error: httpx.HTTPError) -> str:
    return "operation_timeout" if isinstance(error, httpx.TimeoutException) else "dispatch_failed"


def _ack_payload(sent: SentRequest) -> dict[str, Any] | None:
    """An ack's body: empty, plain text, or a JSON message (docs/contracts/slack-client.md §4.2)."""
    if not sent.body.strip():
        return None
    if sent.headers.get("content-type", "").startswith("application/json"):
        try:
            value = json.loads(sent.body)
        except ValueError:
            return {"text": sent.text}
        return value if isinstance(value, dict) else None
    return {"text": sent.text}


class Person:
    """One person (USER_ID) in #general, acting through the emulator on the playground's bot."""

    def __init__(self, bot: _Bot) -> None:
        self._bot = bot
        self._lock = threading.Lock()
        self._commands: list[CommandRecord] = []
        self._finished_views: set[str] = set()  # submitted (and accepted) or closed
        self._view_errors: dict[str, dict[str, str]] = {}
        self._replaced_views: dict[str, dict[str, Any]] = {}  # response_action: update
        self.revision = 0  # grows with every change the emulator does not record (acks, modal state)

    @property
    def _slack(self) -> SlackEmulator:
        return self._bot.slack

    def _changed(self) -> None:
        with self._lock:
            self.revision += 1

    def commands(self) -> list[CommandRecord]:
        with self._lock:
            return list(self._commands)

    # ------------------------------------------------------------------ typing

    def send(self, text: str, *, thread_ts: str | None = None) -> Outcome:
        """A line from the composer: `/imagine …`, `@imagine …`, or a plain message.

        docs/contracts/slack-client.md §4.1.
        """
        stripped = text.strip()
        if not stripped:
            raise Refused("type something first")
        if thread_ts is not None:
            self._message(thread_ts)  # the thread must exist
            if stripped.startswith("/"):
                raise Refused("slash commands do not work in threads; write to @imagine-bot instead")
            # Slash commands do not work in threads; a reply reaches the bot as a mention
            # (docs/contracts/slack-client.md §4.1).
            return self._mention(_slack_escape(_without_mention(stripped)), thread_ts)
        if stripped.startswith("/"):
            return self._command(stripped)
        if stripped.lower().startswith(("@imagine", "<@")):
            return self._mention(_slack_escape(_without_mention(stripped)), None)
        self._slack.post_user_message(CHANNEL_ID, _slack_escape(stripped), user=USER_ID)
        return Outcome(True)

    def _command(self, typed: str) -> Outcome:
        command, _, argument = typed.partition(" ")
        sent_at = f"{time.time():.6f}"
        if command != COMMAND:
            note = f"`{_slack_escape(command)}` is not a valid command. In this playground the only one is `{COMMAND}`."
            self._record(CommandRecord(sent_at, typed, "", None, slackbot=note))
            return Outcome(False, "invalid_command")
        bot_url = self._bot.bot_url
        if bot_url is None:
            return self._slackbot(sent_at, typed, "dispatch_failed")
        try:
            sent = self._slack.send_command(
                bot_url, _slack_escape(argument.strip()), user_id=USER_ID, user_name=USER_NAME, channel_id=CHANNEL_ID,
                channel_name=CHANNEL_NAME, command=COMMAND, timeout=ACK_TIMEOUT_S,
            )  # fmt: skip
        except httpx.HTTPError as error:
            return self._slackbot(sent_at, typed, _failure(error))
        if sent.status != 200:
            return self._slackbot(sent_at, typed, "http_client_error" if sent.status < 500 else "dispatch_failed")
        self._record(CommandRecord(sent_at, typed, sent.response_url, _ack_payload(sent)))
        return Outcome(True)

    def _slackbot(self, sent_at: str, typed: str, error: str) -> Outcome:
        # What Slack shows when the app did not answer (docs/contracts/slack-client.md §4.4).
        note = f'`{_slack_escape(typed.split(" ", 1)[0])}` failed with the error "{error}"'
        self._record(CommandRecord(sent_at, typed, "", None, slackbot=note))
        return Outcome(False, error)

    def _record(self, record: CommandRecord) -> None:
        with self._lock:
            self._commands.append(record)
            self.revision += 1

    def _mention(self, text: str, thread_ts: str | None) -> Outcome:
        bot_url = self._bot.bot_url
        if bot_url is None:
            return Outcome(False, "dispatch_failed")
        try:
            sent = self._slack.send_mention(
                bot_url, text, channel_id=CHANNEL_ID, user_id=USER_ID, thread_ts=thread_ts, timeout=ACK_TIMEOUT_S
            )
        except httpx.HTTPError as error:
            return Outcome(False, _failure(error))
        return Outcome(sent.status == 200, None if sent.status == 200 else f"http_{sent.status}")

    def upload(self, name: str, content: bytes, mimetype: str, text: str = "") -> Outcome:
        """The person posts a picture (with a line of text) in the channel."""
        self._slack.post_user_message(CHANNEL_ID, _slack_escape(text), user=USER_ID, files=[(name, content, mimetype)])
        return Outcome(True)

    # ------------------------------------------------------------------ clicking

    def _message(self, ts: str) -> Message:
        try:
            message = self._slack.message(CHANNEL_ID, ts)
        except KeyError:
            raise Refused("that message is gone") from None
        if message.deleted:
            raise Refused("that message is gone")
        return message

    def _deliver(self, send: Callable[[str], SentRequest]) -> Outcome:
        """Send what `send` sends to the bot's URL; how it went, with the bot's answer when it was a 200."""
        if self._bot.bot_url is None:
            return Outcome(False, "dispatch_failed")
        try:
            sent = send(self._bot.bot_url)
        except httpx.HTTPError as error:
            return Outcome(False, _failure(error))
        if sent.status != 200:
            return Outcome(False, f"http_{sent.status}")
        return Outcome(True, detail=_ack_payload(sent))

    def click(self, ts: str, action_id: str, value: str) -> Outcome:
        """A click on a button of the channel message `ts` (cards included)."""
        message = self._message(ts)
        return self._deliver(
            lambda url: self._slack.send_block_action(
                url, action_id=action_id, value=value, message=message, user_id=USER_ID, timeout=ACK_TIMEOUT_S
            )
        )

    def shortcut(self, ts: str, callback_id: str) -> Outcome:
        """A message shortcut from the message's "⋯" menu."""
        message = self._message(ts)
        return self._deliver(
            lambda url: self._slack.send_message_shortcut(
                url, callback_id, message, user_id=USER_ID, timeout=ACK_TIMEOUT_S
            )
        )

    def open_home(self) -> Outcome:
        """The person opens the app's Home tab: `app_home_opened`, every time (docs/contracts/slack-client.md §4.5)."""
        event = {"type": "app_home_opened", "user": USER_ID, "channel": HOME_CHANNEL, "tab": "home"}
        return self._deliver(lambda url: self._slack.send_event(url, event, timeout=ACK_TIMEOUT_S))

    # ------------------------------------------------------------------ modals

    def open_view(self) -> tuple[dict[str, Any], dict[str, str]] | None:
        """The modal on screen (the newest one the bot opened and the person has not finished), and its errors."""
        with self._lock:
            finished, errors, replaced = set(self._finished_views), dict(self._view_errors), dict(self._replaced_views)
        for view in reversed(self._slack.opened_views()):
            view_id = str(view.get("id"))
            if view_id not in finished:
                return replaced.get(view_id, view), errors.get(view_id, {})
        return None

    def close_view(self, view_id: str) -> None:
        with self._lock:
            self._finished_views.add(view_id)
            self.revision += 1

    def submit_view(self, view_id: str, fields: dict[str, str]) -> Outcome:
        """Submit the modal with `fields` ({block_id: value}); the bot's field errors are kept for the page."""
        shown = self.open_view()
        if shown is None or str(shown[0].get("id")) != view_id:
            raise Refused("that dialog is closed")
        view = shown[0]
        values = state_values(view, fields)
        outcome = self._deliver(
            lambda url: self._slack.send_view_submission(url, view, values, user_id=USER_ID, timeout=ACK_TIMEOUT_S)
        )
        answer = outcome.detail or {}
        with self._lock:
            action = answer.get("response_action")
            if not outcome.ok:
                pass  # the modal stays open; the page says the app did not answer
            elif action == "errors" and isinstance(answer.get("errors"), dict):
                self._view_errors[view_id] = {str(k): str(v) for k, v in answer["errors"].items()}
            elif action == "update" and isinstance(answer.get("view"), dict):
                self._replaced_views[view_id] = {**answer["view"], "id": view_id}
                self._view_errors.pop(view_id, None)
            else:  # an empty ack, "clear" or "push": this dialog is done
                self._finished_views.add(view_id)
            self.revision += 1
        errors = answer.get("errors") if action == "errors" else None
        return Outcome(outcome.ok and not errors, outcome.error or ("invalid" if errors else None), answer)


def state_values(view: dict[str, Any], fields: dict[str, str]) -> dict[str, Any]:
    """The view's `state.values` as Slack sends them: {block_id: {action_id: {type, value | selected_option}}}."""
    values: dict[str, Any] = {}
    for block in view.get("blocks") or []:
        if not isinstance(block, dict) or block.get("type") != "input":
            continue
        block_id, element = str(block.get("block_id") or ""), block.get("element") or {}
        action_id, kind = str(element.get("action_id") or ""), str(element.get("type") or "")
        typed = fields.get(block_id, "")
        if kind == "static_select":
            option = next((o for o in element.get("options") or [] if o.get("value") == typed), None)
            state: dict[str, Any] = {"type": kind, "selected_option": option}
        else:
            state = {"type": kind, "value": typed or None}  # Slack sends null for an empty optional field
        values[block_id] = {action_id: state}
    return values


def _slack_escape(text: str) -> str:
    # What a Slack client does to what a person types: the three escapes (docs/contracts/slack-client.md §2.1).
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _without_mention(text: str) -> str:
    for prefix in ("@imagine-bot", "@imagine"):
        if text.lower().startswith(prefix):
            return text[len(prefix) :].strip()
    return text
