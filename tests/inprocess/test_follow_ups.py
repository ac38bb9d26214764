"""Keep going from any image: the buttons on a result, the Edit modal, and mentions in its thread."""

from __future__ import annotations

from bot.replies import results
from bot.store.spec import OriginKind, Status
from devkit.slack import Message, SlackEmulator
from tests.conftest import CHANNEL, USER
from tests.harness import Bot
from tests.inprocess.conftest import MakeBot

OTHER = "U0OTHER001"
ADMIN = "U0ADMIN001"


def first_result(bot: Bot, slack: SlackEmulator, text: str = "a lighthouse at dusk --size 1536x864") -> Message:
    bot.command(text)
    bot.work()
    return next(m for m in slack.messages(CHANNEL) if m.user == slack.bot_user_id and not m.thread_ts)


def click(bot: Bot, slack: SlackEmulator, message: Message, action: str, value: str, user: str = USER) -> None:
    answer = slack.send_block_action(bot.url, action_id=action, value=value, message=message, user_id=user)
    assert answer.status == 200, answer.text


def results_in_thread(slack: SlackEmulator, root: Message) -> list[Message]:
    return [m for m in slack.thread(CHANNEL, root.ts)[1:] if m.user == slack.bot_user_id and m.blocks]


def test_regenerate_makes_a_new_take_in_the_results_thread_credited_to_the_clicker(
    bot: Bot, slack: SlackEmulator
) -> None:
    root = first_result(bot, slack)
    click(bot, slack, root, results.REGENERATE, "1", user=OTHER)
    bot.work()
    job = bot.job(2)
    assert (job.origin.kind, job.origin.user_id, job.origin.parent_job_id) == (OriginKind.REGENERATE, OTHER, 1)
    assert job.origin.thread_ts == root.ts
    assert job.request.prompt == "a lighthouse at dusk" and job.request.size == "1536x864"
    [again] = results_in_thread(slack, root)
    assert any(b.get("type") == "image" for b in again.blocks or [])


def test_vary_edits_that_exact_image(bot: Bot, slack: SlackEmulator) -> None:
    root = first_result(bot, slack)
    posted = slack.files()[bot.job(1).file_ids[0]].content
    click(bot, slack, root, results.VARY, "1:0")
    bot.work()
    call = bot.images.calls[-1]
    assert call.operation == "edit"
    assert [image.content for image in call.images] == [posted]
    assert "variation" in call.request.prompt.lower()
    assert bot.job(2).origin.kind is OriginKind.VARY
    assert any(d.token_ok for d in slack.downloads())
    # The clicker hears at once, privately, where the variation will appear.
    [note] = [r.body for r in slack.responses() if "job 2" in r.body.get("text", "")]
    assert note["response_type"] == "ephemeral" and "variation" in note["text"] and "thread" in note["text"]


def test_upscale_renders_the_largest_size_of_the_same_shape(bot: Bot, slack: SlackEmulator) -> None:
    root = first_result(bot, slack)
    click(bot, slack, root, results.UPSCALE, "1:0")
    bot.work()
    assert bot.images.calls[-1].request.size == "2560x1440"
    assert bot.job(2).origin.kind is OriginKind.UPSCALE


def test_edit_opens_a_modal_whose_instruction_edits_the_image(bot: Bot, slack: SlackEmulator) -> None:
    root = first_result(bot, slack)
    click(bot, slack, root, results.EDIT, "1:0")
    [view] = slack.opened_views()
    assert view["callback_id"] == "imagine_edit_modal"
    answer = slack.send_view_submission(
        bot.url, view, {"prompt": {"value": {"type": "plain_text_input", "value": "make the sky pink"}}}
    )
    assert answer.status == 200 and not answer.body
    bot.work()
    job = bot.job(2)
    assert (job.origin.kind, job.request.prompt, job.request.size) == (OriginKind.EDIT, "make the sky pink", "1536x864")
    assert bot.images.calls[-1].operation == "edit"


def test_the_edit_modal_shows_a_bad_size_beside_its_field(bot: Bot, slack: SlackEmulator) -> None:
    root = first_result(bot, slack)
    click(bot, slack, root, results.EDIT, "1:0")
    [view] = slack.opened_views()
    values = {
        "prompt": {"value": {"type": "plain_text_input", "value": "pinker"}},
        "size": {"value": {"type": "plain_text_input", "value": "1000x600"}},
    }
    answer = slack.send_view_submission(bot.url, view, values).json()
    assert answer["response_action"] == "errors"
    assert "multiples of 16" in answer["errors"]["size"]
    assert len(bot.jobs()) == 1


def test_use_revised_prompt_sends_it_as_written(make_bot: MakeBot, slack: SlackEmulator) -> None:
    bot = make_bot(azure_openai_responses_deployment="gpt-5.4-mini")
    bot.images.revised = "A white lighthouse at dusk, warm lantern light"
    root = first_result(bot, slack)
    click(bot, slack, root, results.USE_REVISED, "1")
    bot.work()
    job = bot.job(2)
    assert (job.request.prompt, job.request.raw, job.origin.kind) == (bot.images.revised, True, OriginKind.REVISED)


