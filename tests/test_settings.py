"""Settings: the public names, clear start-up errors, and secrets that never print."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from pydantic import ValidationError

from bot.request import Family
from bot.settings import CoreSettings, Settings, describe_errors

VALID = {
    "SLACK_BOT_TOKEN": "xoxb-1234-secret-bot-token",
    "SLACK_SIGNING_SECRET": "signing-secret-value-123",
    "AZURE_OPENAI_ENDPOINT": "https://example.openai.azure.com",
    "AZURE_OPENAI_API_KEY": "azure-key-value-456",
    "AZURE_OPENAI_DEPLOYMENT": "dalle3",
}
ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(autouse=True)
def clean_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    for name in [*VALID, "SLACK_APP_TOKEN", "IMAGE_MODEL", "DATABASE_URL", "PORT", "SLACK_API_URL"]:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.chdir(tmp_path)  # no stray .env


def load(monkeypatch: pytest.MonkeyPatch, **values: str) -> Settings:
    for name, value in {**VALID, **values}.items():
        monkeypatch.setenv(name, value)
    return Settings()


def test_defaults_follow_the_contract(monkeypatch: pytest.MonkeyPatch) -> None:
    settings = load(monkeypatch)

    assert settings.image_model == "dall-e-3"
    assert settings.family is Family.DALL_E_3
    assert settings.slack_api_url == "https://slack.com/api/"
    assert (settings.host, settings.port) == ("0.0.0.0", 3000)
    assert settings.database_url.startswith("sqlite:///")
    assert settings.azure_openai_api_version is None
    assert settings.slack_app_token is None


def test_settings_load_from_a_dotenv_file(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    (tmp_path / ".env").write_text("".join(f"{k}={v}\n" for k, v in VALID.items()) + "IMAGE_MODEL=gpt-image-1\n")

    settings = Settings()

    assert settings.family is Family.GPT_IMAGE
    assert settings.azure_openai_deployment == "dalle3"


def test_secrets_never_appear_in_reprs(monkeypatch: pytest.MonkeyPatch) -> None:
    settings = load(monkeypatch, SLACK_APP_TOKEN="xapp-1-secret-app-token")

    shown = repr(settings) + str(settings) + settings.model_dump_json()
    for secret in (*VALID.values(), "xapp-1-secret-app-token"):
        if "secret" in secret or "key" in secret:
            assert secret not in shown


@pytest.mark.parametrize(
    ("variable", "value", "expected"),
    [
        ("SLACK_BOT_TOKEN", None, "SLACK_BOT_TOKEN is missing: expected the Bot User OAuth Token"),
        ("SLACK_BOT_TOKEN", "xoxp-user-token", "SLACK_BOT_TOKEN is invalid: expected the Bot User OAuth Token"),
        ("SLACK_APP_TOKEN", "xoxb-wrong-kind", "SLACK_APP_TOKEN is invalid: expected an app-level token"),
        (
            "AZURE_OPENAI_ENDPOINT",
            "example.openai.azure.com",
            "AZURE_OPENAI_ENDPOINT is invalid: expected the resource",
        ),
        ("AZURE_OPENAI_DEPLOYMENT", None, "AZURE_OPENAI_DEPLOYMENT is missing"),
        ("IMAGE_MODEL", "midjourney-v7", "IMAGE_MODEL is invalid: expected dall-e-3, dall-e-2, or a gpt-image-*"),
        ("PORT", "eighty", "PORT is invalid: expected a TCP port number"),
        ("DATABASE_URL", "mysql://x", "DATABASE_URL is invalid: expected a SQLAlchemy URL"),
    ],
)
def test_a_bad_setting_is_named_with_what_it_should_look_like(
    monkeypatch: pytest.MonkeyPatch, variable: str, value: str | None, expected: str
) -> None:
    for name, good in VALID.items():
        monkeypatch.setenv(name, good)
    if value is None:
        monkeypatch.delenv(variable)
    else:
        monkeypatch.setenv(variable, value)

    with pytest.raises(ValidationError) as caught:
        Settings()

    [line] = describe_errors(caught.value, Settings)
    assert line.startswith(expected)
    assert value is None or value not in line  # the bad value may be a secret: never echoed


def test_migrate_needs_only_the_database(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DATABASE_URL", "sqlite:///x.sqlite3")
    assert CoreSettings().database_url == "sqlite:///x.sqlite3"


def test_the_cli_stops_with_one_line_per_bad_setting(tmp_path: Path) -> None:
    env = {"PATH": "/usr/bin:/bin", "SLACK_BOT_TOKEN": "xoxb-ok-token-123", "SLACK_SIGNING_SECRET": "s3cret-value"}

    result = subprocess.run(
        [sys.executable, "-m", "bot", "serve"],
        cwd=tmp_path,
        env={**env, "PYTHONPATH": str(ROOT)},
        capture_output=True,
        text=True,
        timeout=60,
    )

    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert "imagine-bot: AZURE_OPENAI_ENDPOINT is missing: expected the resource endpoint" in lines[0]
    assert any("AZURE_OPENAI_API_KEY is missing" in line for line in lines)
    assert "Traceback" not in result.stderr
    assert "s3cret-value" not in result.stderr
