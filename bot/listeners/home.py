"""The App Home tab: a person's figures, limits and latest images; admins also see the workspace.

Slack sends `app_home_opened` through the Events API, which wants its 200 within 3 seconds and
retries otherwise, so the event is acked at once and the view is built and published after, lazily
(slack-platform.md §4.7). The same event arrives for the Messages and About tabs: only "home" is drawn.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

from slack_bolt import Ack
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from bot import replies
from bot.jobs.queue import utc_now
from bot.usage.chart import daily_series
from bot.usage.figures import team_spend_this_month, user_figures
from bot.usage.limits import LimitSettings
from bot.usage.models import Generation
from bot.usage.report import Grouping, usage_report

log = logging.getLogger(__name__)

WINDOW = timedelta(days=30)
RECENT_JOBS = 5


def recent_jobs(engine: Engine, user_id: str, limit: int = RECENT_JOBS) -> list[Generation]:
    """The person's latest jobs, newest first, through `ix_generations_user_created`."""
    query = (
        select(Generation)
        .where(Generation.user_id == user_id)
        .order_by(Generation.created_at.desc(), Generation.id.desc())
        .limit(limit)
    )
    # expire_on_commit=False: the rows are read after the session closes, as plain values.
    with Session(engine, expire_on_commit=False) as session:
        return list(session.scalars(query))


class AppHome:
    def __init__(
        self,
        engine: Engine,
        limits: LimitSettings,
        *,
        is_admin: Callable[[str], bool],
        chart_url: Callable[[str], str | None],
        clock: Callable[[], datetime] = utc_now,
    ) -> None:
        self._engine = engine
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
        team_id = str(body.get("team_id") or "")
        view = self.view(user_id, team_id)
        try:
            client.views_publish(user_id=user_id, view=view)
        except SlackApiError as error:
            # Nobody is waiting on an answer; the next visit to the tab tries again.
            log.warning("views.publish for %s failed: %s", user_id, error.response.get("error"))

    def view(self, user_id: str, team_id: str) -> dict[str, Any]:
        now = self._clock()
        budget = self._limits.monthly_budget_usd
        spent = team_spend_this_month(self._engine, team_id, now) if budget is not None else None
        workspace: list[dict[str, Any]] = []
        if self._is_admin(user_id):
            by_user, by_channel = (
                usage_report(self._engine, since=now - WINDOW, until=now, by=by, team_id=team_id)
                for by in (Grouping.USER, Grouping.CHANNEL)
            )
            chart_url = self._chart_url(team_id)
            # The days are only needed for the text fallback; the chart endpoint reads them itself.
            daily = daily_series(self._engine, team_id=team_id, now=now) if chart_url is None else []
            workspace = replies.home_workspace(by_user, by_channel, chart_url=chart_url, daily=daily)
        return replies.home_view(
            user_figures(self._engine, user_id, now),
            self._limits,
            spent,
            recent_jobs(self._engine, user_id),
            workspace=workspace,
        )
