"""Every string and message a Slack user sees, in one place.

Anything that came from a user or a model passes through `escape` before it is put in mrkdwn, so a
prompt (or a revised prompt) can never ping `@channel`, mention someone or forge a link.
Raw exception text never appears here: errors arrive as typed values and are described in plain words.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from bot.images import ContentRejected, ImageGenerationError, ImageResult, Misconfigured, RateLimited
from bot.request import ImageRequest, RequestError, help_examples, usage_help

if TYPE_CHECKING:
    from bot.intake import Deployment

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


def queued(request: ImageRequest, model: str, job_ids: Sequence[int], position: int = 1) -> str:
    line = f" {_ordinal(position)} in line;" if position > 1 else ""
    jobs = f"job {job_ids[0]}" if len(job_ids) == 1 else f"jobs {job_ids[0]}–{job_ids[-1]}"
    note = f"\n_{escape(request.size_note)}_" if request.size_note else ""
    several = " They will be posted together" if len(job_ids) > 1 or request.n > 1 else " It will be posted"
    return (
        f":art: Imagining *{_echo(request.prompt)}*\n{_options(request, model)}{note}\n"
        f"Queued as {jobs},{line}{several} in this channel when ready."
    )


def _ordinal(n: int) -> str:
    suffix = "th" if 10 <= n % 100 <= 20 else {1: "st", 2: "nd", 3: "rd"}.get(n % 10, "th")
    return f"{n}{suffix}"


def already_queued(job_id: int) -> str:
    return f":hourglass_flowing_sand: This request is already in the queue (job {job_id}); it will be posted once."


def request_error(error: RequestError) -> str:
    return f":warning: {escape(error.message)}\nType `/imagine help` to see every option."


def help_message(deployments: Mapping[str, Deployment], default: str) -> dict[str, Any]:
    """Block Kit help: what the command does, examples for each model, then every option."""
    families = {name: d.family for name, d in deployments.items()}
    models = ", ".join(f"`{escape(name)}` ({escape(d.model)})" for name, d in deployments.items())
    blocks: list[dict[str, Any]] = [
        _section(
            f"*/imagine* describes an image in words; I make it with Azure OpenAI and post it in the channel, "
            f"credited to you, with the prompt the model actually used.\nModels: {models}; "
            f"`{escape(default)}` unless you add `--model NAME`."
        ),
    ]
    for name, deployment in deployments.items():
        examples = "\n".join(f"`/imagine {escape(example)}`" for example in help_examples(deployment.family))
        blocks.append(
            _section(
                f"*{escape(deployment.model)}*"
                + (f" (`--model {escape(name)}`)" if len(deployments) > 1 else "")
                + f"\n{examples}"
            )
        )
    blocks.append({"type": "divider"})
    reference = usage_help(families if len(families) > 1 else deployments[default].family)
    blocks.append(_section(f"```{escape(reference)}```"))
    return {"response_type": "ephemeral", "text": "How to use /imagine", "blocks": blocks}


def _section(text: str) -> dict[str, Any]:
    return {"type": "section", "text": {"type": "mrkdwn", "text": text[:3000]}}


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


def delivered(channel_id: str, job_id: int, *, fallback_dm: bool, group_note: str | None = None) -> Message:
    where = "in a direct message to you" if fallback_dm else f"in <#{channel_id}>"
    what = f"Your image ({group_note})" if group_note else "Your image"
    return _ephemeral(f":white_check_mark: {what} is posted {where} (job {job_id}).")


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


def too_late(job_id: int, deadline: timedelta) -> Message:
    minutes = round(deadline.total_seconds() / 60)
    return _ephemeral(
        f":hourglass: I could not make your image within {minutes} minutes (Azure or Slack stayed "
        f"unavailable), so I gave up rather than post it late. Please try again. (job {job_id})"
    )


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


# --- buttons under a result -----------------------------------------------------------------------

REGENERATE = "imagine_regenerate"
USE_REVISED = "imagine_use_revised"
MORE = "imagine_more"
DELETE = "imagine_delete"


def controls(job_id: int, *, has_revised_prompt: bool, group_note: str | None = None) -> dict[str, Any]:
    """The buttons posted under an image. They carry the job id only, never the prompt."""
    value = str(job_id)
    buttons: list[dict[str, Any]] = [_button(REGENERATE, "Regenerate", value)]
    if has_revised_prompt:
        buttons.append(_button(USE_REVISED, "Use revised prompt", value))
    buttons.append(_button(MORE, "More like this", value))
    delete = _button(DELETE, "Delete", value)
    delete["style"] = "danger"
    delete["confirm"] = {
        "title": {"type": "plain_text", "text": "Delete this image?"},
        "text": {"type": "mrkdwn", "text": "The image and these buttons are removed for everyone."},
        "confirm": {"type": "plain_text", "text": "Delete"},
        "deny": {"type": "plain_text", "text": "Keep it"},
    }
    buttons.append(delete)
    context = f"job {job_id}" + (f" · {group_note}" if group_note else "")
    return {
        "text": f"Regenerate, vary or delete the image above (job {job_id})",
        "blocks": [
            {"type": "actions", "block_id": f"imagine_controls_{job_id}", "elements": buttons},
            {"type": "context", "elements": [{"type": "mrkdwn", "text": context}]},
        ],
        "unfurl_links": False,
        "unfurl_media": False,
    }


def _button(action_id: str, label: str, value: str) -> dict[str, Any]:
    return {"type": "button", "action_id": action_id, "text": {"type": "plain_text", "text": label}, "value": value}


def click_queued(action: str, job_ids: Sequence[int], position: int) -> Message:
    verb = {REGENERATE: "Regenerating", USE_REVISED: "Regenerating with the revised prompt", MORE: "Making more"}
    line = f", {_ordinal(position)} in line" if position > 1 else ""
    jobs = f"job {job_ids[0]}" if len(job_ids) == 1 else f"jobs {job_ids[0]}–{job_ids[-1]}"
    return {
        "response_type": "ephemeral",
        "replace_original": False,
        "text": f":art: {verb.get(action, 'Working')}… queued as {jobs}{line}.",
    }


def job_gone(job_id: int) -> Message:
    return {
        "response_type": "ephemeral",
        "replace_original": False,
        "text": f":wastebasket: That image (job {job_id}) no longer exists, so there is nothing to work from. "
        "Start again with `/imagine`.",
    }


def no_revised_prompt(job_id: int) -> Message:
    return {
        "response_type": "ephemeral",
        "replace_original": False,
        "text": f"Job {job_id} has no revised prompt to use; try *Regenerate* instead.",
    }


def delete_forbidden(owner_id: str, job_id: int) -> Message:
    return {
        "response_type": "ephemeral",
        "replace_original": False,
        "text": f":lock: Only <@{owner_id}>, who asked for this image, or an admin can delete it (job {job_id}).",
    }


def deleted(job_id: int) -> Message:
    return {"response_type": "ephemeral", "replace_original": False, "text": f":wastebasket: Deleted job {job_id}."}


# --- the "Imagine this" message shortcut ----------------------------------------------------------

SHORTCUT = "imagine_this"
MODAL = "imagine_modal"
PROMPT_BLOCK, SIZE_BLOCK, STYLE_BLOCK, QUALITY_BLOCK, MODEL_BLOCK = (
    "prompt",
    "size",
    "style",
    "quality",
    "model",
)


def modal(
    text: str, channel_id: str, deployments: Mapping[str, Deployment], default: str, choices: Mapping[str, list[str]]
) -> dict[str, Any]:
    """The modal the shortcut opens: the message's text as the prompt, and pickers for the options.

    `choices` maps size/style/quality to every value some deployment accepts; the parser checks the
    combination on submit and the modal shows its message next to the field that is wrong.
    """
    blocks: list[dict[str, Any]] = [
        {
            "type": "input",
            "block_id": PROMPT_BLOCK,
            "label": {"type": "plain_text", "text": "Describe the image"},
            "element": {
                "type": "plain_text_input",
                "action_id": "value",
                "multiline": True,
                "initial_value": text[:3000],
                "max_length": 3000,
            },
        }
    ]
    for block_id, label in ((SIZE_BLOCK, "Size"), (STYLE_BLOCK, "Style"), (QUALITY_BLOCK, "Quality")):
        if choices.get(block_id):
            blocks.append(_select(block_id, label, choices[block_id], optional=True))
    if len(deployments) > 1:
        blocks.append(_select(MODEL_BLOCK, "Model", list(deployments), initial=default))
    return {
        "type": "modal",
        "callback_id": MODAL,
        "private_metadata": channel_id,
        "title": {"type": "plain_text", "text": "Imagine this"},
        "submit": {"type": "plain_text", "text": "Imagine"},
        "close": {"type": "plain_text", "text": "Cancel"},
        "blocks": blocks,
    }


def _select(
    block_id: str, label: str, values: Sequence[str], *, initial: str | None = None, optional: bool = False
) -> dict[str, Any]:
    options = [{"text": {"type": "plain_text", "text": v}, "value": v} for v in values]
    element: dict[str, Any] = {"type": "static_select", "action_id": "value", "options": options}
    if initial is not None:
        element["initial_option"] = next(o for o in options if o["value"] == initial)
    block: dict[str, Any] = {
        "type": "input",
        "block_id": block_id,
        "label": {"type": "plain_text", "text": label},
        "element": element,
    }
    if optional:
        block["optional"] = True
    return block