def test_a_mention_in_the_thread_edits_the_newest_version(bot: Bot, slack: SlackEmulator) -> None:
    root = first_result(bot, slack)
    slack.send_mention(bot.url, "make the sky pink", channel_id=CHANNEL, thread_ts=root.ts)
    bot.work()
    second = bot.job(2)
    assert (second.origin.kind, second.origin.parent_job_id, second.origin.thread_ts) == (OriginKind.EDIT, 1, root.ts)
    slack.send_mention(bot.url, "now add a moon", channel_id=CHANNEL, thread_ts=root.ts)
    bot.work()
    third = bot.job(3)
    assert third.origin.parent_job_id == 2  # a thread is a chain of versions
    assert bot.images.calls[-1].images[0].content == slack.files()[second.file_ids[0]].content
    assert len(results_in_thread(slack, root)) == 2


def test_the_same_event_delivered_twice_makes_one_image(bot: Bot, slack: SlackEmulator) -> None:
    root = first_result(bot, slack)
    sent = slack.send_mention(bot.url, "make the sky pink", channel_id=CHANNEL, thread_ts=root.ts)
    assert sent.status == 200
    again = slack.redeliver(sent, retry_num=1, retry_reason="http_timeout")
    assert again.status == 200
    bot.work()
    assert len(bot.jobs()) == 2


def test_a_mention_outside_a_result_thread_draws_a_new_image(bot: Bot, slack: SlackEmulator) -> None:
    slack.send_mention(bot.url, "a red fox --size 1536x864", channel_id=CHANNEL)
    bot.work()
    job = bot.job(1)
    assert (job.origin.kind, job.request.prompt, job.status) == (OriginKind.MENTION, "a red fox", Status.SUCCEEDED)


def test_a_bare_mention_gets_private_help(bot: Bot, slack: SlackEmulator) -> None:
    slack.send_mention(bot.url, "", channel_id=CHANNEL)
    [note] = slack.ephemerals(USER)
    assert "Mention me with a description" in note.text
    assert bot.jobs() == []


def test_a_mention_with_a_bad_option_is_told_privately(bot: Bot, slack: SlackEmulator) -> None:
    slack.send_mention(bot.url, "a fox --size huge", channel_id=CHANNEL)
    [note] = slack.ephemerals(USER)
    assert "--size huge" in note.text


def test_delete_removes_the_message_and_every_file_it_shows(bot: Bot, slack: SlackEmulator) -> None:
    root = first_result(bot, slack)
    files = bot.job(1).file_ids
    click(bot, slack, root, results.DELETE, "1")
    assert slack.message(CHANNEL, root.ts).deleted
    assert all(slack.files(include_pending=True)[f].deleted for f in files)
    assert bot.job(1).deleted_at is not None
    # Nothing left behind: the messages that shared the files are gone too, so no "file deleted" stubs.
    assert [m.ts for m in slack.messages(CHANNEL) if m.thread_ts == root.ts and not m.deleted] == []


def test_files_slack_will_not_delete_do_not_keep_the_message_up(bot: Bot, slack: SlackEmulator) -> None:
    root = first_result(bot, slack)
    slack.fail_next("files.delete", "file_deleting_disabled")
    click(bot, slack, root, results.DELETE, "1")
    assert slack.message(CHANNEL, root.ts).deleted
    assert bot.job(1).deleted_at is not None
    assert any("would not let me delete its image files" in r.body["text"] for r in slack.responses())


def test_a_message_slack_will_not_delete_is_not_reported_deleted(bot: Bot, slack: SlackEmulator) -> None:
    root = first_result(bot, slack)
    slack.fail_next("chat.delete", "cant_delete_message", times=10)  # the share messages' deletes too
    click(bot, slack, root, results.DELETE, "1")
    assert not slack.message(CHANNEL, root.ts).deleted
    assert bot.job(1).deleted_at is None
    texts = [r.body["text"] for r in slack.responses()]
    assert any("would not let me delete the message of job 1" in t for t in texts)
    assert not any("Deleted job 1" in t for t in texts)


def test_only_the_requester_or_an_admin_may_delete(make_bot: MakeBot, slack: SlackEmulator) -> None:
    bot = make_bot(admin_user_ids=ADMIN)
    root = first_result(bot, slack)
    click(bot, slack, root, results.DELETE, "1", user=OTHER)
    assert not slack.message(CHANNEL, root.ts).deleted
    assert any("Only <@U0USER0001>" in r.body["text"] for r in slack.responses())
    click(bot, slack, root, results.DELETE, "1", user=ADMIN)
    assert slack.message(CHANNEL, root.ts).deleted


def test_a_click_on_a_deleted_image_gets_a_plain_answer(bot: Bot, slack: SlackEmulator) -> None:
    root = first_result(bot, slack)
    click(bot, slack, root, results.DELETE, "1")
    click(bot, slack, root, results.VARY, "1:0")
    assert any("no longer exists" in r.body["text"] for r in slack.responses())
    assert len(bot.jobs()) == 1


def test_an_edit_whose_picture_was_deleted_in_slack_fails_plainly(bot: Bot, slack: SlackEmulator) -> None:
    root = first_result(bot, slack)
    slack.fail_next("files.info", "file_not_found")
    click(bot, slack, root, results.VARY, "1:0")
    bot.work()
    job = bot.job(2)
    assert (job.status, job.error_code) == (Status.FAILED, "source_gone")
    assert any("picture to start from is gone" in r.body["text"] for r in slack.responses())


def test_retired_dall_e_results_offer_no_edits(make_bot: MakeBot, slack: SlackEmulator) -> None:
    bot = make_bot(azure_openai_deployment="dalle3", image_model="dall-e-3")
    root = first_result(bot, slack, "a fox")
    actions = {e["action_id"] for b in root.blocks or [] if b.get("type") == "actions" for e in b["elements"]}
    assert actions == {results.REGENERATE, results.DELETE}
