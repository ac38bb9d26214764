"""The one message a request gets: placeholder, previews, result or plain failure, in place."""

from __future__ import annotations

import logging
import threading
from datetime import timedelta
from decimal import Decimal
from typing import Any

import pytest

from bot.app import build_runner
from bot.images.generator import (
    ContentRejected,
    DeploymentNotFound,
    GeneratedImage,
    ImageResult,
    OnPartial,
    PartialImage,
    RateLimited,
    ServiceUnavailable,
)
from bot.jobs.queue import Outcome
from bot.logs import JobIdFilter
from bot.slack.gateway import Upload
from bot.store.spec import Status
from bot.worker import runner as runner_module
from bot.worker.announcer import REFRESH_EVERY_S
from devkit.slack import Message, SlackEmulator
from tests.conftest import CHANNEL, USER, FrozenClock
from tests.harness import OWNER, Bot, png
from tests.inprocess.conftest import MakeBot


def blocks_of(message: Message, kind: str) -> list[dict[str, Any]]:
    return [b for b in message.blocks or [] if b.get("type") == kind]


def text_of(message: Message) -> str:
    return str(message.blocks) + message.text


def run_one(bot: Bot, slack: SlackEmulator, text: str = "a lighthouse at dusk") -> Message:
    bot.command(text)
    bot.work()
    [message] = [m for m in slack.messages(CHANNEL) if m.user == slack.bot_user_id and not m.thread_ts]
    return message


def test_the_placeholder_becomes_the_image_with_prompt_options_and_buttons(bot: Bot, slack: SlackEmulator) -> None:
    message = run_one(bot, slack, "a lighthouse at dusk --size 1536x864")
    states = [str(version.blocks) for version in message.history]
    assert "Queued, next in line" in states[0]
    assert any("Drawing" in state for state in states)
    [image] = blocks_of(message, "image")
    job = bot.job(1)
    assert image["slack_file"]["id"] == job.file_ids[0]
    assert image["alt_text"] == "a lighthouse at dusk"
    assert "<@U0USER0001> imagined" in text_of(message)
    assert "1536x864 · medium · 1 image" in text_of(message)
    assert "gpt-image-2 does not revise prompts" in text_of(message)
    actions = {e["action_id"] for b in blocks_of(message, "actions") for e in b["elements"]}
    assert actions == {"imagine_edit", "imagine_vary", "imagine_upscale", "imagine_regenerate", "imagine_delete"}
    # The file is shared in the message's own thread, where the channel can see it.
    [shared] = [m for m in slack.thread(CHANNEL, message.ts)[1:] if m.files]
    assert [f.id for f in shared.files] == list(job.file_ids)
    assert job.status is Status.SUCCEEDED and job.delivered_at is not None


def test_previews_are_shown_while_drawing_then_deleted(make_bot: MakeBot, slack: SlackEmulator) -> None:
    bot = make_bot()
    bot.images.partials = 2
    bot.images.drawing = lambda: bot.time.advance(5)  # GPT image models take seconds per preview
    message = run_one(bot, slack)
    previews = [v for v in message.history if "Rough preview" in str(v.blocks)]
    assert len(previews) == 2
    preview_files = {b["slack_file"]["id"] for v in previews for b in (v.blocks or []) if b.get("type") == "image"}
    final = bot.job(1)
    assert preview_files.isdisjoint(final.file_ids)
    assert all(slack.files(include_pending=True)[f].deleted for f in preview_files)
    assert bot.images.calls[0].streamed
    # Their share messages went with them: the thread holds only the final image, no "file deleted" stubs.
    replies = slack.thread(CHANNEL, message.ts)[1:]
    assert [[f.id for f in m.files] for m in replies] == [list(final.file_ids)]


def test_previews_in_quick_succession_never_hold_the_final_image_back(make_bot: MakeBot, slack: SlackEmulator) -> None:
    # The placeholder and each preview's share are new messages in the channel, paced to Slack's one a
    # second after a burst of three. Previews arriving faster than that are skipped rather than make the
    # final image wait for its turn.
    bot = make_bot()
    bot.images.partials = 3
    message = run_one(bot, slack)
    previews = [v for v in message.history if "Rough preview" in str(v.blocks)]
    assert len(previews) == 1
    assert bot.time.slept == []  # nothing waited on the channel's pace
    assert any(b.get("type") == "image" for b in message.blocks or [])
    assert bot.job(1).status is Status.SUCCEEDED


