"""What `/imagine usage` and the App Home tab show: a person's figures and limits, their recent images,
and for admins the workspace's totals, top people and channels, and the daily chart."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from decimal import Decimal
from typing import Any

from bot.replies.text import NO_UNFURL, ephemeral, escape
from bot.replies.text import channel as _channel
from bot.replies.text import money as _money
from bot.replies.text import section as _section
from bot.replies.text import user as _user
from bot.store.spec import Job, MessageState, Status
from bot.store.usage import DayFigures, Report, Tally, UserFigures
from bot.usage.chart import sparkline
from bot.usage.limits import LimitSettings


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


def csv_refused() -> dict[str, Any]:
    return ephemeral(
        ":warning: Slack would not let me send you the CSV file (file uploads may be turned off in this "
        "workspace). `/imagine usage` shows the same figures as a message; `imagine-bot report` has them all.",
        replace=False,
    )


def admins_only() -> str:
    return ":lock: Only admins can see the workspace's usage. `/imagine usage` shows your own."


# --- App Home -------------------------------------------------------------------------------------

_HOME_PROMPT_CHARS = 80  # one line on the Home tab; the full prompt is in the channel's post
_JOB_STATUS = {
    Status.QUEUED: ":hourglass_flowing_sand: queued",
    Status.RUNNING: ":art: in progress",
    Status.SUCCEEDED: ":white_check_mark: posted",
    Status.REJECTED: ":no_entry_sign: blocked by the content policy",
    Status.FAILED: ":warning: failed",
}
_HOW_TO_USE = (
    "*How to use:* type `/imagine` and a description in any channel, e.g. "
    "`/imagine a lighthouse at dusk, oil painting`. `/imagine help` lists every option; "
    "`/imagine usage` shows these figures anywhere."
)


def _recent_job(job: Job) -> list[dict[str, Any]]:
    """The prompt, then a small grey line with what became of it, where and when."""
    # An erased (purged) or hashed prompt says so rather than showing "" or a fingerprint.
    if not job.prompt_kept:
        prompt = "_(prompt not kept)_"
    else:
        flat = " ".join(job.request.prompt.split())  # one line, even for a multi-line prompt
        short = flat if len(flat) <= _HOME_PROMPT_CHARS else flat[: _HOME_PROMPT_CHARS - 1].rstrip() + "…"
        prompt = f"*{escape(short)}*"
    if job.deleted_at is not None or job.message_state is MessageState.DELETED:
        status = ":wastebasket: deleted"
    else:
        status = _JOB_STATUS[job.status]
        if job.status is Status.SUCCEEDED and job.request.n > 1:
            status += f" ({job.request.n} images)"
    stamp = int(job.created_at.timestamp())
    when = f"<!date^{stamp}^{{date_short_pretty}} at {{time}}|{job.created_at:%Y-%m-%d %H:%M} UTC>"
    details = f"{status} · in {_channel(job.origin.channel_id)} · {when}"
    return [_section(prompt), {"type": "context", "elements": [{"type": "mrkdwn", "text": details}]}]


def home_view(
    figures: UserFigures,
    limits: LimitSettings,
    spent_this_month: Decimal | None,
    recent: Sequence[Job],
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
