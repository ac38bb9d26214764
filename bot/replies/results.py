"""The one message a request gets in the channel: a placeholder at once, updated in place as the job
moves (queued, drawing with previews, retrying), then the result — the image(s), who asked, the prompt,
the prompt the model used, the options and the buttons — or the plain reason it failed.

Images are Slack files shared in the message's thread and shown with `slack_file` image blocks, so no
public image hosting is needed (docs/contracts/slack.md §4.5). Several images are a carousel of cards,
each with its own buttons.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any

from bot.images.models import Family
from bot.images.sizes import Size, largest_for
from bot.replies.text import (
    NO_UNFURL,
    Message,
    context,
    echo,
    escape,
    link,
    local_time,
    ordinal,
    plain,
    quote,
    section,
    user,
)
from bot.store.spec import Job, OriginKind

EDIT = "imagine_edit"
VARY = "imagine_vary"
UPSCALE = "imagine_upscale"
REGENERATE = "imagine_regenerate"
USE_REVISED = "imagine_use_revised"
DELETE = "imagine_delete"
_CHANNEL_PROMPT_CHARS = 700  # the full prompt stays in the usage row; the channel sees a readable part


@dataclass(frozen=True, slots=True)
class Queued:
    position: int


@dataclass(frozen=True, slots=True)
class Drawing:
    preview_file: str | None = None  # the newest rough preview, a Slack file id


@dataclass(frozen=True, slots=True)
class Retrying:
    at: datetime
    rate_limited: bool


class Revision(StrEnum):
    """What the post says about the prompt the model used."""

    REVISED = "revised"  # the revised prompt is shown
    NOT_REVISED = "not_revised"  # this model does not revise prompts
    RAW = "raw"  # --raw: sent as written on purpose
    SEVERAL = "several"  # revision makes one image at a time; several were drawn from the prompt as written
    EDIT = "edit"  # an edit: the instruction is used as written


@dataclass(frozen=True, slots=True)
class Finished:
    file_ids: tuple[str, ...]
    revised_prompt: str | None
    revision: Revision
    parent_link: str | None = None  # permalink of what it was made from


class Failure(StrEnum):
    PROMPT_REFUSED = "prompt_refused"
    OUTPUT_FILTERED = "output_filtered"
    DEPLOYMENT_MISSING = "deployment_missing"
    MISCONFIGURED = "misconfigured"
    UNAVAILABLE = "unavailable"
    INVALID = "invalid"
    TOO_LATE = "too_late"
    INTERNAL = "internal"
    UNDELIVERABLE = "undeliverable"
    SOURCE_GONE = "source_gone"  # the picture to edit was deleted or is not shared with the bot
    SOURCE_TOO_LARGE = "source_too_large"
    SOURCE_NOT_IMAGE = "source_not_image"
    SOURCE_UNREADABLE = "source_unreadable"
    SOURCE_REFUSED = "source_refused"  # Slack would not let the bot read it (a scope, the token)


@dataclass(frozen=True, slots=True)
class Failed:
    failure: Failure
    deployment: str | None = None
    attempts: int = 1
    minutes: int | None = None  # TOO_LATE: the deadline


State = Queued | Drawing | Retrying | Finished | Failed


def channel_message(job: Job, state: State) -> Message:
    """The whole message for `job` in `state`: text for notifications and blocks for the channel."""
    request = job.request
    who = f"{user(job.origin.user_id)} {_verb(job.origin.kind)}"
    blocks: list[dict[str, Any]] = [section(f"{who}\n{quote(request.prompt, _CHANNEL_PROMPT_CHARS)}")]
    match state:
        case Queued(position):
            place = "next in line" if position <= 1 else f"{ordinal(position)} in line"
            blocks.append(context(f":hourglass_flowing_sand: Queued, {place}"))
        case Drawing(preview):
            blocks.append(context(":art: Drawing…" + (" (rough preview)" if preview else "")))
            if preview is not None:
                blocks.append(_image(preview, f"Rough preview of: {request.prompt}", "Preview"))
        case Retrying(at, rate_limited):
            why = "Azure asked us to slow down" if rate_limited else "Azure did not answer properly"
            blocks.append(context(f":hourglass_flowing_sand: {why}; trying again at {local_time(at)}"))
        case Finished():
            blocks += _finished(job, state)
        case Failed():
            blocks.append(section(f":warning: {failure_text(state)}"))
    blocks.append(context(_options_line(job, state)))
    if isinstance(state, Finished):
        blocks.append(_request_buttons(job, state))
    text = f"{who} {echo(request.prompt, 200)}"
    return {"text": text, "blocks": blocks, **NO_UNFURL}


def _verb(kind: OriginKind) -> str:
    return {
        OriginKind.EDIT: "asked for an edit:",
        OriginKind.VARY: "asked for a variation",
        OriginKind.UPSCALE: "asked for a larger version",
        OriginKind.REFERENCE: "imagined, from a picture:",
    }.get(kind, "imagined:")


def _image(file_id: str, alt: str, title: str) -> dict[str, Any]:
    # alt_text and title are plain text (no mrkdwn), limited to 2000 and 2000 characters.
    return {
        "type": "image",
        "slack_file": {"id": file_id},
        "alt_text": plain(alt)[:1000],
        "title": {"type": "plain_text", "text": plain(title)[:200]},
    }


def _finished(job: Job, state: Finished) -> list[dict[str, Any]]:
    blocks: list[dict[str, Any]] = []
    files = state.file_ids
    if len(files) == 1:
        blocks.append(_image(files[0], job.request.prompt, _title(job.request.prompt)))
        # A model that cannot edit has no per-image buttons; an empty actions block is not valid Block Kit.
        if _per_image_buttons(job, 0):
            blocks.append(_image_buttons(job, 0, len(files)))
    else:
        cards = [
            {
                "type": "card",
                "hero_image": {
                    "type": "image",
                    "slack_file": {"id": file_id},
                    "alt_text": plain(job.request.prompt)[:1000],
                },
                "title": {"type": "plain_text", "text": f"Image {index + 1} of {len(files)}"},
                **({"actions": actions} if (actions := _per_image_buttons(job, index)) else {}),
            }
            for index, file_id in enumerate(files)
        ]
        blocks.append({"type": "carousel", "elements": cards})
    if state.revision is Revision.REVISED and state.revised_prompt:
        blocks.append(section(f"*Prompt the model used:*\n{quote(state.revised_prompt, 1500)}"))
    else:
        blocks.append(context(_revision_text(job, state.revision)))
    return blocks


def _revision_text(job: Job, revision: Revision) -> str:
    model = escape(job.spec.model)
    return {
        Revision.NOT_REVISED: f"_{model} does not revise prompts: the image was made from the prompt as written._",
        Revision.RAW: "_Made from the prompt exactly as written (--raw)._",
        Revision.SEVERAL: "_Prompts are revised one image at a time; these were made from the prompt as written._",
        Revision.EDIT: "_An edit follows the instruction as written._",
        Revision.REVISED: "_The model did not report a revised prompt._",
    }[revision]


def _title(prompt: str) -> str:
    return prompt if len(prompt) <= 80 else prompt[:79].rstrip() + "…"


def _options_line(job: Job, state: State) -> str:
    parts = [f"`{escape(job.request.options_summary())}`", escape(job.spec.model), f"job {job.id}"]
    if isinstance(state, Finished) and state.parent_link and job.origin.kind is not OriginKind.COMMAND:
        made_from = "a picture" if job.origin.kind is OriginKind.REFERENCE else f"job {job.origin.parent_job_id}"
        parts.append(f"made from {link(state.parent_link, made_from)}")
    return " · ".join(parts)


def _button(action_id: str, label: str, value: str, *, style: str | None = None) -> dict[str, Any]:
    button: dict[str, Any] = {
        "type": "button",
        "action_id": action_id,
        "text": {"type": "plain_text", "text": label},
        "value": value,
    }
    if style:
        button["style"] = style
    return button


def can_upscale(job: Job) -> bool:
    size = Size.parse(job.request.size)
    return size is not None and largest_for(size, Family.of(job.spec.model)) != size


def _per_image_buttons(job: Job, index: int) -> list[dict[str, Any]]:
    """Edit, Vary and Upscale for one image; the value names the job and the image (`12:0`)."""
    if not Family.of(job.spec.model).edits:
        return []
    value = f"{job.id}:{index}"
    buttons = [_button(EDIT, "Edit", value), _button(VARY, "Vary", value)]
    if can_upscale(job):
        buttons.append(_button(UPSCALE, "Upscale", value))
    return buttons


def _image_buttons(job: Job, index: int, count: int) -> dict[str, Any]:
    return {
        "type": "actions",
        "block_id": f"imagine_image_{job.id}_{index}",
        "elements": _per_image_buttons(job, index),
    }


def _request_buttons(job: Job, state: Finished) -> dict[str, Any]:
    value = str(job.id)
    buttons = [_button(REGENERATE, "Regenerate", value)]
    if state.revised_prompt and state.revision is Revision.REVISED:
        buttons.append(_button(USE_REVISED, "Use revised prompt", value))
    delete = _button(DELETE, "Delete", value, style="danger")
    delete["confirm"] = {
        "title": {"type": "plain_text", "text": "Delete this image?"},
        "text": {"type": "mrkdwn", "text": "The message and its images are removed for everyone."},
        "confirm": {"type": "plain_text", "text": "Delete"},
        "deny": {"type": "plain_text", "text": "Keep it"},
    }
    buttons.append(delete)
    return {"type": "actions", "block_id": f"imagine_request_{job.id}", "elements": buttons}


def failure_text(state: Failed) -> str:
    """The plain reason a job failed, for the channel message and the requester's private note."""
    match state.failure:
        case Failure.PROMPT_REFUSED:
            return (
                "Azure's content policy refused this prompt, so nothing was drawn and it cost nothing. "
                "Try describing the scene differently, leaving out violent, sexual or hateful details "
                "and real people's names."
            )
        case Failure.OUTPUT_FILTERED:
            return (
                "The model drew something Azure's content filter then blocked, so it is not shown "
                "and cost nothing. "
                "Trying again, or rewording the prompt, usually gets a picture through."
            )
        case Failure.DEPLOYMENT_MISSING:
            deployment = escape(state.deployment or "the model")
            return (
                f"The deployment `{deployment}` is not available on the Azure resource (it may have been removed "
                "or its model retired). An admin must change the bot's model setting; nothing was charged."
            )
        case Failure.MISCONFIGURED:
            return (
                "The image service refused the bot's credentials or settings. An admin can find the details in the "
                "logs under this job's number; nothing was charged."
            )
        case Failure.UNAVAILABLE:
            return (
                f"Azure's image service was unavailable for all {state.attempts} attempts, so I gave up. "
                "Please try again in a few minutes."
            )
        case Failure.INVALID:
            return (
                "Azure refused this request as invalid. Check the options with `/imagine help`, "
                "or try a simpler prompt."
            )
        case Failure.TOO_LATE:
            return (
                f"I could not make this image within {state.minutes} minutes (Azure or Slack stayed unavailable), "
                "so I gave up rather than post it late. Please try again."
            )
        case Failure.INTERNAL:
            return "Something went wrong on our side while making this image. It has been logged; please try again."
        case Failure.UNDELIVERABLE:
            return "I made the image but Slack would not let me post it anywhere. An admin can check the app's scopes."
        case Failure.SOURCE_GONE:
            return (
                "The picture to start from is gone, or not shared where I can read it. "
                "Post it again (or invite me to its channel) and retry."
            )
        case Failure.SOURCE_TOO_LARGE:
            return "The picture to start from is larger than I may download. Try a smaller file."
        case Failure.SOURCE_NOT_IMAGE:
            return "The file to start from is not a PNG, JPEG or WEBP picture, which is all the image model takes."
        case Failure.SOURCE_UNREADABLE:
            return "I could not download the picture to start from. Please try again in a minute."
        case Failure.SOURCE_REFUSED:
            return "Slack would not let me read the picture to start from. An admin can check the app's scopes."
