"""A request that finds a worker idle: the worker takes it as it comes, and its one message goes up
saying "Drawing" beside the call to Azure, with no "Queued" placeholder first (bot/worker/pool.py,
`JobQueue.claim(post_message=True)`). The message is still posted once, whatever fails or dies."""

from __future__ import annotations

import threading
from datetime import timedelta

from bot.app import build_components, build_runner, build_worker_pool
from bot.images.generator import GeneratedImage, ImageResult, OnPartial, PartialImage, RateLimited
from bot.slack.gateway import Upload
from bot.store.spec import MessageState, Status
from devkit.slack import Message, SlackEmulator
from tests.conftest import CHANNEL, FrozenClock
from tests.harness import OWNER, Bot, png
from tests.inprocess.conftest import MakeBot

LEASE = timedelta(seconds=30)


def posted(slack: SlackEmulator) -> list[Message]:
    return [m for m in slack.messages(CHANNEL) if m.user == slack.bot_user_id and not m.thread_ts]


def test_an_idle_worker_posts_the_message_as_drawing_and_it_becomes_the_image(bot: Bot, slack: SlackEmulator) -> None:
    def draw(on_partial: OnPartial | None) -> ImageResult:
        assert on_partial is not None  # previews go in the message the worker is posting
        on_partial(PartialImage(0, GeneratedImage(png(16, 16), "image/png")))
        return ImageResult((GeneratedImage(png(), "image/png"),), None, None, 10)

    bot.images.script.append(draw)
    bot.command("a lighthouse at dusk")
    assert bot.take() is not None
    [message] = posted(slack)
    states = [str(version.blocks) for version in message.history]
    assert "Drawing" in states[0] and not any("in line" in state for state in states)
    assert "rough preview" in states[1]
    job = bot.job(1)
    assert job.status is Status.SUCCEEDED and job.message_state is MessageState.POSTED
    assert job.message_ts == message.ts and job.file_ids
    assert "image" in str(message.blocks)
    assert bot.announcer.announce_pending() == 0  # nothing left for the announcer to post
    assert posted(slack) == [message]


def test_the_announcer_leaves_a_taken_job_alone_and_takes_the_rest_of_a_burst(bot: Bot, slack: SlackEmulator) -> None:
    bot.command("a fox")
    bot.command("a hare")
    taken = bot.queue.claim(OWNER, LEASE, post_message=True)
    assert taken is not None and taken.id == 1 and taken.message_state is MessageState.POSTING
    assert bot.announcer.announce_pending() == 1  # the hare's placeholder; the fox's message is its worker's
    [hare] = posted(slack)
    assert "next in line" in str(hare.blocks)
    bot.runner.run(taken)
    bot.work()
    assert [bot.job(1).status, bot.job(2).status] == [Status.SUCCEEDED, Status.SUCCEEDED]
    assert len(posted(slack)) == 2  # one message each


def test_a_worker_that_died_before_posting_leaves_the_message_to_the_job_s_next_worker(
    bot: Bot, slack: SlackEmulator, clock: FrozenClock
) -> None:
    bot.command("a fox")
    assert bot.queue.claim("dead-worker", LEASE, post_message=True) is not None
    clock.advance(120)  # its lease and the placeholder claim are long gone; still its message is no placeholder
    assert bot.announcer.announce_pending() == 0
    job = bot.queue.claim(OWNER, LEASE)  # taken over, with the right to post the message
    assert job is not None and job.attempts == 2 and job.message_state is MessageState.POSTING
    bot.runner.run(job)
    [message] = posted(slack)
    assert bot.job(1).status is Status.SUCCEEDED and bot.job(1).message_ts == message.ts


def test_a_job_going_back_to_the_queue_gives_its_unposted_message_to_the_announcer(
    bot: Bot, slack: SlackEmulator
) -> None:
    bot.command("a fox")
    assert bot.queue.claim(OWNER, LEASE, post_message=True) is not None
    assert bot.queue.release(OWNER) == 1  # a worker stopping before it posted anything
    assert bot.job(1).message_state is MessageState.PENDING
    assert bot.announcer.announce_pending() == 1
    bot.work()
    [message] = posted(slack)
    assert "in line" in str(message.history[0].blocks) and bot.job(1).status is Status.SUCCEEDED


