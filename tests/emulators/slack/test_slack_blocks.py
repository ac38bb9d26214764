"""Block validation with slack_sdk's models and Slack's own rules, and the file-access rule for slack_file
(docs/contracts/slack.md §4.4–4.5, §10.1)."""

from __future__ import annotations

from typing import Any

import pytest
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from devkit.slack import SlackEmulator
from tests.emulators.slack.support import MEMBER, PNG, FakeClock, api_error

OTHER = "C0OTHER001"


def errors_of(client: WebClient, blocks: list[dict[str, Any]], channel: str = MEMBER) -> list[str]:
    with pytest.raises(SlackApiError) as caught:
        client.chat_postMessage(channel=channel, text="fallback", blocks=blocks)
    body = caught.value.response
    assert body["error"] == "invalid_blocks"
    assert body["response_metadata"]["messages"] == [f"[ERROR] {e}" for e in body["errors"]]
    return list(body["errors"])


def image(slack_file: dict[str, str]) -> dict[str, Any]:
    return {"type": "image", "slack_file": slack_file, "alt_text": "a fox"}


def upload(client: WebClient, channel: str | None = MEMBER, thread_ts: str | None = None) -> str:
    kwargs: dict[str, Any] = {"content": PNG, "filename": "fox.png"}
    if channel:
        kwargs["channel"] = channel
    if thread_ts:
        kwargs["thread_ts"] = thread_ts
    return str(client.files_upload_v2(**kwargs)["file"]["id"])


@pytest.mark.parametrize(
    ("block", "error"),
    [
        ({"text": "no type"}, "missing required field: type [json-pointer:/blocks/0]"),
        ({"type": "bogus"}, "unsupported type: bogus [json-pointer:/blocks/0/type]"),
        (
            {"type": "image", "image_url": "https://x/y.png"},
            "missing required field: alt_text [json-pointer:/blocks/0]",
        ),
        (
            {"type": "image", "image_url": "https://x/y.png", "alt_text": "a", "slack_file": {"id": "F0000000001"}},
            "must provide exactly one of image_url or slack_file [json-pointer:/blocks/0]",
        ),
        (
            {"type": "image", "image_url": "ftp://x/y.png", "alt_text": "a"},
            "invalid url [json-pointer:/blocks/0/image_url]",
        ),
        ({"type": "section"}, "text or fields attribute must be specified [json-pointer:/blocks/0]"),
        (
            {"type": "card", "title": "t" * 151},
            "title attribute cannot exceed 150 characters [json-pointer:/blocks/0]",
        ),
        ({"type": "card", "body": "b" * 201}, "body attribute cannot exceed 200 characters [json-pointer:/blocks/0]"),
        (
            {"type": "carousel", "elements": []},
            "elements attribute must contain at least 1 card [json-pointer:/blocks/0]",
        ),
        (
            {"type": "carousel", "elements": [{"type": "card", "title": "x"}] * 11},
            "elements attribute cannot exceed 10 cards [json-pointer:/blocks/0]",
        ),
        ({"type": "carousel", "elements": [{"type": "divider"}]}, "must be a card [json-pointer:/blocks/0/elements/0]"),
    ],
)
def test_blocks_are_checked_by_slack_sdks_models_and_slacks_rules(
    emu: SlackEmulator, client: WebClient, block: dict[str, Any], error: str
) -> None:
    assert error in errors_of(client, [block])


def test_good_cards_carousels_and_image_elements_pass(emu: SlackEmulator, client: WebClient) -> None:
    file_id = upload(client)
    hero = {"type": "image", "slack_file": {"id": file_id}, "alt_text": "fox"}
    card = {"type": "card", "hero_image": hero, "title": "A fox", "subtitle": "sly", "body": "b" * 200}
    card["actions"] = [{"type": "button", "action_id": "vary", "text": {"type": "plain_text", "text": "Vary"}}]
    blocks = [
        {"type": "carousel", "elements": [card] * 10},
        {"type": "section", "text": {"type": "mrkdwn", "text": "x"}, "accessory": hero},
        {"type": "context", "elements": [hero]},
        {"type": "image", "image_url": "https://example.com/fox.png", "alt_text": "fox"},
    ]
    assert client.chat_postMessage(channel=MEMBER, text="fox", blocks=blocks)["ok"]


