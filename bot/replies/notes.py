"""Private notes to the person who asked: the ack, progress when it stays private, outcomes, refusals.

They go through the request's `response_url` (ephemeral) or `chat.postEphemeral`; none is seen by the
rest of the channel.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from bot.replies.requests import model_label
from bot.replies.results import Failed, failure_text
from bot.replies.text import Message, channel, echo, ephemeral, escape, link, local_time, money, ordinal, user
from bot.request import ExperimentalSize, Note, SizeChosen
from bot.store.spec import OriginKind
from bot.usage.limits import Blocked, LimitKind

# --- the ack ----------------------------------------------------------------------------------------


def note_text(note: Note) -> str:
    match note:
        case SizeChosen(shortcut, size, exact, squares_only):
            if squares_only and not exact:
                return f"{shortcut} → {size}: this model makes only square images"
            return f"{shortcut} → {size}" + ("" if exact else ", the closest size this model makes")
        case ExperimentalSize(size):
            return f"{size} is above 2560x1440, which Azure calls experimental: it may take longer or fail"


def queued(job_id: int, position: int, notes: Sequence[Note], *, in_channel: bool, model: str) -> str:
    line = "next in line" if position <= 1 else f"{ordinal(position)} in line"
    where = (
        "it appears in this channel now and fills in as it is drawn"
        if in_channel
        else "it will be posted here when ready"
    )
    extra = "".join(f"\n_{escape(note_text(note))}_" for note in notes)
    return f":art: Job {job_id} ({escape(model)}) is {line}; {where}.{extra}"


def already_queued(job_id: int) -> str:
    return f":hourglass_flowing_sand: This request is already in the queue (job {job_id}); it will be posted once."


def not_accepted() -> str:
    return (
        ":warning: I could not accept your request just now because my database did not answer. "
        "Nothing was queued; please try again in a minute."
    )


# --- progress and outcomes, privately ---------------------------------------------------------------


def generating(job_id: int, prompt: str) -> Message:
    return ephemeral(f":art: Drawing *{echo(prompt, 300)}* now… (job {job_id})")


def still_generating(job_id: int, prompt: str, elapsed_s: float) -> Message:
    return ephemeral(
        f":art: Still drawing *{echo(prompt, 300)}* ({elapsed_s:g} s so far; large or high-quality images can take "
        f"a minute or two)… (job {job_id})"
    )


def retrying(job_id: int, at: datetime, *, rate_limited: bool) -> Message:
    why = "Azure asked us to slow down" if rate_limited else "Azure did not answer properly"
    return ephemeral(
        f":hourglass_flowing_sand: {why}; your image is still queued and will be tried again at "
        f"{local_time(at)} (job {job_id})."
    )


def delivered(job_id: int, channel_id: str, *, permalink: str | None, elapsed_s: float, by_dm: bool) -> Message:
    where = "in a direct message to you" if by_dm else f"in {channel(channel_id)}"
    what = link(permalink, "Your image") if permalink else "Your image"
    return ephemeral(f":white_check_mark: {what} is posted {where} after {elapsed_s:.0f} s (job {job_id}).")


def failed(job_id: int, state: Failed) -> Message:
    return ephemeral(f":warning: {failure_text(state)} (job {job_id})")


def posted_by_dm(channel_id: str, reason: str, job_id: int) -> Message:
    if reason == "is_archived":
        why, fix = f"{channel(channel_id)} is archived", "Unarchive it, or run `/imagine` in another channel."
    elif reason in ("posting_to_channel_denied", "restricted_action", "restricted_action_read_only_channel"):
        why = f"only some people may post in {channel(channel_id)}"
        fix = "Ask an admin to let me post there, or run `/imagine` in another channel."
    elif reason in ("no_permission", "access_denied", "team_access_not_granted"):
        why = f"Slack does not let apps share files in {channel(channel_id)}"
        fix = "Ask an admin to allow it, or run `/imagine` in another channel."
    elif reason in ("not_in_channel", "channel_not_found", "invalid_channel"):
        why = f"I am not a member of {channel(channel_id)}"
        fix = "Invite me with `/invite @imagine` (or the channel's Integrations tab), then try again."
    else:  # a refusal about the app itself (its token or scopes): the operator's log line names it
        why = f"Slack would not let me post in {channel(channel_id)}"
        fix = "An admin can check the app's permissions (the bot's log says what Slack answered)."
    return ephemeral(
        f":envelope: I could not post in the channel because {why}, so your image comes to you in a direct "
        f"message. {fix} (job {job_id})"
    )


# --- buttons, mentions and shortcuts -------------------------------------------------------------------


def job_gone(job_id: int) -> Message:
    return ephemeral(
        f":wastebasket: That image (job {job_id}) no longer exists, so there is nothing to work from. "
        "Start again with `/imagine`.",
        replace=False,
    )


def no_revised_prompt(job_id: int) -> Message:
    return ephemeral(f"Job {job_id} has no revised prompt to use; try *Regenerate* instead.", replace=False)


def prompt_not_kept(job_id: int) -> Message:
    return ephemeral(
        f":see_no_evil: This workspace does not keep prompts once an image is made, so job {job_id} "
        "cannot be repeated. Start again with `/imagine`.",
        replace=False,
    )


def cannot_edit(model: str, *, today: datetime) -> Message:
    return ephemeral(
        f"{escape(model_label(model, today.date()))} cannot edit pictures; only the GPT image models can. "
        "Start again with `/imagine … --model NAME` on one of them.",
        replace=False,
    )


def delete_forbidden(owner_id: str, job_id: int) -> Message:
    return ephemeral(
        f":lock: Only {user(owner_id)}, who asked for this image, or an admin can delete it (job {job_id}).",
        replace=False,
    )


def deleted(job_id: int) -> Message:
    return ephemeral(f":wastebasket: Deleted job {job_id}.", replace=False)


def deleted_but_files_kept(job_id: int) -> Message:
    return ephemeral(
        f":wastebasket: Deleted the message of job {job_id}, but Slack would not let me delete its image files "
        "(a workspace setting can keep apps from deleting files). An admin can remove them from the workspace's files.",
        replace=False,
    )


def delete_refused(job_id: int) -> Message:
    return ephemeral(
        f":warning: Slack would not let me delete the message of job {job_id}. Try again in a minute; "
        "if it stays, an admin can remove it.",
        replace=False,
    )


def follow_up_queued(kind: OriginKind, job_id: int) -> Message:
    what = {OriginKind.EDIT: "edit", OriginKind.VARY: "variation", OriginKind.UPSCALE: "larger version"}.get(
        kind, "new image"
    )
    return ephemeral(f":art: Your {what} is job {job_id}; it appears in the thread.", replace=False)


def modal_failed(again: str = "click Edit again") -> Message:
    return ephemeral(f"Slack did not open the form in time; {again}.", replace=False)


def mention_help() -> str:
    return (
        "Mention me with a description to draw it (`@imagine a lighthouse at dusk --size 1536x864`), or in a "
        "result's thread with what to change (`@imagine make the sky pink`)."
    )


def no_pictures(limit: int) -> str:
    return f"This message has no pictures I can use (PNG, JPEG or WEBP, up to {limit} of them)."


def too_many_pictures(count: int, limit: int) -> str:
    return f"This message has {count} pictures; an edit can start from at most {limit}. I used the first {limit}."


def edit_needs_instruction() -> str:
    return "Say what to change, e.g. “make the sky pink”."


# --- limits -------------------------------------------------------------------------------------------

_LIMIT_NAMES = {
    LimitKind.CHANNEL: "This channel is not open for /imagine",
    LimitKind.DAILY_IMAGES: "You have reached your daily image limit",
    LimitKind.IN_FLIGHT: "You already have as many images in progress as allowed",
    LimitKind.MONTHLY_BUDGET: "This workspace has used its monthly image budget",
}


def limit_reached(blocked: Blocked) -> str:
    what = _LIMIT_NAMES[blocked.limit]
    if blocked.limit is LimitKind.CHANNEL:
        allowed = ", ".join(channel(c) for c in blocked.allowed_channels)
        detail = f"Try {allowed}." if allowed else "Try another channel."
    elif blocked.limit is LimitKind.MONTHLY_BUDGET:
        detail = f"Now at {money(blocked.spent)}; the budget is {money(blocked.budget)}."
    else:
        detail = f"Now at {blocked.current}; the limit is {blocked.allowed}."
    if blocked.resets_at is not None:
        detail += (
            " It resets " + local_time(blocked.resets_at, "%Y-%m-%d %H:%M UTC", "{date_short_pretty} at {time}") + "."
        )
    elif blocked.limit is LimitKind.IN_FLIGHT:
        detail += " Try again when one of them is posted."
    return f":no_entry: {what}. {detail} Nothing was queued."


def limit_note(blocked: Blocked) -> Message:
    """The same, as a private note beside a shared message (a button's response_url)."""
    return ephemeral(limit_reached(blocked), replace=False)