def test_several_images_are_one_carousel_each_card_with_its_buttons(bot: Bot, slack: SlackEmulator) -> None:
    message = run_one(bot, slack, "four logo ideas --n 4")
    [carousel] = blocks_of(message, "carousel")
    cards = carousel["elements"]
    assert len(cards) == 4
    assert [c["hero_image"]["slack_file"]["id"] for c in cards] == list(bot.job(1).file_ids)
    assert [sorted(a["value"] for a in c["actions"]) for c in cards][2] == ["1:2", "1:2", "1:2"]
    assert not bot.images.calls[0].streamed  # previews only for one image at a time


def test_the_revised_prompt_is_posted_when_the_model_revised_it(make_bot: MakeBot, slack: SlackEmulator) -> None:
    bot = make_bot(azure_openai_responses_deployment="gpt-5.4-mini")
    bot.images.revised = "A tall white lighthouse on a rocky shore at dusk, warm light in its lantern"
    message = run_one(bot, slack)
    assert "Prompt the model used" in text_of(message)
    assert "warm light in its lantern" in text_of(message)
    actions = {e["action_id"] for b in blocks_of(message, "actions") for e in b["elements"]}
    assert "imagine_use_revised" in actions
    assert bot.job(1).revised_prompt == bot.images.revised


def test_raw_says_the_prompt_was_used_as_written(make_bot: MakeBot, slack: SlackEmulator) -> None:
    bot = make_bot(azure_openai_responses_deployment="gpt-5.4-mini")
    assert "exactly as written (--raw)" in text_of(run_one(bot, slack, "a fox --raw"))


def test_a_refused_prompt_turns_the_placeholder_into_a_plain_refusal(bot: Bot, slack: SlackEmulator) -> None:
    bot.images.will_fail(ContentRejected("prompt", "HTTP 400 content_policy_violation: …"))
    message = run_one(bot, slack)
    assert "content policy refused this prompt" in text_of(message)
    assert bot.job(1).status is Status.REJECTED
    assert bot.job(1).estimated_cost_usd == 0
    [note] = [r for r in slack.responses() if "refused this prompt" in r.body["text"]]
    assert note.body["response_type"] == "ephemeral"


def test_a_filtered_image_reads_differently_from_a_refused_prompt(bot: Bot, slack: SlackEmulator) -> None:
    bot.images.will_fail(ContentRejected("output", "contentFilter: Generated image was filtered"))
    text = text_of(run_one(bot, slack))
    assert "content filter then blocked" in text
    assert "refused this prompt" not in text


def test_a_missing_deployment_fails_at_once_with_its_name(
    bot: Bot, slack: SlackEmulator, caplog: pytest.LogCaptureFixture
) -> None:
    bot.images.will_fail(DeploymentNotFound("gpt-image-2", "HTTP 404 DeploymentNotFound: …"))
    caplog.handler.addFilter(JobIdFilter())  # as the bot's own handlers do
    with caplog.at_level(logging.WARNING):
        message = run_one(bot, slack)
    assert "`gpt-image-2` is not available on the Azure resource" in text_of(message)
    assert len(bot.images.calls) == 1
    job = bot.job(1)
    assert (job.status, job.error_code, job.attempts) == (Status.FAILED, "azure_deployment_not_found", 1)
    # The operator's line names the job, the code and the deployment.
    [line] = [r for r in caplog.records if "azure_deployment_not_found" in r.getMessage()]
    assert getattr(line, "job", None) == "1" and "on deployment gpt-image-2" in line.getMessage()


