"""Every refusal Slack documents for the calls the bot makes has an answer: a direct message with the
reason in words where the channel refused, a plain note and an operator's log line where nothing helps,
and no image lost or posted twice. The scopes the emulator grants are manifest.yml's."""

from __future__ import annotations

import logging
from typing import Any

import pytest

from bot.logs import JobIdFilter
from bot.replies import results
from bot.slack.gateway import SlackRefused
from bot.store.spec import MessageState, Status
from devkit.slack import SlackEmulator, manifest_scopes
from tests.conftest import CHANNEL, USER
from tests.harness import Bot, png
from tests.inprocess.conftest import MakeBot

UPLOAD_REFUSALS = {
    "not_in_channel": "I am not a member of",
    "channel_not_found": "I am not a member of",
    "is_archived": "is archived",
    "invalid_channel": "I am not a member of",
    "posting_to_channel_denied": "only some people may post in",
    "no_permission": "does not let apps share files in",
    "access_denied": "does not let apps share files in",
}


@pytest.mark.parametrize(("error", "words"), UPLOAD_REFUSALS.items(), ids=list(UPLOAD_REFUSALS))
def test_a_channel_that_refuses_the_images_sends_them_by_dm_with_the_reason(
    bot: Bot, slack: SlackEmulator, error: str, words: str
) -> None:
    slack.fail_next("files.completeUploadExternal", error)
    bot.command("a fox")
    bot.work()
    job = bot.job(1)
    assert job.status is Status.SUCCEEDED
    assert job.message_channel and job.message_channel.startswith("D")
    assert any(b.get("type") == "image" for b in slack.message(job.message_channel, str(job.message_ts)).blocks or [])
    notes = [r.body["text"] for r in slack.responses()]
    assert any(words in note and "direct message" in note for note in notes), notes


@pytest.mark.parametrize(
    "error", ["restricted_action", "restricted_action_read_only_channel", "channel_not_found", "is_archived"]
)
def test_a_channel_that_refuses_the_placeholder_still_delivers_by_dm(
    bot: Bot, slack: SlackEmulator, error: str
) -> None:
    slack.fail_next("chat.postMessage", error)
    bot.command("a fox")
    bot.work()
    job = bot.job(1)
    assert job.status is Status.SUCCEEDED and str(job.message_channel).startswith("D")


@pytest.mark.parametrize("error", ["missing_scope", "invalid_auth", "token_revoked", "file_update_failed"])
def test_what_cannot_be_helped_is_logged_with_the_job_and_told_plainly(
    bot: Bot, slack: SlackEmulator, caplog: pytest.LogCaptureFixture, error: str
) -> None:
    slack.fail_next("files.completeUploadExternal", error, needed="files:write", provided="commands")
    bot.command("a fox")
    caplog.handler.addFilter(JobIdFilter())
    with caplog.at_level(logging.INFO):
        bot.work()
    job = bot.job(1)
    assert (job.status, job.error_code) == (Status.FAILED, f"slack_{error}")
    assert any(error in r.getMessage() and getattr(r, "job", None) == "1" for r in caplog.records)
    [placeholder] = [m for m in slack.messages(CHANNEL) if not m.thread_ts]
    assert "Slack would not let me post it anywhere" in str(slack.message(CHANNEL, placeholder.ts).blocks)
    assert error not in str([r.body for r in slack.responses()])  # Slack's code is for operators


def test_a_placeholder_slack_will_never_take_does_not_hold_its_job_back(
    bot: Bot, slack: SlackEmulator, caplog: pytest.LogCaptureFixture
) -> None:
    # Not the channel's doing and not worth retrying (here a scope the app lacks): the job runs without
    # its placeholder, and the result goes where it can, or the requester hears why not.
    slack.fail_next("chat.postMessage", "missing_scope", times=3, needed="chat:write", provided="commands")
    bot.command("a fox")
    caplog.handler.addFilter(JobIdFilter())
    with caplog.at_level(logging.INFO):
        bot.announcer.announce_pending()
    job = bot.job(1)
    assert (job.message_state, job.channel_refusal) == (MessageState.UNPOSTABLE, "missing_scope")
    assert any("missing_scope" in r.getMessage() and getattr(r, "job", None) == "1" for r in caplog.records)
    bot.work()  # the direct message is refused too (the same missing scope): the requester hears why
    job = bot.job(1)
    assert (job.status, job.error_code) == (Status.FAILED, "slack_missing_scope")
    assert any("Slack would not let me post it anywhere" in r.body["text"] for r in slack.responses())


def test_a_placeholder_deleted_while_drawing_gets_the_result_in_a_new_message(bot: Bot, slack: SlackEmulator) -> None:
    bot.command("a fox")
    bot.announcer.announce_pending()
    slack.fail_next("chat.update", "message_not_found", times=5)
    bot.work()
    job = bot.job(1)
    assert job.status is Status.SUCCEEDED
    tops = [m for m in slack.messages(CHANNEL) if not m.thread_ts]
    assert any(any(b.get("type") == "image" for b in m.blocks or []) for m in tops)


def test_an_expired_response_url_falls_back_to_an_ephemeral_message(bot: Bot, slack: SlackEmulator) -> None:
    from bot.images.generator import ContentRejected

    bot.images.will_fail(ContentRejected("prompt", "no"))
    bot.command("a fox")
    slack.expire_response_urls()
    bot.work()
    assert any("refused this prompt" in note.text for note in slack.ephemerals(USER))


