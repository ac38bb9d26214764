"""Getting results to people in Slack: the image upload, its fallbacks, and replies to the requester.

Uploads use Slack's v2 flow (`files.getUploadURLExternal` → upload → `files.completeUploadExternal`)
through `WebClient.files_upload_v2`; `files.upload` is sunset. Uploads need real channel membership
(`chat:write.public` does not cover them), so a channel the bot cannot post in gets the image by
direct message instead and the requester is told why (reference: slack-platform.md §3.2, §6.4, §6.5).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError, SlackClientError
from slack_sdk.http_retry import ConnectionErrorRetryHandler, RateLimitErrorRetryHandler, RetryHandler
from slack_sdk.webhook import WebhookClient

from bot import replies
from bot.images import GeneratedImage

log = logging.getLogger(__name__)

# Where the bot may not post, the requester still gets the image: by direct message.
_REDIRECT_TO_DM = frozenset({"not_in_channel", "channel_not_found", "is_archived"})


def slack_retry_handlers() -> list[RetryHandler]:
    """Connection errors once, and 429s after Slack's Retry-After (the SDK retries neither by default)."""
    return [ConnectionErrorRetryHandler(max_retry_count=2), RateLimitErrorRetryHandler(max_retry_count=3)]


@dataclass(frozen=True, slots=True)
class Delivered:
    channel_id: str
    file_ids: tuple[str, ...]
    redirected_because: str | None  # the Slack error that sent the image to a DM, if any
    message_ts: str | None = None  # the image message, once Slack has shared the file (for threads)


class DeliveryFailed(Exception):
    """Slack would not take the image anywhere; `reason` is Slack's error code."""

    def __init__(self, reason: str, *, retryable: bool) -> None:
        super().__init__(reason)
        self.reason = reason
        self.retryable = retryable


