"""What the page shows, on plain values: mrkdwn, Block Kit, and the channel built from the emulator's records."""

from __future__ import annotations

from typing import Any

from devkit.playground.blocks import Renderer, button_actions
from devkit.playground.channel import FILE_DELETED, MESSAGE_DELETED, CommandRecord, build_channel
from devkit.playground.mrkdwn import Directory, mrkdwn
from devkit.slack import Message, ResponsePost, UploadedFile

BOT, ME, CHANNEL = "U0BOT00001", "U0USER0001", "C0CHAN0001"
DIRECTORY = Directory(
    users={ME: "you", BOT: "imagine-bot"},
    channels={CHANNEL: "general"},
    team_domain="emulated",
    message_link=lambda channel, ts: f"#msg-{ts}",
)


def renderer(known: tuple[str, ...] = ("F0000000001",)) -> Renderer:
    return Renderer(DIRECTORY, lambda ref: f"/files/{ref['id']}/x.png" if ref.get("id") in known else None)


def picture(file_id: str, *, deleted: bool = False) -> UploadedFile:
    return UploadedFile(
        id=file_id, filename="x.png", title="x", length=3, alt_txt=None, content=b"png", channel=CHANNEL,
        initial_comment=None, thread_ts=None, deleted=deleted, mimetype="image/png",
    )  # fmt: skip


def message(ts: str, text: str = "", *, user: str = BOT, thread_ts: str | None = None, **extra: Any) -> Message:
    return Message(CHANNEL, ts, user, text, thread_ts=thread_ts, **extra)


# --- mrkdwn ----------------------------------------------------------------------------------------


def test_mrkdwn_escapes_html_and_renders_slack_markup() -> None:
    text = "*bold* _it_ ~gone~ `a<b>` <@U0USER0001> in <#C0CHAN0001> &lt;script&gt; <!here>"
    html = mrkdwn(text, DIRECTORY)
    assert "<b>bold</b>" in html
    assert "<i>it</i>" in html
    assert "<s>gone</s>" in html
    assert "<code>a&lt;b&gt;</code>" in html
    assert '<span class="mention">@you</span>' in html
    assert '<span class="mention">#general</span>' in html
    assert "&lt;script&gt;" in html
    assert "<script>" not in html
    assert '<span class="mention">@here</span>' in html


def test_quotes_dates_links_and_emoji() -> None:
    html = mrkdwn(
        "> a lighthouse\n:art: at <!date^1796100000^{time_secs}|12:00:00 UTC> "
        "<https://example.com/x?a=1&amp;b=2|docs> <javascript:alert(1)|bad> "
        "<https://emulated.slack.com/archives/C0CHAN0001/p1796100000123456|job 2>",
        DIRECTORY,
    )
    assert html.startswith("<blockquote>a lighthouse</blockquote>")
    assert '<span class="date">12:00:00 UTC</span>' in html
    assert 'href="https://example.com/x?a=1&amp;b=2"' in html
    assert "javascript:" not in html
    assert "bad" in html
    assert '<a class="message-link" href="#msg-1796100000.123456">job 2</a>' in html
    assert '<img class="emoji" src="/static/emoji/art.svg"' in html


def test_underscores_inside_emoji_pictures_are_not_italics() -> None:
    html = mrkdwn(":hourglass_flowing_sand: Queued, _next_ in line", DIRECTORY)
    assert "hourglass_flowing_sand.svg" in html
    assert "<i>next</i>" in html


# --- Block Kit -------------------------------------------------------------------------------------


def test_image_blocks_load_slack_files_through_the_page_and_say_when_they_cannot() -> None:
    html = renderer().blocks(
        [
            {"type": "image", "slack_file": {"id": "F0000000001"}, "alt_text": "a <lighthouse>",
             "title": {"type": "plain_text", "text": "Preview"}},
            {"type": "image", "slack_file": {"id": "F0000000009"}, "alt_text": "gone"},
        ]
    )  # fmt: skip
    assert 'src="/files/F0000000001/x.png" alt="a &lt;lighthouse&gt;"' in html
    assert '<div class="bk-image-title">Preview</div>' in html
    assert "image unavailable" in html


def test_a_carousel_is_a_row_of_cards_each_with_its_picture_and_buttons() -> None:
    card = {
        "type": "card",
        "hero_image": {"type": "image", "slack_file": {"id": "F0000000001"}, "alt_text": "logo"},
        "title": {"type": "plain_text", "text": "Image 1 of 2"},
        "actions": [{"type": "button", "action_id": "imagine_edit", "text": {"type": "plain_text", "text": "Edit"},
                     "value": "7:0"}],
    }  # fmt: skip
    blocks = [{"type": "carousel", "elements": [card, {**card, "title": {"type": "plain_text", "text": "Image 2"}}]}]
    html = renderer().blocks(blocks)
    assert html.count('class="bk-card"') == 2
    assert html.count("bk-card-hero") == 2
    assert 'data-action-id="imagine_edit" data-value="7:0"' in html
    assert button_actions(blocks) == [{"action_id": "imagine_edit", "value": "7:0", "label": "Edit"}] * 2


