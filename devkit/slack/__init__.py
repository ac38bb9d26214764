"""A loopback Slack for imagine-bot's tests: the Web API, file hosting, response_urls and Socket Mode, and
the side that plays Slack toward the bot (signed commands, interactions, Events API deliveries).

Every wire fact is in docs/contracts/slack.md, cited by section in the code. Where Slack's docs are
silent the emulator chooses (docs/contracts/slack.md §12):

* An unknown `C…` id is a public channel the bot has not joined; unknown `G…`/`D…` ids (and anything
  else) do not exist for the bot: `channel_not_found`.
* A response_url Slack never minted answers 404 `no_service`; posts rejected with 400/404 do not use up
  one of its five uses. Response posts are recorded only; they never change `messages()`.
* `image_url`s are not fetched (Slack would, and would refuse loopback URLs).
* Rate limits are those injected with `rate_limit_next`, and with `channel_post_rate` a token bucket per
  channel (burst `channel_post_burst`) shared by chat.postMessage, chat.update and
  files.completeUploadExternal; refused calls do not spend a token.
* A file's shares show in files.info, and a `slack_file` may be shown, `file_ready_after_s` after the
  share. In views (no channel) a `slack_file` needs a ready share in any channel.
* An announcement-only channel (`posting_restricted`) answers chat.postMessage with `restricted_action`
  and files.completeUploadExternal with `posting_to_channel_denied`.
* files.completeUploadExternal: a malformed channel id is `invalid_channel`, an invisible one
  `channel_not_found`; another person's file is `access_denied`.
* Socket Mode URLs are `ws://` (no TLS) on their own port; each ticket is good for one connection and an
  unknown or used one answers 404. The app token is refused by every other method
  (`not_allowed_token_type`), as is the bot token by apps.connections.open.
* url_private without the bot token (or without files:read) answers Slack's sign-in page, HTTP 200.
"""

from devkit.slack.emulator import SlackEmulator
from devkit.slack.records import (
    ApiCall,
    Channel,
    Download,
    FileShare,
    Message,
    MessageVersion,
    ResponsePost,
    SentEvent,
    SentRequest,
    UploadedFile,
)
from devkit.slack.scopes import manifest_scopes

__all__ = [
    "ApiCall",
    "Channel",
    "Download",
    "FileShare",
    "Message",
    "MessageVersion",
    "ResponsePost",
    "SentEvent",
    "SentRequest",
    "SlackEmulator",
    "UploadedFile",
    "manifest_scopes",
]
