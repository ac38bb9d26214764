"""`/imagine usage`: people see their own figures and limits; admins see the workspace and get a CSV."""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import timedelta
from typing import Any

from slack_bolt import Ack, Respond
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from bot.replies import usage as usage_replies
from bot.store.clock import Clock, utc_now
from bot.store.usage import Grouping, UsageReader
from bot.usage.limits import LimitSettings
from bot.usage.report import format_csv

log = logging.getLogger(__name__)

WINDOW = timedelta(days=30)
INCLUSIVE = timedelta(microseconds=1)  # reports are half-open; a job made this instant counts


def usage_words(text: str) -> list[str] | None:
    """The words after `usage` when the command asks for usage (`usage`, `usage csv`), else None."""
    words = text.strip().lower().split()
    return words[1:] if words and words[0] in ("usage", "stats") and len(words) <= 2 else None


class UsageCommand:
    def __init__(
        self, reader: UsageReader, limits: LimitSettings, *, is_admin: Callable[[str], bool], clock: Clock = utc_now
    ) -> None:
        self._reader = reader
        self._limits = limits
        self._is_admin = is_admin
        self._clock = clock

    @staticmethod
    def asks_for_usage(command: dict[str, Any]) -> bool:
        return usage_words(str(command.get("text") or "")) is not None

    @staticmethod
    def asks_for_csv(command: dict[str, Any]) -> bool:
        """Bolt matcher: only `/imagine usage csv` takes the listener that uploads after the ack."""
        return usage_words(str(command.get("text") or "")) == ["csv"]

    def __call__(self, ack: Ack, command: dict[str, Any]) -> None:
        ack(**self.answer(command))

    def answer(self, command: dict[str, Any]) -> dict[str, Any]:
        """The ephemeral reply, computed in the ack path: a few indexed queries, no Slack call."""
        user_id, team_id = str(command.get("user_id") or ""), str(command.get("team_id") or "")
        admin = self._is_admin(user_id)
        if usage_words(str(command.get("text") or "")) == ["csv"]:
            text = usage_replies.csv_on_its_way() if admin else usage_replies.admins_only()
            return {"response_type": "ephemeral", "text": text}
        now = self._clock()
        spent = (
            self._reader.team_spend_this_month(team_id, now) if self._limits.monthly_budget_usd is not None else None
        )
        mine = usage_replies.usage_for_user(self._reader.user_figures(user_id, now), self._limits, spent)
        if not admin:
            return mine
        reports = [
            self._reader.report(since=now - WINDOW, until=now + INCLUSIVE, by=by, team_id=team_id)
            for by in (Grouping.USER, Grouping.CHANNEL, Grouping.MODEL)
        ]
        return usage_replies.usage_for_admin(mine, *reports)

    def acknowledge_csv(self, ack: Ack, command: dict[str, Any]) -> None:
        ack(**self.answer(command))

    def send_csv(self, command: dict[str, Any], client: WebClient, respond: Respond) -> None:
        """After the ack (lazily): upload every person's figures as CSV into the admin's DM."""
        user_id, team_id = str(command.get("user_id") or ""), str(command.get("team_id") or "")
        if not self._is_admin(user_id):
            return
        now = self._clock()
        report = self._reader.report(since=now - WINDOW, until=now + INCLUSIVE, by=Grouping.USER, team_id=team_id)
        try:
            dm = client.conversations_open(users=user_id)
            client.files_upload_v2(
                channel=str(dm["channel"]["id"]),
                content=format_csv(report, Grouping.USER),
                filename=f"imagine-usage-{now:%Y-%m-%d}.csv",
                title=f"/imagine usage by person, {report.since:%Y-%m-%d} to {report.until:%Y-%m-%d}",
                initial_comment="Usage of /imagine over the last 30 days, one row per person (UTC, estimated cost).",
            )
        except SlackApiError as error:
            log.warning("could not send the usage CSV to %s: %s", user_id, error.response.get("error"))
            respond(usage_replies.csv_refused())
            return
        log.info("sent the usage CSV to %s", user_id)
