"""The message shortcuts: "Imagine this" on text, and "Imagine from this image" on someone's pictures."""

from __future__ import annotations

from bot.replies import modals
from bot.store.spec import OriginKind, Status
from devkit.slack import SlackEmulator
from tests.conftest import CHANNEL, USER
from tests.harness import Bot, png
from tests.inprocess.conftest import MakeBot

OTHER = "U0OTHER001"


def submit(bot: Bot, slack: SlackEmulator, values: dict[str, str]) -> dict[str, object]:
    view = slack.opened_views()[-1]
    state = {block: {"value": {"type": "plain_text_input", "value": value}} for block, value in values.items()}
    answer = slack.send_view_submission(bot.url, view, state)
    assert answer.status == 200, answer.text
    return answer.json() if answer.body else {}


def test_imagine_this_prefills_the_prompt_and_queues_like_a_command(bot: Bot, slack: SlackEmulator) -> None:
    message = slack.post_user_message(CHANNEL, "a <https://example.com|lighthouse> at dusk &amp; a boat", user=OTHER)
    assert slack.send_message_shortcut(bot.url, modals.IMAGINE_THIS, message).status == 200
    view = slack.opened_views()[-1]
    assert view["blocks"][0]["element"]["initial_value"] == "a lighthouse at dusk & a boat"
    assert submit(bot, slack, {"prompt": "a lighthouse at dusk", "size": "1536x864"}) == {}
    bot.work()
    job = bot.job(1)
    assert (job.origin.kind, job.request.size, job.status) == (OriginKind.SHORTCUT, "1536x864", Status.SUCCEEDED)


def test_imagine_from_image_edits_exactly_those_pictures_and_links_the_source(bot: Bot, slack: SlackEmulator) -> None:
    logo, photo = png(700, 700, (10, 200, 10)), png(900, 600, (200, 10, 10))
    source = slack.post_user_message(
        CHANNEL,
        "our logo and a photo",
        user=OTHER,
        files=[("logo.png", logo, "image/png"), ("photo.png", photo, "image/png")],
    )
    slack.send_message_shortcut(bot.url, modals.FROM_IMAGE, source)
    view = slack.opened_views()[-1]
    assert view["callback_id"] == modals.FROM_IMAGE_MODAL
    assert view["blocks"][0]["label"]["text"] == "What should I make from these 2 pictures?"
    assert submit(bot, slack, {"prompt": "blend them into a poster"}) == {}
    bot.work()
    job = bot.job(1)
    assert (job.origin.kind, job.origin.user_id, job.status) == (OriginKind.REFERENCE, USER, Status.SUCCEEDED)
    assert [image.content for image in bot.images.calls[0].images] == [logo, photo]
    result = slack.message(CHANNEL, str(job.message_ts))
    assert "made from <https://" in str(result.blocks)
    assert {d.token_ok for d in slack.downloads()} == {True}


def test_a_message_without_pictures_gets_a_plain_answer(bot: Bot, slack: SlackEmulator) -> None:
    message = slack.post_user_message(CHANNEL, "just words", user=OTHER)
    slack.send_message_shortcut(bot.url, modals.FROM_IMAGE, message)
    assert slack.opened_views() == []
    assert any("no pictures I can use" in r.body["text"] for r in slack.responses())


def test_a_file_that_is_not_a_picture_is_refused_before_azure_is_called(bot: Bot, slack: SlackEmulator) -> None:
    # The mimetype says PNG, the bytes are a web page: the download's check catches it.
    source = slack.post_user_message(CHANNEL, "look", user=OTHER, files=[("fake.png", b"<html>hi</html>", "image/png")])
    slack.send_message_shortcut(bot.url, modals.FROM_IMAGE, source)
    submit(bot, slack, {"prompt": "make it a poster"})
    bot.work()
    job = bot.job(1)
    assert (job.status, job.error_code) == (Status.FAILED, "source_not_image")
    assert bot.images.calls == []


def test_a_picture_too_large_is_refused_with_a_plain_answer(make_bot: MakeBot, slack: SlackEmulator) -> None:
    bot = make_bot(max_image_bytes=1024 * 1024)
    big = png(1200, 1200) + b"\0" * (1024 * 1024)
    source = slack.post_user_message(CHANNEL, "huge", user=OTHER, files=[("big.png", big, "image/png")])
    slack.send_message_shortcut(bot.url, modals.FROM_IMAGE, source)
    submit(bot, slack, {"prompt": "smaller please"})
    bot.work()
    assert bot.job(1).error_code == "source_too_large"
    # A view submission has no response_url: the note comes as an ephemeral message.
    assert any("larger than I may download" in note.text for note in slack.ephemerals(USER))


def test_a_picture_not_shared_with_the_bot_gets_a_plain_answer(bot: Bot, slack: SlackEmulator) -> None:
    # files.info answers not_visible for a file in a conversation the bot is not part of.
    source = slack.post_user_message(CHANNEL, "look", user=OTHER, files=[("a.png", png(), "image/png")])
    slack.send_message_shortcut(bot.url, modals.FROM_IMAGE, source)
    submit(bot, slack, {"prompt": "make it a poster"})
    slack.fail_next("files.info", "not_visible")
    bot.work()
    job = bot.job(1)
    assert (job.status, job.error_code) == (Status.FAILED, "source_gone")
    assert bot.images.calls == []


def test_a_shortcut_whose_trigger_expired_gets_a_plain_answer(bot: Bot, slack: SlackEmulator) -> None:
    message = slack.post_user_message(CHANNEL, "a lighthouse", user=OTHER)
    slack.fail_next("views.open", "expired_trigger_id")
    assert slack.send_message_shortcut(bot.url, modals.IMAGINE_THIS, message).status == 200
    assert slack.opened_views() == []
    assert any("use the shortcut again" in r.body["text"] for r in slack.responses())


def test_a_picture_slack_will_not_let_the_bot_read_is_told_plainly_not_as_a_crash(
    bot: Bot, slack: SlackEmulator
) -> None:
    # An app installed without files:read: Slack refuses files.info whatever the picture.
    source = slack.post_user_message(CHANNEL, "look", user=OTHER, files=[("a.png", png(), "image/png")])
    slack.send_message_shortcut(bot.url, modals.FROM_IMAGE, source)
    submit(bot, slack, {"prompt": "make it a poster"})
    slack.fail_next("files.info", "missing_scope", needed="files:read", provided="commands,chat:write")
    bot.work()
    job = bot.job(1)
    assert (job.status, job.error_code) == (Status.FAILED, "slack_missing_scope")
    assert bot.images.calls == []
    assert any("would not let me read the picture" in note.text for note in slack.ephemerals(USER))