def test_a_rate_limit_reschedules_and_says_when(bot: Bot, slack: SlackEmulator, clock: FrozenClock) -> None:
    bot.images.will_fail(RateLimited("429", retry_after=30))
    message = run_one(bot, slack)
    assert "Azure asked us to slow down; trying again" in text_of(slack.message(CHANNEL, message.ts))
    assert bot.job(1).status is Status.QUEUED
    clock.advance(40)
    bot.work()
    assert bot.job(1).status is Status.SUCCEEDED
    assert blocks_of(slack.message(CHANNEL, message.ts), "image")


def test_azure_unavailable_for_every_attempt_gives_up_plainly(
    make_bot: MakeBot, slack: SlackEmulator, clock: FrozenClock
) -> None:
    bot = make_bot(job_max_attempts=2)
    for _ in range(2):
        bot.images.will_fail(ServiceUnavailable("service_unavailable", "HTTP 503"))
    message = run_one(bot, slack)
    clock.advance(600)
    bot.work()
    assert "unavailable for all 2 attempts" in text_of(slack.message(CHANNEL, message.ts))
    assert bot.job(1).status is Status.FAILED


def test_a_job_past_its_deadline_fails_instead_of_posting_late(
    bot: Bot, slack: SlackEmulator, clock: FrozenClock
) -> None:
    bot.command("a fox")
    bot.announcer.announce_pending()
    clock.advance(31 * 60)
    bot.work()
    assert bot.job(1).error_code == "deadline_exceeded"
    assert bot.images.calls == []


def test_private_progress_posts_only_the_result_and_tells_the_requester(
    make_bot: MakeBot, slack: SlackEmulator
) -> None:
    bot = make_bot(progress_in_channel=False)
    bot.command("a fox")
    bot.announcer.announce_pending()
    assert slack.messages(CHANNEL) == []  # no placeholder
    bot.work()
    [message] = [m for m in slack.messages(CHANNEL) if not m.thread_ts]
    assert blocks_of(message, "image")
    texts = [r.body["text"] for r in slack.responses()]
    assert any("Drawing" in t for t in texts)
    assert any("is posted in" in t for t in texts)


def test_a_slow_drawing_sends_one_still_drawing_note_when_progress_is_private(
    make_bot: MakeBot, slack: SlackEmulator
) -> None:
    bot = make_bot(progress_in_channel=False, progress_update_seconds=0.001)
    still = lambda: [r for r in slack.responses() if "Still drawing" in r.body["text"]]  # noqa: E731

    def slow(on_partial: OnPartial | None) -> ImageResult:
        slack.wait_for(still, timeout=10)  # the note comes while the drawing goes on
        return ImageResult((GeneratedImage(png(), "image/png"),), None, None, 10)

    bot.images.script.append(slow)
    bot.command("a fox")
    bot.work()
    assert bot.job(1).status is Status.SUCCEEDED and len(still()) == 1


def test_a_channel_that_refuses_the_images_gets_a_note_and_the_requester_a_dm(bot: Bot, slack: SlackEmulator) -> None:
    slack.add_channel("C0PUBLIC01", name="public", member=False)  # chat:write.public posts, uploads need membership
    bot.command("a fox", channel_id="C0PUBLIC01")
    bot.work()
    [placeholder] = slack.messages("C0PUBLIC01")
    assert "would not let me post it" in text_of(placeholder)
    job = bot.job(1)
    assert job.message_channel and job.message_channel.startswith("D")
    dm = slack.message(job.message_channel, str(job.message_ts))
    assert blocks_of(dm, "image")
    assert any("direct message" in r.body["text"] for r in slack.responses())
    assert job.status is Status.SUCCEEDED


def test_a_channel_that_refuses_the_placeholder_still_gets_the_image_to_the_requester(
    bot: Bot, slack: SlackEmulator
) -> None:
    slack.add_channel("C0ANNOUNCE", name="announcements", posting_restricted=True)
    bot.command("a fox", channel_id="C0ANNOUNCE")
    bot.work()
    job = bot.job(1)
    assert job.status is Status.SUCCEEDED
    assert job.message_channel and job.message_channel.startswith("D")
    assert slack.messages("C0ANNOUNCE") == []


