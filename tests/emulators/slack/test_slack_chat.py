"""auth.test and the chat.* methods, driven by the official WebClient (docs/contracts/slack.md §3–§4)."""

from __future__ import annotations

import re
from contextlib import AbstractContextManager, nullcontext
from typing import Any

import httpx
import pytest
from slack_sdk import WebClient

from devkit.slack import SlackEmulator
from tests.emulators.slack.support import ANNOUNCE, ARCHIVED, MEMBER, PRIVATE, PUBLIC, USER, FakeClock, api_error

TS = re.compile(r"^\d+\.\d{6}$")
SECTION = {"type": "section", "text": {"type": "mrkdwn", "text": "hi"}}


# ---------------------------------------------------------------- auth (§3)


def test_auth_test_answers_the_bot_identity_and_exactly_the_granted_scopes(
    emu: SlackEmulator, client: WebClient
) -> None:
    reply = client.auth_test()
    assert (reply["user_id"], reply["bot_id"], reply["team_id"]) == (emu.bot_user_id, emu.bot_id, emu.team_id)
    assert reply["url"] == "https://emulated.slack.com/"
    assert set(reply.headers["x-oauth-scopes"].split(",")) == set(emu.scopes)


@pytest.mark.parametrize(
    ("path", "headers", "error"),
    [
        ("auth.test", {}, "not_authed"),
        ("auth.test", {"Authorization": "Bearer xoxb-wrong"}, "invalid_auth"),
        ("auth.test?token=xoxb-wrong", {}, "invalid_auth"),
        ("chat.postEverything", {"Authorization": "Bearer xoxb-test-token"}, "unknown_method"),
        ("files.upload", {"Authorization": "Bearer xoxb-test-token"}, "method_deprecated"),
    ],
)
def test_bad_requests_answer_200_with_an_error(
    emu: SlackEmulator, path: str, headers: dict[str, str], error: str
) -> None:
    reply = httpx.post(emu.api_url + path, headers=headers, trust_env=False)
    assert (reply.status_code, reply.json()) == (200, {"ok": False, "error": error})


def test_token_may_come_as_a_form_argument_and_bodies_must_parse(emu: SlackEmulator) -> None:
    reply = httpx.post(emu.api_url + "auth.test", data={"token": emu.bot_token}, trust_env=False)
    assert reply.json()["ok"] is True
    assert emu.calls("auth.test")[0].token == emu.bot_token
    broken = httpx.post(
        emu.api_url + "chat.postMessage",
        content=b"{not json",
        headers={"Authorization": f"Bearer {emu.bot_token}", "Content-Type": "application/json"},
        trust_env=False,
    )
    assert broken.json()["error"] == "invalid_json"


# ---------------------------------------------------------------- chat.postMessage (§4.3)


@pytest.mark.parametrize(
    ("channel", "kwargs", "error"),
    [
        (MEMBER, {"text": "hi"}, None),
        (PUBLIC, {"text": "hi"}, None),  # chat:write.public
        (MEMBER, {"blocks": [SECTION]}, None),
        (PRIVATE, {"text": "hi"}, "channel_not_found"),
        ("D0NOTOPEN1", {"text": "hi"}, "channel_not_found"),
        (ARCHIVED, {"text": "hi"}, "is_archived"),
        (ANNOUNCE, {"text": "hi"}, "restricted_action"),
        (MEMBER, {}, "no_text"),
        (MEMBER, {"text": "x" * 40_001}, "msg_too_long"),
        (MEMBER, {"text": "hi", "blocks": [{"text": "no type"}]}, "invalid_blocks"),
        (MEMBER, {"text": "hi", "blocks": [{"type": "image", "image_url": "https://x/y.png"}]}, "invalid_blocks"),
        (MEMBER, {"text": "hi", "blocks": "[not json"}, "invalid_blocks_format"),
        (MEMBER, {"text": "hi", "metadata": {"event_type": "x"}}, "invalid_metadata_format"),
    ],
)
def test_post_message_follows_channel_rules(
    emu: SlackEmulator, client: WebClient, channel: str, kwargs: dict[str, Any], error: str | None
) -> None:
    # The SDK warns (rightly) when blocks come without a fallback text; the emulator still judges the call.
    no_text_warning: AbstractContextManager[object] = (
        pytest.warns(UserWarning, match="top-level `text`") if not kwargs.get("text") else nullcontext()
    )
    if error:
        with no_text_warning:
            assert api_error(lambda: client.chat_postMessage(channel=channel, **kwargs)) == error
        assert emu.messages() == []
    else:
        with no_text_warning:
            reply = client.chat_postMessage(channel=channel, **kwargs)
        (message,) = emu.messages(channel)
        assert (reply["channel"], reply["ts"], reply["message"]["ts"]) == (channel, message.ts, message.ts)
        assert reply["message"]["bot_id"] == emu.bot_id
        assert message.user == emu.bot_user_id
        assert (message.text, message.blocks) == (kwargs.get("text", ""), kwargs.get("blocks"))
    assert emu.calls("chat.postMessage")[0].error == error


