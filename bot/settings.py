"""Every setting the bot reads, typed and validated once at start-up.

The names are a public contract (docs/architecture.md, `.env.example`, `manifest.yml`, operators' deploy configs):
never rename one. Values come from the environment, then a `.env` file in the working directory.
Secrets are `SecretStr`, so they print as `**********` in reprs, logs and validation errors.
"""

from __future__ import annotations

import re
from decimal import Decimal
from typing import Literal

from pydantic import Field, SecretStr, ValidationError, ValidationInfo, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from bot.images.models import Deployments, Family
from bot.images.pricing import OVERRIDE_EXAMPLE, PriceTable
from bot.usage.limits import LimitSettings

_CONFIG = SettingsConfigDict(env_file=".env", env_file_encoding="utf-8", extra="ignore", frozen=True)


class CoreSettings(BaseSettings):
    """What every command needs: the database, logging and the HTTP listener."""

    model_config = _CONFIG

    # Not a SecretStr (SQLAlchemy and Alembic take the text), but kept out of reprs: it may hold a password.
    database_url: str = Field(
        "sqlite:///imagine.sqlite3",
        repr=False,
        description="a SQLAlchemy URL, e.g. sqlite:///imagine.sqlite3 or "
        "postgresql+psycopg://user:password@host:5432/dbname",
    )
    host: str = Field("0.0.0.0", description="the address to listen on, e.g. 0.0.0.0")
    port: int = Field(3000, ge=1, le=65535, description="a TCP port number, e.g. 3000")
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = Field(
        "INFO", description="one of DEBUG, INFO, WARNING, ERROR"
    )
    log_json: bool = Field(False, description="true for one JSON object per log line")
    store_prompts: Literal["keep", "hash"] = Field(
        "keep", description="keep, or hash (prompts are replaced by their SHA-256 once the job is done)"
    )
    prompt_retention_days: int | None = Field(
        None, ge=1, description="days after which `imagine-bot purge` erases prompts, e.g. 90"
    )

    @field_validator("database_url")
    @classmethod
    def _database_url_is_sqlalchemy(cls, value: str) -> str:
        from sqlalchemy.engine import make_url
        from sqlalchemy.exc import ArgumentError

        try:
            url = make_url(value)
        except ArgumentError:
            raise ValueError("not a SQLAlchemy URL") from None
        if url.get_backend_name() not in ("sqlite", "postgresql"):
            raise ValueError("only sqlite and postgresql databases are supported")
        return value

    @field_validator("log_level", mode="before")
    @classmethod
    def _upper(cls, value: object) -> object:
        return value.upper() if isinstance(value, str) else value


