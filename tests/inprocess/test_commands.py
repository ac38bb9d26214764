"""`/imagine` at the front door: what the requester reads at once, and what is (not) queued."""

from __future__ import annotations

import asyncio
import json
from decimal import Decimal

from slack_bolt import BoltRequest

from bot.app import build_slack_app
from bot.jobs.queue import Enqueued, JobQueue
from bot.jobs.rush import RUSH_TAIL_S, OpenRequests, Rush
from bot.store.spec import JobSpec, MessageState, OriginKind, Status
from devkit.slack import SlackEmulator
from tests.conftest import CHANNEL, USER
from tests.harness import Bot, SyncExecutor, asgi_call
from tests.inprocess.conftest import MakeBot


def test_the_ack_names_the_job_and_its_place_in_line(bot: Bot) -> None:
    first = bot.command("a lighthouse at dusk").json()
    second = bot.command("a fox --landscape").json()
    assert first["response_type"] == "ephemeral"
    assert "Job 1 (gpt-image-2) is next in line" in first["text"]
    assert "Job 2 (gpt-image-2) is 2nd in line" in second["text"]
    assert "landscape → 1280x720" in second["text"]
    job = bot.job(2)
    assert (job.status, job.origin.kind, job.message_state) == (Status.QUEUED, OriginKind.COMMAND, MessageState.PENDING)
    assert job.request.size == "1280x720"


def test_the_same_trigger_twice_is_one_job(bot: Bot) -> None:
    bot.command("a fox", trigger_id="trigger-1")
    again = bot.command("a fox", trigger_id="trigger-1").json()
    assert "already in the queue (job 1)" in again["text"]
    assert len(bot.jobs()) == 1


def test_a_bad_option_is_answered_with_the_rule_and_a_size_that_works(bot: Bot) -> None:
    answer = bot.command("a fox --size 1000x600").json()
    assert "both sides must be multiples of 16" in answer["text"]
    assert "--size 1056x640" in answer["text"]
    assert bot.jobs() == []


def test_help_is_block_kit_and_explains_prompt_revision(make_bot: MakeBot) -> None:
    plain = make_bot().command("help").json()
    assert plain["blocks"]
    assert "AZURE_OPENAI_RESPONSES_DEPLOYMENT" in str(plain["blocks"])
    revising = make_bot(azure_openai_responses_deployment="gpt-5.4-mini").command("help").json()
    assert "--raw" in str(revising["blocks"])


def test_retired_models_are_labelled_where_people_pick_them(make_bot: MakeBot) -> None:
    bot = make_bot(azure_openai_extra_deployments="dalle3=dall-e-3")
    assert "dall-e-3, retired 2026-02-18" in str(bot.command("help").json()["blocks"])


def test_a_prompt_can_never_ping_the_channel(bot: Bot, slack: SlackEmulator) -> None:
    bot.command("<!channel> look @here at <https://evil.example|this> & that")
    bot.announcer.announce_pending()
    [message] = slack.messages(CHANNEL)
    text = str(message.blocks) + message.text
    assert "<!channel>" not in text and "@here" not in text and "<https://evil" not in text


def test_the_daily_limit_refuses_before_anything_is_queued(make_bot: MakeBot) -> None:
    bot = make_bot(limit_images_per_user_per_day=2)
    bot.command("a fox --n 2")
    refused = bot.command("another fox").json()
    assert "daily image limit" in refused["text"]
    assert "Nothing was queued" in refused["text"]
    assert len(bot.jobs()) == 1


class HeldCommits:
    """The group-commit writer's way in from the event loop, holding every commit until `commit()`."""

    def __init__(self, queue: JobQueue) -> None:
        self._queue = queue
        self.held: list[tuple[JobSpec, asyncio.Future[Enqueued]]] = []

    def submit_async(self, spec: JobSpec) -> asyncio.Future[Enqueued]:
        future: asyncio.Future[Enqueued] = asyncio.get_running_loop().create_future()
        self.held.append((spec, future))
        return future

    def commit(self) -> None:
        for spec, future in self.held:
            future.set_result(self._queue.enqueue(spec))
        self.held.clear()


