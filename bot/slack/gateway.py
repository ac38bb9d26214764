"""Every Web API call the bot makes outside a listener, and file downloads: the one module that knows
Slack's methods, error codes and file host (docs/contracts/slack.md).

- Messages: `post`, `update` (in place, same ts), `delete_message`, private notes (`respond` to a
  response_url, else `ephemeral`), `permalink`, `open_dm`.
- Files: `upload` shares images into a message's thread (a file must be shared where the viewers are
  before a block can show it, §4.5, §13.2), `delete_files`, `download` (only from Slack's file host, with the
  bot token, within a size limit, and only image bytes).
- New messages (posts, and file shares, which post into a thread) are paced per channel: Slack allows
  about one per second per channel (§4.6, §13.3). 429s are retried after Slack's Retry-After.
Refusals become `SlackRefused` with Slack's code and whether trying again, or a direct message, helps.
"""

from __future__ import annotations

import functools
import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Any
from urllib.parse import urlsplit

import httpx
from pydantic import SecretStr
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError, SlackClientError
from slack_sdk.webhook import WebhookClient

from bot.images.request import InputImage, sniff_image_type
from bot.jobs.rush import GiveWay, never_give_way
from bot.slack.pacing import ChannelPacing, retry_handlers

log = logging.getLogger(__name__)

# The channel will not take the bot's message or files; the requester gets them by direct message (§4.3, §5.3).
CHANNEL_REFUSALS = frozenset(
    {
        "not_in_channel",
        "channel_not_found",
        "is_archived",
        "invalid_channel",
        "posting_to_channel_denied",
        "no_permission",
        "access_denied",
        "restricted_action",
        "restricted_action_read_only_channel",
        "restricted_action_thread_only_channel",
        "restricted_action_non_threadable_channel",
    }
)
_TRANSIENT = frozenset({"ratelimited", "internal_error", "fatal_error", "service_unavailable", "request_timeout"})
SLACK_FILE_HOST = "files.slack.com"


class SlackRefused(Exception):
    def __init__(self, code: str, *, retryable: bool, needed: str | None = None) -> None:
        super().__init__(f"{code} (needs {needed})" if needed else code)
        self.code = code
        self.retryable = retryable
        self.needed = needed  # missing_scope: the scope to add to the app

    @property
    def channel_refused(self) -> bool:
        return self.code in CHANNEL_REFUSALS


class FileProblem(StrEnum):
    GONE = "gone"  # deleted, or not shared where the bot can see it
    TOO_LARGE = "too_large"
    NOT_IMAGE = "not_image"  # not PNG, JPEG or WEBP (or Slack's login page: no bot token)
    UNREADABLE = "unreadable"  # the download failed


class FileUnusable(Exception):
    def __init__(self, problem: FileProblem, detail: str) -> None:
        super().__init__(f"{problem}: {detail}")
        self.problem = problem
        self.detail = detail


@dataclass(frozen=True, slots=True)
class Upload:
    content: bytes
    filename: str
    title: str
    alt_text: str


