"""The bot token's scopes, read from the app manifest that the real app is installed with.

docs/contracts/slack.md §3: every Web API method needs the scopes Slack documents for it, and Slack
answers `missing_scope` with `needed` and `provided` when one is absent. Reading them from manifest.yml
means a scope dropped from the manifest fails the bot's tests with that scope's name.
"""

from __future__ import annotations

from pathlib import Path

import yaml

__all__ = ["APP_TOKEN_SCOPES", "default_manifest_path", "manifest_scopes"]

# An app-level token for Socket Mode carries connections:write (docs/contracts/slack.md §9).
APP_TOKEN_SCOPES = frozenset({"connections:write"})


def default_manifest_path() -> Path:
    """The repository's manifest.yml: the repository root is the parent of devkit/."""
    return Path(__file__).resolve().parent.parent.parent / "manifest.yml"


def manifest_scopes(path: Path | str | None = None) -> frozenset[str]:
    """The bot scopes of an app manifest (`oauth_config.scopes.bot`), the repository's by default."""
    manifest_path = Path(path) if path is not None else default_manifest_path()
    manifest = yaml.safe_load(manifest_path.read_text(encoding="utf-8"))
    try:
        scopes = manifest["oauth_config"]["scopes"]["bot"]
    except (KeyError, TypeError):
        raise ValueError(f"{manifest_path} has no oauth_config.scopes.bot list") from None
    if not isinstance(scopes, list) or not all(isinstance(s, str) for s in scopes):
        raise ValueError(f"{manifest_path}: oauth_config.scopes.bot must be a list of scope names")
    return frozenset(scopes)
