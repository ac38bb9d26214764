"""What people and admins see of usage in Slack: `/imagine usage`, the CSV, the App Home and its chart,
limits counted on the right person, and prompts hashed when asked."""

from __future__ import annotations

import hashlib
import json
from decimal import Decimal
from urllib.parse import urlsplit

from bot.replies import results
from bot.store.spec import PromptStorage
from devkit.slack import SlackEmulator
from tests.conftest import CHANNEL, USER
from tests.harness import Bot
from tests.inprocess.conftest import MakeBot

ADMIN = "U0ADMIN001"


def home_opened(bot: Bot, slack: SlackEmulator, user: str, tab: str = "home") -> None:
    event = {"type": "app_home_opened", "user": user, "channel": "D0HOME0001", "tab": tab, "event_ts": "1.0"}
    assert slack.send_event(bot.url, event).status == 200


def test_a_person_sees_their_figures_and_limits(make_bot: MakeBot, slack: SlackEmulator) -> None:
    bot = make_bot(limit_images_per_user_per_day=10)
    bot.command("a fox --n 2 --quality low")
    bot.work()
    text = bot.command("usage").json()["text"]
    assert "Today: 2 images" in text
    assert "8 of 10 images left today" in text
    assert "Workspace" not in text


def test_an_admin_also_sees_the_workspace_and_gets_the_csv_by_dm(make_bot: MakeBot, slack: SlackEmulator) -> None:
    bot = make_bot(admin_user_ids=ADMIN)
    bot.command("a fox")
    bot.work()
    assert "Top people" in bot.command("usage", user_id=ADMIN).json()["text"]
    assert "CSV file" in bot.command("usage csv", user_id=ADMIN).json()["text"]
    [csv_file] = [f for f in slack.files().values() if f.filename.endswith(".csv")]
    assert csv_file.channel and csv_file.channel.startswith("D")
    assert b"user_id,images" in csv_file.content and USER.encode() in csv_file.content
    assert "Only admins" in bot.command("usage csv").json()["text"]


def test_a_csv_slack_will_not_take_gets_a_plain_answer(make_bot: MakeBot, slack: SlackEmulator) -> None:
    bot = make_bot(admin_user_ids=ADMIN)
    slack.fail_next("files.getUploadURLExternal", "file_uploads_disabled")
    assert "CSV file" in bot.command("usage csv", user_id=ADMIN).json()["text"]
    assert not [f for f in slack.files().values() if f.filename.endswith(".csv")]
    assert any("would not let me send you the CSV" in r.body["text"] for r in slack.responses())


def test_the_home_tab_lists_recent_prompts_escaped(bot: Bot, slack: SlackEmulator) -> None:
    bot.command("a <b>bold</b> fox @channel")
    bot.work()
    home_opened(bot, slack, USER)
    view = slack.home_views()[USER]
    text = json.dumps(view)
    assert "posted" in text
    assert "&lt;b&gt;bold&lt;/b&gt; fox" in text and "@channel" not in text


def test_opening_the_messages_tab_publishes_nothing(bot: Bot, slack: SlackEmulator) -> None:
    home_opened(bot, slack, USER, tab="messages")
    assert slack.home_views() == {}


def test_an_admin_with_a_public_url_gets_a_signed_chart_slack_can_fetch(
    make_bot: MakeBot, slack: SlackEmulator
) -> None:
    bot = make_bot(admin_user_ids=ADMIN, public_url="https://bot.example.com")
    bot.command("a fox")
    bot.work()
    home_opened(bot, slack, ADMIN)
    [chart] = [b for b in slack.home_views()[ADMIN]["blocks"] if b.get("type") == "image"]
    url = urlsplit(chart["image_url"])
    assert url.netloc == "bot.example.com" and url.path == f"/charts/{slack.team_id}.png"
    front = bot.front
    from bot.web.charts import ChartEndpoint, chart_signing_key

    bot.front._charts = ChartEndpoint(
        bot.components.reader, chart_signing_key(bot.settings.slack_signing_secret), bot.clock
    )
    status, headers, body = bot.request("GET", url.path, query=url.query)
    assert status == 200 and headers["content-type"] == "image/png" and body.startswith(b"\x89PNG")
    assert bot.request("GET", url.path, query=url.query.replace("sig=", "sig=0"))[0] == 403
    assert front is bot.front


def test_an_admin_without_a_public_url_sees_a_sparkline(make_bot: MakeBot, slack: SlackEmulator) -> None:
    bot = make_bot(admin_user_ids=ADMIN)
    home_opened(bot, slack, ADMIN)
    assert "Set `PUBLIC_URL`" in json.dumps(slack.home_views()[ADMIN])


def test_a_button_click_counts_against_the_clickers_limits(make_bot: MakeBot, slack: SlackEmulator) -> None:
    bot = make_bot(limit_images_per_user_per_day=1)
    bot.command("a fox")
    bot.work()
    root = next(m for m in slack.messages(CHANNEL) if not m.thread_ts)
    slack.send_block_action(bot.url, action_id=results.REGENERATE, value="1", message=root, user_id=USER)
    assert any("daily image limit" in r.body["text"] for r in slack.responses())
    slack.send_block_action(bot.url, action_id=results.REGENERATE, value="1", message=root, user_id="U0OTHER001")
    assert len(bot.jobs()) == 2


def test_admins_are_exempt_unless_configured_otherwise(make_bot: MakeBot) -> None:
    exempt = make_bot(admin_user_ids=ADMIN, limit_jobs_in_flight_per_user=1)
    exempt.command("one", user_id=ADMIN)
    assert "Job 2" in exempt.command("two", user_id=ADMIN).json()["text"]


def test_hashed_prompts_keep_only_a_fingerprint_once_the_image_is_made(make_bot: MakeBot, slack: SlackEmulator) -> None:
    bot = make_bot(store_prompts="hash")
    bot.command("a secret fox")
    bot.work()
    job = bot.job(1)
    assert job.prompt_storage is PromptStorage.HASHED
    assert job.request.prompt == hashlib.sha256(b"a secret fox").hexdigest()
    root = next(m for m in slack.messages(CHANNEL) if not m.thread_ts)
    slack.send_block_action(bot.url, action_id=results.REGENERATE, value="1", message=root)
    assert any("does not keep prompts" in r.body["text"] for r in slack.responses())


def test_the_cost_of_a_job_comes_from_its_tokens(bot: Bot) -> None:
    bot.command("a fox --quality medium")
    bot.work()
    job = bot.job(1)
    # FakeImages reports 1056 image tokens out (gpt-image-2, 1024x1024, medium) and 2 text tokens in.
    assert job.output_tokens == 1056
    assert job.estimated_cost_usd == (Decimal(1056) * 30 + Decimal(job.text_input_tokens or 0) * 5) / 1_000_000