class SlackGateway:
    def __init__(
        self,
        client: WebClient,
        *,
        http: httpx.Client,
        bot_token: SecretStr,
        max_download_bytes: int,
        pacing: ChannelPacing | None = None,
        sleep: Callable[[float], None] = time.sleep,
        response_timeout_s: float = 10.0,
        give_way: GiveWay = never_give_way,
    ) -> None:
        self._client = client
        self._http = http
        self._token = bot_token
        self._max_download_bytes = max_download_bytes
        self.pacing = pacing or ChannelPacing()
        self._sleep = sleep
        self._response_timeout_s = response_timeout_s
        # In `serve`'s worker: every call to Slack waits while the front answers a burst (bot/jobs/rush.py).
        self._give_way = give_way
        # Files come only from Slack's file host, or from the host of SLACK_API_URL where that is not
        # slack.com (the emulators the tests and the playground use).
        api_host = urlsplit(client.base_url).hostname or ""
        self._file_hosts = {SLACK_FILE_HOST} | ({api_host} if not api_host.endswith("slack.com") else set())

    # --- messages -----------------------------------------------------------------------------

    def post(self, channel_id: str, message: dict[str, Any], *, thread_ts: str | None = None) -> tuple[str, str]:
        """Post; returns (channel, ts) as Slack answered them."""
        self.pacing.wait(channel_id)
        response = self._call(lambda: self._client.chat_postMessage(channel=channel_id, thread_ts=thread_ts, **message))
        return str(response.get("channel") or channel_id), str(response["ts"])

    def update(self, channel_id: str, ts: str, message: dict[str, Any], *, files_just_shared: bool = False) -> None:
        """Replace the message in place. Right after a share, Slack may not yet let a block show the
        file ("invalid slack file" until processed, §4.5): then a few short retries."""
        attempts = 5 if files_just_shared else 1
        for attempt in range(1, attempts + 1):
            # Not paced: the one-message-per-second limit is on new messages; chat.update is rate-limited
            # per workspace (Tier 3), and a 429 is retried after Slack's Retry-After.
            try:
                self._call(lambda: self._client.chat_update(channel=channel_id, ts=ts, **message))
                return
            except SlackRefused as refused:
                if refused.code != "invalid_blocks" or attempt == attempts:
                    raise
                self._sleep(0.5 * attempt)

    def delete_message(self, channel_id: str, ts: str) -> None:
        try:
            self._call(lambda: self._client.chat_delete(channel=channel_id, ts=ts))
        except SlackRefused as refused:
            if refused.code != "message_not_found":  # already gone is what we wanted
                raise

    def permalink(self, channel_id: str, ts: str) -> str | None:
        try:
            response = self._call(lambda: self._client.chat_getPermalink(channel=channel_id, message_ts=ts))
        except SlackRefused:
            return None
        link = response.get("permalink")
        return str(link) if isinstance(link, str) and link.startswith("https://") else None

    def open_dm(self, user_id: str) -> str:
        response = self._call(lambda: self._client.conversations_open(users=user_id))
        return str(response["channel"]["id"])

    def respond(self, response_url: str, message: dict[str, Any]) -> bool:
        """POST to a response_url; False when Slack refused it (expired, used up) or could not be reached."""
        webhook = WebhookClient(
            response_url, timeout=int(self._response_timeout_s), retry_handlers=retry_handlers(self._sleep)
        )
        try:
            result = webhook.send_dict(message)
        except (SlackClientError, OSError) as exc:
            log.warning("response_url unreachable: %s", type(exc).__name__)
            return False
        if result.status_code != 200:
            log.info("response_url refused with HTTP %s", result.status_code)
            return False
        return True

    def ephemeral(self, channel_id: str, user_id: str, text: str, *, thread_ts: str | None = None) -> bool:
        try:
            self._call(
                lambda: self._client.chat_postEphemeral(
                    channel=channel_id, user=user_id, text=text, thread_ts=thread_ts
                )
            )
            return True
        except SlackRefused as refused:
            log.warning("could not reach %s privately: %s", user_id, refused.code)
            return False

    def tell(self, *, response_url: str | None, channel_id: str, user_id: str, message: dict[str, Any]) -> bool:
        """Reach the requester: through the response_url, else an ephemeral message in the channel."""
        if response_url and self.respond(response_url, message):
            return True
        return self.ephemeral(channel_id, user_id, str(message.get("text", "")))

    # --- files --------------------------------------------------------------------------------

    def upload(
        self,
        channel_id: str,
        thread_ts: str,
        uploads: Sequence[Upload],
        *,
        reserved: Callable[[tuple[str, ...]], None] = lambda file_ids: None,
    ) -> tuple[str, ...]:
        """Share the images into a thread of `channel_id`, where the message's viewers can see them.

        Slack's three steps (docs/contracts/slack.md §5.3): a file id and upload URL per image, the bytes,
        then one message sharing them all. `reserved` gets the ids before anything is shared: recorded
        there, a worker that dies mid-upload leaves nothing its successor cannot find and delete (§13.7).
        It may raise to stop the upload before the files are shared.
        """
        reservations = []
        for upload in uploads:
            answer = self._call(
                functools.partial(
                    self._client.files_getUploadURLExternal,
                    filename=upload.filename,
                    length=len(upload.content),
                    alt_txt=upload.alt_text,
                )
            )
            reservations.append((str(answer["file_id"]), str(answer["upload_url"]), upload))
        file_ids = tuple(file_id for file_id, _, _ in reservations)
        reserved(file_ids)
        for _, url, upload in reservations:
            self._send_bytes(url, upload.content)
        files: list[dict[str, str | None]] = [{"id": f, "title": u.title} for f, _, u in reservations]
        self.pacing.wait(channel_id)
        self._call(
            lambda: self._client.files_completeUploadExternal(files=files, channel_id=channel_id, thread_ts=thread_ts)
        )
        return file_ids

    def _send_bytes(self, url: str, content: bytes) -> None:
        """Step two: the bytes to the URL Slack gave (its own upload host), as a raw body."""
        self._give_way()
        try:
            answer = self._http.post(url, content=content, timeout=httpx.Timeout(60.0, connect=10.0))
        except httpx.HTTPError as exc:
            raise SlackRefused("upload_failed", retryable=True) from exc
        if answer.status_code != 200:
            log.warning("Slack's upload URL answered HTTP %d", answer.status_code)
            raise SlackRefused("upload_failed", retryable=answer.status_code >= 500 or answer.status_code == 429)

    def delete_files(self, file_ids: Sequence[str]) -> None:
        """Delete the bot's files and the messages that shared them, so no "This file was deleted." stub
        is left in the thread (docs/contracts/slack.md §13.6)."""
        for file_id in file_ids:
            try:
                info = self._call(functools.partial(self._client.files_info, file=file_id))["file"]
                for channel_id, ts in _share_messages(info):
                    self.delete_message(channel_id, ts)
                self._call(functools.partial(self._client.files_delete, file=file_id))
            except SlackRefused as refused:
                if refused.code not in ("file_not_found", "file_deleted"):
                    raise

    def download(self, file_id: str) -> InputImage:
        """An image someone (or the bot) shared, checked: Slack's host, the bot token, size, image bytes."""
        try:
            info = self._call(lambda: self._client.files_info(file=file_id))["file"]
        except SlackRefused as refused:
            # A file shared only where the bot is not reads as file_not_found, or not_visible (§5.4).
            if refused.code in ("file_not_found", "file_deleted", "not_visible", "access_denied"):
                raise FileUnusable(FileProblem.GONE, refused.code) from refused
            raise
        if int(info.get("size") or 0) > self._max_download_bytes:
            raise FileUnusable(FileProblem.TOO_LARGE, f"{info.get('size')} bytes")
        url = str(info.get("url_private_download") or info.get("url_private") or "")
        host = urlsplit(url).hostname or ""
        if host not in self._file_hosts or not url.startswith(("https://", "http://")):
            raise FileUnusable(FileProblem.UNREADABLE, f"file URL on {host!r}, not Slack's file host")
        content = self._fetch(url)
        media_type = sniff_image_type(content)
        if media_type is None:  # Slack answers a login page (HTML, 200) to a request without the token
            raise FileUnusable(FileProblem.NOT_IMAGE, f"{info.get('mimetype')!r}, {len(content)} bytes")
        return InputImage(content, media_type, str(info.get("name") or f"{file_id}.png"))

    def _fetch(self, url: str) -> bytes:
        headers = {"Authorization": f"Bearer {self._token.get_secret_value()}"}
        try:
            with self._http.stream("GET", url, headers=headers, timeout=httpx.Timeout(30.0, connect=10.0)) as answer:
                if answer.status_code == 404:
                    raise FileUnusable(FileProblem.GONE, "404")
                if answer.status_code != 200:
                    raise FileUnusable(FileProblem.UNREADABLE, f"HTTP {answer.status_code}")
                chunks, total = [], 0
                for chunk in answer.iter_bytes():
                    total += len(chunk)
                    if total > self._max_download_bytes:
                        raise FileUnusable(FileProblem.TOO_LARGE, f"over {self._max_download_bytes} bytes")
                    chunks.append(chunk)
        except httpx.HTTPError as exc:
            raise FileUnusable(FileProblem.UNREADABLE, type(exc).__name__) from exc
        return b"".join(chunks)

    # --- errors ---------------------------------------------------------------------------------

    def _call(self, call: Callable[[], Any]) -> Any:
        self._give_way()
        try:
            return call()
        except SlackApiError as exc:
            code = str(exc.response.get("error") or f"http_{exc.response.status_code}")
            status = exc.response.status_code
            retryable = status == 429 or status >= 500 or code in _TRANSIENT
            needed = exc.response.get("needed") if code == "missing_scope" else None
            raise SlackRefused(code, retryable=retryable, needed=str(needed) if needed else None) from exc
        except (SlackClientError, OSError) as exc:
            # The raw upload POST failed (urllib raises HTTPError for a non-200) or the connection dropped.
            raise SlackRefused(type(exc).__name__, retryable=True) from exc


def _share_messages(info: dict[str, Any]) -> list[tuple[str, str]]:
    """(channel, ts) of each message that shares a file, from files.info's `shares` (public and private)."""
    shares = info.get("shares") or {}
    return [
        (str(channel_id), str(entry["ts"]))
        for kind in ("public", "private")
        for channel_id, entries in (shares.get(kind) or {}).items()
        for entry in entries or ()
        if isinstance(entry, dict) and entry.get("ts")
    ]
