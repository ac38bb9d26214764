"""bot.settings: the public names and their defaults, clear start-up errors, and secrets that never print."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pytest
from pydantic import ValidationError

from bot.images.models import Deployment
from bot.images.pricing import TokenRates
from bot.settings import CoreSettings, Settings, describe_errors
from bot.usage.limits import LimitSettings

VALID = {
    "SLACK_BOT_TOKEN": "xoxb-1234-secret-bot-token",
    "SLACK_SIGNING_SECRET": "signing-secret-value-123",
    "AZURE_OPENAI_ENDPOINT": "https://example.openai.azure.com",
    "AZURE_OPENAI_API_KEY": "azure-key-value-456",
    "AZURE_OPENAI_DEPLOYMENT": "images",
}
SECRETS = ("xoxb-1234-secret-bot-token", "signing-secret-value-123", "azure-key-value-456")


@pytest.fixture(autouse=True)
def clean_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    for name in Settings.model_fields:
        monkeypatch.delenv(name.upper(), raising=False)
    monkeypatch.chdir(tmp_path)  # no stray .env


def load(monkeypatch: pytest.MonkeyPatch, **values: str) -> Settings:
    for name, value in {**VALID, **values}.items():
        monkeypatch.setenv(name, value)
    return Settings()


def errors(monkeypatch: pytest.MonkeyPatch, **values: str | None) -> list[str]:
    for name, good in VALID.items():
        monkeypatch.setenv(name, good)
    for name, value in values.items():
        if value is None:
            monkeypatch.delenv(name, raising=False)
        else:
            monkeypatch.setenv(name, value)
    with pytest.raises(ValidationError) as caught:
        Settings()
    return describe_errors(caught.value, Settings)


def test_defaults_follow_the_contract(monkeypatch: pytest.MonkeyPatch) -> None:
    settings = load(monkeypatch)

    assert settings.image_model == "gpt-image-2"
    assert settings.progress_in_channel is True
    assert settings.azure_openai_responses_deployment is None
    assert settings.azure_openai_api_version is None
    assert settings.slack_app_token is None
    assert settings.public_url is None
    assert settings.slack_api_url == "https://slack.com/api/"
    assert (settings.host, settings.port) == ("0.0.0.0", 3000)
    assert settings.database_url.startswith("sqlite:///")
    assert settings.store_prompts == "keep"
    assert list(settings.deployments.values()) == [Deployment("images", "gpt-image-2")]
    assert settings.limits == LimitSettings()
    assert not settings.limits.any
    assert settings.image_prices.rates("gpt-image-2") == TokenRates(Decimal(5), Decimal(8), Decimal(30))


def test_settings_load_from_a_dotenv_file(tmp_path: Path) -> None:
    lines = [f"{name}={value}" for name, value in VALID.items()]
    (tmp_path / ".env").write_text("\n".join([*lines, "IMAGE_MODEL=gpt-image-1-mini", "PROGRESS_IN_CHANNEL=false"]))

    settings = Settings()

    assert settings.deployments.default == Deployment("images", "gpt-image-1-mini")
    assert settings.progress_in_channel is False


@pytest.mark.parametrize(("value", "expected"), [("gpt-5.4-mini", "gpt-5.4-mini"), ("  ", None), ("", None)])
def test_the_responses_deployment_is_optional(
    monkeypatch: pytest.MonkeyPatch, value: str, expected: str | None
) -> None:
    assert load(monkeypatch, AZURE_OPENAI_RESPONSES_DEPLOYMENT=value).azure_openai_responses_deployment == expected


def test_extra_deployments_follow_the_default(monkeypatch: pytest.MonkeyPatch) -> None:
    settings = load(monkeypatch, AZURE_OPENAI_EXTRA_DEPLOYMENTS=" mini = gpt-image-1-mini, old=dall-e-3 ,")

    assert list(settings.deployments.values()) == [
        Deployment("images", "gpt-image-2"),
        Deployment("mini", "gpt-image-1-mini"),
        Deployment("old", "dall-e-3"),
    ]


def test_limits_admins_and_channels(monkeypatch: pytest.MonkeyPatch) -> None:
    settings = load(
        monkeypatch,
        ADMIN_USER_IDS="U0ADMIN001, W0ADMIN002",
        LIMIT_IMAGES_PER_USER_PER_DAY="20",
        LIMIT_JOBS_IN_FLIGHT_PER_USER="2",
        MONTHLY_BUDGET_USD="100.50",
        ALLOWED_CHANNELS="C0AAAA0001,G0BBBB0002",
        DENIED_CHANNELS="C0CCCC0003",
    )

    assert settings.admins == frozenset({"U0ADMIN001", "W0ADMIN002"})
    assert settings.limits == LimitSettings(
        images_per_user_per_day=20,
        jobs_in_flight_per_user=2,
        monthly_budget_usd=Decimal("100.50"),
        allowed_channels=frozenset({"C0AAAA0001", "G0BBBB0002"}),
        denied_channels=frozenset({"C0CCCC0003"}),
        exempt_users=frozenset({"U0ADMIN001", "W0ADMIN002"}),
    )
    assert load(monkeypatch, ADMINS_EXEMPT_FROM_LIMITS="false").limits.exempt_users == frozenset()


def test_image_prices_json_overrides_the_table(monkeypatch: pytest.MonkeyPatch) -> None:
    settings = load(monkeypatch, IMAGE_PRICES_JSON='{"gpt-image-2": {"image_out": 40}, "dall-e-3|1024x1024|hd": 0.09}')

    assert settings.image_prices.rates("gpt-image-2") == TokenRates(Decimal(5), Decimal(8), Decimal(40))
    assert settings.image_prices.estimate("dall-e-3", "1024x1024", "hd", 1) == Decimal("0.09")


@pytest.mark.parametrize("value", ["", "  "])
def test_an_empty_image_prices_json_means_the_listed_prices(monkeypatch: pytest.MonkeyPatch, value: str) -> None:
    settings = load(monkeypatch, IMAGE_PRICES_JSON=value)
    assert settings.image_prices_json is None
    assert settings.image_prices.rates("gpt-image-2") == TokenRates(Decimal(5), Decimal(8), Decimal(30))


def test_secrets_never_appear_in_reprs(monkeypatch: pytest.MonkeyPatch) -> None:
    settings = load(
        monkeypatch,
        SLACK_APP_TOKEN="xapp-1-secret-app-token",
        DATABASE_URL="postgresql+psycopg://bot:db-password-789@db:5432/imagine",
    )

    shown = repr(settings) + str(settings) + settings.model_dump_json()
    for secret in (*SECRETS, "xapp-1-secret-app-token"):
        assert secret not in shown
    assert "db-password-789" not in repr(settings) + str(settings)  # SQLAlchemy needs the URL's text itself


@pytest.mark.parametrize(
    ("variable", "value", "expected"),
    [
        ("SLACK_BOT_TOKEN", None, "SLACK_BOT_TOKEN is missing: expected the Bot User OAuth Token"),
        ("SLACK_BOT_TOKEN", "xoxp-user-token-secret", "SLACK_BOT_TOKEN is invalid: expected the Bot User OAuth Token"),
        ("SLACK_SIGNING_SECRET", None, "SLACK_SIGNING_SECRET is missing: expected the Signing Secret"),
        ("SLACK_APP_TOKEN", "xoxb-wrong-kind-secret", "SLACK_APP_TOKEN is invalid: expected an app-level token"),
        (
            "AZURE_OPENAI_ENDPOINT",
            "example.openai.azure.com",
            "AZURE_OPENAI_ENDPOINT is invalid: expected the resource",
        ),
        ("AZURE_OPENAI_API_KEY", None, "AZURE_OPENAI_API_KEY is missing: expected a key"),
        ("AZURE_OPENAI_DEPLOYMENT", None, "AZURE_OPENAI_DEPLOYMENT is missing: expected the deployment name"),
        ("AZURE_OPENAI_DEPLOYMENT", "", "AZURE_OPENAI_DEPLOYMENT is invalid: expected the deployment name"),
        ("IMAGE_MODEL", "midjourney-v7", "IMAGE_MODEL is invalid: expected gpt-image-2 (default), gpt-image-1-mini"),
        ("AZURE_OPENAI_EXTRA_DEPLOYMENTS", "pictures", "AZURE_OPENAI_EXTRA_DEPLOYMENTS is invalid: expected more"),
        ("AZURE_OPENAI_EXTRA_DEPLOYMENTS", "mj=midjourney", "AZURE_OPENAI_EXTRA_DEPLOYMENTS is invalid"),
        ("AZURE_OPENAI_EXTRA_DEPLOYMENTS", "IMAGES=dall-e-3", "AZURE_OPENAI_EXTRA_DEPLOYMENTS is invalid"),
        ("AZURE_OPENAI_EXTRA_DEPLOYMENTS", "a=dall-e-3,A=dall-e-2", "AZURE_OPENAI_EXTRA_DEPLOYMENTS is invalid"),
        ("PORT", "eighty", "PORT is invalid: expected a TCP port number"),
        ("PORT", "70000", "PORT is invalid: expected a TCP port number"),
        ("DATABASE_URL", "mysql://x", "DATABASE_URL is invalid: expected a SQLAlchemy URL"),
        ("DATABASE_URL", "not a url", "DATABASE_URL is invalid: expected a SQLAlchemy URL"),
        ("PROGRESS_IN_CHANNEL", "sometimes", "PROGRESS_IN_CHANNEL is invalid: expected true: a message"),
        ("ADMIN_USER_IDS", "alice", "ADMIN_USER_IDS is invalid: expected Slack user ids"),
        ("ALLOWED_CHANNELS", "#general", "ALLOWED_CHANNELS is invalid: expected channel ids"),
        ("MONTHLY_BUDGET_USD", "-5", "MONTHLY_BUDGET_USD is invalid: expected US dollars"),
        ("IMAGE_PRICES_JSON", '{"gpt-image-2": {"image_out": -1}}', "IMAGE_PRICES_JSON is invalid: expected a JSON"),
        ("IMAGE_PRICES_JSON", "{" * 3, "IMAGE_PRICES_JSON is invalid: expected a JSON object of model to USD"),
        ("WORKER_CONCURRENCY", "0", "WORKER_CONCURRENCY is invalid: expected a number of parallel jobs"),
        ("LOG_LEVEL", "chatty", "LOG_LEVEL is invalid: expected one of DEBUG, INFO, WARNING, ERROR"),
    ],
)
def test_a_bad_setting_is_one_line_naming_it_and_what_it_should_look_like(
    monkeypatch: pytest.MonkeyPatch, variable: str, value: str | None, expected: str
) -> None:
    [line] = errors(monkeypatch, **{variable: value})

    assert line.startswith(expected), line
    assert "\n" not in line
    assert not value or value not in line  # the bad value may be a secret: never echoed


def test_every_bad_setting_gets_its_own_line_and_no_secret_is_printed(monkeypatch: pytest.MonkeyPatch) -> None:
    lines = errors(
        monkeypatch,
        SLACK_BOT_TOKEN="not-a-bot-token-secret",
        SLACK_APP_TOKEN="not-an-app-token-secret",
        AZURE_OPENAI_API_KEY=None,
        PORT="eighty",
    )

    assert sorted(line.split(" ")[0] for line in lines) == [
        "AZURE_OPENAI_API_KEY",
        "PORT",
        "SLACK_APP_TOKEN",
        "SLACK_BOT_TOKEN",
    ]
    assert not any(secret in line for line in lines for secret in ("not-a-bot-token-secret", "not-an-app-token-secret"))


def test_every_setting_describes_what_it_should_look_like() -> None:
    for name, field in Settings.model_fields.items():
        assert field.description, name


def test_migrate_needs_only_the_database(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DATABASE_URL", "sqlite:///x.sqlite3")
    assert CoreSettings().database_url == "sqlite:///x.sqlite3"


def test_public_url_loses_its_trailing_slash_and_empty_means_unset(monkeypatch: pytest.MonkeyPatch) -> None:
    assert load(monkeypatch, PUBLIC_URL="https://bot.example.com/").public_url == "https://bot.example.com"
    assert load(monkeypatch, PUBLIC_URL=" ").public_url is None
