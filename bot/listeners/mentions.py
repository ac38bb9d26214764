"""`@imagine …` mentions. In the thread of a result, the mention edits the newest image there (a thread
is a chain of versions); anywhere else it works like `/imagine`, which Slack allows nowhere in threads.

Slack retries an event it thinks was slow, with the same `event_id`: that id is the job's dedupe key,
so a second delivery never makes a second image. The event is acked at once and handled right after.
"""

from __future__ import annotations

import logging
import re
from typing import Any

from slack_bolt import Ack
from slack_sdk import WebClient

from bot.intake import Intake
from bot.listeners.follow_ups import Asker, FollowUps
from bot.replies import notes, requests
from bot.request import HelpRequested, RequestError, parse_request
from bot.slack.gateway import SlackGateway
from bot.store.spec import Origin, OriginKind
from bot.usage.limits import LimitReached

log = logging.getLogger(__name__)

_MENTION = re.compile(r"<@[UW][A-Z0-9]+(?:\|[^>]*)?>")


class Mentions:
    def __init__(self, intake: Intake, follow_ups: FollowUps, slack: SlackGateway) -> None:
        self._intake = intake
        self._follow_ups = follow_ups
        self._slack = slack

    def acknowledge(self, ack: Ack) -> None:
        ack()

    def handle(self, event: dict[str, Any], body: dict[str, Any], client: WebClient) -> None:
        channel_id, user_id = str(event.get("channel") or ""), str(event.get("user") or "")
        text = _MENTION.sub(" ", str(event.get("text") or "")).strip()
        thread_ts = event.get("thread_ts") or None
        asker = Asker(user_id, str(body.get("team_id") or event.get("team") or ""), None, body.get("event_id"))

        def tell(message: str) -> None:
            self._slack.ephemeral(channel_id, user_id, message, thread_ts=thread_ts)

        try:
            target = self._intake.queue.latest_in_thread(channel_id, str(thread_ts)) if thread_ts else None
            if target is not None and target.prompt_kept is not None:
                edited = self._follow_ups.edit(target, 0, asker, text)
                if edited is None:
                    tell(notes.mention_help())
                elif edited.created:
                    log.info("%s edited job %d from its thread: job %d", user_id, target.id, edited.job.id)
                return
            parsed = parse_request(text, self._intake.deployments)
            if isinstance(parsed, HelpRequested):
                tell(notes.mention_help())
                return
            origin = Origin(
                kind=OriginKind.MENTION,
                team_id=asker.team_id,
                channel_id=channel_id,
                user_id=user_id,
                thread_ts=thread_ts,
                dedupe_key=asker.dedupe_key,
            )
            queued = self._intake.accept(parsed, origin)
            if queued.created:
                log.info("queued job %d from a mention by %s", queued.job.id, user_id)
        except RequestError as error:
            tell(requests.request_error(error.problem))
        except LimitReached as reached:
            tell(notes.limit_reached(reached.blocked))