def test_slack_not_taking_the_message_while_azure_asks_to_wait_puts_it_up_as_the_job_waits(
    bot: Bot, slack: SlackEmulator
) -> None:
    slack.fail_next("chat.postMessage", "service_unavailable")
    bot.images.will_fail(RateLimited("HTTP 429", retry_after=20))
    bot.command("a fox")
    bot.take()
    job = bot.job(1)
    assert job.status is Status.QUEUED and job.message_state is MessageState.PENDING
    assert not posted(slack)
    assert bot.announcer.announce_pending() == 1  # the placeholder goes up while the job waits
    [message] = posted(slack)
    assert "Queued" in str(message.blocks)
    assert any("Azure asked us to slow down" in r.body["text"] for r in slack.responses())  # told privately


def test_a_message_slack_did_not_take_with_the_drawing_is_posted_with_the_result(
    bot: Bot, slack: SlackEmulator
) -> None:
    slack.fail_next("chat.postMessage", "internal_error")
    bot.command("a fox")
    bot.take()
    [message] = posted(slack)
    job = bot.job(1)
    assert job.status is Status.SUCCEEDED and job.message_ts == message.ts
    assert "image" in str(message.blocks)


def test_a_channel_that_refuses_the_message_gets_the_result_by_direct_message(bot: Bot, slack: SlackEmulator) -> None:
    slack.fail_next("chat.postMessage", "is_archived")
    bot.command("a fox")
    bot.take()
    job = bot.job(1)
    assert job.status is Status.SUCCEEDED and job.message_state is MessageState.POSTED
    assert str(job.message_channel).startswith("D") and job.channel_refusal == "is_archived"
    assert not posted(slack)


class ClockStopping(threading.Event):
    """The runner's stop signal; its waits move the bot's clock instead of taking time (nothing stops)."""

    def __init__(self, clock: FrozenClock) -> None:
        super().__init__()
        self._clock = clock

    def wait(self, timeout: float | None = None) -> bool:
        self._clock.advance(timeout or 0.0)
        return False


class LaterSlot:
    """Azure's quota (bot/jobs/pacing.py) with the next slot five seconds off on the bot's clock, a call
    every 2.5 s: one other job waits for a slot before this one."""

    interval_s = 2.5

    def __init__(self, clock: FrozenClock) -> None:
        self._clock = clock

    def reserve(self) -> float:
        return self._clock().timestamp() + 5

    def still_valid(self, slot: float) -> bool:
        return True

    def refund(self, slot: float) -> None:
        raise AssertionError("nothing stops")


def test_a_job_whose_quota_slot_is_a_while_off_shows_queued_until_its_turn(
    bot: Bot, slack: SlackEmulator, clock: FrozenClock
) -> None:
    generators = dict.fromkeys(bot.settings.deployments, bot.images)
    bot.runner = build_runner(  # type: ignore[arg-type]
        bot.components, generators, owner=OWNER, pacer=LaterSlot(clock), stopping=ClockStopping(clock)
    )
    bot.command("a fox")
    started = clock()
    bot.take()
    [message] = posted(slack)
    states = [str(version.blocks) for version in message.history]
    assert "Queued, 2nd in line" in states[0] and "Drawing" in states[1] and "image" in states[-1]
    assert clock() - started >= timedelta(seconds=4)  # the drawing waited for its slot
    assert bot.job(1).status is Status.SUCCEEDED


