"""Upload v2, files.info/delete, the file host and people's files (docs/contracts/slack.md §5)."""

from __future__ import annotations

import re
import urllib.error

import httpx
import pytest
from slack_sdk import WebClient

from devkit.slack import SlackEmulator
from devkit.slack.transport import LOGIN_PAGE
from tests.emulators.slack.support import (
    ANNOUNCE,
    ARCHIVED,
    MEMBER,
    PNG,
    PRIVATE,
    PUBLIC,
    USER,
    FakeClock,
    api_error,
    png,
)


def test_files_upload_v2_posts_the_bytes_into_a_member_channel(emu: SlackEmulator, client: WebClient) -> None:
    reply = client.files_upload_v2(
        channel=MEMBER, content=PNG, filename="fox.png", title="a fox", initial_comment="<@U0USER0001>: a fox"
    )
    file_id = reply["file"]["id"]
    assert re.match(r"^F[A-Z0-9]{8,}$", file_id)
    assert [c.method for c in emu.calls()] == ["files.getUploadURLExternal", "files.completeUploadExternal"]
    uploaded = emu.files()[file_id]
    assert (uploaded.content, uploaded.length, uploaded.filename, uploaded.title) == (PNG, len(PNG), "fox.png", "a fox")
    assert (uploaded.channel, uploaded.initial_comment, uploaded.user) == (
        MEMBER,
        "<@U0USER0001>: a fox",
        emu.bot_user_id,
    )
    (message,) = emu.messages(MEMBER)
    assert (message.text, message.user) == ("<@U0USER0001>: a fox", emu.bot_user_id)
    assert [f.id for f in message.files] == [file_id]
    assert message.files[0].content == PNG


def test_an_upload_into_a_thread_is_a_reply_with_the_file(emu: SlackEmulator, client: WebClient) -> None:
    root = client.chat_postMessage(channel=MEMBER, text="working on it")["ts"]
    reply = client.files_upload_v2(channel=MEMBER, content=png(), filename="fox.png", thread_ts=root)
    assert reply["files"][0]["id"] == reply["file"]["id"]
    thread = emu.thread(MEMBER, root)
    assert [m.text for m in thread] == ["working on it", ""]
    assert (thread[1].thread_ts, [f.id for f in thread[1].files]) == (root, [reply["file"]["id"]])
    (share,) = emu.files()[reply["file"]["id"]].shared
    assert (share.channel, share.ts, share.thread_ts) == (MEMBER, thread[1].ts, root)


@pytest.mark.parametrize(
    ("channel", "error"),
    [
        (PUBLIC, "not_in_channel"),
        (PRIVATE, "channel_not_found"),
        (ARCHIVED, "is_archived"),
        (ANNOUNCE, "posting_to_channel_denied"),
        ("nonsense", "invalid_channel"),
    ],
)
def test_files_upload_v2_needs_membership(emu: SlackEmulator, client: WebClient, channel: str, error: str) -> None:
    assert api_error(lambda: client.files_upload_v2(channel=channel, content=PNG, filename="fox.png")) == error
    assert emu.messages() == []
    assert emu.files() == {}
    (orphan,) = emu.files(include_pending=True).values()
    assert (orphan.uploaded, orphan.completed) == (True, False)


def test_joining_a_public_channel_allows_uploads(clock: FakeClock) -> None:
    with SlackEmulator(clock=clock, scopes={"channels:join", "files:write", "chat:write"}) as emu:
        client = WebClient(token=emu.bot_token, base_url=emu.api_url)
        assert client.conversations_join(channel=PUBLIC)["channel"]["is_member"] is True
        assert client.conversations_join(channel=PUBLIC)["warning"] == "already_in_channel"
        assert client.files_upload_v2(channel=PUBLIC, content=PNG, filename="fox.png")["ok"]


def test_upload_without_a_channel_stays_private(emu: SlackEmulator, client: WebClient) -> None:
    file_id = client.files_upload_v2(content=PNG, filename="fox.png")["file"]["id"]
    assert emu.files()[file_id].channel is None
    assert emu.messages() == []
    assert client.files_info(file=file_id)["file"]["shares"] == {}