def test_without_chat_write_public_an_unjoined_public_channel_is_not_in_channel(clock: FakeClock) -> None:
    with SlackEmulator(clock=clock, scopes={"chat:write"}) as emu:
        client = WebClient(token=emu.bot_token, base_url=emu.api_url)
        assert api_error(lambda: client.chat_postMessage(channel=PUBLIC, text="hi")) == "not_in_channel"
        emu.add_channel(MEMBER)
        assert client.chat_postMessage(channel=MEMBER, text="hi")["ok"]


def test_a_missing_scope_names_the_scope_and_what_was_granted(clock: FakeClock) -> None:
    with SlackEmulator(clock=clock, scopes={"files:write", "commands"}) as emu:
        emu.add_channel(MEMBER)
        client = WebClient(token=emu.bot_token, base_url=emu.api_url)
        reply = api_error_response(lambda: client.chat_postMessage(channel=MEMBER, text="hi"))
        assert reply == {
            "ok": False,
            "error": "missing_scope",
            "needed": "chat:write",
            "provided": "commands,files:write",
        }


def api_error_response(call: Any) -> dict[str, Any]:
    from slack_sdk.errors import SlackApiError

    with pytest.raises(SlackApiError) as caught:
        call()
    return dict(caught.value.response.data)  # type: ignore[arg-type]


def test_post_message_records_thread_metadata_and_unfurl_flags(emu: SlackEmulator, client: WebClient) -> None:
    parent = client.chat_postMessage(channel=MEMBER, text="parent")["ts"]
    metadata = {"event_type": "job", "event_payload": {"id": 7}}
    client.chat_postMessage(
        channel=MEMBER, text="reply", thread_ts=parent, metadata=metadata, unfurl_links=False, unfurl_media=False
    )
    reply = emu.messages(MEMBER)[1]
    assert (reply.thread_ts, reply.metadata, reply.unfurl_links, reply.unfurl_media) == (parent, metadata, False, False)
    assert [m.ts for m in emu.thread(MEMBER, parent)] == [parent, reply.ts]


def test_ts_are_unique_and_increasing_even_when_the_clock_stands_still(emu: SlackEmulator, client: WebClient) -> None:
    stamps = [client.chat_postMessage(channel=MEMBER, text=str(i))["ts"] for i in range(3)]
    assert all(TS.match(ts) for ts in stamps)
    assert stamps == sorted(set(stamps), key=float)
    assert [m.text for m in emu.messages(MEMBER)] == ["0", "1", "2"]


# ---------------------------------------------------------------- chat.postEphemeral (§4.9)


def test_ephemerals_are_recorded_and_need_the_user_in_the_channel(emu: SlackEmulator, client: WebClient) -> None:
    ephemeral = client.chat_postEphemeral(channel=PUBLIC, user=USER, text="only you")
    (secret,) = emu.ephemerals(USER)
    assert (secret.ts, secret.channel, secret.text) == (ephemeral["message_ts"], PUBLIC, "only you")
    assert emu.ephemerals("U0SOMEONE1") == []
    assert emu.messages() == []
    assert api_error(lambda: client.chat_postEphemeral(channel=PRIVATE, user=USER, text="x")) == "channel_not_found"
    emu.add_channel("C0SMALL001", members={"U0OTHER001"})
    assert api_error(lambda: client.chat_postEphemeral(channel="C0SMALL001", user=USER, text="x")) == (
        "user_not_in_channel"
    )
    assert client.chat_postEphemeral(channel="C0SMALL001", user="U0OTHER001", text="x")["ok"]


