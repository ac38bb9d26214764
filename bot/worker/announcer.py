"""Placeholders: each queued request's message, posted in its channel right after the ack, and its
place in line kept up to date while it waits.

Slack takes about one message per second per channel, so a burst in one channel is posted as fast as
that allows while other channels go on (a channel whose turn has not come is skipped for now). One
process posts each placeholder (`JobQueue.claim_message`); a job runs only once its placeholder is up.
A job that finds a worker idle gets none: that worker posts its message, saying "Drawing", itself.

Places in line are refreshed for the first few jobs only, and at most every few seconds per process:
`chat.update` shares one rate limit per workspace (Tier 3: about 50 a minute)
with the updates that show drawings and results, which matter more (docs/contracts/slack.md §13.3).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from datetime import timedelta

from bot.jobs.queue import JobQueue
from bot.logs import job_context
from bot.replies import results
from bot.slack.gateway import SlackGateway, SlackRefused
from bot.store.spec import Job

log = logging.getLogger(__name__)

CLAIM_STALE = timedelta(seconds=60)  # a poster that died mid-post is taken over after this
REFRESHED_PLACES = 3  # "next", "2nd" and "3rd in line" are kept exact; further back, as first posted
REFRESH_EVERY_S = 5.0


class Announcer:
    def __init__(
        self, queue: JobQueue, slack: SlackGateway, *, owner: str, monotonic: Callable[[], float] = time.monotonic
    ) -> None:
        self._queue = queue
        self._slack = slack
        self._owner = owner
        self._monotonic = monotonic
        self._refreshed_at: float | None = None

    def refresh_places(self) -> int:
        """Show the first jobs in line their new place (at most every REFRESH_EVERY_S); returns how many."""
        now = self._monotonic()
        if self._refreshed_at is not None and now - self._refreshed_at < REFRESH_EVERY_S:
            return 0
        self._refreshed_at = now
        shown = 0
        for job, place in self._queue.stale_places(REFRESHED_PLACES):
            if not job.message_channel or not job.message_ts or not self._queue.claim_refresh(job, self._owner, place):
                continue
            try:
                message = results.channel_message(job, results.Queued(place))
                self._slack.update(job.message_channel, job.message_ts, message)
                shown += 1
            except SlackRefused as refused:  # the result will replace it anyway
                with job_context(job.id):
                    log.info("could not show its place in line (%s)", refused.code)
            finally:
                self._queue.end_refresh(job.id, self._owner)
        return shown

    def announce_pending(self, limit: int = 50, *, posted: Callable[[], None] = lambda: None) -> int:
        """Post the placeholders whose channel can take a message now, calling `posted` after each one;
        returns how many were posted."""
        count = 0
        for job in self._queue.pending_messages(CLAIM_STALE, limit):
            if not self._slack.pacing.ready(job.origin.channel_id):
                continue
            with job_context(job.id):
                if self._queue.claim_message(job.id, self._owner, CLAIM_STALE) and self._announce(job):
                    count += 1
                    posted()
        return count

    def _announce(self, job: Job) -> bool:
        position = self._queue.position(job.id)
        message = results.channel_message(job, results.Queued(position))
        try:
            channel, ts = self._slack.post(job.origin.channel_id, message, thread_ts=job.origin.thread_ts)
        except SlackRefused as refused:
            if refused.channel_refused or not refused.retryable:
                # The job still runs: its result goes to the requester by direct message, or, where Slack
                # refuses that too, they hear why. Trying the same post again would hold it back for good.
                log.warning("Slack refused its message in the channel (%s)", refused.code)
                self._queue.record_unpostable(job.id, self._owner, refused.code)
            else:
                log.warning("could not post its message yet (%s)", refused.code)
                self._queue.release_message(job.id, self._owner)
            return False
        self._queue.record_message(job.id, self._owner, channel, ts, position)
        return True
