"""The files operators read — .env.example, manifest.yml, Procfile, requirements.lock — say what the code does."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
import tomllib
from pathlib import Path

import pytest
import yaml
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name
from packaging.version import Version

from bot.__main__ import _parser
from bot.replies import modals
from bot.settings import Settings
from tests.conftest import ROOT


def manifest() -> dict[str, object]:
    loaded = yaml.safe_load((ROOT / "manifest.yml").read_text())
    assert isinstance(loaded, dict)
    return loaded


def test_env_example_lists_every_setting_and_leads_with_todays_model() -> None:
    example = (ROOT / ".env.example").read_text()
    listed = set(re.findall(r"^#?\s*([A-Z][A-Z0-9_]+)=", example, re.MULTILINE))
    assert {name.upper() for name in Settings.model_fields} <= listed
    assert re.search(r"^IMAGE_MODEL=gpt-image-2$", example, re.MULTILINE)
    assert Settings.model_fields["image_model"].default == "gpt-image-2"


def test_manifest_declares_the_command_scopes_events_shortcuts_and_interactivity() -> None:
    data = manifest()
    features, settings = data["features"], data["settings"]
    assert isinstance(features, dict) and isinstance(settings, dict)
    [command] = features["slash_commands"]
    assert command["command"] == "/imagine" and command["url"].endswith("/slack/events")
    assert "gpt-image-2" in str(data["display_information"]) or "1536x864" in command["usage_hint"]
    scopes = set(data["oauth_config"]["scopes"]["bot"])  # type: ignore[index]
    assert {"commands", "chat:write", "chat:write.public", "files:write", "files:read", "im:write",
            "app_mentions:read"} <= scopes  # fmt: skip
    events = settings["event_subscriptions"]
    assert {"app_home_opened", "app_mention"} <= set(events["bot_events"])
    assert events["request_url"] == settings["interactivity"]["request_url"]
    shortcuts = {s["callback_id"]: s["type"] for s in features["shortcuts"]}
    assert shortcuts == {modals.IMAGINE_THIS: "message", modals.FROM_IMAGE: "message"}
    assert len(data["display_information"]["name"]) <= 35  # type: ignore[index]
    assert re.fullmatch(r"[a-z0-9._-]{1,80}", features["bot_user"]["display_name"])


def test_procfile_runs_existing_commands() -> None:
    commands = _parser()._subparsers._group_actions[0].choices  # type: ignore[union-attr]
    lines = dict(line.split(": ", 1) for line in (ROOT / "Procfile").read_text().splitlines() if line)
    assert set(lines) == {"release", "web", "worker"}
    for process in lines.values():
        program, command = process.split()[:2]
        assert program == "imagine-bot" and command in commands


def pins() -> dict[str, Version]:
    found: dict[str, Version] = {}
    for line in (ROOT / "requirements.lock").read_text().splitlines():
        line = line.split("#")[0].strip()
        if line:
            match = re.fullmatch(r"([A-Za-z0-9._-]+)==([^\s;]+)", line)
            assert match, f"not an exact pin: {line!r}"
            found[canonicalize_name(match[1])] = Version(match[2])
    return found


def test_every_runtime_dependency_is_pinned_within_its_range() -> None:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    locked = pins()
    for raw in project["dependencies"]:
        requirement = Requirement(raw)
        name = canonicalize_name(requirement.name)
        assert name in locked, f"{requirement.name} is missing from requirements.lock (see its header)"
        assert requirement.specifier.contains(locked[name]), f"{name}=={locked[name]} is outside {raw!r}"


def test_ci_audits_the_lock_file_and_runs_the_readme_test_command() -> None:
    ci = (ROOT / ".ci" / "run").read_text()
    assert re.search(r"pip-audit -r requirements\.lock\b", ci)
    assert "python3 dev.py test" in ci and "python3 dev.py test" in (ROOT / "README.md").read_text()


def test_the_product_package_ships_without_the_devkit() -> None:
    setuptools = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]
    assert setuptools["packages"]["find"]["include"] == ["bot*"]
    assert not any("devkit" in str(v) or "playground" in str(v) for v in setuptools["package-data"]["bot"])


def test_dev_py_passes_sigterm_on_to_what_it_runs(tmp_path: Path) -> None:
    # `kill <dev.py>` must stop the playground and its bot too, not leave them holding their ports.
    pid_file = tmp_path / "pid"
    child = "import os, pathlib, sys, time; pathlib.Path(sys.argv[1]).write_text(str(os.getpid())); time.sleep(60)"
    runner = (
        f"import sys; sys.path.insert(0, {str(ROOT)!r}); import dev; "
        f"sys.exit(dev.run(sys.executable, '-c', {child!r}, {str(pid_file)!r}))"
    )
    process = subprocess.Popen([sys.executable, "-c", runner])
    try:
        deadline = time.monotonic() + 30
        while not pid_file.exists() or not pid_file.read_text():  # polled: there is nothing to wait on
            assert process.poll() is None and time.monotonic() < deadline
            time.sleep(0.05)
        process.send_signal(signal.SIGTERM)
        process.wait(30)  # dev.py returns once what it ran has stopped
        with pytest.raises(ProcessLookupError):
            os.kill(int(pid_file.read_text()), 0)
    finally:
        process.kill()