def test_slack_rate_limits_on_updates_are_retried_without_losing_the_result(bot: Bot, slack: SlackEmulator) -> None:
    slack.rate_limit_next("chat.update", retry_after=1, times=2)
    message = run_one(bot, slack)
    assert blocks_of(slack.message(CHANNEL, message.ts), "image")
    assert len([m for m in slack.messages(CHANNEL) if not m.thread_ts]) == 1


def test_a_burst_in_one_channel_posts_every_placeholder_once_within_slacks_pace(
    make_bot: MakeBot, slack: SlackEmulator
) -> None:
    bot = make_bot()
    for index in range(6):
        bot.command(f"idea {index}")
    bot.work()
    tops = [m for m in slack.messages(CHANNEL) if not m.thread_ts]
    assert len(tops) == 6
    assert all(bot.job(i).status is Status.SUCCEEDED for i in range(1, 7))
    assert bot.time.slept  # the per-channel pace held posts back instead of hitting 429s


def test_a_waiting_placeholder_moves_up_in_line_as_the_jobs_ahead_finish(bot: Bot, slack: SlackEmulator) -> None:
    for index in range(3):
        bot.command(f"idea {index}")
    bot.announcer.announce_pending()
    first, second, third = (bot.job(i) for i in (1, 2, 3))
    assert "3rd in line" in text_of(slack.message(CHANNEL, str(third.message_ts)))

    job = bot.queue.claim(OWNER, timedelta(seconds=30))
    assert job is not None and job.id == first.id
    bot.runner.run(job)
    bot.time.advance(REFRESH_EVERY_S)
    assert bot.announcer.refresh_places() == 2
    assert "next in line" in text_of(slack.message(CHANNEL, str(second.message_ts)))
    assert "2nd in line" in text_of(slack.message(CHANNEL, str(third.message_ts)))
    assert bot.announcer.refresh_places() == 0  # nothing moved (and not again within REFRESH_EVERY_S)

    bot.work()
    for done in (bot.job(2), bot.job(3)):
        assert done.status is Status.SUCCEEDED
        shown = [str(v.blocks) for v in slack.message(CHANNEL, str(done.message_ts)).history]
        queued = [i for i, blocks in enumerate(shown) if "in line" in blocks]
        drawing = [i for i, blocks in enumerate(shown) if "Drawing" in blocks]
        assert max(queued) < min(drawing)  # a place in line never shows after the drawing began


def test_a_job_whose_images_were_uploaded_before_a_crash_reuses_them(bot: Bot, slack: SlackEmulator) -> None:
    bot.command("a fox")
    bot.announcer.announce_pending()
    job = bot.queue.claim("crashed-worker", timedelta(seconds=0))
    assert job is not None
    drawn = Outcome(Status.SUCCEEDED, azure_latency_ms=900, output_tokens=1056, estimated_cost_usd=Decimal("0.042"))
    bot.queue.record_files(job.id, "crashed-worker", ("F0REUSED01",), drawn)
    bot.clock.advance(1)
    bot.work()
    assert bot.images.calls == []
    done = bot.job(1)
    assert done.status is Status.SUCCEEDED
    # What the drawing cost stays in the usage row: the second attempt only showed the images.
    assert (done.azure_latency_ms, done.output_tokens, done.estimated_cost_usd) == (900, 1056, Decimal("0.042"))


def test_no_preview_of_either_attempt_outlives_a_job_taken_over_after_a_crash(
    make_bot: MakeBot, slack: SlackEmulator
) -> None:
    bot = make_bot()
    bot.images.partials = 2
    bot.images.drawing = lambda: bot.time.advance(5)
    bot.command("a fox")
    bot.announcer.announce_pending()
    [placeholder] = slack.messages(CHANNEL)
    job = bot.queue.claim("crashed-worker", timedelta(seconds=0))
    assert job is not None
    # The crashed worker had shown a preview: shared into the thread and recorded, as the runner does.
    png_bytes = png()
    [crashed_preview] = bot.components.gateway.upload(
        CHANNEL, placeholder.ts, [Upload(png_bytes, "imagine-1-preview-0.png", "preview", "a fox")]
    )
    bot.queue.record_partials(job.id, "crashed-worker", [crashed_preview])
    bot.clock.advance(1)
    bot.work()
    final = bot.job(1)
    assert final.status is Status.SUCCEEDED and final.partial_file_ids == ()
    live = [f.id for f in slack.files(include_pending=True).values() if not f.deleted]
    assert live == list(final.file_ids)  # neither the crashed attempt's preview nor this attempt's two