def test_slack_answering_500_on_the_upload_is_retried_and_delivers_once(bot: Bot, slack: SlackEmulator) -> None:
    bot.command("a fox")
    slack.fail_upload_next(500)
    bot.work()
    assert bot.job(1).status is Status.QUEUED  # rescheduled
    bot.clock.advance(60)
    bot.work()
    assert bot.job(1).status is Status.SUCCEEDED
    finals = [f for f in slack.files().values() if f.filename == "imagine-1.png"]
    assert len(finals) == 1


def test_an_expired_trigger_on_edit_gets_a_plain_answer(bot: Bot, slack: SlackEmulator) -> None:
    bot.command("a fox")
    bot.work()
    root = next(m for m in slack.messages(CHANNEL) if not m.thread_ts)
    slack.fail_next("views.open", "expired_trigger_id")
    slack.send_block_action(bot.url, action_id=results.EDIT, value="1:0", message=root)
    assert any("click Edit again" in r.body["text"] for r in slack.responses())


def test_the_emulator_grants_exactly_the_manifests_scopes(slack: SlackEmulator) -> None:
    assert slack.scopes == manifest_scopes()


def test_every_call_of_a_full_session_is_allowed_by_the_manifests_scopes(
    make_bot: MakeBot, slack: SlackEmulator
) -> None:
    """Remove a scope from manifest.yml and this fails, naming it."""
    bot = make_bot(admin_user_ids=USER)
    bot.command("a lighthouse --n 2")
    bot.work()
    root = next(m for m in slack.messages(CHANNEL) if not m.thread_ts)
    slack.send_mention(bot.url, "make the sky pink", channel_id=CHANNEL, thread_ts=root.ts)
    source = slack.post_user_message(CHANNEL, "logo", user="U0OTHER001", files=[("logo.png", png(), "image/png")])
    slack.send_message_shortcut(bot.url, "imagine_from_image", source)
    view = slack.opened_views()[-1]
    slack.send_view_submission(bot.url, view, {"prompt": {"value": {"type": "plain_text_input", "value": "poster"}}})
    bot.work()
    bot.command("usage csv")
    slack.send_event(bot.url, {"type": "app_home_opened", "user": USER, "tab": "home", "event_ts": "1.0"})
    slack.send_block_action(bot.url, action_id=results.DELETE, value="1", message=root)
    missing = sorted({str(c.response.get("needed")) for c in slack.calls() if c.error == "missing_scope"})
    assert not missing, f"manifest.yml lacks the scope(s) the bot needs: {', '.join(missing)}"
    assert all(job.status is Status.SUCCEEDED for job in bot.jobs())


def refuse_results(bot: Bot, monkeypatch: pytest.MonkeyPatch, times: int) -> list[str]:
    """Slack answers the message's update to the result (the one with the image) with a transient error
    `times` times: its own 5xx, or still rate-limited after slack_sdk's retries."""
    gateway = bot.components.gateway
    real_update = gateway.update
    refused: list[str] = []

    def update(channel_id: str, ts: str, message: dict[str, Any], **kwargs: Any) -> None:
        if len(refused) < times and any(b.get("type") == "image" for b in message.get("blocks", [])):
            refused.append(ts)
            raise SlackRefused("service_unavailable", retryable=True)
        real_update(channel_id, ts, message, **kwargs)

    monkeypatch.setattr(gateway, "update", update)
    return refused


def test_a_result_slack_could_not_take_for_a_moment_is_shown_later_without_drawing_again(
    bot: Bot, slack: SlackEmulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    refused = refuse_results(bot, monkeypatch, times=1)
    bot.command("a fox")
    bot.work()
    job = bot.job(1)
    assert refused and (job.status, job.error_code) == (Status.QUEUED, "slack_service_unavailable")
    bot.clock.advance(60)
    bot.work()
    job = bot.job(1)
    assert job.status is Status.SUCCEEDED and len(bot.images.calls) == 1
    assert job.estimated_cost_usd and job.estimated_cost_usd > 0  # the first attempt's drawing, still counted
    [root] = [m for m in slack.messages(CHANNEL) if not m.thread_ts]
    assert any(b.get("type") == "image" for b in slack.message(CHANNEL, root.ts).blocks or [])
    assert [f.id for f in slack.files().values() if not f.deleted] == list(job.file_ids)


def test_a_result_slack_never_takes_still_counts_as_delivered_and_the_requester_hears_where(
    bot: Bot, slack: SlackEmulator, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    refuse_results(bot, monkeypatch, times=100)
    bot.command("a fox")
    caplog.handler.addFilter(JobIdFilter())
    with caplog.at_level(logging.INFO):
        for _ in range(bot.settings.job_max_attempts):
            bot.work()
            bot.clock.advance(120)
    job = bot.job(1)
    assert job.status is Status.SUCCEEDED and len(bot.images.calls) == 1  # the images are in the thread
    assert any("did not take the result" in r.getMessage() and r.levelno == logging.ERROR for r in caplog.records)
    assert any("is posted in" in r.body["text"] for r in slack.responses())


def test_a_result_shown_late_is_shown_even_past_the_deadline(
    bot: Bot, slack: SlackEmulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The deadline keeps a drawing from turning up hours late; images already in the thread are not that.
    refuse_results(bot, monkeypatch, times=1)
    bot.command("a fox")
    bot.work()
    assert bot.job(1).status is Status.QUEUED
    bot.clock.advance(bot.settings.job_deadline_minutes * 60 + 60)
    bot.work()
    job = bot.job(1)
    assert job.status is Status.SUCCEEDED and job.estimated_cost_usd and job.estimated_cost_usd > 0
    [root] = [m for m in slack.messages(CHANNEL) if not m.thread_ts]
    assert any(b.get("type") == "image" for b in slack.message(CHANNEL, root.ts).blocks or [])
