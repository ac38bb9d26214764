"""What only processes prove beyond `serve`: Socket Mode, web and workers on PostgreSQL, the CLI."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from devkit.azure import AzureEmulator
from devkit.harness import ROOT
from devkit.slack import SlackEmulator
from tests.conftest import CHANNEL, postgres_url
from tests.e2e.conftest import WAIT, BotFactory, has_image, top_level


def test_socket_mode_answers_the_command_over_the_socket(run_bot: BotFactory, slack: SlackEmulator) -> None:
    run_bot(slack_app_token=slack.app_token)
    slack.wait_for_socket(timeout=WAIT)
    ack = slack.send_command_socket("a fox over the socket", timeout=WAIT)
    assert "Job 1" in str(ack)
    slack.wait_for(lambda: next((m for m in top_level(slack) if has_image(m)), None), timeout=WAIT)


@pytest.mark.skipif(postgres_url() is None, reason="scale-out runs on PostgreSQL (TEST_DATABASE_URL)")
def test_one_web_and_two_workers_on_postgresql_post_each_image_once(
    run_bot: BotFactory, slack: SlackEmulator, azure: AzureEmulator, database_url: str
) -> None:
    web = run_bot("web")
    run_bot("worker")
    run_bot("worker")
    for index in range(12):
        assert slack.send_command(web.url, f"idea {index}", channel_id=CHANNEL).status == 200

    def settled() -> bool:
        # Each result replaces its placeholder, then its previews are deleted.
        previews_gone = all(f.deleted for f in slack.files().values() if "preview" in f.filename)
        return sum(has_image(m) for m in top_level(slack)) == 12 and previews_gone

    slack.wait_for(lambda: settled() or None, timeout=WAIT * 2)
    assert len(top_level(slack)) == 12
    finals = [f for f in slack.files().values() if "preview" not in f.filename]
    assert len(finals) == 12
    assert len({f.filename for f in finals}) == 12


def run_cli(*args: str, database_url: str, tmp_path: Path) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SLACK_", "AZURE_"))}
    env.update(DATABASE_URL=database_url, PYTHONPATH=str(ROOT))
    command = [sys.executable, "-m", "bot", *args]
    return subprocess.run(command, env=env, cwd=tmp_path, capture_output=True, text=True, timeout=WAIT)


def test_settings_problems_are_one_plain_line_each(tmp_path: Path, database_url: str) -> None:
    done = run_cli("serve", database_url=database_url, tmp_path=tmp_path)
    assert done.returncode == 2
    assert "SLACK_BOT_TOKEN is missing: expected the Bot User OAuth Token" in done.stderr
    assert "Traceback" not in done.stderr


def test_migrate_and_report_work_from_the_command_line(tmp_path: Path, database_url: str) -> None:
    migrated = run_cli("migrate", database_url=database_url, tmp_path=tmp_path)
    assert migrated.returncode == 0 and "revision 0006" in migrated.stdout
    report = run_cli("report", "--by", "origin", "--format", "csv", database_url=database_url, tmp_path=tmp_path)
    assert report.returncode == 0 and report.stdout.startswith("origin,images,failed")