@pytest.mark.parametrize(
    ("length", "alt_txt", "error"),
    [
        ("0", None, "missing_argument"),
        ("-3", None, "invalid_arguments"),
        ("many", None, "invalid_arguments"),
        (None, None, "invalid_arguments"),
        ("10", "x" * 1001, "alt_txt_too_large"),
        ("10", "x" * 1000, None),
    ],
)
def test_get_upload_url_checks_length_and_alt_text(
    emu: SlackEmulator, length: str | None, alt_txt: str | None, error: str | None
) -> None:
    form = {"token": emu.bot_token, "filename": "fox.png"}
    form |= {"length": length} if length else {}
    form |= {"alt_txt": alt_txt} if alt_txt else {}
    reply = httpx.post(emu.api_url + "files.getUploadURLExternal", data=form, trust_env=False).json()
    assert reply.get("error") == error


def reserve(emu: SlackEmulator, content: bytes = PNG) -> tuple[str, str]:
    form = {"token": emu.bot_token, "filename": "fox.png", "length": str(len(content))}
    reply = httpx.post(emu.api_url + "files.getUploadURLExternal", data=form, trust_env=False).json()
    return str(reply["upload_url"]), str(reply["file_id"])


def test_upload_url_takes_raw_or_multipart_bytes_and_checks_the_length(emu: SlackEmulator) -> None:
    url, _ = reserve(emu)
    assert httpx.post(url, content=PNG[:-1], trust_env=False).status_code == 400
    raw = httpx.post(url, content=PNG, trust_env=False)
    assert (raw.status_code, raw.text) == (200, f"OK - {len(PNG)}")
    url, file_id = reserve(emu)
    multipart = httpx.post(url, files={"file": ("fox.png", PNG, "image/png")}, trust_env=False)
    assert multipart.status_code == 200
    assert emu.files(include_pending=True)[file_id].content == PNG
    assert httpx.post(emu.url + "/upload/v1/unknown", content=PNG, trust_env=False).status_code == 404


def test_complete_upload_works_once_and_only_after_the_bytes(emu: SlackEmulator, client: WebClient) -> None:
    reserved = client.files_getUploadURLExternal(filename="fox.png", length=len(PNG))
    files = [{"id": reserved["file_id"], "title": "fox"}]
    assert api_error(lambda: client.files_completeUploadExternal(files=files, channel_id=MEMBER)) == "file_not_found"
    httpx.post(reserved["upload_url"], content=PNG, trust_env=False)
    assert client.files_completeUploadExternal(files=files, channel_id=MEMBER)["files"] == files
    assert api_error(lambda: client.files_completeUploadExternal(files=files, channel_id=MEMBER)) == "file_not_found"


def test_a_failing_upload_url_stops_files_upload_v2(emu: SlackEmulator, client: WebClient) -> None:
    emu.fail_upload_next(503)
    with pytest.raises(urllib.error.HTTPError) as caught:  # urllib raises before the SDK's status check
        client.files_upload_v2(channel=MEMBER, content=PNG, filename="fox.png")
    assert caught.value.code == 503
    caught.value.close()
    assert emu.calls("files.completeUploadExternal") == []
    assert client.files_upload_v2(channel=MEMBER, content=PNG, filename="fox.png")["ok"]


def test_files_info_describes_the_file_and_where_it_is_shared(emu: SlackEmulator, client: WebClient) -> None:
    image = png(5, 4)
    root = client.chat_postMessage(channel=MEMBER, text="root")["ts"]
    file_id = client.files_upload_v2(
        channel=MEMBER, content=image, filename="fox.png", thread_ts=root, alt_txt="a fox"
    )["file"]["id"]
    info = client.files_info(file=file_id)["file"]
    share_ts = emu.thread(MEMBER, root)[1].ts
    assert {k: info["shares"]["public"][MEMBER][0][k] for k in ("ts", "thread_ts")} == {
        "ts": share_ts,
        "thread_ts": root,
    }
    assert (info["mimetype"], info["filetype"], info["size"], info["name"]) == (
        "image/png",
        "png",
        len(image),
        "fox.png",
    )
    assert (info["original_w"], info["original_h"], info["alt_txt"]) == (5, 4, "a fox")
    assert info["channels"] == [MEMBER]
    assert info["url_private"] == f"{emu.url}/files-pri/{emu.team_id}-{file_id}/fox.png"
    assert info["url_private_download"] == f"{emu.url}/files-pri/{emu.team_id}-{file_id}/download/fox.png"


