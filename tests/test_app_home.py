"""The App Home tab, end to end: Slack sends `app_home_opened`, the real bot publishes the person's view."""

from __future__ import annotations

import json
import re
from typing import Any
from urllib.parse import urlsplit
from wsgiref.util import setup_testing_defaults

import pytest
from pydantic import SecretStr
from sqlalchemy import Engine

from bot.charts_http import ChartEndpoint, chart_signing_key
from bot.emulators.slack import SentRequest, SlackEmulator
from tests.conftest import CHANNEL, USER, BotFactory
from tests.test_end_to_end import finished_rows
from tests.test_usage_in_slack import ADMIN, OTHER, make_images

pytestmark = pytest.mark.e2e

PUBLIC_URL = "https://bot.example.com"


def open_home(slack: SlackEmulator, bot_url: str, user: str, tab: str = "home") -> SentRequest:
    # Slack sends the event for each tab a person opens (Home, Messages, About), with the DM's id.
    event = {"type": "app_home_opened", "user": user, "channel": "D0HOME0001", "tab": tab}
    sent = slack.send_event(bot_url, event)
    assert sent.status == 200, sent.text
    return sent


def home_of(slack: SlackEmulator, user: str) -> dict[str, Any]:
    view: dict[str, Any] = slack.wait_for(lambda: slack.home_views().get(user), timeout=10)
    assert view["type"] == "home"
    return view


def shown(view: dict[str, Any]) -> str:
    # ensure_ascii=False: the escape's word joiner must stay a character, not become "\u2060".
    return json.dumps(view["blocks"], ensure_ascii=False)


def blocks_of(view: dict[str, Any], kind: str) -> list[dict[str, Any]]:
    return [block for block in view["blocks"] if block["type"] == kind]


def test_a_person_sees_their_figures_and_latest_prompts_escaped(
    run_bot: BotFactory, slack: SlackEmulator, engine: Engine
) -> None:
    bot = run_bot("dall-e-3", LIMIT_IMAGES_PER_USER_PER_DAY="10")
    # As Slack sends what was typed: a broadcast as markup, & < > as entities.
    slack.send_command(bot.url, "a poster for <!channel> &amp; friends &lt;b&gt;hi&lt;/b&gt;")
    finished_rows(engine, count=1)
    slack.send_command(bot.url, "a lighthouse at dusk")
    finished_rows(engine, count=2)

    sent = open_home(slack, bot.url, USER)
    view = home_of(slack, USER)

    assert sent.body in (b"", b"{}")  # the event was acked; the view came after
    text = shown(view)
    assert "Today: 2 images · $0.08" in text
    assert "Last 30 days: 2 images · $0.08" in text
    assert "8 of 10 images left today" in text
    assert "a poster for @\u2060channel &amp; friends &lt;b&gt;hi&lt;/b&gt;" in text
    assert "<!channel>" not in text
    assert not re.search(r"@(channel|here|everyone)\b", text)
    assert text.index("a lighthouse at dusk") < text.index("a poster for")  # newest first
    assert text.count(":white_check_mark: posted") == 2
    assert f"in <#{CHANNEL}>" in text
    assert "<!date^" in text
    assert "/imagine help" in text  # the how-to hint
    assert "Workspace" not in text  # not an admin
    assert not blocks_of(view, "image")


def test_opening_the_messages_tab_publishes_nothing(run_bot: BotFactory, slack: SlackEmulator) -> None:
    bot = run_bot("dall-e-3")

    open_home(slack, bot.url, USER, tab="messages")
    open_home(slack, bot.url, OTHER)  # a later event that does publish, so the first had its chance

    home_of(slack, OTHER)
    assert USER not in slack.home_views()
    assert [call.args["user_id"] for call in slack.calls("views.publish")] == [OTHER]


def test_an_admin_with_a_public_url_sees_a_signed_chart(
    run_bot: BotFactory, slack: SlackEmulator, engine: Engine
) -> None:
    bot = run_bot("dall-e-3", ADMIN_USER_IDS=ADMIN, PUBLIC_URL=PUBLIC_URL + "/")
    make_images(slack, bot.url, engine, 2)
    make_images(slack, bot.url, engine, 1, user=OTHER)

    open_home(slack, bot.url, ADMIN)
    view = home_of(slack, ADMIN)

    text = shown(view)
    assert "Workspace, last 30 days" in text
    assert "3 images · $0.12 · 0 failed · 0 rejected" in text
    assert text.index(f"<@{USER}>: 2") < text.index(f"<@{OTHER}>: 1")
    assert f"<#{CHANNEL}>: 3" in text
    assert "Today: 0 images" in text  # the admin's own figures come first
    [image] = blocks_of(view, "image")
    url = image["image_url"]
    assert re.fullmatch(rf"{re.escape(PUBLIC_URL)}/charts/{slack.team_id}\.png\?exp=\d+&sig=[0-9a-f]{{64}}", url), url
    assert "3 images" in image["alt_text"]
    # The route is served by `build_wsgi`; here the endpoint itself checks that the bot signed the URL
    # with the key every process derives from the signing secret.
    charts = ChartEndpoint(engine, chart_signing_key(SecretStr(slack.signing_secret)))
    environ: dict[str, Any] = {"PATH_INFO": urlsplit(url).path, "QUERY_STRING": urlsplit(url).query}
    setup_testing_defaults(environ)
    statuses: list[str] = []
    body = b"".join(charts(environ, lambda status, headers, exc_info=None: statuses.append(status)))  # type: ignore[arg-type, func-returns-value]
    assert statuses == ["200 OK"]
    assert body.startswith(b"\x89PNG")


def test_an_admin_without_a_public_url_sees_a_sparkline(
    run_bot: BotFactory, slack: SlackEmulator, engine: Engine
) -> None:
    bot = run_bot("dall-e-3", ADMIN_USER_IDS=ADMIN)
    make_images(slack, bot.url, engine, 2)

    open_home(slack, bot.url, ADMIN)
    view = home_of(slack, ADMIN)

    text = shown(view)
    assert not blocks_of(view, "image")
    [line] = re.findall(r"`([▁▂▃▄▅▆▇█]+)`", text)
    assert len(line) == 30
    assert line.endswith("█")  # today, the only day with images
    assert set(line[:-1]) == {"▁"}
    assert "PUBLIC_URL" in text


def test_slack_can_fetch_the_chart_from_the_bots_own_url(
    run_bot: BotFactory, slack: SlackEmulator, engine: Engine
) -> None:
    import httpx

    from tests.conftest import free_port

    port = free_port()
    bot = run_bot("dall-e-3", ADMIN_USER_IDS=ADMIN, PORT=str(port), PUBLIC_URL=f"http://127.0.0.1:{port}")
    make_images(slack, bot.url, engine, 1)

    open_home(slack, bot.url, ADMIN)
    [image] = blocks_of(home_of(slack, ADMIN), "image")

    fetched = httpx.get(image["image_url"])  # what Slack does to show the image block
    assert fetched.status_code == 200
    assert fetched.headers["content-type"] == "image/png"
    assert fetched.content.startswith(b"\x89PNG")
    tampered = httpx.get(image["image_url"].replace("sig=", "sig=0"))
    assert tampered.status_code == 403