def test_an_internal_error_is_logged_and_read_as_failure(bot: Bot, slack: SlackEmulator) -> None:
    def boom(_: object) -> object:
        raise RuntimeError("secret internals")

    bot.images.script.append(boom)  # type: ignore[arg-type]
    message = run_one(bot, slack)
    assert "Something went wrong on our side" in text_of(message)
    assert "secret internals" not in text_of(message)
    assert bot.job(1).error_code == "internal_error"
    assert [r for r in slack.responses() if "went wrong" in r.body["text"]]


def test_the_requesters_private_notes_never_go_to_others(bot: Bot, slack: SlackEmulator) -> None:
    bot.images.will_fail(ContentRejected("prompt", "no"))
    run_one(bot, slack)
    assert all(r.body.get("response_type") == "ephemeral" for r in slack.responses())
    assert USER in {r.user_id for r in slack.responses()}


def test_a_preview_that_arrives_after_the_job_was_released_is_never_shared(
    make_bot: MakeBot, slack: SlackEmulator
) -> None:
    bot = make_bot()

    def released_while_drawing(on_partial: OnPartial | None) -> ImageResult:
        # A shutdown hands the job back to the queue while its drawing is still streaming.
        assert on_partial is not None
        bot.queue.release(OWNER, [1])
        on_partial(PartialImage(0, GeneratedImage(png(16, 16), "image/png")))
        return ImageResult((GeneratedImage(png(), "image/png"),), None, None, 10)

    bot.images.script.append(released_while_drawing)
    bot.command("a fox")
    bot.work()  # the released job runs again, as on another worker, and its drawing is the one posted
    assert len(bot.images.calls) == 2
    job = bot.job(1)
    assert job.status is Status.SUCCEEDED and job.azure_latency_ms == 1234  # the second attempt's
    # The late preview was never shared (its reserved upload is never completed, and Slack drops it), and
    # the first attempt's drawing was never uploaded.
    assert [f.id for f in slack.files().values() if not f.deleted] == list(job.file_ids)
    assert len(slack.files(include_pending=True)) == 2


class RecordingPacer:
    """A quota pacer whose slot is now (on the bot's clock), noting each step it is asked."""

    def __init__(self, clock: FrozenClock) -> None:
        self.events: list[str] = []
        self._clock = clock

    def reserve(self) -> float:
        self.events.append("slot taken")
        return self._clock().timestamp()

    def still_valid(self, slot: float) -> bool:
        self.events.append("slot checked")
        return True

    def refund(self, slot: float) -> None:
        self.events.append("refunded")


class HeldDrawingUpdate:
    """Slack holds the message's first update, "Drawing", until `release` is set; every update that
    lands is noted as drawing, preview, result or failed."""

    def __init__(self, bot: Bot, monkeypatch: pytest.MonkeyPatch) -> None:
        self.release = threading.Event()
        self.landed = threading.Event()
        self.shown: list[str] = []
        self._calls = 0
        gateway = bot.components.gateway
        real_update = gateway.update

        def update(channel_id: str, ts: str, message: dict[str, Any], **kwargs: Any) -> None:
            self._calls += 1
            if self._calls == 1:
                assert self.release.wait(10), "the job waited for Slack to show that the drawing started"
            real_update(channel_id, ts, message, **kwargs)
            blocks = str(message["blocks"])
            kind = "preview" if "rough preview" in blocks else "drawing" if "Drawing" in blocks else "result"
            self.shown.append("failed" if ":warning:" in blocks else kind)
            self.landed.set()

        monkeypatch.setattr(gateway, "update", update)


def use_pacer(bot: Bot, pacer: object) -> None:
    generators = dict.fromkeys(bot.settings.deployments, bot.images)
    bot.runner = build_runner(bot.components, generators, owner=OWNER, pacer=pacer)  # type: ignore[arg-type]


