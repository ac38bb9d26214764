"""`/imagine usage`: people see their own figures and limits; admins see the workspace and get a CSV."""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

from slack_bolt import Ack
from slack_sdk import WebClient
from sqlalchemy import Engine

from bot import replies
from bot.jobs.queue import utc_now
from bot.usage.figures import team_spend_this_month, user_figures
from bot.usage.limits import LimitSettings
from bot.usage.report import Grouping, format_csv, usage_report

log = logging.getLogger(__name__)

WINDOW = timedelta(days=30)


def usage_words(text: str) -> list[str] | None:
    """The words after `usage` when the command asks for usage (`usage`, `usage csv`), else None."""
    words = text.strip().lower().split()
    return words[1:] if words and words[0] in ("usage", "stats") and len(words) <= 2 else None


class UsageCommand:
    def __init__(
        self,
        engine: Engine,
        limits: LimitSettings,
        *,
        is_admin: Callable[[str], bool],
        clock: Callable[[], datetime] = utc_now,
    ) -> None:
        self._engine = engine
        self._limits = limits
        self._is_admin = is_admin
        self._clock = clock

    def answer(self, command: dict[str, Any], words: list[str]) -> dict[str, Any]:
        """The ephemeral reply, computed in the ack path: a few indexed queries, no Slack call."""
        user_id, team_id = str(command.get("user_id") or ""), str(command.get("team_id") or "")
        admin = self._is_admin(user_id)
        if words == ["csv"]:
            return {"response_type": "ephemeral", "text": replies.csv_on_its_way() if admin else replies.admins_only()}
        now = self._clock()
        budget = self._limits.monthly_budget_usd
        mine = replies.usage_for_user(
            user_figures(self._engine, user_id, now),
            self._limits,
            team_spend_this_month(self._engine, team_id, now) if budget is not None else None,
        )
        if not admin:
            return mine
        reports = [
            usage_report(self._engine, since=now - WINDOW, until=now, by=by, team_id=team_id)
            for by in (Grouping.USER, Grouping.CHANNEL, Grouping.MODEL)
        ]
        return replies.usage_for_admin(mine, *reports)

    @staticmethod
    def asks_for_csv(command: dict[str, Any]) -> bool:
        """Bolt matcher: only `/imagine usage csv` takes the listener that uploads after the ack."""
        return usage_words(str(command.get("text") or "")) == ["csv"]

    def acknowledge_csv(self, ack: Ack, command: dict[str, Any]) -> None:
        ack(**self.answer(command, ["csv"]))

    def send_csv(self, command: dict[str, Any], client: WebClient) -> None:
        """After the ack (lazily): upload every person's figures as CSV into the admin's DM."""
        user_id, team_id = str(command.get("user_id") or ""), str(command.get("team_id") or "")
        if not self._is_admin(user_id):
            return
        now = self._clock()
        report = usage_report(self._engine, since=now - WINDOW, until=now, by=Grouping.USER, team_id=team_id)
        dm = client.conversations_open(users=user_id)
        client.files_upload_v2(
            channel=str(dm["channel"]["id"]),
            content=format_csv(report, Grouping.USER),
            filename=f"imagine-usage-{now:%Y-%m-%d}.csv",
            title=f"/imagine usage by person, {report.since:%Y-%m-%d} to {report.until:%Y-%m-%d}",
            initial_comment="Usage of /imagine over the last 30 days, one row per person (UTC, estimated cost).",
        )
        log.info("sent the usage CSV to %s", user_id)