def test_commands_arriving_together_cannot_all_pass_a_limit(make_bot: MakeBot, slack: SlackEmulator) -> None:
    # The second command is decided while the first one's row waits for the writer's commit: the database
    # cannot show it yet, the limit still must.
    bot = make_bot(limit_images_per_user_per_day=1)
    commits = HeldCommits(bot.queue)
    front = bot.make_front(committer=commits)
    signed: list[tuple[bytes, dict[str, str]]] = []
    slack.route(bot.url, lambda body, headers: (signed.append((body, headers)), (200, {}, b"{}"))[1])
    slack.send_command(bot.url, "a fox", user_id=USER, channel_id=CHANNEL)
    slack.send_command(bot.url, "another fox", user_id=USER, channel_id=CHANNEL)

    async def together() -> tuple[bytes, bytes]:
        first = asyncio.ensure_future(asgi_call(front, "POST", "/slack/events", *signed[0]))
        while not commits.held:  # the first command is accepted and waits for its commit
            await asyncio.sleep(0)
        _, _, second = await asgi_call(front, "POST", "/slack/events", *signed[1])
        commits.commit()
        return (await first)[2], second

    first, second = asyncio.run(together())
    assert json.loads(first)["text"].startswith(":art: Job 1")
    assert "daily image limit" in json.loads(second)["text"]
    assert len(bot.jobs()) == 1
    slack.route(bot.url, bot.deliver)
    assert "daily image limit" in bot.command("a third fox").json()["text"]  # now counted from the database


def test_the_monthly_budget_counts_the_estimate_of_the_new_request(make_bot: MakeBot) -> None:
    bot = make_bot(monthly_budget_usd=Decimal("0.05"))
    refused = bot.command("a fox --quality high --size 2560x1440").json()  # ~$0.43 by the token table
    assert "monthly image budget" in refused["text"]
    assert bot.command("a fox --quality low").json()["text"].startswith(":art: Job 1")


def test_a_channel_not_allowed_gets_a_plain_answer(make_bot: MakeBot) -> None:
    bot = make_bot(allowed_channels="C0OTHER001")
    refused = bot.command("a fox").json()
    assert "not open for /imagine" in refused["text"] and "<#C0OTHER001>" in refused["text"]


def test_usage_is_answered_by_its_own_listener(bot: Bot) -> None:
    answer = bot.command("usage").json()
    assert "Your /imagine usage" in answer["text"]
    assert bot.jobs() == []


def test_a_prompt_with_the_word_payload_is_a_prompt(bot: Bot) -> None:
    assert "Job 1" in bot.command("a payload truck, payload=heavy").json()["text"]
    assert bot.job(1).request.prompt == "a payload truck, payload=heavy"


def test_bolt_listener_path_answers_like_the_fast_path(bot: Bot, slack: SlackEmulator) -> None:
    # Socket Mode reaches the same listener through Bolt's dispatch, not the HTTP fast path.
    from urllib.parse import urlencode

    fields = {"command": "/imagine", "text": "a fox", "user_id": USER, "channel_id": CHANNEL,
              "team_id": slack.team_id, "trigger_id": "t-bolt", "response_url": slack.new_response_url()}  # fmt: skip
    body = urlencode(fields)
    headers = {"content-type": "application/x-www-form-urlencoded", **slack.sign(body.encode())}
    response = bot.app.dispatch(BoltRequest(body=body, headers=headers))
    assert response.status == 200
    assert "Job 1 (gpt-image-2) is next in line" in response.body
    assert bot.job(1).origin.dedupe_key == "t-bolt"


def test_socket_mode_requests_count_as_open_for_the_rush(bot: Bot, slack: SlackEmulator) -> None:
    """Socket Mode's requests reach Bolt without the HTTP front, so Bolt counts them (bot/jobs/rush.py):
    a burst over the socket holds the worker back like one over HTTP."""
    rush = Rush(now=bot.time.monotonic, sleep=bot.time.sleep)
    open_requests = OpenRequests(rush, rush_at=1, now=bot.time.monotonic)
    app, _ = build_slack_app(bot.components, bot.intake, listener_executor=SyncExecutor(), open_requests=open_requests)
    payload = {
        "command": "/imagine",
        "text": "a fox",
        "user_id": USER,
        "channel_id": CHANNEL,
        "team_id": slack.team_id,
        "trigger_id": "t-socket",
        "response_url": slack.new_response_url(),
    }
    assert rush.held_until() == 0
    response = app.dispatch(BoltRequest(body=payload, mode="socket_mode"))
    assert response.status == 200
    assert "Job 1 (gpt-image-2) is next in line" in response.body
    assert (rush.held_until(), open_requests.open) == (bot.time.now + RUSH_TAIL_S, 0)


def test_progress_in_channel_false_queues_a_private_job(make_bot: MakeBot) -> None:
    bot = make_bot(progress_in_channel=False)
    answer = bot.command("a fox").json()
    assert "it will be posted here when ready" in answer["text"]
    assert bot.job(1).message_state is MessageState.PRIVATE
