"""One request, end to end in process: the ack, the placeholder, the drawing, the result message."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from bot.store.spec import MessageState, Status
from devkit.slack import SlackEmulator
from tests.conftest import CHANNEL, FrozenClock
from tests.harness import Bot


@pytest.fixture
def bot(slack: SlackEmulator, database_url: str, clock: FrozenClock) -> Iterator[Bot]:
    bot = Bot(slack, database_url, clock=clock)
    yield bot
    bot.close()


def test_a_command_is_acked_then_posted_as_one_message_that_becomes_the_image(bot: Bot, slack: SlackEmulator) -> None:
    answer = bot.command("a badger wearing a tuxedo --size 1536x864")
    assert answer.status == 200, answer.text
    assert "Job 1" in answer.json()["text"]
    assert slack.messages(CHANNEL) == []  # nothing before the ack
    bot.announcer.announce_pending()
    [placeholder] = slack.messages(CHANNEL)
    assert "Queued" in str(placeholder.blocks)
    [job] = bot.work()
    finished = bot.job(job.id)
    assert finished.status is Status.SUCCEEDED
    assert finished.message_state is MessageState.POSTED
    message = slack.message(CHANNEL, placeholder.ts)
    image_blocks = [b for b in message.blocks or [] if b.get("type") == "image"]
    assert [b["slack_file"]["id"] for b in image_blocks] == list(finished.file_ids)
    assert bot.images.calls[0].request.size == "1536x864"
