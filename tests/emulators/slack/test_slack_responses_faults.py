"""response_urls, injected faults, the per-channel posting rate, wait_for and reset
(docs/contracts/slack.md §3.2, §4.6, §6)."""

from __future__ import annotations

import threading

import pytest
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from slack_sdk.http_retry.builtin_handlers import RateLimitErrorRetryHandler
from slack_sdk.webhook import WebhookClient

from devkit.slack import SlackEmulator
from tests.emulators.slack.support import MEMBER, PNG, PUBLIC, USER, FakeClock, api_error

# ---------------------------------------------------------------- response_url (§6)


def test_a_response_url_takes_five_posts(emu: SlackEmulator) -> None:
    url = emu.new_response_url(channel_id=MEMBER, user_id=USER)
    webhook = WebhookClient(url)
    for i in range(5):
        reply = webhook.send(text=f"update {i}", response_type="in_channel", replace_original=False)
        assert (reply.status_code, reply.body) == (200, "ok")
    sixth = webhook.send(text="one too many")
    assert (sixth.status_code, sixth.body) == (404, "used_url")
    posts = emu.responses(url)
    assert [p.body["text"] for p in posts] == [f"update {i}" for i in range(5)]
    assert posts[0].body == {"text": "update 0", "response_type": "in_channel", "replace_original": False}
    assert (posts[0].channel_id, posts[0].user_id) == (MEMBER, USER)
    assert emu.messages() == []  # response posts never change the recorded messages


def test_a_response_url_expires_after_thirty_minutes(emu: SlackEmulator, clock: FakeClock) -> None:
    url = emu.new_response_url()
    clock.now += 30 * 60
    assert WebhookClient(url).send(text="just in time").status_code == 200
    clock.now += 1
    late = WebhookClient(url).send(text="too late")
    assert (late.status_code, late.body) == (404, "expired_url")
    fresh = emu.new_response_url()
    emu.expire_response_urls()
    assert WebhookClient(fresh).send(text="x").body == "expired_url"
    assert WebhookClient(f"{emu.url}/response/T0TEAM0001/9/nope").send(text="x").body == "no_service"
    assert len(emu.responses()) == 1


def test_a_response_url_rejects_bad_messages_without_using_them_up(emu: SlackEmulator) -> None:
    url = emu.new_response_url(channel_id=MEMBER)
    assert WebhookClient(url).send().body == "no_text"
    bad_image = [{"type": "image", "slack_file": {"id": "F0000000404"}, "alt_text": "x"}]
    assert WebhookClient(url).send(text="x", blocks=bad_image).body == "invalid_blocks"
    assert WebhookClient(url).send(delete_original=True).status_code == 200
    assert len(emu.responses(url)) == 1


# ---------------------------------------------------------------- injected faults (§3.2)


def test_rate_limits_reach_the_sdk_as_429_with_retry_after(emu: SlackEmulator, client: WebClient) -> None:
    emu.rate_limit_next("chat.postMessage", retry_after=7)
    with pytest.raises(SlackApiError) as caught:
        client.chat_postMessage(channel=MEMBER, text="hi")
    assert caught.value.response.status_code == 429
    assert caught.value.response["error"] == "ratelimited"
    assert caught.value.response.headers["retry-after"] == "7"
    assert emu.calls("chat.postMessage")[0].status == 429
    assert emu.messages() == []


def test_the_sdks_rate_limit_handler_retries_into_success(emu: SlackEmulator, monkeypatch: pytest.MonkeyPatch) -> None:
    # The handler sleeps Retry-After plus random() seconds; without the jitter the retry is immediate.
    monkeypatch.setattr("slack_sdk.http_retry.builtin_handlers.random.random", lambda: 0.0)
    client = WebClient(token=emu.bot_token, base_url=emu.api_url)
    client.retry_handlers.append(RateLimitErrorRetryHandler(max_retry_count=1))
    emu.rate_limit_next("chat.postMessage", retry_after=0)
    assert client.chat_postMessage(channel=MEMBER, text="hi")["ok"]
    assert [c.status for c in emu.calls("chat.postMessage")] == [429, 200]
    assert len(emu.messages(MEMBER)) == 1


