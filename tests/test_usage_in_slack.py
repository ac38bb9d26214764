"""Usage, limits and privacy, end to end: what people and admins see in Slack, and what the bot refuses."""

from __future__ import annotations

import csv
import io
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, update
from sqlalchemy.orm import Session

from bot.emulators.slack import SlackEmulator
from bot.usage.models import Generation
from tests.conftest import CHANNEL, ROOT, USER, BotFactory
from tests.test_end_to_end import finished_rows, rows

pytestmark = pytest.mark.e2e

ADMIN = "U0ADMIN001"
OTHER = "U0OTHER001"


def make_images(slack: SlackEmulator, bot_url: str, engine: Engine, count: int, user: str = USER) -> None:
    before = len(rows(engine))
    for n in range(count):
        slack.send_command(bot_url, f"usage test image {n}", user_id=user)
    finished_rows(engine, count=before + count)


def test_a_person_sees_their_own_figures_and_limits(run_bot: BotFactory, slack: SlackEmulator, engine: Engine) -> None:
    bot = run_bot("dall-e-3", LIMIT_IMAGES_PER_USER_PER_DAY="10", LIMIT_JOBS_IN_FLIGHT_PER_USER="3")
    make_images(slack, bot.url, engine, 2)

    reply = slack.send_command(bot.url, "usage").json()

    assert reply["response_type"] == "ephemeral"
    text = reply["text"]
    assert "Today: 2 images · $0.08" in text
    assert "Last 30 days: 2 images · $0.08" in text
    assert "8 of 10 images left today" in text
    assert "Workspace" not in text  # not an admin
    assert len(rows(engine)) == 2  # `usage` is not a prompt


def test_an_admin_also_sees_the_workspace(run_bot: BotFactory, slack: SlackEmulator, engine: Engine) -> None:
    bot = run_bot("dall-e-3", ADMIN_USER_IDS=ADMIN)
    make_images(slack, bot.url, engine, 2)
    make_images(slack, bot.url, engine, 1, user=OTHER)

    text = slack.send_command(bot.url, "usage", user_id=ADMIN).json()["text"]

    assert "Workspace, last 30 days*: 3 images · $0.12" in text
    assert text.index(f"<@{USER}>: 2") < text.index(f"<@{OTHER}>: 1")  # top people, most first
    assert f"<#{CHANNEL}>: 3" in text
    assert "dall-e-3: 3" in text


def test_an_admin_gets_the_csv_by_direct_message(run_bot: BotFactory, slack: SlackEmulator, engine: Engine) -> None:
    bot = run_bot("dall-e-3", ADMIN_USER_IDS=ADMIN)
    make_images(slack, bot.url, engine, 2)

    ack = slack.send_command(bot.url, "usage csv", user_id=ADMIN).json()

    assert "direct message" in ack["text"]
    [upload] = slack.wait_for(
        lambda: [m for m in slack.messages() if m.channel.startswith("D") and m.files], timeout=10
    )
    [file] = upload.files
    assert file.filename.endswith(".csv")
    table = list(csv.DictReader(io.StringIO(file.content.decode())))
    assert table[0]["user_id"] == USER
    assert table[0]["images"] == "2"
    assert Decimal(table[0]["estimated_cost_usd"]) == Decimal("0.08")


def test_the_csv_is_for_admins_only(run_bot: BotFactory, slack: SlackEmulator) -> None:
    bot = run_bot("dall-e-3", ADMIN_USER_IDS=ADMIN)

    reply = slack.send_command(bot.url, "usage csv").json()["text"]

    assert "Only admins" in reply
    assert not [m for m in slack.messages() if m.files]


