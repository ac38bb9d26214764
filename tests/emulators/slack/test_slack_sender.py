"""The emulator playing Slack toward a bot: signed commands, interactions, events, retries, mentions,
shortcuts (docs/contracts/slack.md §7)."""

from __future__ import annotations

import json
import re
from urllib.parse import parse_qs

from slack_sdk import WebClient
from slack_sdk.signature import SignatureVerifier
from slack_sdk.webhook import WebhookClient

from devkit.slack import SlackEmulator
from tests.emulators.slack.support import COMMAND_FIELDS, MEMBER, PNG, USER, FakeClock, StandInBot


def form(body: bytes) -> dict[str, str]:
    return {k: v[0] for k, v in parse_qs(body.decode(), keep_blank_values=True).items()}


def payload_of(body: bytes) -> dict[str, object]:
    assert body.startswith(b"payload=")
    return dict(json.loads(form(body)["payload"]))


def test_signatures_match_slacks_official_test_vector() -> None:
    body = (
        b"token=xyzz0WbapA4vBCDEFasx0q6G&team_id=T1DC2JH3J&team_domain=testteamnow&channel_id=G8PSS9T3V"
        b"&channel_name=foobar&user_id=U2CERLKJA&user_name=roadrunner&command=%2Fwebhook-collect&text="
        b"&response_url=https%3A%2F%2Fhooks.slack.com%2Fcommands%2FT1DC2JH3J%2F397700885554%2F96rGlfmibIGlgcZRskXaIFfN"
        b"&trigger_id=398738663015.47445629121.803a0bc887a14d10d2c447fce8b6703c"
    )
    emulator = SlackEmulator(signing_secret="8f742231b10e8888abcd99yyyzzz85a5", scopes=())
    assert emulator.sign(body, timestamp=1531420618) == {
        "X-Slack-Request-Timestamp": "1531420618",
        "X-Slack-Signature": "v0=a2114d57b48eac39b9ad189dd8316235a7b4a8d21a10bd27519666489c69b503",
    }


def test_send_command_posts_a_signed_slash_command(emu: SlackEmulator, bot: StandInBot) -> None:
    sent = emu.send_command(bot.url, "a fox --ar 16:9 & more", channel_id=MEMBER, channel_name="imagine")
    other = emu.send_command(bot.url, "again")
    assert (sent.status, sent.json()) == (200, {"response_type": "in_channel", "text": "Generating"})
    assert sent.elapsed_s > 0
    received = bot.received[0]
    assert (received.path, received.headers["content-type"]) == ("/slack/events", "application/x-www-form-urlencoded")
    assert b"command=%2Fimagine" in received.body
    fields = form(received.body)
    assert list(fields) == COMMAND_FIELDS
    assert fields["text"] == "a fox --ar 16:9 & more"
    assert (fields["channel_id"], fields["channel_name"], fields["team_id"]) == (MEMBER, "imagine", emu.team_id)
    assert (fields["api_app_id"], fields["is_enterprise_install"]) == (emu.api_app_id, "false")
    assert fields["response_url"] == sent.response_url
    assert sent.response_url.startswith(f"{emu.url}/response/")
    assert re.match(r"^\d+\.\d+\.[0-9a-f]+$", fields["trigger_id"])
    assert fields["trigger_id"] == sent.trigger_id != other.trigger_id
    assert WebhookClient(sent.response_url).send(text="done").status_code == 200
    (post,) = emu.responses(sent.response_url)
    assert (post.channel_id, post.user_id) == (MEMBER, USER)


def test_what_the_sender_signs_the_official_verifier_accepts(emu: SlackEmulator, bot: StandInBot) -> None:
    emu.send_command(bot.url, "a fox")
    received = bot.received[0]
    assert SignatureVerifier(emu.signing_secret).is_valid_request(received.body, received.headers)
    bot.verifier = SignatureVerifier("someone-else")
    assert emu.send_command(bot.url, "a fox").status == 401