def test_fail_next_is_consumed_in_order_per_method_with_extra_fields(emu: SlackEmulator, client: WebClient) -> None:
    emu.fail_next("chat.postMessage", "restricted_action", times=2)
    emu.rate_limit_next("chat.postMessage", retry_after=0)
    emu.fail_next("auth.test", "missing_scope", needed="users:read", provided="chat:write")
    assert api_error(lambda: client.chat_postMessage(channel=MEMBER, text="1")) == "restricted_action"
    with pytest.raises(SlackApiError) as caught:
        client.auth_test()
    assert (caught.value.response["needed"], caught.value.response["provided"]) == ("users:read", "chat:write")
    assert api_error(lambda: client.chat_postMessage(channel=MEMBER, text="2")) == "restricted_action"
    assert api_error(lambda: client.chat_postMessage(channel=MEMBER, text="3")) == "ratelimited"
    assert client.chat_postMessage(channel=MEMBER, text="4")["ok"]
    assert [m.text for m in emu.messages()] == ["4"]


# ---------------------------------------------------------------- the posting rate (§4.6)


def test_posting_beyond_the_channel_rate_is_ratelimited_until_the_bucket_refills(clock: FakeClock) -> None:
    with SlackEmulator(clock=clock, channel_post_rate=1.0, channel_post_burst=2) as emu:
        emu.add_channel(MEMBER)
        emu.add_channel("C0SECOND01")
        client = WebClient(token=emu.bot_token, base_url=emu.api_url)
        first = client.chat_postMessage(channel=MEMBER, text="1")["ts"]
        client.chat_update(channel=MEMBER, ts=first, text="1 edited")
        with pytest.raises(SlackApiError) as caught:
            client.chat_postMessage(channel=MEMBER, text="2")
        assert (caught.value.response.status_code, caught.value.response.headers["retry-after"]) == (429, "1")
        assert api_error(lambda: client.files_upload_v2(channel=MEMBER, content=PNG, filename="a.png")) == (
            "ratelimited"
        )
        assert client.chat_postMessage(channel="C0SECOND01", text="other channel")["ok"]
        assert api_error(lambda: client.chat_postMessage(channel=MEMBER, text="x" * 40_001)) == "msg_too_long"
        clock.now += 1.0
        assert client.chat_postMessage(channel=MEMBER, text="2")["ok"]
        assert api_error(lambda: client.chat_postMessage(channel=MEMBER, text="3")) == "ratelimited"
        clock.now += 5.0  # refills to the burst, no further
        assert [client.chat_postMessage(channel=MEMBER, text=str(i))["ok"] for i in range(2)] == [True, True]
        assert api_error(lambda: client.chat_postMessage(channel=MEMBER, text="x")) == "ratelimited"


# ---------------------------------------------------------------- waiting and resetting


def test_wait_for_returns_the_first_truthy_result(emu: SlackEmulator, client: WebClient) -> None:
    started = threading.Event()

    def post_later() -> None:
        started.wait(5)
        client.chat_postMessage(channel=MEMBER, text="later")

    thread = threading.Thread(target=post_later)
    thread.start()
    started.set()
    (message,) = emu.wait_for(lambda: emu.messages(MEMBER), timeout=5)
    thread.join(5)
    assert message.text == "later"


def test_wait_for_explains_a_timeout(emu: SlackEmulator, client: WebClient) -> None:
    client.chat_postMessage(channel=MEMBER, text="hi")
    with pytest.raises(AssertionError, match=r"still falsy after 0.2s.*chat.postMessage->ok"):
        emu.wait_for(lambda: emu.messages(PUBLIC), timeout=0.2)


def test_reset_forgets_everything(emu: SlackEmulator, client: WebClient) -> None:
    client.chat_postMessage(channel=MEMBER, text="hi")
    emu.fail_next("auth.test", "token_revoked")
    emu.reset()
    assert (emu.messages(), emu.calls(), emu.channels(), emu.files(), emu.downloads()) == ([], [], {}, {}, [])
    assert client.auth_test()["ok"]
    assert api_error(lambda: client.files_upload_v2(channel=MEMBER, content=PNG, filename="f.png")) == (
        "not_in_channel"
    )