@pytest.mark.parametrize(
    ("settings", "already", "text", "expected"),
    [
        (
            {"LIMIT_IMAGES_PER_USER_PER_DAY": "2"},
            2,
            "one more please",
            ["daily image limit", "Now at 2; the limit is 2", "resets"],
        ),
        ({"LIMIT_IMAGES_PER_USER_PER_DAY": "3"}, 2, "two more --n 2", ["daily image limit"]),
        ({"MONTHLY_BUDGET_USD": "0.10"}, 2, "a third", ["monthly image budget", "$0.08", "$0.10", "resets"]),
        ({"DENIED_CHANNELS": CHANNEL}, 0, "anything", ["not open for /imagine"]),
        ({"ALLOWED_CHANNELS": "C0ELSEWHERE"}, 0, "anything", ["not open for /imagine", "<#C0ELSEWHERE>"]),
    ],
)
def test_a_blocked_request_says_which_limit_and_queues_nothing(
    run_bot: BotFactory,
    slack: SlackEmulator,
    engine: Engine,
    settings: dict[str, str],
    already: int,
    text: str,
    expected: list[str],
) -> None:
    bot = run_bot("gpt-image-1" if "--n" in text else "dall-e-3", **settings)
    make_images(slack, bot.url, engine, already)

    reply = slack.send_command(bot.url, text).json()["text"]

    for phrase in expected:
        assert phrase in reply
    assert "Nothing was queued" in reply
    assert len(rows(engine)) == already


def test_jobs_in_flight_are_limited_per_person(
    run_bot: BotFactory, slack: SlackEmulator, azure: Any, engine: Engine
) -> None:
    from bot.emulators.azure import Slow

    azure.fail_next(Slow(2))
    bot = run_bot("dall-e-3", LIMIT_JOBS_IN_FLIGHT_PER_USER="1")

    slack.send_command(bot.url, "a slow one")
    second = slack.send_command(bot.url, "another").json()["text"]
    other_person = slack.send_command(bot.url, "someone else's", user_id=OTHER).json()["text"]

    assert "as many images in progress as allowed" in second
    assert "Imagining" in other_person


def test_admins_are_exempt_unless_configured_otherwise(
    run_bot: BotFactory, slack: SlackEmulator, engine: Engine
) -> None:
    bot = run_bot("dall-e-3", ADMIN_USER_IDS=ADMIN, DENIED_CHANNELS=CHANNEL)

    assert "Imagining" in slack.send_command(bot.url, "admin's image", user_id=ADMIN).json()["text"]
    assert "not open" in slack.send_command(bot.url, "user's image").json()["text"]


def test_a_button_click_counts_against_the_clickers_limits(
    run_bot: BotFactory, slack: SlackEmulator, engine: Engine
) -> None:
    from tests.test_brainstorming import click, controls

    bot = run_bot("dall-e-3", LIMIT_IMAGES_PER_USER_PER_DAY="1")
    make_images(slack, bot.url, engine, 1)

    sent = click(slack, bot.url, controls(slack, rows(engine)[0].id), "imagine_regenerate")

    answer = slack.wait_for(lambda: slack.responses(sent.response_url), timeout=10)
    assert "daily image limit" in answer[0].body["text"]
    assert len(rows(engine)) == 1


def test_hashed_prompts_keep_only_a_fingerprint_once_the_image_is_made(
    run_bot: BotFactory, slack: SlackEmulator, engine: Engine
) -> None:
    bot = run_bot("dall-e-3", STORE_PROMPTS="hash")

    slack.send_command(bot.url, "a private matter")

    [row] = finished_rows(engine)
    assert row.prompt.startswith("sha256:")
    assert row.revised_prompt is not None
    assert row.revised_prompt.startswith("sha256:")
    assert "a private matter" in (slack.messages(CHANNEL)[0].text or "")  # the post itself is unchanged


def test_purge_erases_old_prompts_but_keeps_counts_and_costs(
    run_bot: BotFactory, slack: SlackEmulator, engine: Engine, database_url: str, tmp_path: Path
) -> None:
    bot = run_bot("dall-e-3")
    make_images(slack, bot.url, engine, 2)
    old, recent = rows(engine)
    with Session(engine) as session:
        session.execute(
            update(Generation)
            .where(Generation.id == old.id)
            .values(finished_at=datetime.now(UTC) - timedelta(days=100))
        )
        session.commit()

    result = subprocess.run(
        [sys.executable, "-m", "bot", "purge", "--older-than", "90"],
        cwd=tmp_path,
        env={"PATH": "/usr/bin:/bin", "PYTHONPATH": str(ROOT), "DATABASE_URL": database_url},
        capture_output=True,
        text=True,
        timeout=60,
    )

    assert result.returncode == 0, result.stderr
    assert "Erased the prompts of 1 request" in result.stdout
    purged, kept = rows(engine)
    assert (purged.prompt, purged.revised_prompt) == ("", None)
    assert purged.estimated_cost_usd == old.estimated_cost_usd
    assert purged.status == "succeeded"
    assert kept.prompt == recent.prompt
