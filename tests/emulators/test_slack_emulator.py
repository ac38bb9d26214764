"""The Slack emulator, driven by the real slack_sdk clients it stands in for.

Contracts are from shared/reference/slack-platform.md; section numbers are cited per test.
"""

from __future__ import annotations

import json
import re
import threading
import urllib.error
from collections.abc import Iterator
from typing import Any
from urllib.parse import parse_qs

import httpx
import pytest
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from slack_sdk.http_retry.builtin_handlers import RateLimitErrorRetryHandler
from slack_sdk.signature import SignatureVerifier
from slack_sdk.webhook import WebhookClient

from bot.emulators._http import LoopbackServer, Request, Response
from bot.emulators.slack import SlackEmulator, signature

PNG = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(range(256)) + b"\r\n\n\r"
TS = re.compile(r"^\d+\.\d{6}$")

MEMBER, PUBLIC, PRIVATE, ARCHIVED = "C0MEMBER01", "C0PUBLIC01", "G0PRIVATE1", "C0ARCHIVE1"


class FakeClock:
    def __init__(self, now: float = 1_700_000_000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


@pytest.fixture(autouse=True)
def _no_proxies(monkeypatch: pytest.MonkeyPatch) -> None:
    # slack_sdk picks proxies up from the environment (§3.6); loopback traffic must not go through one.
    for name in ("HTTP_PROXY", "HTTPS_PROXY", "http_proxy", "https_proxy"):
        monkeypatch.delenv(name, raising=False)


@pytest.fixture(scope="module")
def _shared_clock() -> FakeClock:
    return FakeClock()


@pytest.fixture(scope="module")
def _shared_emulator(_shared_clock: FakeClock) -> Iterator[SlackEmulator]:
    # One server per module: stopping a LoopbackServer waits out serve_forever's 0.5 s poll.
    with SlackEmulator(clock=_shared_clock) as emulator:
        yield emulator


@pytest.fixture
def clock(_shared_clock: FakeClock) -> FakeClock:
    _shared_clock.now = FakeClock().now
    return _shared_clock


@pytest.fixture
def emu(_shared_emulator: SlackEmulator, clock: FakeClock) -> SlackEmulator:
    _shared_emulator.reset()
    _shared_emulator.add_channel(MEMBER, name="imagine")
    _shared_emulator.add_channel(PRIVATE, member=False)
    _shared_emulator.add_channel(ARCHIVED, archived=True)
    return _shared_emulator


@pytest.fixture
def client(emu: SlackEmulator) -> WebClient:
    return WebClient(token=emu.bot_token, base_url=emu.api_url, timeout=5)


class _Bot(LoopbackServer):
    """A stand-in for the bot: verifies Slack's signature like Bolt does and acks in channel."""

    def __init__(self) -> None:
        super().__init__()
        self.verifier = SignatureVerifier("test-signing-secret")
        self.received: list[tuple[str, dict[str, str], bytes]] = []
        self.lock = threading.Lock()

    def handle(self, request: Request) -> Response:
        with self.lock:
            self.received.append((request.path, request.headers, request.body))
        if not self.verifier.is_valid_request(request.body, request.headers):
            return Response(401, {"error": "invalid request"})
        return Response(200, {"response_type": "in_channel", "text": "🎨 Generating…"})


@pytest.fixture(scope="module")
def _shared_bot() -> Iterator[_Bot]:
    with _Bot() as bot:
        yield bot


@pytest.fixture
def bot(_shared_bot: _Bot) -> _Bot:
    _shared_bot.received.clear()
    _shared_bot.verifier = SignatureVerifier("test-signing-secret")
    return _shared_bot


def api_error(call: Any) -> str:
    with pytest.raises(SlackApiError) as caught:
        call()
    return str(caught.value.response["error"])


# ---------------------------------------------------------------- signing (§1.2)


def test_signature_matches_slacks_official_test_vector() -> None:
    body = (
        b"token=xyzz0WbapA4vBCDEFasx0q6G&team_id=T1DC2JH3J&team_domain=testteamnow&channel_id=G8PSS9T3V"
        b"&channel_name=foobar&user_id=U2CERLKJA&user_name=roadrunner&command=%2Fwebhook-collect&text="
        b"&response_url=https%3A%2F%2Fhooks.slack.com%2Fcommands%2FT1DC2JH3J%2F397700885554%2F96rGlfmibIGlgcZRskXaIFfN"
        b"&trigger_id=398738663015.47445629121.803a0bc887a14d10d2c447fce8b6703c"
    )
    assert (
        signature("8f742231b10e8888abcd99yyyzzz85a5", "1531420618", body)
        == "v0=a2114d57b48eac39b9ad189dd8316235a7b4a8d21a10bd27519666489c69b503"
    )


# ---------------------------------------------------------------- auth (§3.7)


def test_auth_test_answers_with_the_bot_identity_and_scopes(emu: SlackEmulator, client: WebClient) -> None:
    reply = client.auth_test()
    assert reply["user_id"] == emu.bot_user_id
    assert reply["bot_id"] == emu.bot_id
    assert reply["team_id"] == emu.team_id
    assert reply["url"] == "https://emulated.slack.com/"
    assert "files:write" in reply.headers["x-oauth-scopes"].split(",")


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


def test_token_may_come_as_a_form_argument(emu: SlackEmulator) -> None:
    reply = httpx.post(emu.api_url + "auth.test", data={"token": emu.bot_token}, trust_env=False)
    assert reply.json()["ok"] is True
    assert emu.calls("auth.test")[0].token == emu.bot_token


# ---------------------------------------------------------------- chat.* (§3.1)


@pytest.mark.parametrize(
    ("channel", "kwargs", "error"),
    [
        (MEMBER, {"text": "hi"}, None),
        (PUBLIC, {"text": "hi"}, None),  # chat:write.public
        (MEMBER, {"blocks": [{"type": "section", "text": {"type": "mrkdwn", "text": "hi"}}]}, None),
        (PRIVATE, {"text": "hi"}, "channel_not_found"),
        ("D0NOTOPEN1", {"text": "hi"}, "channel_not_found"),
        (ARCHIVED, {"text": "hi"}, "is_archived"),
        (MEMBER, {}, "no_text"),
        (MEMBER, {"text": "x" * 40_001}, "msg_too_long"),
        (MEMBER, {"text": "hi", "blocks": [{"text": "no type"}]}, "invalid_blocks"),
        (MEMBER, {"text": "hi", "blocks": [{"type": "image", "image_url": "https://x/y.png"}]}, "invalid_blocks"),
        (
            MEMBER,
            {"text": "hi", "blocks": [{"type": "image", "slack_file": {"id": "F0PRIVATE99"}, "alt_text": "a"}]},
            "invalid_blocks",
        ),
    ],
)
def test_post_message_follows_channel_rules(
    emu: SlackEmulator, client: WebClient, channel: str, kwargs: dict[str, Any], error: str | None
) -> None:
    if error:
        assert api_error(lambda: client.chat_postMessage(channel=channel, **kwargs)) == error
        assert emu.messages() == []
    else:
        reply = client.chat_postMessage(channel=channel, **kwargs)
        (message,) = emu.messages(channel)
        assert (reply["channel"], reply["ts"], reply["message"]["ts"]) == (channel, message.ts, message.ts)
        assert message.user == emu.bot_user_id
        assert message.text == kwargs.get("text", "")
        assert message.blocks == kwargs.get("blocks")
    assert emu.calls("chat.postMessage")[0].error == error


def test_ts_are_unique_and_increasing_even_when_the_clock_stands_still(emu: SlackEmulator, client: WebClient) -> None:
    stamps = [client.chat_postMessage(channel=MEMBER, text=str(i))["ts"] for i in range(3)]
    assert all(TS.match(ts) for ts in stamps)
    assert stamps == sorted(set(stamps), key=float)
    assert [m.text for m in emu.messages(MEMBER)] == ["0", "1", "2"]


def test_thread_replies_and_ephemerals_are_recorded(emu: SlackEmulator, client: WebClient) -> None:
    parent = client.chat_postMessage(channel=MEMBER, text="parent")["ts"]
    client.chat_postMessage(channel=MEMBER, text="reply", thread_ts=parent)
    ephemeral = client.chat_postEphemeral(channel=PUBLIC, user="U0USER0001", text="only you")
    assert emu.messages(MEMBER)[1].thread_ts == parent
    (secret,) = emu.ephemerals("U0USER0001")
    assert (secret.ts, secret.channel, secret.text) == (ephemeral["message_ts"], PUBLIC, "only you")
    assert emu.ephemerals("U0SOMEONE1") == []
    assert api_error(lambda: client.chat_postEphemeral(channel=PRIVATE, user="U0USER0001", text="x")) == (
        "channel_not_found"
    )


def test_update_and_delete_only_touch_the_bots_own_messages(emu: SlackEmulator, client: WebClient) -> None:
    ts = client.chat_postMessage(channel=MEMBER, text="draft")["ts"]
    human = emu.add_message(MEMBER, "mine", user="U0USER0001")

    client.chat_update(channel=MEMBER, ts=ts, text="final", blocks=[{"type": "divider"}])
    assert api_error(lambda: client.chat_update(channel=MEMBER, ts=human.ts, text="x")) == "cant_update_message"
    assert api_error(lambda: client.chat_delete(channel=MEMBER, ts=human.ts)) == "cant_delete_message"
    assert api_error(lambda: client.chat_update(channel=MEMBER, ts="1.000001", text="x")) == "message_not_found"
    edited = emu.messages(MEMBER)[0]
    assert (edited.text, edited.blocks, edited.edited) == ("final", [{"type": "divider"}], True)

    client.chat_delete(channel=MEMBER, ts=ts)
    assert emu.messages(MEMBER)[0].deleted
    assert api_error(lambda: client.chat_delete(channel=MEMBER, ts=ts)) == "message_not_found"


# ---------------------------------------------------------------- upload v2 (§3.2)


def test_files_upload_v2_posts_the_bytes_into_a_member_channel(emu: SlackEmulator, client: WebClient) -> None:
    reply = client.files_upload_v2(
        channel=MEMBER, content=PNG, filename="fox.png", title="a fox", initial_comment="<@U0USER0001>: a fox"
    )
    file_id = reply["file"]["id"]
    assert re.match(r"^F[A-Z0-9]{8,}$", file_id)
    assert [c.method for c in emu.calls()] == ["files.getUploadURLExternal", "files.completeUploadExternal"]

    uploaded = emu.files()[file_id]
    assert (uploaded.content, uploaded.length, uploaded.filename, uploaded.title) == (
        PNG,
        len(PNG),
        "fox.png",
        "a fox",
    )
    assert (uploaded.channel, uploaded.initial_comment) == (MEMBER, "<@U0USER0001>: a fox")
    (message,) = emu.messages(MEMBER)
    assert message.text == "<@U0USER0001>: a fox"
    assert [f.id for f in message.files] == [file_id]
    assert message.files[0].content == PNG
    assert httpx.get(client.files_info(file=file_id)["file"]["url_private"], trust_env=False).content == PNG


@pytest.mark.parametrize(
    ("channel", "error"),
    [(PUBLIC, "not_in_channel"), (PRIVATE, "channel_not_found"), (ARCHIVED, "is_archived")],
)
def test_files_upload_v2_needs_membership(emu: SlackEmulator, client: WebClient, channel: str, error: str) -> None:
    upload = lambda: client.files_upload_v2(channel=channel, content=PNG, filename="fox.png")  # noqa: E731
    assert api_error(upload) == error
    assert emu.messages() == []
    assert emu.files() == {}
    (orphan,) = emu.files(include_pending=True).values()
    assert (orphan.uploaded, orphan.completed) == (True, False)


def test_joining_a_public_channel_allows_uploads(emu: SlackEmulator, client: WebClient) -> None:
    assert client.conversations_join(channel=PUBLIC)["channel"]["is_member"] is True
    assert client.conversations_join(channel=PUBLIC)["warning"] == "already_in_channel"
    assert client.files_upload_v2(channel=PUBLIC, content=PNG, filename="fox.png")["ok"]
    emu.add_channel("G0JOINED01", private=True)  # member by default
    assert api_error(lambda: client.conversations_join(channel="G0JOINED01")) == "method_not_supported_for_channel_type"


def test_upload_without_a_channel_stays_private(emu: SlackEmulator, client: WebClient) -> None:
    file_id = client.files_upload_v2(content=PNG, filename="fox.png")["file"]["id"]
    assert emu.files()[file_id].channel is None
    assert emu.messages() == []
    private_image = [{"type": "image", "slack_file": {"id": file_id}, "alt_text": "fox"}]
    assert api_error(lambda: client.chat_postMessage(channel=MEMBER, text="x", blocks=private_image)) == (
        "invalid_blocks"
    )


def test_a_shared_file_can_be_shown_with_slack_file(emu: SlackEmulator, client: WebClient) -> None:
    file_id = client.files_upload_v2(channel=MEMBER, content=PNG, filename="fox.png")["file"]["id"]
    image = [{"type": "image", "slack_file": {"id": file_id}, "alt_text": "fox"}]
    assert client.chat_postMessage(channel=MEMBER, text="fox", blocks=image)["ok"]
    shares = client.files_info(file=file_id)["file"]["shares"]
    assert list(shares["public"]) == [MEMBER]


@pytest.mark.parametrize(
    ("length", "error"),
    [
        ("0", "missing_argument"),
        ("-3", "invalid_arguments"),
        ("many", "invalid_arguments"),
        (None, "invalid_arguments"),
    ],
)
def test_get_upload_url_checks_length(emu: SlackEmulator, length: str | None, error: str) -> None:
    form = {"token": emu.bot_token, "filename": "fox.png", **({"length": length} if length else {})}
    assert httpx.post(emu.api_url + "files.getUploadURLExternal", data=form, trust_env=False).json()["error"] == error


def test_upload_url_takes_raw_or_multipart_bytes_and_checks_the_length(emu: SlackEmulator) -> None:
    def reserve() -> tuple[str, str]:
        form = {"token": emu.bot_token, "filename": "fox.png", "length": str(len(PNG))}
        reply = httpx.post(emu.api_url + "files.getUploadURLExternal", data=form, trust_env=False).json()
        return str(reply["upload_url"]), str(reply["file_id"])

    url, _ = reserve()
    short = httpx.post(url, content=PNG[:-1], trust_env=False)
    assert short.status_code == 400
    raw = httpx.post(url, content=PNG, trust_env=False)
    assert (raw.status_code, raw.text) == (200, f"OK - {len(PNG)}")

    url, file_id = reserve()
    multipart = httpx.post(url, files={"file": ("fox.png", PNG, "image/png")}, trust_env=False)
    assert multipart.status_code == 200
    assert emu.files(include_pending=True)[file_id].content == PNG


def test_complete_upload_works_once_and_only_after_the_bytes(emu: SlackEmulator, client: WebClient) -> None:
    reserved = client.files_getUploadURLExternal(filename="fox.png", length=len(PNG))
    files = [{"id": reserved["file_id"], "title": "fox"}]
    assert api_error(lambda: client.files_completeUploadExternal(files=files, channel_id=MEMBER)) == ("file_not_found")
    httpx.post(reserved["upload_url"], content=PNG, trust_env=False)
    assert client.files_completeUploadExternal(files=files, channel_id=MEMBER)["files"] == files
    assert api_error(lambda: client.files_completeUploadExternal(files=files, channel_id=MEMBER)) == ("file_not_found")


def test_a_failing_upload_url_stops_files_upload_v2(emu: SlackEmulator, client: WebClient) -> None:
    emu.fail_upload_next(503)
    with pytest.raises(urllib.error.HTTPError) as caught:  # urllib raises before the SDK's status check
        client.files_upload_v2(channel=MEMBER, content=PNG, filename="fox.png")
    assert caught.value.code == 503
    assert emu.calls("files.completeUploadExternal") == []
    assert client.files_upload_v2(channel=MEMBER, content=PNG, filename="fox.png")["ok"]


def test_deleted_files_leave_their_message(emu: SlackEmulator, client: WebClient) -> None:
    file_id = client.files_upload_v2(channel=MEMBER, content=PNG, filename="fox.png")["file"]["id"]
    client.files_delete(file=file_id)
    assert emu.files()[file_id].deleted
    assert emu.messages(MEMBER)[0].files == []
    assert api_error(lambda: client.files_info(file=file_id)) == "file_deleted"
    assert api_error(lambda: client.files_info(file="F0000000000")) == "file_not_found"


# ---------------------------------------------------------------- conversations and views


def test_dms_are_stable_and_the_bot_can_post_there(emu: SlackEmulator, client: WebClient) -> None:
    dm = client.conversations_open(users="U0USER0001")["channel"]["id"]
    again = client.conversations_open(users="U0USER0001")
    assert dm.startswith("D")
    assert (again["channel"]["id"], again["already_open"]) == (dm, True)
    assert client.conversations_open(users="U0USER0002")["channel"]["id"] != dm
    client.chat_postMessage(channel=dm, text="psst")
    assert [m.text for m in emu.messages(dm)] == ["psst"]


def test_views_are_recorded_and_triggers_are_single_use(
    emu: SlackEmulator, client: WebClient, clock: FakeClock, bot: _Bot
) -> None:
    home = {"type": "home", "blocks": [{"type": "section", "text": {"type": "mrkdwn", "text": "hi"}}]}
    client.views_publish(user_id="U0USER0001", view=home)
    client.views_publish(user_id="U0USER0001", view={**home, "blocks": []})
    assert emu.home_views()["U0USER0001"]["blocks"] == []

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


# ---------------------------------------------------------------- response_url (§1.5)


def test_a_response_url_takes_five_posts(emu: SlackEmulator) -> None:
    url = emu.new_response_url(channel_id=MEMBER, user_id="U0USER0001")
    webhook = WebhookClient(url)
    for i in range(5):
        reply = webhook.send(text=f"update {i}", response_type="in_channel", replace_original=False)
        assert (reply.status_code, reply.body) == (200, "ok")
    sixth = webhook.send(text="one too many")
    assert (sixth.status_code, sixth.body) == (404, "used_url")
    posts = emu.responses(url)
    assert [p.body["text"] for p in posts] == [f"update {i}" for i in range(5)]
    assert posts[0].body == {"text": "update 0", "response_type": "in_channel", "replace_original": False}
    assert (posts[0].channel_id, posts[0].user_id) == (MEMBER, "U0USER0001")


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


def test_a_response_url_rejects_empty_messages_without_using_them_up(emu: SlackEmulator) -> None:
    url = emu.new_response_url()
    assert WebhookClient(url).send().body == "no_text"
    assert WebhookClient(url).send(delete_original=True).status_code == 200
    assert len(emu.responses(url)) == 1


# ---------------------------------------------------------------- faults (§3.4–3.5)


def test_rate_limits_reach_the_sdk_as_429_with_retry_after(emu: SlackEmulator, client: WebClient) -> None:
    emu.rate_limit_next("chat.postMessage", retry_after=7)
    with pytest.raises(SlackApiError) as caught:
        client.chat_postMessage(channel=MEMBER, text="hi")
    assert caught.value.response.status_code == 429
    assert caught.value.response["error"] == "ratelimited"
    assert caught.value.response.headers["retry-after"] == "7"
    assert emu.calls("chat.postMessage")[0].status == 429
    assert emu.messages() == []


def test_the_sdks_rate_limit_handler_retries_into_success(emu: SlackEmulator) -> None:
    client = WebClient(token=emu.bot_token, base_url=emu.api_url)
    client.retry_handlers.append(RateLimitErrorRetryHandler(max_retry_count=1))
    emu.rate_limit_next("chat.postMessage", retry_after=0)  # the handler adds up to 1 s of jitter
    assert client.chat_postMessage(channel=MEMBER, text="hi")["ok"]
    assert [c.status for c in emu.calls("chat.postMessage")] == [429, 200]
    assert len(emu.messages(MEMBER)) == 1


def test_fail_next_is_consumed_in_order_per_method(emu: SlackEmulator, client: WebClient) -> None:
    emu.fail_next("chat.postMessage", "restricted_action", times=2)
    emu.rate_limit_next("chat.postMessage", retry_after=0)
    emu.fail_next("auth.test", "token_revoked")
    assert api_error(lambda: client.chat_postMessage(channel=MEMBER, text="1")) == "restricted_action"
    assert api_error(lambda: client.auth_test()) == "token_revoked"
    assert api_error(lambda: client.chat_postMessage(channel=MEMBER, text="2")) == "restricted_action"
    assert api_error(lambda: client.chat_postMessage(channel=MEMBER, text="3")) == "ratelimited"
    assert client.chat_postMessage(channel=MEMBER, text="4")["ok"]
    assert [m.text for m in emu.messages()] == ["4"]


# ---------------------------------------------------------------- sending to the bot (§1.1, §4.7)


def test_send_command_posts_a_signed_slash_command(emu: SlackEmulator, bot: _Bot) -> None:
    sent = emu.send_command(bot.url, "a fox --ar 16:9 & more", channel_id=MEMBER, channel_name="imagine")
    other = emu.send_command(bot.url, "again")
    assert sent.status == 200
    assert sent.json() == {"response_type": "in_channel", "text": "🎨 Generating…"}
    assert sent.elapsed_s > 0
    path, headers, body = bot.received[0]
    assert path == "/slack/events"
    assert headers["content-type"] == "application/x-www-form-urlencoded"
    assert b"command=%2Fimagine" in body
    fields = {k: v[0] for k, v in parse_qs(body.decode(), keep_blank_values=True).items()}
    assert list(fields) == [
        "token",
        "team_id",
        "team_domain",
        "channel_id",
        "channel_name",
        "user_id",
        "user_name",
        "command",
        "text",
        "api_app_id",
        "is_enterprise_install",
        "response_url",
        "trigger_id",
    ]
    assert fields["text"] == "a fox --ar 16:9 & more"
    assert (fields["channel_id"], fields["channel_name"], fields["team_id"]) == (MEMBER, "imagine", emu.team_id)
    assert (fields["api_app_id"], fields["is_enterprise_install"]) == (emu.api_app_id, "false")
    assert fields["response_url"] == sent.response_url
    assert sent.response_url.startswith(f"{emu.url}/response/")
    assert re.match(r"^\d+\.\d+\.[0-9a-f]+$", fields["trigger_id"])
    assert fields["trigger_id"] == sent.trigger_id != other.trigger_id

    assert WebhookClient(sent.response_url).send(text="done").status_code == 200
    (post,) = emu.responses(sent.response_url)
    assert (post.channel_id, post.user_id) == (MEMBER, "U0USER0001")


def test_a_bot_with_another_secret_rejects_the_emulator(emu: SlackEmulator, bot: _Bot) -> None:
    bot.verifier = SignatureVerifier("someone-else")
    assert emu.send_command(bot.url, "a fox").status == 401


def test_send_interaction_posts_a_signed_payload_with_a_response_url(emu: SlackEmulator, bot: _Bot) -> None:
    payload = {
        "type": "block_actions",
        "user": {"id": "U0USER0001", "username": "alice", "team_id": emu.team_id},
        "container": {"type": "message", "message_ts": "111.222", "channel_id": MEMBER, "is_ephemeral": False},
        "trigger_id": "111.222.abc",
        "channel": {"id": MEMBER, "name": "imagine"},
        "actions": [{"action_id": "regenerate", "type": "button", "value": "job-123"}],
    }
    sent = emu.send_interaction(bot.url, payload)
    shortcut = emu.send_interaction(bot.url, {"type": "shortcut", "callback_id": "imagine"})
    assert sent.status == 200
    _, _, body = bot.received[0]
    assert body.startswith(b"payload=")
    received = json.loads(parse_qs(body.decode())["payload"][0])
    assert received == {**payload, "response_url": sent.response_url}
    assert "response_url" not in payload  # the caller's dict is left alone
    assert shortcut.response_url == ""  # global shortcuts carry none (§4.7)

    WebhookClient(sent.response_url).send(text="again", replace_original=True)
    assert emu.responses()[0].message_ts == "111.222"


# ---------------------------------------------------------------- waiting and resetting


def test_wait_for_returns_the_first_truthy_result(emu: SlackEmulator, client: WebClient) -> None:
    timer = threading.Timer(0.05, lambda: client.chat_postMessage(channel=MEMBER, text="later"))
    timer.start()
    (message,) = emu.wait_for(lambda: emu.messages(MEMBER), timeout=5)
    timer.join()
    assert message.text == "later"


def test_wait_for_explains_a_timeout(emu: SlackEmulator, client: WebClient) -> None:
    client.chat_postMessage(channel=MEMBER, text="hi")
    with pytest.raises(AssertionError, match=r"still falsy after 0.2s.*chat.postMessage->ok"):
        emu.wait_for(lambda: emu.messages(PUBLIC), timeout=0.2)


def test_reset_forgets_everything(emu: SlackEmulator, client: WebClient) -> None:
    client.chat_postMessage(channel=MEMBER, text="hi")
    emu.fail_next("auth.test", "token_revoked")
    emu.reset()
    assert (emu.messages(), emu.calls(), emu.channels()) == ([], [], {})
    assert client.auth_test()["ok"]
    assert api_error(lambda: client.files_upload_v2(channel=MEMBER, content=PNG, filename="f.png")) == (
        "not_in_channel"
    )


def test_send_event_posts_a_signed_event_callback_as_json(emu: SlackEmulator, bot: _Bot, clock: FakeClock) -> None:
    event = {"type": "app_home_opened", "user": "U0USER0001", "channel": "D0HOME0001", "tab": "home"}
    sent = emu.send_event(bot.url, event)
    again = emu.send_event(bot.url, event)
    assert sent.status == 200  # the stand-in bot checked the signature
    path, headers, body = bot.received[0]
    assert path == "/slack/events"
    assert headers["content-type"] == "application/json"
    received = json.loads(body)
    assert received["type"] == "event_callback"
    assert (received["team_id"], received["api_app_id"]) == (emu.team_id, emu.api_app_id)
    assert received["event"] == {**event, "event_ts": received["event"]["event_ts"]}
    assert received["event"]["event_ts"] == f"{clock.now:.6f}"
    assert received["authorizations"][0]["user_id"] == emu.bot_user_id
    assert received["event_id"].startswith("Ev")
    assert received["event_id"] != json.loads(bot.received[1][2])["event_id"]
    assert (sent.response_url, again.trigger_id) == ("", "")
    assert "event_ts" not in event  # the caller's dict is left alone