def test_send_interaction_posts_a_signed_payload_with_a_response_url(emu: SlackEmulator, bot: StandInBot) -> None:
    payload = {
        "type": "block_actions",
        "user": {"id": USER, "username": "alice", "team_id": emu.team_id},
        "container": {"type": "message", "message_ts": "111.222", "channel_id": MEMBER, "is_ephemeral": False},
        "trigger_id": "111.222.abc",
        "channel": {"id": MEMBER, "name": "imagine"},
        "actions": [{"action_id": "regenerate", "type": "button", "value": "job-123"}],
    }
    sent = emu.send_interaction(bot.url, payload)
    shortcut = emu.send_interaction(bot.url, {"type": "shortcut", "callback_id": "imagine"})
    assert sent.status == 200
    assert payload_of(bot.received[0].body) == {**payload, "response_url": sent.response_url}
    assert "response_url" not in payload  # the caller's dict is left alone
    assert shortcut.response_url == ""  # global shortcuts carry none
    WebhookClient(sent.response_url).send(text="again", replace_original=True)
    assert emu.responses()[0].message_ts == "111.222"


def test_send_event_posts_a_signed_event_callback_and_redelivers_it(
    emu: SlackEmulator, bot: StandInBot, clock: FakeClock
) -> None:
    event = {"type": "app_home_opened", "user": USER, "channel": "D0HOME0001", "tab": "home"}
    sent = emu.send_event(bot.url, event)
    assert sent.status == 200  # the stand-in checked the signature
    first = bot.received[0]
    assert (first.path, first.headers["content-type"]) == ("/slack/events", "application/json")
    body = json.loads(first.body)
    assert (body["type"], body["team_id"], body["api_app_id"]) == ("event_callback", emu.team_id, emu.api_app_id)
    assert body["event"] == {**event, "event_ts": f"{clock.now:.6f}"}
    assert body["authorizations"][0]["user_id"] == emu.bot_user_id
    assert body["event_id"] == sent.event_id
    assert sent.event_id.startswith("Ev")
    assert "x-slack-retry-num" not in first.headers
    assert "event_ts" not in event

    retry = emu.redeliver(sent, retry_num=2, retry_reason="http_error")
    second = bot.received[1]
    assert (retry.status, second.body) == (200, first.body)
    assert (second.headers["x-slack-retry-num"], second.headers["x-slack-retry-reason"]) == ("2", "http_error")
    explicit = emu.send_event(bot.url, event, event_id="Ev0FIXED01", retry_num=1, retry_reason="http_timeout")
    assert (explicit.event_id, bot.received[2].headers["x-slack-retry-num"]) == ("Ev0FIXED01", "1")


def test_send_mention_records_the_message_and_sends_app_mention(emu: SlackEmulator, bot: StandInBot) -> None:
    root = emu.post_user_message(MEMBER, "a fox", files=[("fox.png", PNG, "image/png")])
    sent = emu.send_mention(bot.url, "make the sky pink", channel_id=MEMBER, thread_ts=root.ts)
    event = json.loads(bot.received[0].body)["event"]
    assert event["type"] == "app_mention"
    assert event["text"] == f"<@{emu.bot_user_id}> make the sky pink"
    assert (event["user"], event["channel"], event["thread_ts"]) == (USER, MEMBER, root.ts)
    assert event["event_ts"] == event["ts"] == sent.event["ts"]
    assert [m.text for m in emu.thread(MEMBER, root.ts)] == ["a fox", event["text"]]
    top = emu.send_mention(bot.url, f"<@{emu.bot_user_id}> a badger", channel_id=MEMBER)
    assert "thread_ts" not in top.event
    assert top.event["text"] == f"<@{emu.bot_user_id}> a badger"
    assert top.event_id != sent.event_id