class SlackDelivery:
    def __init__(
        self,
        client: WebClient,
        *,
        response_timeout_s: float = 10.0,
        share_wait_s: float = 3.0,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self._client = client
        self._response_timeout_s = response_timeout_s
        self._share_wait_s = share_wait_s
        self._sleep = sleep

    def post_images(
        self,
        *,
        channel_id: str,
        user_id: str,
        images: tuple[GeneratedImage, ...],
        comment: str,
        title: str,
        alt_text: str,
        stem: str,
        thread_ts: str | None = None,
    ) -> Delivered:
        try:
            files = self._upload(channel_id, images, comment, title, alt_text, stem, thread_ts)
            return Delivered(channel_id, files, None, self._shared_ts(files, channel_id))
        except SlackApiError as exc:
            reason = _error_code(exc)
            if reason not in _REDIRECT_TO_DM:
                raise _failure(exc) from exc
            log.warning("cannot post in %s (%s); sending the image by direct message", channel_id, reason)
        try:
            dm = self._client.conversations_open(users=user_id)
            dm_id = str(dm["channel"]["id"])
            files = self._upload(dm_id, images, comment, title, alt_text, stem, None)
            return Delivered(dm_id, files, reason, self._shared_ts(files, dm_id))
        except SlackApiError as exc:
            raise _failure(exc) from exc
        except (SlackClientError, OSError) as exc:
            raise DeliveryFailed(type(exc).__name__, retryable=True) from exc

    def post_controls(self, channel_id: str, message: replies.Message, thread_ts: str | None) -> str | None:
        """Post the buttons under an image; returns the message's ts, or None if Slack refused it.

        The image is already delivered by then, so a refusal here is logged and the job still succeeds.
        """
        try:
            response = self._client.chat_postMessage(channel=channel_id, thread_ts=thread_ts, **message)
        except (SlackClientError, OSError) as exc:
            log.warning("could not post the buttons under the image: %s", _error_code(exc))
            return None
        return str(response.get("ts") or "") or None

    def permalink(self, channel_id: str, message_ts: str) -> str | None:
        """A link to the posted image for the requester; None if Slack will not say."""
        try:
            response = self._client.chat_getPermalink(channel=channel_id, message_ts=message_ts)
        except (SlackClientError, OSError) as exc:
            log.info("no permalink for the post: %s", _error_code(exc))
            return None
        link = response.get("permalink")
        return str(link) if isinstance(link, str) and link.startswith("https://") else None

    def _shared_ts(self, file_ids: tuple[str, ...], channel_id: str) -> str | None:
        """The ts of the message that shows the files, once Slack has shared them (it does so shortly after
        the upload completes). Bounded: without it the buttons still follow, just not in a thread."""
        if not file_ids:
            return None
        deadline = time.monotonic() + self._share_wait_s
        while True:
            try:
                info = self._client.files_info(file=file_ids[0])
            except (SlackClientError, OSError) as exc:
                log.info("files.info unavailable (%s); posting without waiting for the share", _error_code(exc))
                return None
            shares = (info.get("file") or {}).get("shares") or {}
            for visibility in ("public", "private"):
                posts = (shares.get(visibility) or {}).get(channel_id) or []
                if posts and posts[0].get("ts"):
                    return str(posts[0]["ts"])
            if time.monotonic() >= deadline:
                return None
            self._sleep(0.2)

    def _upload(
        self,
        channel_id: str,
        images: tuple[GeneratedImage, ...],
        comment: str,
        title: str,
        alt_text: str,
        stem: str,
        thread_ts: str | None,
    ) -> tuple[str, ...]:
        uploads = [
            {
                "content": image.content,
                "filename": f"{stem}-{index}.{image.extension}" if len(images) > 1 else f"{stem}.{image.extension}",
                "title": title,
                "alt_txt": alt_text,
            }
            for index, image in enumerate(images, start=1)
        ]
        try:
            response = self._client.files_upload_v2(
                channel=channel_id, file_uploads=uploads, initial_comment=comment, thread_ts=thread_ts
            )
        except SlackApiError:
            raise
        except (SlackClientError, OSError) as exc:
            # The raw upload POST failed (urllib raises HTTPError for a non-200 before the SDK looks)
            # or the connection dropped: worth another attempt.
            raise DeliveryFailed(f"upload_{type(exc).__name__}", retryable=True) from exc
        files = response.get("files") or []
        return tuple(str(f["id"]) for f in files if isinstance(f, dict) and "id" in f)

    def respond(self, response_url: str, message: replies.Message) -> bool:
        """POST to a response_url; False when Slack refused it (expired, used up) or could not be reached."""
        webhook = WebhookClient(
            response_url, timeout=int(self._response_timeout_s), retry_handlers=slack_retry_handlers()
        )
        try:
            result = webhook.send_dict(message)
        except (SlackClientError, OSError) as exc:
            log.warning("response_url unreachable: %s", type(exc).__name__)
            return False
        if result.status_code != 200:
            log.info("response_url refused with HTTP %s %s", result.status_code, result.body[:60])
            return False
        return True

    def tell(self, *, response_url: str | None, channel_id: str, user_id: str, message: replies.Message) -> bool:
        """Reach the requester: through the response_url, else an ephemeral message in the channel."""
        if response_url and self.respond(response_url, message):
            return True
        try:
            self._client.chat_postEphemeral(channel=channel_id, user=user_id, text=str(message.get("text", "")))
            return True
        except SlackClientError as exc:
            log.warning("could not reach the requester: %s", _error_code(exc))
            return False


def _error_code(exc: SlackClientError | OSError) -> str:
    if isinstance(exc, SlackApiError):
        return str(exc.response.get("error") or f"http_{exc.response.status_code}")
    return type(exc).__name__


def _failure(exc: SlackApiError) -> DeliveryFailed:
    status = exc.response.status_code
    reason = _error_code(exc)
    # 429s that outlasted the retry handler, and Slack's own 5xx, may clear up; scope or auth errors won't.
    retryable = status == 429 or status >= 500 or reason in ("ratelimited", "internal_error", "fatal_error")
    return DeliveryFailed(reason, retryable=retryable)
