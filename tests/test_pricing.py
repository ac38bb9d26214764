"""The price table: list prices per model, size and quality, and operators' IMAGE_PRICES_JSON overrides."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pytest
from pydantic import ValidationError

from bot.settings import Settings, describe_errors
from bot.usage.pricing import DEFAULT_PRICES, PriceTable, estimate_cost, price_per_image

D = Decimal


@pytest.mark.parametrize(
    ("model", "size", "quality", "price"),
    [
        ("dall-e-3", "1024x1024", "standard", D("0.04")),
        ("dall-e-3", "1792x1024", "standard", D("0.08")),
        ("dall-e-3", "1024x1792", "standard", D("0.08")),
        ("dall-e-3", "1024x1024", "hd", D("0.08")),
        ("dall-e-3", "1792x1024", "hd", D("0.12")),
        ("dall-e-2", "256x256", None, D("0.016")),
        ("dall-e-2", "512x512", None, D("0.018")),
        ("dall-e-2", "1024x1024", None, D("0.020")),
        ("gpt-image-1", "1024x1024", "low", D("0.011")),
        ("gpt-image-1", "1024x1024", "medium", D("0.042")),
        ("gpt-image-1", "1024x1024", "high", D("0.167")),
        ("gpt-image-1", "1536x1024", "low", D("0.016")),
        ("gpt-image-1", "1024x1536", "medium", D("0.063")),
        ("gpt-image-1", "1536x1024", "high", D("0.25")),
        ("gpt-image-1-mini", "1024x1024", "low", D("0.002")),
        ("gpt-image-1-mini", "1024x1536", "high", D("0.05")),
        ("gpt-image-1.5", "1024x1024", "high", D("0.167")),  # priced like gpt-image-1 until listed
        ("dall-e-3", "1024x1024", "ultra", None),
        ("dall-e-2", "2048x2048", None, None),
    ],
)
def test_list_prices_per_image(model: str, size: str, quality: str | None, price: Decimal | None) -> None:
    assert price_per_image(model, size, quality) == price
    assert DEFAULT_PRICES.price_per_image(model, size, quality) == price


def test_an_estimate_is_the_price_times_the_images() -> None:
    assert estimate_cost("gpt-image-1", "1024x1024", "medium", 4) == D("0.168")
    assert PriceTable().estimate("dall-e-2", "512x512", None, 3) == D("0.054")
    assert estimate_cost("dall-e-3", "1024x1024", "ultra", 1) is None


def test_an_override_replaces_one_entry_and_leaves_the_rest() -> None:
    prices = PriceTable.from_json('{"dall-e-3|1024x1024|standard": 0.05}')

    assert prices.price_per_image("dall-e-3", "1024x1024", "standard") == D("0.05")
    assert prices.price_per_image("dall-e-3", "1024x1024", "hd") == D("0.08")
    assert prices.price_per_image("gpt-image-1", "1024x1024", "low") == D("0.011")
    assert estimate_cost("dall-e-3", "1024x1024", "standard", 2, prices) == D("0.10")
    assert DEFAULT_PRICES.price_per_image("dall-e-3", "1024x1024", "standard") == D("0.04")  # untouched


def test_overrides_price_models_the_table_does_not_know_and_models_without_quality() -> None:
    prices = PriceTable.from_json(
        '{"gpt-image-2|1024x1024|high": 0.2, "dall-e-2|512x512|": 0, " DALL-E-3 | 1792x1024 | HD ": 0.1}'
    )

    assert prices.estimate("gpt-image-2", "1024x1024", "high", 3) == D("0.6")  # exact: no float on the way
    assert prices.price_per_image("gpt-image-2", "1024x1024", "low") == D("0.011")  # not overridden: the list
    assert prices.price_per_image("dall-e-2", "512x512", None) == D("0")
    assert prices.price_per_image("dall-e-3", "1792x1024", "hd") == D("0.1")
    assert prices.overrides == {
        ("gpt-image-2", "1024x1024", "high"): D("0.2"),
        ("dall-e-2", "512x512", None): D("0"),
        ("dall-e-3", "1792x1024", "hd"): D("0.1"),
    }


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("{", "is not JSON"),
        ("[]", "is not a JSON object"),
        ('{"dall-e-3|1024x1024": 0.05}', "is not"),
        ('{"midjourney|1024x1024|standard": 0.05}', "unknown model"),
        ('{"dall-e-3|big|standard": 0.05}', "is not WIDTHxHEIGHT"),
        ('{"dall-e-3|1024x1024|very good": 0.05}', "is not a word"),
        ('{"dall-e-3|1024x1024|standard": -0.01}', "zero or more"),
        ('{"dall-e-3|1024x1024|standard": "0.05"}', "not a number"),
        ('{"dall-e-3|1024x1024|standard": true}', "not a number"),
        ('{"dall-e-3|1024x1024|standard": NaN}', "not a number"),
        ('{"dall-e-3|1024x1024|standard": null}', "not a number"),
    ],
)
def test_bad_overrides_are_refused_with_the_reason(text: str, problem: str) -> None:
    with pytest.raises(ValueError, match=problem):
        PriceTable.from_json(text)


# --- the setting --------------------------------------------------------------------------------

REQUIRED = {
    "SLACK_BOT_TOKEN": "xoxb-1234-secret-bot-token",
    "SLACK_SIGNING_SECRET": "signing-secret-value-123",
    "AZURE_OPENAI_ENDPOINT": "https://example.openai.azure.com",
    "AZURE_OPENAI_API_KEY": "azure-key-value-456",
    "AZURE_OPENAI_DEPLOYMENT": "dalle3",
}


@pytest.fixture
def environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> pytest.MonkeyPatch:
    monkeypatch.chdir(tmp_path)  # no stray .env
    for name, value in REQUIRED.items():
        monkeypatch.setenv(name, value)
    return monkeypatch


def test_the_setting_overrides_the_table_the_worker_uses(environment: pytest.MonkeyPatch) -> None:
    environment.setenv("IMAGE_PRICES_JSON", '{"dall-e-3|1024x1024|hd": 0.09}')

    prices = Settings().image_prices

    assert prices.estimate("dall-e-3", "1024x1024", "hd", 1) == D("0.09")
    assert prices.estimate("dall-e-3", "1024x1024", "standard", 1) == D("0.04")


@pytest.mark.parametrize("value", [None, "", "  "])
def test_without_the_setting_the_list_prices_apply(environment: pytest.MonkeyPatch, value: str | None) -> None:
    if value is None:
        environment.delenv("IMAGE_PRICES_JSON", raising=False)
    else:
        environment.setenv("IMAGE_PRICES_JSON", value)

    settings = Settings()

    assert settings.image_prices_json is None
    assert settings.image_prices.overrides == {}


def test_a_bad_setting_stops_start_up_with_one_line(environment: pytest.MonkeyPatch) -> None:
    environment.setenv("IMAGE_PRICES_JSON", '{"dall-e-3": 0.05}')

    with pytest.raises(ValidationError) as caught:
        Settings()

    [line] = describe_errors(caught.value, Settings)
    assert line.startswith('IMAGE_PRICES_JSON is invalid: expected a JSON object of "<model>|<size>|<quality>"')