def test_the_pool_gives_a_new_job_to_an_idle_worker_and_to_the_announcer_when_all_are_busy(
    make_bot: MakeBot, slack: SlackEmulator
) -> None:
    """The real WorkerPool and its threads: `wake()` as the web process calls it after each commit (the
    announcer's own poll is pushed out of the way, so only the wake-up decides)."""
    bot = make_bot(worker_concurrency=1, queue_poll_seconds=30)
    drawing, finish = threading.Event(), threading.Event()

    def held(on_partial: OnPartial | None) -> ImageResult:
        drawing.set()
        assert finish.wait(30)
        return ImageResult((GeneratedImage(png(), "image/png"),), None, None, 10)

    bot.images.script.append(held)
    pool = build_worker_pool(bot.components, dict.fromkeys(bot.settings.deployments, bot.images))  # type: ignore[arg-type]
    pool.start()
    try:
        slack.wait_for(lambda: pool.idle(), timeout=30)
        bot.command("a fox")
        pool.wake()
        assert drawing.wait(30)  # the idle worker took it
        bot.command("a hare")
        pool.wake()  # the only worker is busy: the announcer puts the hare's placeholder up
        hare = slack.wait_for(lambda: next((m for m in posted(slack) if "hare" in m.text), None), timeout=30)
        assert "next in line" in str(hare.history[0].blocks)
        finish.set()
        slack.wait_for(lambda: bot.job(2).status is Status.SUCCEEDED, timeout=30)
    finally:
        finish.set()
        pool.stop(5)
    fox = next(m for m in posted(slack) if "fox" in m.text)
    assert "Drawing" in str(fox.history[0].blocks) and not any("in line" in str(v.blocks) for v in fox.history)
    assert len(posted(slack)) == 2


def test_a_failure_after_the_worker_posted_the_message_shows_in_that_message(bot: Bot, slack: SlackEmulator) -> None:
    def crash(on_partial: OnPartial | None) -> ImageResult:
        raise RuntimeError("a bug, not Azure")

    bot.images.script.append(crash)
    bot.command("a fox")
    bot.take()
    [message] = posted(slack)
    assert bot.job(1).status is Status.FAILED
    assert "Drawing" in str(message.history[0].blocks) and ":warning:" in str(message.blocks)


def test_a_job_that_fails_before_drawing_posts_the_failure_as_its_message(
    bot: Bot, slack: SlackEmulator, clock: FrozenClock
) -> None:
    bot.command("a fox")
    clock.advance(31 * 60)  # past the deadline before any worker was free
    bot.take()
    [message] = posted(slack)
    job = bot.job(1)
    assert job.status is Status.FAILED and job.error_code == "deadline_exceeded"
    assert ":warning:" in str(message.blocks) and job.message_ts == message.ts


def test_a_refusal_about_the_app_not_the_channel_still_delivers_by_direct_message(
    bot: Bot, slack: SlackEmulator
) -> None:
    slack.fail_next("chat.postMessage", "not_allowed_token_type")
    bot.command("a fox")
    bot.take()
    job = bot.job(1)
    assert job.status is Status.SUCCEEDED and str(job.message_channel).startswith("D")
    assert any("would not let me post in" in r.body["text"] for r in slack.responses())


class MissedFirstSlot(LaterSlot):
    """The first slot, half a second off, is missed (a busy machine); the next one is ten seconds off."""

    def __init__(self, clock: FrozenClock) -> None:
        super().__init__(clock)
        self.reserved = 0

    def reserve(self) -> float:
        self.reserved += 1
        return self._clock().timestamp() + (0.5 if self.reserved == 1 else 10)

    def still_valid(self, slot: float) -> bool:
        return self.reserved > 1


def test_a_missed_quota_slot_leaves_one_message_saying_drawing(
    bot: Bot, slack: SlackEmulator, clock: FrozenClock
) -> None:
    pacer = MissedFirstSlot(clock)
    generators = dict.fromkeys(bot.settings.deployments, bot.images)
    bot.runner = build_runner(  # type: ignore[arg-type]
        bot.components, generators, owner=OWNER, pacer=pacer, stopping=ClockStopping(clock)
    )
    bot.command("a fox")
    bot.take()
    assert pacer.reserved == 2
    [message] = posted(slack)
    assert not any("Queued" in str(version.blocks) for version in message.history)
    assert bot.job(1).status is Status.SUCCEEDED and bot.job(1).message_ts == message.ts


