"""The files operators read — .env.example, manifest.yml, Procfile — say what the code does."""

from __future__ import annotations

import re
from pathlib import Path

import yaml

from bot.__main__ import _parser
from bot.settings import Settings

ROOT = Path(__file__).resolve().parent.parent


def test_env_example_lists_every_setting() -> None:
    listed = set(re.findall(r"^#?\s*([A-Z][A-Z0-9_]+)=", (ROOT / ".env.example").read_text(), re.MULTILINE))
    assert {name.upper() for name in Settings.model_fields} <= listed


def test_manifest_declares_the_command_scopes_and_interactivity() -> None:
    manifest = yaml.safe_load((ROOT / "manifest.yml").read_text())

    [command] = manifest["features"]["slash_commands"]
    assert command["command"] == "/imagine"
    assert command["description"]
    assert command["usage_hint"]
    assert command["url"].endswith("/slack/events")
    scopes = set(manifest["oauth_config"]["scopes"]["bot"])
    assert {"commands", "chat:write", "chat:write.public", "files:write", "im:write"} <= scopes
    assert manifest["settings"]["interactivity"]["is_enabled"] is True
    assert manifest["settings"]["interactivity"]["request_url"].endswith("/slack/events")
    assert len(manifest["display_information"]["name"]) <= 35
    assert re.fullmatch(r"[a-z0-9._-]{1,80}", manifest["features"]["bot_user"]["display_name"])


def test_manifest_enables_the_home_tab_and_its_event() -> None:
    manifest = yaml.safe_load((ROOT / "manifest.yml").read_text())

    assert manifest["features"]["app_home"]["home_tab_enabled"] is True
    events = manifest["settings"]["event_subscriptions"]
    assert events["request_url"].endswith("/slack/events")
    assert events["request_url"] == manifest["settings"]["interactivity"]["request_url"]
    assert "app_home_opened" in events["bot_events"]


def test_procfile_runs_existing_commands() -> None:
    commands = _parser()._subparsers._group_actions[0].choices  # type: ignore[union-attr]
    lines = dict(line.split(": ", 1) for line in (ROOT / "Procfile").read_text().splitlines() if line)
    assert set(lines) == {"release", "web", "worker"}
    for process in lines.values():
        program, command = process.split()[:2]
        assert program == "imagine-bot"
        assert command in commands
