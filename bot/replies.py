"""Every string and message a Slack user sees, in one place.

Anything that came from a user or a model passes through `escape` before it is put in mrkdwn, so a
prompt (or a revised prompt) can never ping `@channel`, mention someone or forge a link.
Raw exception text never appears here: errors arrive as typed values and are described in plain words.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from datetime import datetime, timedelta
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from bot.images import ContentRejected, ImageGenerationError, ImageResult, Misconfigured, RateLimited
from bot.request import ImageRequest, RequestError, help_examples, usage_help
from bot.usage.chart import sparkline

if TYPE_CHECKING:
    from bot.intake import Deployment
    from bot.usage.chart import DayFigures
    from bot.usage.figures import Tally, UserFigures
    from bot.usage.limits import Blocked, LimitSettings
    from bot.usage.models import Generation
    from bot.usage.report import Report

Message = dict[str, Any]

# Slack's initial_comment and message text allow far more, but a 30 000-character gpt-image prompt
# would bury the image; the full prompt stays in the usage row.
_MAX_ECHO_CHARS = 2500
_BROADCAST = re.compile(r"@(channel|here|everyone)\b", re.IGNORECASE)
# Slack ids as Slack sends them. Only such an id is put inside <@…> or <#…>: anything else is escaped,
# so even a forged id cannot close the mention and open a broadcast or a link.
_SLACK_ID = re.compile(r"[A-Z0-9]{2,40}")
# A prompt may contain a URL; a preview of it in the channel would be the bot vouching for it.
NO_UNFURL: dict[str, Any] = {"unfurl_links": False, "unfurl_media": False}


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


def _user(user_id: str) -> str:
    return f"<@{user_id}>" if _SLACK_ID.fullmatch(user_id) else escape(user_id)


def _channel(channel_id: str) -> str:
    return f"<#{channel_id}>" if _SLACK_ID.fullmatch(channel_id) else escape(channel_id)


def _options(request: ImageRequest, model: str) -> str:
    return f"`{escape(request.options_summary())}` · {escape(model)}"


# --- the ack ------------------------------------------------------------------------------------


def queued(request: ImageRequest, model: str, job_ids: Sequence[int], position: int = 1) -> str:
    line = f" {_ordinal(position)} in line;" if position > 1 else ""
    jobs = f"job {job_ids[0]}" if len(job_ids) == 1 else f"jobs {job_ids[0]}–{job_ids[-1]}"
    note = f"\n_{escape(request.size_note)}_" if request.size_note else ""
    several = " they will be posted together" if len(job_ids) > 1 or request.n > 1 else " it will be posted"
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
    return {"response_type": "ephemeral", "text": "How to use /imagine", "blocks": blocks, **NO_UNFURL}


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
    return f"{_user(user_id)} imagined:\n{_quote(request.prompt)}\n{revised}\n{_options(request, model)}"


def alt_text(request: ImageRequest) -> str:
    # alt_txt is plain text (no mrkdwn), limited to 1000 characters by files.getUploadURLExternal.
    return request.prompt[:1000]


def image_title(request: ImageRequest) -> str:
    return request.prompt if len(request.prompt) <= 80 else request.prompt[:79].rstrip() + "…"


# --- progress and outcomes through response_url -------------------------------------------------


def _ephemeral(text: str) -> Message:
    """Progress or outcome for the requester: replaces the previous private message."""
    return {"response_type": "ephemeral", "replace_original": True, "text": text, **NO_UNFURL}


def _note(text: str) -> Message:
    """A private answer next to a shared message (a button's response_url): never replaces it."""
    return {"response_type": "ephemeral", "replace_original": False, "text": text, **NO_UNFURL}


def generating(request: ImageRequest, job_id: int) -> Message:
    return _ephemeral(f":art: Generating *{_echo(request.prompt)}* now… (job {job_id})")


def still_generating(request: ImageRequest, job_id: int, elapsed_s: float) -> Message:
    return _ephemeral(
        f":art: Still generating *{_echo(request.prompt)}* ({elapsed_s:g} s so far; "
        f"large or high-quality images can take a minute or two)… (job {job_id})"
    )


def delivered(
    channel_id: str,
    job_id: int,
    *,
    fallback_dm: bool,
    group_note: str | None = None,
    link: str | None = None,
    elapsed_s: float | None = None,
) -> Message:
    where = "in a direct message to you" if fallback_dm else f"in {_channel(channel_id)}"
    what = f"Your image ({escape(group_note)})" if group_note else "Your image"
    if link:
        what = f"<{link}|{what}>"
    took = f" after {elapsed_s:.0f} s" if elapsed_s is not None else ""
    return _ephemeral(f":white_check_mark: {what} is posted {where}{took} (job {job_id}).")


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
        why = f"{_channel(channel_id)} is archived"
        fix = "Unarchive it, or run `/imagine` in another channel."
    else:
        why = f"I am not a member of {_channel(channel_id)}"
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
    context = f"job {job_id}" + (f" · {escape(group_note)}" if group_note else "")
    return {
        "text": f"Regenerate, vary or delete the image above (job {job_id})",
        "blocks": [
            {"type": "actions", "block_id": f"imagine_controls_{job_id}", "elements": buttons},
            {"type": "context", "elements": [{"type": "mrkdwn", "text": context}]},
        ],
        **NO_UNFURL,
    }


def _button(action_id: str, label: str, value: str) -> dict[str, Any]:
    return {"type": "button", "action_id": action_id, "text": {"type": "plain_text", "text": label}, "value": value}


def job_gone(job_id: int) -> Message:
    return _note(
        f":wastebasket: That image (job {job_id}) no longer exists, so there is nothing to work from. "
        "Start again with `/imagine`."
    )


def no_revised_prompt(job_id: int) -> Message:
    return _note(f"Job {job_id} has no revised prompt to use; try *Regenerate* instead.")


def delete_forbidden(owner_id: str, job_id: int) -> Message:
    return _note(f":lock: Only {_user(owner_id)}, who asked for this image, or an admin can delete it (job {job_id}).")


def deleted(job_id: int) -> Message:
    return _note(f":wastebasket: Deleted job {job_id}.")


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


# --- limits and usage -----------------------------------------------------------------------------

_LIMIT_NAMES = {
    "channel": "This channel is not open for /imagine",
    "daily_images": "You have reached your daily image limit",
    "in_flight": "You already have as many images in progress as allowed",
    "monthly_budget": "This workspace has used its monthly image budget",
}


def limit_reached(blocked: Blocked) -> str:
    what = _LIMIT_NAMES.get(blocked.limit, "A usage limit stops this request")
    if blocked.limit == "channel":
        detail = f"Try {blocked.allowed}." if blocked.allowed != "other channels" else "Try another channel."
    else:
        detail = f"Now at {blocked.current}; the limit is {blocked.allowed}."
    if blocked.resets_at is not None:
        stamp = int(blocked.resets_at.timestamp())
        detail += (
            f" It resets <!date^{stamp}^{{date_short_pretty}} at {{time}}|at {blocked.resets_at:%Y-%m-%d %H:%M} UTC>."
        )
    elif blocked.limit == "in_flight":
        detail += " Try again when one of them is posted."
    return f":no_entry: {what}. {detail} Nothing was queued."


def limit_reached_message(blocked: Blocked) -> Message:
    return _note(limit_reached(blocked))


def _money(value: Decimal) -> str:
    return f"${value:,.2f}"


def _tally(tally: Tally) -> str:
    return f"{tally.images} image{'s' if tally.images != 1 else ''} · {_money(tally.cost_usd)}"


def _usage_lines(figures: UserFigures, limits: LimitSettings, spent_this_month: Decimal | None) -> list[str]:
    lines = [
        "*Your /imagine usage* (UTC days, estimated cost)",
        f"Today: {_tally(figures.today)}",
        f"Last 7 days: {_tally(figures.last_7_days)}",
        f"Last 30 days: {_tally(figures.last_30_days)}",
    ]
    left = []
    if limits.images_per_user_per_day is not None:
        remaining = max(0, limits.images_per_user_per_day - figures.requested_today)
        left.append(f"{remaining} of {limits.images_per_user_per_day} images left today")
    if limits.jobs_in_flight_per_user is not None:
        left.append(f"{figures.in_flight} of {limits.jobs_in_flight_per_user} jobs in progress")
    if limits.monthly_budget_usd is not None and spent_this_month is not None:
        remaining_budget = max(Decimal(0), limits.monthly_budget_usd - spent_this_month)
        left.append(
            f"workspace budget {_money(remaining_budget)} of {_money(limits.monthly_budget_usd)} left this month"
        )
    lines.append("Limits: " + (" · ".join(left) if left else "none set"))
    return lines


def usage_for_user(figures: UserFigures, limits: LimitSettings, spent_this_month: Decimal | None) -> dict[str, Any]:
    text = "\n".join(_usage_lines(figures, limits, spent_this_month))
    return {"response_type": "ephemeral", "text": text, **NO_UNFURL}


def _ranking(report: Report, mention: Callable[[str], str], top: int) -> str:
    rows = sorted(report.rows, key=lambda r: (-r.images, r.key))[:top]
    return "\n".join(f"{mention(r.key)}: {r.images} · {_money(r.estimated_cost_usd)}" for r in rows) or "—"


def _workspace_totals(report: Report) -> str:
    totals = report.totals
    return (
        f"{totals.images} images · {_money(totals.estimated_cost_usd)} · "
        f"{totals.failed} failed · {totals.rejected} rejected by the content policy"
    )


_CSV_HINT = "`/imagine usage csv` sends you every person's figures as a CSV file."


def usage_for_admin(
    mine: dict[str, Any], by_user: Report, by_channel: Report, by_model: Report, *, top: int = 5
) -> dict[str, Any]:
    workspace = (
        f"*Workspace, last 30 days*: {_workspace_totals(by_user)}\n"
        f"*Top people*\n{_ranking(by_user, _user, top)}\n"
        f"*Top channels*\n{_ranking(by_channel, _channel, top)}\n"
        f"*By model*\n{_ranking(by_model, escape, top)}\n"
        f"{_CSV_HINT}"
    )
    return {"response_type": "ephemeral", "text": f"{mine['text']}\n\n{workspace}", **NO_UNFURL}


def csv_on_its_way() -> str:
    return ":inbox_tray: I'm sending you the workspace's usage as a CSV file by direct message."


def admins_only() -> str:
    return ":lock: Only admins can see the workspace's usage. `/imagine usage` shows your own."


def prompt_not_kept(job_id: int) -> Message:
    return _note(
        f":see_no_evil: This workspace does not keep prompts once an image is made, so job {job_id} "
        "cannot be repeated. Start again with `/imagine`."
    )


# --- App Home -------------------------------------------------------------------------------------

_HOME_PROMPT_CHARS = 80  # one line on the Home tab; the full prompt is in the channel's post
_JOB_STATUS = {
    "queued": ":hourglass_flowing_sand: queued",
    "running": ":art: in progress",
    "succeeded": ":white_check_mark: posted",
    "rejected": ":no_entry_sign: blocked by the content policy",
    "failed": ":warning: failed",
}
_HOW_TO_USE = (
    "*How to use:* type `/imagine` and a description in any channel, e.g. "
    "`/imagine a lighthouse at dusk, oil painting`. `/imagine help` lists every option; "
    "`/imagine usage` shows these figures anywhere."
)


def _recent_job(job: Generation) -> list[dict[str, Any]]:
    """The prompt, then a small grey line with what became of it, where and when."""
    # An erased (purged) or hashed prompt says so rather than showing "" or a fingerprint.
    if not job.prompt or job.prompt.startswith("sha256:"):
        prompt = "_(prompt not kept)_"
    else:
        flat = " ".join(job.prompt.split())  # one line, even for a multi-line prompt
        short = flat if len(flat) <= _HOME_PROMPT_CHARS else flat[: _HOME_PROMPT_CHARS - 1].rstrip() + "…"
        prompt = f"*{escape(short)}*"
    if job.deleted_at is not None:
        status = ":wastebasket: deleted"
    else:
        status = _JOB_STATUS.get(job.status) or escape(job.status)
        if job.status == "succeeded" and job.n > 1:
            status += f" ({job.n} images)"
    stamp = int(job.created_at.timestamp())
    when = f"<!date^{stamp}^{{date_short_pretty}} at {{time}}|{job.created_at:%Y-%m-%d %H:%M} UTC>"
    details = f"{status} · in {_channel(job.channel_id)} · {when}"
    return [_section(prompt), {"type": "context", "elements": [{"type": "mrkdwn", "text": details}]}]


def home_view(
    figures: UserFigures,
    limits: LimitSettings,
    spent_this_month: Decimal | None,
    recent: Sequence[Generation],
    *,
    workspace: Sequence[dict[str, Any]] = (),
) -> dict[str, Any]:
    """The App Home tab: the person's figures and limits, their latest jobs, a hint; admins get `workspace`."""
    jobs = [block for job in recent for block in _recent_job(job)] or [
        _section("_Nothing yet. Your images will be listed here once you have made some._")
    ]
    blocks: list[dict[str, Any]] = [
        {"type": "header", "text": {"type": "plain_text", "text": "Your /imagine"}},
        _section("\n".join(_usage_lines(figures, limits, spent_this_month))),
        {"type": "context", "elements": [{"type": "mrkdwn", "text": _HOW_TO_USE}]},
        {"type": "divider"},
        _section("*Your recent images*"),
        *jobs,
        *workspace,
    ]
    return {"type": "home", "blocks": blocks}


def home_workspace(
    by_user: Report, by_channel: Report, *, chart_url: str | None, daily: Sequence[DayFigures], top: int = 5
) -> list[dict[str, Any]]:
    """The admins' part of the Home tab: 30-day totals, top people and channels, and the daily chart.

    The chart is an image Slack fetches from `chart_url`; without one (no PUBLIC_URL) it is a sparkline.
    """
    totals = by_user.totals
    blocks: list[dict[str, Any]] = [
        {"type": "divider"},
        {"type": "header", "text": {"type": "plain_text", "text": "Workspace, last 30 days"}},
        _section(_workspace_totals(by_user)),
        {
            "type": "section",
            "fields": [
                {"type": "mrkdwn", "text": f"*Top people*\n{_ranking(by_user, _user, top)}"[:2000]},
                {"type": "mrkdwn", "text": f"*Top channels*\n{_ranking(by_channel, _channel, top)}"[:2000]},
            ],
        },
    ]
    if chart_url is not None:
        blocks.append(
            {
                "type": "image",
                "image_url": chart_url,
                "alt_text": f"Bar chart of images per day and line of estimated cost per day over the last 30 days: "
                f"{totals.images} images, {_money(totals.estimated_cost_usd)} in all.",
                "title": {"type": "plain_text", "text": "Images and estimated cost per day (UTC)"},
            }
        )
    else:
        line = sparkline([day.images for day in daily])
        peak = max((day.images for day in daily), default=0)
        blocks.append(_section(f"*Images per day*, oldest first (peak {peak})\n`{line}`"))
        blocks.append(
            {
                "type": "context",
                "elements": [{"type": "mrkdwn", "text": "Set `PUBLIC_URL` to see this as a chart with costs."}],
            }
        )
    blocks.append({"type": "context", "elements": [{"type": "mrkdwn", "text": _CSV_HINT}]})
    return blocks