def test_the_drawing_starts_without_waiting_for_slack_to_show_it(
    bot: Bot, slack: SlackEmulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Slack answers the "Drawing" update only once Azure has the request: the call must not wait for
    it (a slow or rate-limited Slack would hold the drawing back, past the quota slot's grace). What the
    job shows afterwards, the preview and the result, still comes after it."""
    pacer = RecordingPacer(bot.clock)
    use_pacer(bot, pacer)
    held = HeldDrawingUpdate(bot, monkeypatch)

    def draw(on_partial: OnPartial | None) -> ImageResult:
        held.release.set()  # Azure has the request
        assert on_partial is not None and held.landed.wait(10)  # its first preview comes seconds later
        on_partial(PartialImage(0, GeneratedImage(png(16, 16), "image/png")))
        return ImageResult((GeneratedImage(png(), "image/png"),), None, None, 10)

    bot.images.script.append(draw)
    bot.command("a fox")
    bot.work()
    assert pacer.events == ["slot taken", "slot checked"]
    assert held.shown == ["drawing", "preview", "result"]
    assert bot.job(1).status is Status.SUCCEEDED


def test_a_preview_that_comes_before_the_drawing_update_landed_is_skipped_not_waited_for(
    bot: Bot, slack: SlackEmulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(runner_module, "_PREVIEW_WAITS_S", 0.0)  # Slack slower than the preview's patience
    held = HeldDrawingUpdate(bot, monkeypatch)

    def draw(on_partial: OnPartial | None) -> ImageResult:
        assert on_partial is not None
        on_partial(PartialImage(0, GeneratedImage(png(16, 16), "image/png")))  # returns with Slack still busy
        held.release.set()
        return ImageResult((GeneratedImage(png(), "image/png"),), None, None, 10)

    bot.images.script.append(draw)
    bot.command("a fox")
    bot.work()
    assert held.shown == ["drawing", "result"]
    assert bot.job(1).status is Status.SUCCEEDED
    assert not [f for f in slack.files(include_pending=True).values() if "preview" in f.filename]


class FailingSecondTurn(RecordingPacer):
    """The first slot is missed (a busy machine) and taking the next fails: the database went away."""

    def __init__(self, clock: FrozenClock, release: threading.Event) -> None:
        super().__init__(clock)
        self._release = release

    def reserve(self) -> float:
        if self.events:
            self._release.set()
            raise RuntimeError("the database went away")
        return super().reserve()

    def still_valid(self, slot: float) -> bool:
        super().still_valid(slot)
        return False


def test_a_turn_that_fails_after_the_drawing_was_announced_shows_the_failure_last(
    bot: Bot, slack: SlackEmulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    held = HeldDrawingUpdate(bot, monkeypatch)
    use_pacer(bot, FailingSecondTurn(bot.clock, held.release))
    bot.command("a fox")
    bot.work()
    assert bot.job(1).status is Status.FAILED
    assert held.shown == ["drawing", "failed"]


class WorkerDied(BaseException):
    """The process ending mid-job: not an error the runner may catch."""


def test_images_shared_by_a_worker_that_died_before_recording_them_are_not_posted_twice(
    bot: Bot, slack: SlackEmulator, clock: FrozenClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    def die(*_: object) -> bool:
        raise WorkerDied

    bot.command("a fox")
    with monkeypatch.context() as patched:
        patched.setattr(bot.queue, "record_files", die)
        with pytest.raises(WorkerDied):
            bot.work()
    [message] = [m for m in slack.messages(CHANNEL) if not m.thread_ts]
    [orphan] = [m for m in slack.thread(CHANNEL, message.ts)[1:] if m.files]  # shared, then the worker died
    clock.advance(600)  # its lease runs out
    bot.work()
    job = bot.job(1)
    assert job.status is Status.SUCCEEDED
    shares = [m for m in slack.thread(CHANNEL, message.ts)[1:] if m.files]
    assert [[f.id for f in m.files] for m in shares] == [list(job.file_ids)]  # one copy: the second attempt's
    assert orphan.files[0].id not in job.file_ids
    assert [f.id for f in slack.files().values() if not f.deleted] == list(job.file_ids)