# ---------------------------------------------------------------- chat.update and chat.delete (§4.7, §4.9)


def test_update_and_delete_only_touch_the_bots_own_messages(
    emu: SlackEmulator, client: WebClient, clock: FakeClock
) -> None:
    ts = client.chat_postMessage(channel=MEMBER, text="draft", blocks=[SECTION])["ts"]
    human = emu.add_message(MEMBER, "mine", user=USER)
    clock.now += 5
    reply = client.chat_update(channel=MEMBER, ts=ts, text="final", blocks=[{"type": "divider"}])
    assert (reply["ts"], reply["text"], reply["message"]["edited"]["user"]) == (ts, "final", emu.bot_user_id)
    assert api_error(lambda: client.chat_update(channel=MEMBER, ts=human.ts, text="x")) == "cant_update_message"
    assert api_error(lambda: client.chat_delete(channel=MEMBER, ts=human.ts)) == "cant_delete_message"
    assert api_error(lambda: client.chat_update(channel=MEMBER, ts="1.000001", text="x")) == "message_not_found"
    assert api_error(lambda: client.chat_update(channel=PRIVATE, ts=ts, text="x")) == "channel_not_found"
    with pytest.warns(UserWarning, match="top-level `text`"):
        assert api_error(lambda: client.chat_update(channel=MEMBER, ts=ts, text="")) == "no_text"
    assert api_error(lambda: client.chat_update(channel=MEMBER, ts=ts, text="x", blocks=[{"type": "image"}])) == (
        "invalid_blocks"
    )

    edited = emu.message(MEMBER, ts)
    assert (edited.text, edited.blocks, edited.edited) == ("final", [{"type": "divider"}], True)
    assert [(v.text, v.blocks, v.at) for v in edited.history] == [
        ("draft", [SECTION], clock.now - 5),
        ("final", [{"type": "divider"}], clock.now),
    ]

    client.chat_delete(channel=MEMBER, ts=ts)
    assert emu.message(MEMBER, ts).deleted
    assert api_error(lambda: client.chat_delete(channel=MEMBER, ts=ts)) == "message_not_found"


def test_update_keeps_the_thread_and_refuses_archived_channels(emu: SlackEmulator, client: WebClient) -> None:
    root = client.chat_postMessage(channel=MEMBER, text="root")["ts"]
    reply = client.chat_postMessage(channel=MEMBER, text="progress", thread_ts=root)["ts"]
    client.chat_update(channel=MEMBER, ts=reply, text="done")
    assert emu.message(MEMBER, reply).thread_ts == root
    assert [m.text for m in emu.thread(MEMBER, root)] == ["root", "done"]
    emu.add_channel(ARCHIVED, archived=False)
    old = client.chat_postMessage(channel=ARCHIVED, text="before")["ts"]
    emu.add_channel(ARCHIVED, archived=True)
    assert api_error(lambda: client.chat_update(channel=ARCHIVED, ts=old, text="after")) == "is_inactive"


# ---------------------------------------------------------------- chat.getPermalink (§4.8)


def test_permalinks_point_at_the_message_and_replies_at_their_thread(emu: SlackEmulator, client: WebClient) -> None:
    root = client.chat_postMessage(channel=MEMBER, text="root")["ts"]
    reply = client.chat_postMessage(channel=MEMBER, text="reply", thread_ts=root)["ts"]
    link = client.chat_getPermalink(channel=MEMBER, message_ts=root)["permalink"]
    assert link == f"https://emulated.slack.com/archives/{MEMBER}/p{root.replace('.', '')}"
    threaded = client.chat_getPermalink(channel=MEMBER, message_ts=reply)["permalink"]
    assert threaded == (
        f"https://emulated.slack.com/archives/{MEMBER}/p{reply.replace('.', '')}?thread_ts={root}&cid={MEMBER}"
    )
    assert api_error(lambda: client.chat_getPermalink(channel=MEMBER, message_ts="1.000002")) == "message_not_found"
    assert api_error(lambda: client.chat_getPermalink(channel=PRIVATE, message_ts=root)) == "channel_not_found"
