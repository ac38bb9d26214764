"""The environment of a bot process that talks to the emulators instead of Slack and Azure."""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING

import bot

if TYPE_CHECKING:
    from bot.emulators.azure import AzureEmulator
    from bot.emulators.slack import SlackEmulator

_PROXY_VARIABLES = ("http_proxy", "https_proxy", "all_proxy", "no_proxy")


def bot_environment(
    slack: SlackEmulator, azure: AzureEmulator, *, database_url: str, **settings: str
) -> dict[str, str]:
    """Environment variables for `python -m bot …` wired to these emulators; `settings` add or override.

    Every bot setting the parent process has is dropped first: a developer's real tokens (or a
    SLACK_APP_TOKEN that would switch on Socket Mode) must never leak into a test or the playground.
    Proxies are dropped too: the emulators are on loopback. Run the child outside the checkout's
    directory as well, so a `.env` there is not read either.
    """
    from bot.settings import Settings

    names = {name.upper() for name in Settings.model_fields}
    env = {
        key: value
        for key, value in os.environ.items()
        if key.upper() not in names and key.lower() not in _PROXY_VARIABLES and key != "PYTHONPATH"
    }
    # The checkout this code runs from comes first, so the child runs the same bot even uninstalled.
    source_root = str(Path(bot.__file__).resolve().parent.parent)
    env["PYTHONPATH"] = os.pathsep.join(p for p in (source_root, os.environ.get("PYTHONPATH")) if p)
    env.update(
        SLACK_BOT_TOKEN=slack.bot_token,
        SLACK_SIGNING_SECRET=slack.signing_secret,
        SLACK_API_URL=slack.api_url,
        AZURE_OPENAI_ENDPOINT=azure.url,
        AZURE_OPENAI_API_KEY=azure.api_key,
        DATABASE_URL=database_url,
        HOST="127.0.0.1",
        PYTHONUNBUFFERED="1",
    )
    env.update(settings)
    return env