def test_file_host_needs_the_bot_token_and_files_read(emu: SlackEmulator, client: WebClient, clock: FakeClock) -> None:
    file_id = client.files_upload_v2(channel=MEMBER, content=PNG, filename="fox.png")["file"]["id"]
    url = client.files_info(file=file_id)["file"]["url_private_download"]
    good = httpx.get(url, headers={"Authorization": f"Bearer {emu.bot_token}"}, trust_env=False)
    assert (good.status_code, good.headers["content-type"], good.content) == (200, "image/png", PNG)
    for headers in ({}, {"Authorization": "Bearer xoxb-wrong"}):
        login = httpx.get(url, headers=headers, trust_env=False)
        assert (login.status_code, login.headers["content-type"], login.text) == (
            200,
            "text/html; charset=utf-8",
            LOGIN_PAGE,
        )
    assert [(d.file_id, d.token_ok, d.at) for d in emu.downloads()] == [
        (file_id, True, clock.now),
        (file_id, False, clock.now),
        (file_id, False, clock.now),
    ]
    client.files_delete(file=file_id)
    assert httpx.get(url, headers={"Authorization": f"Bearer {emu.bot_token}"}, trust_env=False).status_code == 404


def test_without_files_read_the_file_host_and_files_info_refuse(clock: FakeClock) -> None:
    with SlackEmulator(clock=clock, scopes={"files:write", "chat:write"}) as emu:
        emu.add_channel(MEMBER)
        client = WebClient(token=emu.bot_token, base_url=emu.api_url)
        file_id = client.files_upload_v2(channel=MEMBER, content=PNG, filename="fox.png")["file"]["id"]
        assert api_error(lambda: client.files_info(file=file_id)) == "missing_scope"
        url = f"{emu.url}/files-pri/{emu.team_id}-{file_id}/fox.png"
        reply = httpx.get(url, headers={"Authorization": f"Bearer {emu.bot_token}"}, trust_env=False)
        assert reply.headers["content-type"].startswith("text/html")


def test_deleted_files_leave_their_message(emu: SlackEmulator, client: WebClient) -> None:
    file_id = client.files_upload_v2(channel=MEMBER, content=PNG, filename="fox.png")["file"]["id"]
    client.files_delete(file=file_id)
    assert emu.files()[file_id].deleted
    assert emu.messages(MEMBER)[0].files == []
    assert api_error(lambda: client.files_info(file=file_id)) == "file_deleted"
    assert api_error(lambda: client.files_delete(file=file_id)) == "file_deleted"
    assert api_error(lambda: client.files_info(file="F0000000000")) == "file_not_found"


def test_people_post_files_the_bot_can_read_but_not_delete_or_complete(emu: SlackEmulator, client: WebClient) -> None:
    image = png(8, 6)
    message = emu.post_user_message(MEMBER, "look", files=[("cat.png", image, "image/png")])
    (attached,) = message.files
    assert (message.user, attached.user, attached.completed) == (USER, USER, True)
    assert emu.messages(MEMBER)[0].ts == message.ts
    info = client.files_info(file=attached.id)["file"]
    assert (info["user"], info["original_w"], list(info["shares"]["public"])) == (USER, 8, [MEMBER])
    download = httpx.get(
        info["url_private_download"], headers={"Authorization": f"Bearer {emu.bot_token}"}, trust_env=False
    )
    assert download.content == image
    assert api_error(lambda: client.files_delete(file=attached.id)) == "cant_delete_file"
    files = [{"id": attached.id}]
    assert api_error(lambda: client.files_completeUploadExternal(files=files, channel_id=MEMBER)) == "access_denied"
    in_thread = emu.post_user_message(MEMBER, "", files=[("b.jpg", b"\xff\xd8\xff\xe0", "")], thread_ts=message.ts)
    assert in_thread.files[0].mimetype == "image/jpeg"
    assert [m.ts for m in emu.thread(MEMBER, message.ts)] == [message.ts, in_thread.ts]


def test_shares_show_once_slack_has_processed_the_file(clock: FakeClock) -> None:
    with SlackEmulator(clock=clock, file_ready_after_s=2.0) as emu:
        emu.add_channel(MEMBER)
        client = WebClient(token=emu.bot_token, base_url=emu.api_url)
        file_id = client.files_upload_v2(channel=MEMBER, content=PNG, filename="fox.png")["file"]["id"]
        assert client.files_info(file=file_id)["file"]["shares"] == {}
        clock.now += 2.0
        assert list(client.files_info(file=file_id)["file"]["shares"]["public"]) == [MEMBER]