def test_no_more_than_fifty_blocks(emu: SlackEmulator, client: WebClient) -> None:
    divider = {"type": "divider"}
    assert client.chat_postMessage(channel=MEMBER, text="x", blocks=[divider] * 50)["ok"]
    assert errors_of(client, [divider] * 51) == ["no more than 50 items allowed [json-pointer:/blocks]"]


def test_a_slack_file_shows_only_where_it_was_shared(emu: SlackEmulator, client: WebClient) -> None:
    emu.add_channel(OTHER)
    private = upload(client, channel=None)
    shared = upload(client)
    root = client.chat_postMessage(channel=OTHER, text="root")["ts"]
    in_thread = upload(client, channel=OTHER, thread_ts=root)
    url_private = client.files_info(file=shared)["file"]["url_private"]

    invalid = "invalid slack file [json-pointer:/blocks/0/slack_file]"
    assert errors_of(client, [image({"id": private})]) == [invalid]  # python-slack-sdk#1658
    assert errors_of(client, [image({"id": "F0PRIVATE99"})]) == [invalid]
    assert errors_of(client, [image({"id": "not-an-id"})]) == [invalid]
    assert errors_of(client, [image({"id": in_thread})]) == [invalid]  # shared in another channel
    assert errors_of(client, [image({"id": shared})], channel=OTHER) == [invalid]
    assert client.chat_postMessage(channel=MEMBER, text="x", blocks=[image({"id": shared})])["ok"]
    assert client.chat_postMessage(channel=MEMBER, text="x", blocks=[image({"url": url_private})])["ok"]
    assert client.chat_postMessage(channel=OTHER, text="x", blocks=[image({"id": in_thread})])["ok"]

    nested = {"type": "section", "text": {"type": "mrkdwn", "text": "x"}, "accessory": image({"id": private})}
    assert errors_of(client, [nested]) == ["invalid slack file [json-pointer:/blocks/0/accessory/slack_file]"]
    hero_card = {"type": "card", "title": "x", "hero_image": image({"id": private})}
    assert errors_of(client, [{"type": "carousel", "elements": [hero_card]}]) == [
        "invalid slack file [json-pointer:/blocks/0/elements/0/hero_image/slack_file]"
    ]
    client.files_delete(file=shared)
    assert errors_of(client, [image({"id": shared})]) == [invalid]


def test_chat_update_and_ephemerals_follow_the_same_rule(emu: SlackEmulator, client: WebClient) -> None:
    private = upload(client, channel=None)
    ts = client.chat_postMessage(channel=MEMBER, text="x")["ts"]
    blocks = [image({"id": private})]
    assert api_error(lambda: client.chat_update(channel=MEMBER, ts=ts, text="x", blocks=blocks)) == "invalid_blocks"
    assert api_error(lambda: client.chat_postEphemeral(channel=MEMBER, user="U1", text="x", blocks=blocks)) == (
        "invalid_blocks"
    )


def test_a_fresh_share_shows_only_after_processing(clock: FakeClock) -> None:
    with SlackEmulator(clock=clock, file_ready_after_s=1.5) as emu:
        emu.add_channel(MEMBER)
        client = WebClient(token=emu.bot_token, base_url=emu.api_url)
        file_id = upload(client)
        assert api_error(
            lambda: client.chat_postMessage(channel=MEMBER, text="x", blocks=[image({"id": file_id})])
        ) == ("invalid_blocks")  # python-slack-sdk#1521
        clock.now += 1.5
        assert client.chat_postMessage(channel=MEMBER, text="x", blocks=[image({"id": file_id})])["ok"]


def test_views_answer_invalid_arguments_pointing_under_view_blocks(emu: SlackEmulator, client: WebClient) -> None:
    with pytest.raises(SlackApiError) as caught:
        client.views_publish(user_id="U1", view={"type": "home", "blocks": [{"type": "image", "alt_text": "x"}]})
    assert caught.value.response["error"] == "invalid_arguments"
    assert caught.value.response["response_metadata"]["messages"] == [
        "[ERROR] must provide exactly one of image_url or slack_file [json-pointer:/view/blocks/0]"
    ]
    shared = upload(client)
    home = {"type": "home", "blocks": [image({"id": shared})]}
    assert client.views_publish(user_id="U1", view=home)["ok"]