def test_a_new_job_in_a_channel_slack_holds_back_is_left_to_the_announcer(bot: Bot) -> None:
    bot.command("a fox")
    assert bot.queue.claim(OWNER, LEASE, post_message=True, crowded=[CHANNEL]) is None  # its post would wait
    taken = bot.queue.claim(OWNER, LEASE, post_message=True, crowded=["C0ELSEWHERE"])
    assert taken is not None and taken.id == 1


def test_the_pool_leaves_a_new_job_to_the_announcer_where_the_image_could_not_follow_its_message_at_once(
    make_bot: MakeBot, slack: SlackEmulator
) -> None:
    bot = make_bot(worker_concurrency=1, queue_poll_seconds=30)
    pacing = bot.components.gateway.pacing
    pacing.wait(CHANNEL)
    pacing.wait(CHANNEL)  # one message left in the channel's burst: not two
    pool = build_worker_pool(bot.components, dict.fromkeys(bot.settings.deployments, bot.images))  # type: ignore[arg-type]
    pool.start()
    try:
        slack.wait_for(lambda: pool.idle(), timeout=30)
        bot.command("a fox")
        pool.wake()  # the idle worker finds nothing it may take, and hands over to the announcer
        slack.wait_for(lambda: bot.job(1).status is Status.SUCCEEDED, timeout=30)
    finally:
        pool.stop(5)
    [message] = posted(slack)
    assert "next in line" in str(message.history[0].blocks)


def test_a_worker_giving_way_leaves_a_new_job_queued_until_the_rush_is_over(
    make_bot: MakeBot, slack: SlackEmulator
) -> None:
    """While the front answers a burst (bot/jobs/rush.py) the real pool's runner waits before it looks for
    a job (its first transaction): a job that comes meanwhile stays queued until the runner is let go."""
    bot = make_bot(worker_concurrency=1, queue_poll_seconds=30)
    rushed, let_go = threading.Event(), threading.Event()

    def give_way() -> None:
        if threading.current_thread().name == "worker-0":  # the only runner; the announcer goes on
            rushed.set()
            assert let_go.wait(30)

    time = bot.time
    components = build_components(
        bot.settings, clock=bot.clock, monotonic=time.monotonic, sleep=time.sleep, give_way=give_way
    )
    pool = build_worker_pool(components, dict.fromkeys(bot.settings.deployments, bot.images))  # type: ignore[arg-type]
    pool.start()
    try:
        assert rushed.wait(30)
        bot.command("a fox")
        pool.wake()
        assert bot.job(1).status is Status.QUEUED  # the only runner is still giving way
        let_go.set()
        slack.wait_for(lambda: bot.job(1).status is Status.SUCCEEDED or None, timeout=30)
    finally:
        let_go.set()
        pool.stop(5)
        components.close()


def test_every_call_the_worker_makes_to_slack_or_the_database_gives_way_first(bot: Bot, slack: SlackEmulator) -> None:
    """The gateway of `serve`'s worker waits before each Web API call and before an upload's bytes: each
    wait comes before the call it precedes reaches Slack. So does each of its database transactions."""
    calls_at_each_wait: list[int] = []
    before = len(slack.calls())  # the in-process bot's own start-up calls
    components = build_components(bot.settings, give_way=lambda: calls_at_each_wait.append(len(slack.calls()) - before))
    try:
        gateway = components.gateway
        channel, ts = gateway.post(CHANNEL, {"text": "a fox"})
        gateway.update(channel, ts, {"text": "a fox, drawn"})
        [file_id] = gateway.upload(channel, ts, [Upload(png(), "fox.png", "a fox", "a fox")])
        slack_waits = list(calls_at_each_wait)
        components.queue.ping()
        assert components.queue.get(1) is None
        database_waits = len(calls_at_each_wait) - len(slack_waits)
    finally:
        components.close()
    assert slack.files()[file_id].length == len(png())
    # post, update, getUploadURLExternal, the bytes (not a Web API call), completeUploadExternal
    assert slack_waits == [0, 1, 2, 3, 3]
    assert len(slack.calls()) - before == 4
    assert database_waits == 2
