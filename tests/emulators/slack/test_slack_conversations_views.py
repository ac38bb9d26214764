"""conversations.* and views.* (docs/contracts/slack.md §8, §10)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from devkit.slack import SlackEmulator
from tests.emulators.slack.support import MEMBER, PNG, PRIVATE, PUBLIC, USER, FakeClock, StandInBot, api_error

READERS = {"channels:read", "channels:history", "groups:read", "groups:history", "channels:join", "chat:write"}


@pytest.fixture
def reader(clock: FakeClock) -> Iterator[tuple[SlackEmulator, WebClient]]:
    """An emulator whose bot may read channels and history (the default manifest does not ask for it)."""
    with SlackEmulator(clock=clock, scopes=READERS | {"files:write", "im:write"}) as emulator:
        emulator.add_channel(MEMBER)
        emulator.add_channel(PRIVATE, member=False)
        emulator.add_channel("G0JOINED01", private=True)
        yield emulator, WebClient(token=emulator.bot_token, base_url=emulator.api_url)


def test_dms_are_stable_and_the_bot_can_post_there(emu: SlackEmulator, client: WebClient) -> None:
    dm = client.conversations_open(users=USER)["channel"]["id"]
    again = client.conversations_open(users=USER)
    assert dm.startswith("D")
    assert (again["channel"]["id"], again["already_open"]) == (dm, True)
    assert client.conversations_open(users="U0USER0002")["channel"]["id"] != dm
    client.chat_postMessage(channel=dm, text="psst")
    assert [m.text for m in emu.messages(dm)] == ["psst"]
    assert emu.channels()[dm].user == USER
    assert api_error(lambda: client.conversations_open(users="")) == "users_list_not_supplied"
    # A group DM needs mpim:write, which the manifest does not grant.
    assert api_error(lambda: client.conversations_open(users=f"{USER},U0USER0002")) == "missing_scope"


def test_conversations_open_needs_im_write(clock: FakeClock) -> None:
    with SlackEmulator(clock=clock, scopes={"chat:write"}) as emulator:
        client = WebClient(token=emulator.bot_token, base_url=emulator.api_url)
        with pytest.raises(SlackApiError) as caught:
            client.conversations_open(users=USER)
        assert caught.value.response.data == {
            "ok": False,
            "error": "missing_scope",
            "needed": "im:write",
            "provided": "chat:write",
        }


def test_join_info_and_replies_need_their_scopes(emu: SlackEmulator, client: WebClient) -> None:
    # manifest.yml grants none of channels:join, channels:read, channels:history.
    for call in (
        lambda: client.conversations_join(channel=PUBLIC),
        lambda: client.conversations_info(channel=MEMBER),
        lambda: client.conversations_replies(channel=MEMBER, ts="1.000001"),
    ):
        assert api_error(call) == "missing_scope"
    needed = [c.response["needed"] for c in emu.calls()]
    assert needed == ["channels:join", "channels:read", "channels:history"]


def test_join_rules(reader: tuple[SlackEmulator, WebClient]) -> None:
    _, client = reader
    assert api_error(lambda: client.conversations_join(channel="G0JOINED01")) == "method_not_supported_for_channel_type"
    assert api_error(lambda: client.conversations_join(channel=PRIVATE)) == "channel_not_found"
    joined = client.conversations_join(channel=PUBLIC)
    assert (joined["channel"]["is_member"], "warning" in joined) == (True, False)


def test_info_describes_the_channel(reader: tuple[SlackEmulator, WebClient]) -> None:
    _, client = reader
    info = client.conversations_info(channel=MEMBER)["channel"]
    assert (info["id"], info["is_channel"], info["is_private"], info["is_member"]) == (MEMBER, True, False, True)
    private = client.conversations_info(channel="G0JOINED01")["channel"]
    assert (private["is_private"], private["is_group"]) == (True, True)
    assert api_error(lambda: client.conversations_info(channel=PRIVATE)) == "channel_not_found"


def test_replies_list_the_thread_with_its_files(reader: tuple[SlackEmulator, WebClient]) -> None:
    emulator, client = reader
    root = emulator.post_user_message(MEMBER, "make this pink", files=[("cat.png", PNG, "image/png")])
    client.chat_postMessage(channel=MEMBER, text="on it", thread_ts=root.ts)
    client.files_upload_v2(channel=MEMBER, content=PNG, filename="pink.png", thread_ts=root.ts)
    client.chat_postMessage(channel=MEMBER, text="elsewhere")
    replies = client.conversations_replies(channel=MEMBER, ts=root.ts)["messages"]
    assert [m["text"] for m in replies] == ["make this pink", "on it", ""]
    assert [f["name"] for f in replies[0]["files"]] == ["cat.png"]
    assert [f["name"] for f in replies[2]["files"]] == ["pink.png"]
    assert (replies[0]["reply_count"], replies[1]["thread_ts"]) == (2, root.ts)
    assert api_error(lambda: client.conversations_replies(channel=MEMBER, ts="1.000001")) == "thread_not_found"


def test_views_are_recorded_and_triggers_are_single_use(
    emu: SlackEmulator, client: WebClient, clock: FakeClock, bot: StandInBot
) -> None:
    home = {"type": "home", "blocks": [{"type": "section", "text": {"type": "mrkdwn", "text": "hi"}}]}
    first = client.views_publish(user_id=USER, view=home)["view"]
    again = client.views_publish(user_id=USER, view={**home, "blocks": []})["view"]
    assert first["id"] == again["id"]
    assert emu.home_views()[USER]["blocks"] == []

    modal = {"type": "modal", "title": {"type": "plain_text", "text": "Imagine"}, "blocks": []}
    trigger = emu.send_command(bot.url, "a fox").trigger_id
    late = emu.send_command(bot.url, "a fox").trigger_id
    view_id = client.views_open(trigger_id=trigger, view=modal)["view"]["id"]
    assert api_error(lambda: client.views_open(trigger_id=trigger, view=modal)) == "exchanged_trigger_id"
    assert api_error(lambda: client.views_open(trigger_id="1.2.3", view=modal)) == "invalid_trigger_id"
    clock.now += 3.5
    assert api_error(lambda: client.views_open(trigger_id=late, view=modal)) == "expired_trigger_id"
    client.views_update(view_id=view_id, view={**modal, "blocks": [{"type": "divider"}]})
    assert [v["blocks"] for v in emu.opened_views()] == [[{"type": "divider"}]]
    assert api_error(lambda: client.views_update(view_id="V0NOPE", view=modal)) == "not_found"
    client.views_update(view_id=first["id"], view=home)
    assert emu.home_views()[USER]["blocks"] == home["blocks"]
