"""Placeholders: each queued request's message, posted in its channel right after the ack.

Slack takes about one message per second per channel, so a burst in one channel is posted as fast as
that allows while other channels go on (a channel whose turn has not come is skipped for now). One
process posts each placeholder (`JobQueue.claim_message`); a job runs only once its placeholder is up.
"""

from __future__ import annotations

import logging
from datetime import timedelta

from bot.jobs.queue import JobQueue
from bot.replies import results
from bot.slack.gateway import SlackGateway, SlackRefused
from bot.store.spec import Job

log = logging.getLogger(__name__)

CLAIM_STALE = timedelta(seconds=60)  # a poster that died mid-post is taken over after this


class Announcer:
    def __init__(self, queue: JobQueue, slack: SlackGateway, *, owner: str) -> None:
        self._queue = queue
        self._slack = slack
        self._owner = owner

    def announce_pending(self, limit: int = 50) -> int:
        """Post the placeholders whose channel can take a message now; returns how many were posted."""
        posted = 0
        for job in self._queue.pending_messages(CLAIM_STALE, limit):
            if not self._slack.pacing.ready(job.origin.channel_id):
                continue
            if self._queue.claim_message(job.id, self._owner, CLAIM_STALE) and self._announce(job):
                posted += 1
        return posted

    def _announce(self, job: Job) -> bool:
        position = self._queue.position(job.id)
        message = results.channel_message(job, results.Queued(position))
        try:
            channel, ts = self._slack.post(job.origin.channel_id, message, thread_ts=job.origin.thread_ts)
        except SlackRefused as refused:
            if refused.channel_refused:
                # The job still runs; its result goes to the requester by direct message.
                log.warning("job %d: the channel refused its message (%s)", job.id, refused.code)
                self._queue.record_unpostable(job.id, self._owner, refused.code)
            else:
                log.warning("job %d: could not post its message yet (%s)", job.id, refused.code)
                self._queue.release_message(job.id, self._owner)
            return False
        self._queue.record_message(job.id, self._owner, channel, ts)
        return True
