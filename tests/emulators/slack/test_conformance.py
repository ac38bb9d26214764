"""Conformance: the official slack_sdk clients against the emulator, method by method
(docs/contracts/slack.md §3–§11).

Every Web API method the bot calls answers what WebClient expects on success; every documented error of
every method reaches the client as SlackApiError with that code; a missing scope names itself; 429s are
retried by RateLimitErrorRetryHandler; what the sender signs passes SignatureVerifier; and the builtin
SocketModeClient round-trips an envelope.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from slack_sdk.http_retry.builtin_handlers import RateLimitErrorRetryHandler
from slack_sdk.signature import SignatureVerifier
from slack_sdk.socket_mode.builtin import SocketModeClient
from slack_sdk.socket_mode.request import SocketModeRequest
from slack_sdk.socket_mode.response import SocketModeResponse

from devkit.slack import SlackEmulator, manifest_scopes
from devkit.slack.webapi import METHODS
from tests.emulators.slack.support import MEMBER, PNG, USER, FakeClock, StandInBot

ROOT = Path(__file__).resolve().parents[3]
EXTRA_SCOPES = {"channels:join", "channels:read", "channels:history"}
MODAL = {"type": "modal", "title": {"type": "plain_text", "text": "Imagine"}, "blocks": []}
HOME = {"type": "home", "blocks": [{"type": "divider"}]}

Call = Callable[[WebClient], Any]

# One call of each method through WebClient's own helper, with arguments the SDK accepts.
CALLS: dict[str, Call] = {
    "auth.test": lambda c: c.auth_test(),
    "apps.connections.open": lambda c: c.apps_connections_open(app_token="xapp-1-test-app-token"),
    "chat.postMessage": lambda c: c.chat_postMessage(channel=MEMBER, text="hi"),
    "chat.update": lambda c: c.chat_update(channel=MEMBER, ts="1.000001", text="hi"),
    "chat.delete": lambda c: c.chat_delete(channel=MEMBER, ts="1.000001"),
    "chat.postEphemeral": lambda c: c.chat_postEphemeral(channel=MEMBER, user=USER, text="hi"),
    "chat.getPermalink": lambda c: c.chat_getPermalink(channel=MEMBER, message_ts="1.000001"),
    "files.getUploadURLExternal": lambda c: c.files_getUploadURLExternal(filename="a.png", length=10),
    "files.completeUploadExternal": lambda c: c.files_completeUploadExternal(
        files=[{"id": "F0000000404"}], channel_id=MEMBER
    ),
    "files.info": lambda c: c.files_info(file="F0000000404"),
    "files.delete": lambda c: c.files_delete(file="F0000000404"),
    "files.upload": lambda c: c.api_call("files.upload", data={"content": "x"}),
    "conversations.open": lambda c: c.conversations_open(users=USER),
    "conversations.join": lambda c: c.conversations_join(channel="C0PUBLIC01"),
    "conversations.info": lambda c: c.conversations_info(channel=MEMBER),
    "conversations.replies": lambda c: c.conversations_replies(channel=MEMBER, ts="1.000001"),
    "views.open": lambda c: c.views_open(trigger_id="1.2.abc", view=MODAL),
    "views.update": lambda c: c.views_update(view_id="V0000000404", view=MODAL),
    "views.publish": lambda c: c.views_publish(user_id=USER, view=HOME),
}


@pytest.fixture(scope="module")
def _full() -> Iterator[SlackEmulator]:
    """The manifest's scopes plus the read scopes some methods need, so every method can succeed."""
    with SlackEmulator(clock=FakeClock(), scopes=manifest_scopes() | EXTRA_SCOPES) as emulator:
        yield emulator


@pytest.fixture
def full(_full: SlackEmulator) -> SlackEmulator:
    _full.reset()
    _full.add_channel(MEMBER, name="imagine")
    return _full


def no_jitter(monkeypatch: pytest.MonkeyPatch) -> None:
    """RateLimitErrorRetryHandler sleeps Retry-After plus random() seconds; make that plus nothing."""
    monkeypatch.setattr("slack_sdk.http_retry.builtin_handlers.random.random", lambda: 0.0)


def client_for(emu: SlackEmulator, method: str) -> WebClient:
    token = emu.app_token if method == "apps.connections.open" else emu.bot_token
    return WebClient(token=token, base_url=emu.api_url, timeout=5)


def test_the_default_scopes_are_manifest_ymls() -> None:
    manifest = yaml.safe_load((ROOT / "manifest.yml").read_text(encoding="utf-8"))
    assert manifest_scopes() == frozenset(manifest["oauth_config"]["scopes"]["bot"])
    assert SlackEmulator().scopes == manifest_scopes()
    assert manifest_scopes(ROOT / "manifest.yml") == manifest_scopes()


def test_every_method_has_a_conformance_call() -> None:
    assert set(CALLS) == set(METHODS)


