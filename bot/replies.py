"""Every string and message a Slack user sees, in one place.

Anything that came from a user or a model passes through `escape` before it is put in mrkdwn, so a
prompt (or a revised prompt) can never ping `@channel`, mention someone or forge a link.
Raw exception text never appears here: errors arrive as typed values and are described in plain words.
"""

from __future__ import annotations

import re
from datetime import datetime
from typing import Any

from bot.images import ContentRejected, ImageGenerationError, ImageResult, Misconfigured, RateLimited
from bot.request import Family, ImageRequest, RequestError, usage_help

Message = dict[str, Any]

# Slack's initial_comment and message text allow far more, but a 30 000-character gpt-image prompt
# would bury the image; the full prompt stays in the usage row.
_MAX_ECHO_CHARS = 2500
_BROADCAST = re.compile(r"@(channel|here|everyone)\b", re.IGNORECASE)


def escape(text: str) -> str:
    """Make user or model text inert in mrkdwn: Slack's three escapes, and no bare broadcast words."""
    text = text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    # A word joiner after "@" keeps "@channel" readable but stops any client from treating it as one.
    return _BROADCAST.sub("@\u2060\\1", text)


def _echo(text: str) -> str:
    if len(text) > _MAX_ECHO_CHARS:
        text = text[:_MAX_ECHO_CHARS].rstrip() + " …"
    return escape(text)


def _quote(text: str) -> str:
    return "\n".join(f"> {line}" if line else ">" for line in _echo(text).splitlines() or [""])


def _options(request: ImageRequest, model: str) -> str:
    return f"`{escape(request.options_summary())}` · {escape(model)}"


# --- the ack ------------------------------------------------------------------------------------


def queued(request: ImageRequest, model: str, job_id: int) -> str:
    return (
        f":art: Imagining *{_echo(request.prompt)}*\n{_options(request, model)}\n"
        f"It will be posted in this channel when it is ready (job {job_id})."
    )


def already_queued(job_id: int) -> str:
    return f":hourglass_flowing_sand: This request is already in the queue (job {job_id}); it will be posted once."


def request_error(error: RequestError) -> str:
    return f":warning: {escape(error.message)}\nType `/imagine help` to see every option."


def help_text(family: Family, model: str) -> str:
    return f"*/imagine* makes an image with {escape(model)} and posts it here.\n```{escape(usage_help(family))}```"


def not_accepted() -> str:
    return (
        ":warning: I could not accept your request just now because my database did not answer. "
        "Nothing was queued; please try again in a minute."
    )


# --- the post -----------------------------------------------------------------------------------


def image_comment(user_id: str, request: ImageRequest, model: str, result: ImageResult) -> str:
    if result.revised_prompt:
        revised = f"*Prompt the model used:*\n{_quote(result.revised_prompt)}"
    else:
        revised = f"_{escape(model)} does not revise prompts: the image was made from the prompt as written._"
    return f"<@{user_id}> imagined:\n{_quote(request.prompt)}\n{revised}\n{_options(request, model)}"


def alt_text(request: ImageRequest) -> str:
    # alt_txt is plain text (no mrkdwn), limited to 1000 characters by files.getUploadURLExternal.
    return request.prompt[:1000]


def image_title(request: ImageRequest) -> str:
    return request.prompt if len(request.prompt) <= 80 else request.prompt[:79].rstrip() + "…"


# --- progress and outcomes through response_url -------------------------------------------------


def _ephemeral(text: str) -> Message:
    return {"response_type": "ephemeral", "replace_original": True, "text": text}


def generating(request: ImageRequest, job_id: int) -> Message:
    return _ephemeral(f":art: Generating *{_echo(request.prompt)}* now… (job {job_id})")


def delivered(channel_id: str, job_id: int, *, fallback_dm: bool) -> Message:
    where = "in a direct message to you" if fallback_dm else f"in <#{channel_id}>"
    return _ephemeral(f":white_check_mark: Your image is posted {where} (job {job_id}).")


def retrying(error: ImageGenerationError, at: datetime, job_id: int) -> Message:
    why = "Azure asked us to slow down" if isinstance(error, RateLimited) else "Azure did not answer properly"
    return _ephemeral(
        f":hourglass_flowing_sand: {why}; your image is still queued and will be tried again "
        f"at <!date^{int(at.timestamp())}^{{time_secs}}|{at:%H:%M:%S} UTC> (job {job_id})."
    )


def failed(error: ImageGenerationError, job_id: int, attempts: int) -> Message:
    if isinstance(error, ContentRejected):
        what = "your prompt" if error.stage == "prompt" else "the generated image"
        text = (
            f":no_entry_sign: Azure's content policy blocked {what}, so nothing was posted and it cost nothing. "
            "Try describing the scene differently, leaving out violent, sexual or hateful details "
            "and real people's names."
        )
    elif isinstance(error, Misconfigured):
        text = (
            ":warning: I could not make your image because of a configuration problem on our side "
            "(the image service refused my credentials or deployment). An admin can find the details "
            f"in the logs under job {job_id}. Nothing was charged."
        )
    elif error.retryable:
        text = (
            f":warning: Azure's image service was unavailable for all {attempts} attempts, so I gave up. "
            "Please try again in a few minutes."
        )
    else:
        text = (
            ":warning: Azure refused this request as invalid. Check the options with `/imagine help`, "
            "or try a simpler prompt."
        )
    return _ephemeral(f"{text} (job {job_id})")


def internal_error(job_id: int) -> Message:
    return _ephemeral(
        f":warning: Something went wrong on our side while making your image (job {job_id}). "
        "It has been logged; please try again."
    )


def not_postable(channel_id: str, reason: str, job_id: int) -> Message:
    if reason == "is_archived":
        why = f"<#{channel_id}> is archived"
        fix = "Unarchive it, or run `/imagine` in another channel."
    else:
        why = f"I am not a member of <#{channel_id}>"
        fix = "Invite me with `/invite @imagine` (or the channel's Integrations tab), then try again."
    return _ephemeral(
        f":envelope: I made your image but could not post it because {why}, so I sent it to you "
        f"in a direct message instead. {fix} (job {job_id})"
    )


def undeliverable(reason: str, job_id: int) -> Message:
    return _ephemeral(
        f":warning: I made your image but Slack would not let me post it anywhere ({escape(reason)}). "
        f"An admin can check the app's scopes and membership; the details are logged under job {job_id}."
    )
