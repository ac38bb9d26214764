"""The App Home tab: a person's figures, limits and latest images; admins also see the workspace.

Slack sends `app_home_opened` through the Events API, which wants its 200 within 3 seconds and retries
otherwise, so the event is acked at once and the view is built and published after, lazily. The same
event arrives for the Messages and About tabs: only "home" is drawn.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import timedelta
from typing import Any

from slack_bolt import Ack
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from bot.replies import usage as usage_replies
from bot.store.clock import Clock, utc_now
from bot.store.usage import Grouping, UsageReader
from bot.usage.limits import LimitSettings

log = logging.getLogger(__name__)

WINDOW = timedelta(days=30)
INCLUSIVE = timedelta(microseconds=1)  # reports are half-open; a job made this instant counts
RECENT_JOBS = 5


class AppHome:
    def __init__(
        self,
        reader: UsageReader,
        limits: LimitSettings,
        *,
        is_admin: Callable[[str], bool],
        chart_url: Callable[[str], str | None],
        clock: Clock = utc_now,
    ) -> None:
        self._reader = reader
        self._limits = limits
        self._is_admin = is_admin
        self._chart_url = chart_url
        self._clock = clock

    def acknowledge(self, ack: Ack) -> None:
        ack()

    def publish(self, event: dict[str, Any], body: dict[str, Any], client: WebClient) -> None:
        """After the ack (lazily): a few indexed queries, then `views.publish` for the person."""
        user_id = str(event.get("user") or "")
        if event.get("tab") != "home" or not user_id:
            return
        view = self.view(user_id, str(body.get("team_id") or ""))
        try:
            client.views_publish(user_id=user_id, view=view)
        except SlackApiError as error:
            # Nobody is waiting on an answer; the next visit to the tab tries again.
            log.warning("views.publish for %s failed: %s", user_id, error.response.get("error"))

    def view(self, user_id: str, team_id: str) -> dict[str, Any]:
        now = self._clock()
        spent = (
            self._reader.team_spend_this_month(team_id, now) if self._limits.monthly_budget_usd is not None else None
        )
        workspace: list[dict[str, Any]] = []
        if self._is_admin(user_id):
            by_user, by_channel = (
                self._reader.report(since=now - WINDOW, until=now + INCLUSIVE, by=by, team_id=team_id)
                for by in (Grouping.USER, Grouping.CHANNEL)
            )
            chart_url = self._chart_url(team_id)
            # The days are only needed for the text fallback; the chart endpoint reads them itself.
            daily = self._reader.daily(team_id=team_id, now=now) if chart_url is None else []
            workspace = usage_replies.home_workspace(by_user, by_channel, chart_url=chart_url, daily=daily)
        return usage_replies.home_view(
            self._reader.user_figures(user_id, now),
            self._limits,
            spent,
            self._reader.recent_jobs(user_id, RECENT_JOBS),
            workspace=workspace,
        )