def test_a_button_with_a_confirm_dialog_carries_its_words() -> None:
    button = {
        "type": "button", "action_id": "imagine_delete", "value": "3", "style": "danger",
        "text": {"type": "plain_text", "text": "Delete"},
        "confirm": {"title": {"type": "plain_text", "text": "Delete this image?"},
                    "text": {"type": "mrkdwn", "text": "Gone for everyone."},
                    "confirm": {"type": "plain_text", "text": "Delete"},
                    "deny": {"type": "plain_text", "text": "Keep"}},
    }  # fmt: skip
    html = renderer().blocks([{"type": "actions", "elements": [button]}])
    assert 'class="bk-button danger"' in html
    assert 'data-confirm-title="Delete this image?"' in html
    assert 'data-confirm-no="Keep"' in html


def test_modal_inputs_show_the_bots_error_beside_the_field() -> None:
    blocks = [
        {"type": "input", "block_id": "prompt", "label": {"type": "plain_text", "text": "What should change?"},
         "element": {"type": "plain_text_input", "action_id": "value", "multiline": True}},
        {"type": "input", "block_id": "quality", "optional": True, "label": {"type": "plain_text", "text": "Quality"},
         "element": {"type": "static_select", "action_id": "value",
                     "options": [{"text": {"type": "plain_text", "text": "low"}, "value": "low"}]}},
    ]  # fmt: skip
    html = renderer().blocks(blocks, errors={"prompt": "Say what to change"})
    assert '<textarea class="bk-field-input"' in html
    assert 'data-required="yes"' in html
    assert '<div class="bk-error" role="alert">Say what to change</div>' in html
    assert '<select class="bk-field-input" data-block-id="quality"' in html
    assert html.count("data-required") == 1  # the optional select is not required
    assert '<option value="">Select an item</option>' in html


def test_unknown_blocks_are_shown_not_dropped() -> None:
    assert "[video block]" in renderer().blocks([{"type": "video"}])


# --- the channel -------------------------------------------------------------------------------------


def test_replies_go_under_their_root_and_deleted_files_leave_a_tombstone() -> None:
    root = message("100.000001", "<@U0USER0001> imagined:")
    preview = message("100.000002", thread_ts=root.ts)  # its file was deleted: nothing left
    final = message("100.000003", thread_ts=root.ts, files=[picture("F0000000001")])
    person = message("100.000004", "hello", user=ME)
    items = build_channel(
        CHANNEL, user_id=ME, bot_user_id=BOT, messages=[root, preview, final, person], ephemerals=[],
        responses=[], commands=[],
    )  # fmt: skip
    assert [i.key for i in items] == ["m100.000001", "m100.000004"]
    assert [r.tombstone for r in items[0].replies] == [FILE_DELETED, None]


def test_a_deleted_root_with_replies_stays_as_a_tombstone() -> None:
    root = message("100.000001", "x", deleted=True)
    reply = message("100.000002", thread_ts=root.ts, files=[picture("F0000000001")])
    lonely = message("100.000003", "y", deleted=True)
    [item] = build_channel(
        CHANNEL, user_id=ME, bot_user_id=BOT, messages=[root, reply, lonely], ephemerals=[], responses=[], commands=[]
    )
    assert item.tombstone == MESSAGE_DELETED
    assert len(item.replies) == 1


def test_a_command_response_url_replaces_its_own_note_and_a_clicks_adds_one() -> None:
    command = CommandRecord("100.000001", "/imagine x", "https://r/1", {"response_type": "ephemeral", "text": "Job 1"})
    replaced = ResponsePost("https://r/1", {"text": "failed", "replace_original": True}, 101.0, CHANNEL, ME, None)
    clicked = ResponsePost("https://r/2", {"text": "deleted", "replace_original": False}, 102.0, CHANNEL, ME, "100.5")
    in_thread = message("103.000000", "help", thread_ts="100.500000", ephemeral_user=ME)
    root = message("100.500000", "result")
    items = build_channel(
        CHANNEL, user_id=ME, bot_user_id=BOT, messages=[root], ephemerals=[], responses=[replaced, clicked],
        commands=[command],
    )  # fmt: skip
    assert [(i.text, i.ephemeral) for i in items] == [("failed", True), ("result", False), ("deleted", True)]
    notes = build_channel(
        CHANNEL, user_id=ME, bot_user_id=BOT, messages=[root], ephemerals=[in_thread], responses=[], commands=[],
    )  # fmt: skip
    assert [r.text for r in notes[0].replies] == ["help"]
    assert notes[0].replies[0].ephemeral


def test_slack_answers_for_an_app_that_did_not_answer() -> None:
    failed = CommandRecord("100.000001", "/imagine x", "", None, slackbot='`/imagine` failed with "operation_timeout"')
    [item] = build_channel(CHANNEL, user_id=ME, bot_user_id=BOT, messages=[], ephemerals=[], responses=[],
                           commands=[failed])  # fmt: skip
    assert item.user == "USLACKBOT"
    assert item.ephemeral
    assert "operation_timeout" in item.text