class Settings(CoreSettings):
    """Everything `serve`, `web` and `worker` need: Slack, Azure OpenAI and the job queue."""

    slack_bot_token: SecretStr = Field(
        description="the Bot User OAuth Token from OAuth & Permissions, starting with xoxb-"
    )
    slack_signing_secret: SecretStr = Field(description="the Signing Secret from Basic Information → App Credentials")
    slack_app_token: SecretStr | None = Field(
        None, description="an app-level token starting with xapp- (Basic Information → App-Level Tokens)"
    )
    slack_api_url: str = Field(
        "https://slack.com/api/", description="the Slack Web API base URL, e.g. https://slack.com/api/"
    )
    public_url: str | None = Field(
        None, description="the bot's public base URL, as in manifest.yml, e.g. https://bot.example.com"
    )

    azure_openai_endpoint: str = Field(description="the resource endpoint, e.g. https://my-resource.openai.azure.com")
    azure_openai_api_key: SecretStr = Field(description="a key from the resource's Keys and Endpoint page")
    azure_openai_deployment: str = Field(
        min_length=1, description="the deployment name you chose in Azure AI Foundry, e.g. gpt-image-2"
    )
    azure_openai_api_version: str | None = Field(
        None, description="an api-version for the retired dall-e deployments, e.g. 2024-10-21; leave unset"
    )
    image_model: str = Field(
        "gpt-image-2",
        description="gpt-image-2 (default), gpt-image-1-mini, gpt-image-1.5, another gpt-image-*, "
        "or the retired dall-e-3 / dall-e-2",
    )
    azure_openai_responses_deployment: str | None = Field(
        None,
        description="a chat model deployment on the same resource, e.g. gpt-5.4-mini: prompts are revised "
        "through the Responses API and the post shows the prompt the model used",
    )
    progress_in_channel: bool = Field(
        True,
        description="true: a message in the channel at once that becomes the result; false: progress stays private",
    )
    # Kept as text for the same reason as image_prices_json: a one-line message on a bad value.
    azure_openai_extra_deployments: str | None = Field(
        None,
        description="more deployments users may pick with --model, as name=model pairs separated by commas, "
        "e.g. mini=gpt-image-1-mini",
    )
    admin_user_ids: str = Field("", description="Slack user ids of admins, separated by commas, e.g. U012ABCDEF")
    admins_exempt_from_limits: bool = Field(True, description="true or false")
    limit_images_per_user_per_day: int | None = Field(None, ge=1, description="a number of images, e.g. 50")
    limit_jobs_in_flight_per_user: int | None = Field(None, ge=1, description="a number of jobs, e.g. 3")
    monthly_budget_usd: Decimal | None = Field(None, gt=0, description="US dollars per month, e.g. 100")
    allowed_channels: str = Field("", description="channel ids separated by commas, e.g. C012ABCDEF,C034GHIJKL")
    denied_channels: str = Field("", description="channel ids separated by commas, e.g. C012ABCDEF")

    azure_rpm_limit: int | None = Field(
        None, ge=1, le=100_000, description="Azure's requests-per-minute quota for the deployment, e.g. 6"
    )
    worker_concurrency: int = Field(4, ge=1, le=64, description="a number of parallel jobs, 1 to 64")
    job_lease_seconds: float = Field(
        30.0, ge=2, le=600, description="seconds before a silent worker's job is taken over, e.g. 30"
    )
    job_max_attempts: int = Field(5, ge=1, le=20, description="attempts per job, 1 to 20")
    job_deadline_minutes: float = Field(
        30.0, gt=0, le=1440, description="minutes after which an undelivered job fails, e.g. 30"
    )
    progress_update_seconds: float = Field(
        20.0,
        gt=0,
        le=600,
        description="seconds of drawing before a requester with private progress is told it is still going",
    )
    shutdown_grace_seconds: float = Field(
        20.0, ge=0, le=600, description="seconds running jobs get to finish on SIGTERM, e.g. 20"
    )
    queue_poll_seconds: float = Field(0.5, gt=0, le=30, description="seconds between queue polls when idle, e.g. 0.5")
    azure_timeout_seconds: float = Field(
        180.0, ge=5, le=900, description="seconds to wait for one image call, e.g. 180"
    )
    azure_poll_seconds: float = Field(
        1.0, gt=0, le=30, description="seconds between dall-e-2 status polls when Azure gives no hint"
    )
    # Azure's PNGs are a few MB at most; the cap keeps a wrong or hostile image URL from filling memory.
    max_image_bytes: int = Field(
        20 * 1024 * 1024,
        ge=1024 * 1024,
        le=200 * 1024 * 1024,
        description="the largest image download in bytes, 1 MB to 200 MB, e.g. 20971520 (20 MB)",
    )
    # Kept as text and parsed by a validator: typed as a dict, pydantic-settings would decode the JSON
    # itself and stop start-up with a traceback (SettingsError) instead of the one-line message.
    image_prices_json: str | None = Field(
        None,
        description=f"a JSON object of model to USD per million tokens, e.g. {OVERRIDE_EXAMPLE}",
    )

    @property
    def deployments(self) -> Deployments:
        """The deployments by name, the default (AZURE_OPENAI_DEPLOYMENT) first."""
        extra = _name_value_pairs(self.azure_openai_extra_deployments or "")
        return Deployments({self.azure_openai_deployment: self.image_model, **extra})

    @property
    def admins(self) -> frozenset[str]:
        return _ids(self.admin_user_ids)

    @property
    def limits(self) -> LimitSettings:
        return LimitSettings(
            images_per_user_per_day=self.limit_images_per_user_per_day,
            jobs_in_flight_per_user=self.limit_jobs_in_flight_per_user,
            monthly_budget_usd=self.monthly_budget_usd,
            allowed_channels=_ids(self.allowed_channels),
            denied_channels=_ids(self.denied_channels),
            exempt_users=self.admins if self.admins_exempt_from_limits else frozenset(),
        )

    @property
    def image_prices(self) -> PriceTable:
        """The list prices with IMAGE_PRICES_JSON's entries in front (already validated at start-up)."""
        return PriceTable.from_json(self.image_prices_json) if self.image_prices_json else PriceTable()

    @field_validator("slack_bot_token")
    @classmethod
    def _bot_token_shape(cls, value: SecretStr) -> SecretStr:
        if not value.get_secret_value().startswith("xoxb-"):
            raise ValueError("does not start with xoxb-")
        return value

    @field_validator("slack_app_token")
    @classmethod
    def _app_token_shape(cls, value: SecretStr | None) -> SecretStr | None:
        if value is not None and not value.get_secret_value().startswith("xapp-"):
            raise ValueError("does not start with xapp-")
        return value

    @field_validator("slack_api_url", "azure_openai_endpoint")
    @classmethod
    def _http_url(cls, value: str) -> str:
        # http:// is allowed on purpose: the tests and the playground point these at loopback emulators.
        if not value.startswith(("https://", "http://")) or value[-3:] == "://":
            raise ValueError("is not an http(s) URL")
        return value

    @field_validator("public_url")
    @classmethod
    def _public_url(cls, value: str | None) -> str | None:
        if value is None or not value.strip():
            return None  # an empty PUBLIC_URL= line in .env means "not set"
        # No trailing slash, so paths can be appended as they are; http:// is for the emulators.
        return cls._http_url(value.strip()).rstrip("/")

    @field_validator("image_model")
    @classmethod
    def _known_model(cls, value: str) -> str:
        Family.of(value)
        return value

    @field_validator("azure_openai_responses_deployment")
    @classmethod
    def _optional_name(cls, value: str | None) -> str | None:
        return value.strip() or None if value is not None else None

    @field_validator("azure_openai_extra_deployments")
    @classmethod
    def _extra_deployments(cls, value: str | None, info: ValidationInfo) -> str | None:
        if value is None or not value.strip():
            return None
        pairs = _name_value_pairs(value)
        for model in pairs.values():
            Family.of(model)
        # A second "main=…" would silently replace the default's model; names differing in case, confuse.
        names = [info.data.get("azure_openai_deployment", ""), *(name for name, _ in _pairs(value))]
        if len({name.casefold() for name in names}) != len(names):
            raise ValueError("deployment names must differ, in more than case, from each other and the default")
        return value

    @field_validator("admin_user_ids")
    @classmethod
    def _user_ids(cls, value: str) -> str:
        for part in value.split(","):
            if part.strip() and not re.fullmatch(r"[UW][A-Z0-9]{2,}", part.strip()):
                raise ValueError("not a Slack user id")
        return value

    @field_validator("allowed_channels", "denied_channels")
    @classmethod
    def _channel_ids(cls, value: str) -> str:
        for part in value.split(","):
            if part.strip() and not re.fullmatch(r"[CGD][A-Z0-9]{2,}", part.strip()):
                raise ValueError("not a Slack channel id")
        return value

    @field_validator("image_prices_json")
    @classmethod
    def _price_overrides(cls, value: str | None) -> str | None:
        if value is not None and value.strip():
            PriceTable.from_json(value)
            return value
        return None  # an empty IMAGE_PRICES_JSON= line in .env means "no overrides"


def _ids(text: str) -> frozenset[str]:
    return frozenset(part.strip() for part in text.split(",") if part.strip())


def _name_value_pairs(text: str) -> dict[str, str]:
    return dict(_pairs(text))


def _pairs(text: str) -> list[tuple[str, str]]:
    pairs = []
    for item in text.split(","):
        if not item.strip():
            continue
        name, separator, value = item.partition("=")
        if not separator or not name.strip() or not value.strip():
            raise ValueError("expected name=model pairs")
        pairs.append((name.strip(), value.strip()))
    return pairs


def describe_errors(error: ValidationError, settings_class: type[CoreSettings]) -> list[str]:
    """One plain line per bad setting, naming the variable and what it should look like.

    Pydantic's own message would print the offending input, which may be a secret; this never does.
    """
    lines = []
    for item in error.errors():
        field = str(item["loc"][0]) if item["loc"] else ""
        variable = field.upper()
        info = settings_class.model_fields.get(field)
        expected = info.description if info is not None and info.description else "a valid value"
        problem = "is missing" if item["type"] == "missing" else "is invalid"
        lines.append(f"{variable} {problem}: expected {expected}.")
    return lines