def test_every_method_succeeds_as_webclient_expects(full: SlackEmulator, bot: StandInBot) -> None:
    client = client_for(full, "chat.postMessage")
    assert client.auth_test()["user_id"] == full.bot_user_id
    app_client = client_for(full, "apps.connections.open")
    assert app_client.apps_connections_open(app_token=full.app_token)["url"].startswith("ws://")
    root = client.chat_postMessage(channel=MEMBER, text="root")
    assert root["message"]["text"] == "root"
    upload = client.files_upload_v2(channel=MEMBER, content=PNG, filename="fox.png", thread_ts=root["ts"])
    (uploaded,) = upload["files"]
    assert (upload["file"]["id"], uploaded["title"]) == (uploaded["id"], "fox.png")
    info = client.files_info(file=uploaded["id"])["file"]
    assert info["shares"]["public"][MEMBER][0]["thread_ts"] == root["ts"]
    assert client.chat_update(channel=MEMBER, ts=root["ts"], text="edited")["text"] == "edited"
    assert client.chat_postEphemeral(channel=MEMBER, user=USER, text="psst")["message_ts"]
    assert client.chat_getPermalink(channel=MEMBER, message_ts=root["ts"])["permalink"].startswith("https://")
    replies = client.conversations_replies(channel=MEMBER, ts=root["ts"])["messages"]
    assert replies[0]["ts"] == root["ts"]
    assert client.conversations_info(channel=MEMBER)["channel"]["id"] == MEMBER
    assert client.conversations_join(channel="C0PUBLIC01")["channel"]["is_member"]
    assert client.conversations_open(users=USER)["channel"]["id"].startswith("D")
    trigger = full.send_command(bot.url, "x").trigger_id
    opened = client.views_open(trigger_id=trigger, view=MODAL)["view"]
    assert client.views_update(view_id=opened["id"], view=MODAL)["view"]["id"] == opened["id"]
    assert client.views_publish(user_id=USER, view=HOME)["view"]["type"] == "home"
    client.files_delete(file=uploaded["id"])
    assert client.chat_delete(channel=MEMBER, ts=root["ts"])["ts"] == root["ts"]
    assert {c.method for c in full.calls() if c.ok} == set(METHODS) - {"files.upload"}


DOCUMENTED = [(name, error) for name, method in METHODS.items() for error in method.errors]


@pytest.mark.parametrize(("method", "error"), DOCUMENTED, ids=[f"{m}:{e}" for m, e in DOCUMENTED])
def test_every_documented_error_reaches_the_client(full: SlackEmulator, method: str, error: str) -> None:
    if error == "ratelimited":
        full.rate_limit_next(method, retry_after=3)
    else:
        full.fail_next(method, error)
    with pytest.raises(SlackApiError) as caught:
        CALLS[method](client_for(full, method))
    assert caught.value.response["error"] == error
    assert caught.value.response.status_code == (429 if error == "ratelimited" else 200)
    if error == "ratelimited":
        assert caught.value.response.headers["retry-after"] == "3"


SCOPED = [(name, scope) for name, method in METHODS.items() for scope in method.scopes if method.token == "bot"]
SCOPED += [("conversations.open", "im:write"), ("conversations.info", "channels:read")]
SCOPED += [("conversations.replies", "channels:history")]


@pytest.fixture(scope="module")
def _unscoped() -> Iterator[SlackEmulator]:
    """A bot granted only `commands`: every other scope is missing."""
    with SlackEmulator(clock=FakeClock(), scopes={"commands"}) as emulator:
        yield emulator


@pytest.fixture
def unscoped(_unscoped: SlackEmulator) -> SlackEmulator:
    _unscoped.reset()
    _unscoped.add_channel(MEMBER)
    return _unscoped


@pytest.mark.parametrize(("method", "scope"), SCOPED)
def test_a_missing_scope_carries_needed_and_provided(unscoped: SlackEmulator, method: str, scope: str) -> None:
    with pytest.raises(SlackApiError) as caught:
        CALLS[method](client_for(unscoped, method))
    body = caught.value.response
    assert (body["error"], body["needed"], body["provided"]) == ("missing_scope", scope, "commands")


def test_a_429_mid_upload_is_retried_by_the_rate_limit_handler(
    full: SlackEmulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    no_jitter(monkeypatch)
    client = client_for(full, "files.completeUploadExternal")
    client.retry_handlers.append(RateLimitErrorRetryHandler(max_retry_count=1))
    full.rate_limit_next("files.completeUploadExternal", retry_after=0)
    assert client.files_upload_v2(channel=MEMBER, content=PNG, filename="fox.png")["file"]["id"]
    assert [c.status for c in full.calls("files.completeUploadExternal")] == [429, 200]


def test_what_the_sender_signs_signature_verifier_accepts(full: SlackEmulator, bot: StandInBot) -> None:
    full.send_command(bot.url, "a fox")
    full.send_interaction(bot.url, {"type": "block_actions", "actions": []})
    full.send_event(bot.url, {"type": "app_home_opened", "user": USER, "tab": "home"})
    verifier = SignatureVerifier(full.signing_secret)
    assert [verifier.is_valid_request(r.body, r.headers) for r in bot.received] == [True, True, True]


def test_the_builtin_socket_mode_client_round_trips(clock: FakeClock) -> None:
    emu = SlackEmulator(clock=clock).start()
    client = SocketModeClient(
        app_token=emu.app_token, web_client=WebClient(base_url=emu.api_url), auto_reconnect_enabled=False
    )

    def listener(client: SocketModeClient, request: SocketModeRequest) -> None:
        client.send_socket_mode_response(SocketModeResponse(envelope_id=request.envelope_id, payload={"ok": 1}))

    client.socket_mode_request_listeners.append(listener)
    closed = threading.Event()
    client.on_close_listeners.append(lambda code, reason: closed.set())
    try:
        client.connect()
        emu.wait_for_socket(5)
        assert emu.send_command_socket("a fox") == {"ok": 1}
    finally:
        emu.stop()
        closed.wait(5)
        client.close()