def test_a_message_shortcut_carries_the_whole_message_with_its_files(emu: SlackEmulator, bot: StandInBot) -> None:
    message = emu.post_user_message(MEMBER, "my cat", files=[("cat.png", PNG, "image/png")])
    sent = emu.send_message_shortcut(bot.url, "imagine_from_image", message)
    payload = payload_of(bot.received[0].body)
    assert (payload["type"], payload["callback_id"], payload["message_ts"]) == (
        "message_action",
        "imagine_from_image",
        message.ts,
    )
    assert payload["channel"] == {"id": MEMBER, "name": "imagine"}
    assert payload["user"]["id"] == USER  # type: ignore[index]
    assert (payload["trigger_id"], payload["response_url"]) == (sent.trigger_id, sent.response_url)
    (attached,) = payload["message"]["files"]  # type: ignore[index]
    assert (attached["id"], attached["name"], attached["mimetype"], attached["filetype"], attached["size"]) == (
        message.files[0].id,
        "cat.png",
        "image/png",
        "png",
        len(PNG),
    )
    assert attached["url_private_download"].startswith(f"{emu.url}/files-pri/")
    client = WebClient(token=emu.bot_token, base_url=emu.api_url)
    modal = {"type": "modal", "title": {"type": "plain_text", "text": "Edit"}, "blocks": []}
    assert client.views_open(trigger_id=sent.trigger_id, view=modal)["ok"]


def test_a_block_action_names_the_clicked_element_and_its_message(emu: SlackEmulator, bot: StandInBot) -> None:
    client = WebClient(token=emu.bot_token, base_url=emu.api_url)
    button = {"type": "button", "action_id": "vary", "value": "job-1", "text": {"type": "plain_text", "text": "Vary"}}
    root = client.chat_postMessage(channel=MEMBER, text="root")["ts"]
    ts = client.chat_postMessage(
        channel=MEMBER,
        text="done",
        thread_ts=root,
        blocks=[{"type": "actions", "block_id": "controls", "elements": [button]}],
    )["ts"]
    sent = emu.send_block_action(bot.url, action_id="vary", value="job-1", message=emu.message(MEMBER, ts))
    payload = payload_of(bot.received[0].body)
    assert payload["type"] == "block_actions"
    assert payload["container"] == {
        "type": "message",
        "message_ts": ts,
        "channel_id": MEMBER,
        "is_ephemeral": False,
        "thread_ts": root,
    }
    (action,) = payload["actions"]  # type: ignore[misc]
    assert (action["action_id"], action["block_id"], action["type"], action["value"]) == (
        "vary",
        "controls",
        "button",
        "job-1",
    )
    assert payload["message"]["ts"] == ts  # type: ignore[index]
    assert payload["response_url"] == sent.response_url
    WebhookClient(sent.response_url).send(text="varying", replace_original=False)
    assert emu.responses()[0].message_ts == ts


def test_a_view_submission_carries_its_values_and_no_response_url(emu: SlackEmulator, bot: StandInBot) -> None:
    view = {"type": "modal", "callback_id": "edit", "title": {"type": "plain_text", "text": "Edit"}, "blocks": []}
    values = {"prompt": {"text": {"type": "plain_text_input", "value": "pinker"}}}
    sent = emu.send_view_submission(bot.url, view, values)
    payload = payload_of(bot.received[0].body)
    assert (payload["type"], payload["response_urls"], sent.response_url) == ("view_submission", [], "")
    assert payload["view"]["state"] == {"values": values}  # type: ignore[index]
    assert payload["view"]["callback_id"] == "edit"  # type: ignore[index]


def test_ssl_check_is_unsigned_and_url_verification_signed(emu: SlackEmulator, bot: StandInBot) -> None:
    assert emu.send_ssl_check(bot.url).status == 200
    check = bot.received[0]
    assert form(check.body) == {"ssl_check": "1", "token": emu.verification_token}
    assert "x-slack-signature" not in check.headers
    assert emu.send_url_verification(bot.url).status == 200
    body = json.loads(bot.received[1].body)
    assert (body["type"], bool(body["challenge"])) == ("url_verification", True)
    assert SignatureVerifier(emu.signing_secret).is_valid_request(bot.received[1].body, bot.received[1].headers)
