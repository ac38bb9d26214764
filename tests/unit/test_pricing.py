"""bot.images.pricing: a finished job's cost from its token usage, estimates before the call held against
the token rates, the retired models' per-image prices, and operators' IMAGE_PRICES_JSON overrides."""

from __future__ import annotations

import json
import math
from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.images.generator import TokenUsage
from bot.images.pricing import PriceTable, TokenRates, estimated_output_tokens, estimated_text_tokens

D = Decimal
MILLION = D(1_000_000)
PRICES = PriceTable()


@pytest.mark.parametrize(
    ("model", "rates"),
    [
        ("gpt-image-2", TokenRates(D(5), D(8), D(30))),
        ("gpt-image-1.5", TokenRates(D(5), D(8), D(32))),
        ("gpt-image-1-mini", TokenRates(D(2), D("2.5"), D(8))),
        (" GPT-Image-2 ", TokenRates(D(5), D(8), D(30))),
    ],
)
def test_the_listed_token_rates(model: str, rates: TokenRates) -> None:
    assert PRICES.rates(model) == rates


def test_the_cost_of_a_finished_call_is_its_tokens_at_the_models_rates() -> None:
    usage = TokenUsage(text_input_tokens=50, image_input_tokens=1000, output_tokens=4160)

    cost = PRICES.cost("gpt-image-2", "1024x1024", "high", 1, usage)

    assert cost == (50 * D(5) + 1000 * D(8) + 4160 * D(30)) / MILLION


def test_a_revising_chat_model_is_added_at_its_own_rates_when_known() -> None:
    prices = PriceTable({"gpt-5.4-mini": TokenRates(text_in=D("0.25"), text_out=D(2))})
    usage = TokenUsage(10, 0, 1056, chat_model="gpt-5.4-mini", chat_input_tokens=400, chat_output_tokens=100)

    image_only = (10 * D(5) + 1056 * D(30)) / MILLION
    assert (
        prices.cost("gpt-image-2", "1024x1024", "medium", 1, usage)
        == image_only + (400 * D("0.25") + 100 * D(2)) / MILLION
    )
    # Without a rate for the chat model its tokens are left out, not guessed.
    assert PRICES.cost("gpt-image-2", "1024x1024", "medium", 1, usage) == image_only


def test_a_model_without_rates_has_no_cost() -> None:
    assert PRICES.cost("gpt-image-2.5-flare", "1024x1024", "high", 1, TokenUsage(output_tokens=10)) is None
    assert PRICES.rates("gpt-image-2.5-flare") is None


@pytest.mark.parametrize(
    ("size", "quality", "tokens"),
    [
        ("1024x1024", "low", 272),
        ("1024x1024", "medium", 1056),
        ("1024x1024", "high", 4160),
        ("1024x1536", "medium", 1584),
        ("1536x1024", "medium", 1568),
        ("1024x1536", "high", 6240),
        ("1536x1024", "low", 400),
        ("1024x1024", "auto", 4160),  # auto is priced as high: a budget check never underestimates
        ("1024x1024", None, 4160),
        ("auto", "medium", 1056),  # the model picks the shape: priced as a square
        ("1536x864", "medium", math.ceil(1056 * 1536 * 864 / (1024 * 1024))),  # scaled by pixels
        ("3840x2160", "high", math.ceil(4160 * 3840 * 2160 / (1024 * 1024))),
    ],
)
def test_estimated_output_tokens_per_size_and_quality(size: str, quality: str | None, tokens: int) -> None:
    assert estimated_output_tokens(size, quality) == tokens


def test_the_estimate_for_gpt_image_2_is_held_against_the_token_rates() -> None:
    prompt = "a lighthouse in a storm, oil painting"  # 37 characters: 10 tokens at 4 characters a token
    assert estimated_text_tokens(prompt) == 10

    estimate = PRICES.estimate("gpt-image-2", "1024x1024", "medium", 1, prompt=prompt)

    assert estimate == (1056 * D(30) + 10 * D(5)) / MILLION
    assert (
        PRICES.estimate("gpt-image-2", "1024x1024", "medium", 3, prompt=prompt)
        == (3 * 1056 * D(30) + 10 * D(5)) / MILLION
    )
    assert PRICES.estimate("gpt-image-1-mini", "1536x1024", "low", 1) == 400 * D(8) / MILLION


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
        ("dall-e-3", "1024x1024", "ultra", None),
        ("dall-e-2", "2048x2048", None, None),
    ],
)
def test_the_retired_models_per_image_prices(model: str, size: str, quality: str | None, price: D | None) -> None:
    assert PRICES.estimate(model, size, quality, 1) == price
    assert PRICES.cost(model, size, quality, 3, None) == (None if price is None else price * 3)


def test_an_override_of_rates_replaces_the_named_rates_and_leaves_the_rest() -> None:
    prices = PriceTable.from_json(
        '{"GPT-IMAGE-2": {"image_out": 40}, "gpt-5.4-mini": {"text_in": 0.25, "text_out": 2}}'
    )

    assert prices.rates("gpt-image-2") == TokenRates(D(5), D(8), D(40))
    assert prices.rates("gpt-5.4-mini") == TokenRates(text_in=D("0.25"), text_out=D(2))
    assert prices.rates("gpt-image-1.5") == TokenRates(D(5), D(8), D(32))
    assert PRICES.rates("gpt-image-2") == TokenRates(D(5), D(8), D(30))  # the defaults are untouched


def test_an_override_can_price_a_model_the_table_does_not_know() -> None:
    prices = PriceTable.from_json('{"gpt-image-2.5-flare": {"text_in": 6, "image_in": 9, "image_out": 36}}')
    assert prices.estimate("gpt-image-2.5-flare", "1024x1024", "medium", 1) == 1056 * D(36) / MILLION


def test_an_override_of_a_per_image_price_is_exact_and_leaves_the_rest() -> None:
    prices = PriceTable.from_json(
        '{"dall-e-3|1024x1024|standard": 0.05, "dall-e-2|512x512|": 0, " DALL-E-3 | 1792x1024 | HD ": 0.1}'
    )

    assert prices.estimate("dall-e-3", "1024x1024", "standard", 2) == D("0.10")  # no float on the way
    assert prices.estimate("dall-e-3", "1024x1024", "hd", 1) == D("0.08")
    assert prices.estimate("dall-e-2", "512x512", None, 1) == D(0)
    assert prices.estimate("dall-e-3", "1792x1024", "hd", 1) == D("0.1")
    assert PRICES.estimate("dall-e-3", "1024x1024", "standard", 1) == D("0.04")


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("{", "is not JSON"),
        ("", "is not JSON"),
        ("[]", "is not a JSON object"),
        ('"gpt-image-2"', "is not a JSON object"),
        ("null", "is not a JSON object"),
        ("[" * 100_000, "is not JSON"),  # nested too deep for the parser
        ('{"gpt-image-2": 30}', "must be an object of text_in, image_in, image_out, text_out"),
        ('{"gpt-image-2": {}}', "must be an object of"),
        ('{"gpt-image-2": {"output": 30}}', "must be an object of"),
        ('{"gpt-image-2": {"image_out": "30"}}', "not a number"),
        ('{"gpt-image-2": {"image_out": true}}', "not a number"),
        ('{"gpt-image-2": {"image_out": null}}', "not a number"),
        ('{"gpt-image-2": {"image_out": NaN}}', "not a number"),
        ('{"gpt-image-2": {"image_out": Infinity}}', "not a number"),
        ('{"gpt-image-2": {"image_out": -1}}', "zero or more"),
        ('{"dall-e-3|1024x1024": 0.05}', "is not"),
        ('{"dall-e-3|1024x1024|standard|x": 0.05}', "is not"),
        ('{"midjourney|1024x1024|standard": 0.05}', "unknown model"),
        ('{"dall-e-3|big|standard": 0.05}', "is not WIDTHxHEIGHT"),
        ('{"dall-e-3|0x1024|standard": 0.05}', "is not WIDTHxHEIGHT"),
        ('{"dall-e-3|1024x1024|very good": 0.05}', "is not a word"),
        ('{"dall-e-3|1024x1024|standard": -0.01}', "zero or more"),
        ('{"dall-e-3|1024x1024|standard": "0.05"}', "not a number"),
        ('{"dall-e-3|1024x1024|standard": true}', "not a number"),
        ('{"dall-e-3|1024x1024|standard": NaN}', "not a number"),
        ('{"dall-e-3|1024x1024|standard": null}', "not a number"),
        ('{"dall-e-3|1024x1024|standard": {"x": 1}}', "not a number"),
    ],
)
def test_a_malformed_override_is_a_plain_value_error_saying_why(text: str, problem: str) -> None:
    with pytest.raises(ValueError, match=problem) as caught:
        PriceTable.from_json(text)
    assert type(caught.value) is ValueError
    assert "\n" not in str(caught.value)


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=True) | st.text(max_size=12),
    lambda children: st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=20), children, max_size=3),
    max_leaves=5,
)
override_keys = st.sampled_from(
    ["gpt-image-2", "dall-e-3|1024x1024|hd", "dall-e-2|512x512|", "x|y|z", "gpt-image-2|1024x1024|", "a|b"]
)
override_text = st.one_of(
    st.text(max_size=40),
    json_values.map(json.dumps),
    st.dictionaries(override_keys, json_values, max_size=3).map(json.dumps),
    st.dictionaries(
        st.sampled_from(["gpt-image-2", "gpt-5"]),
        st.dictionaries(st.sampled_from(["text_in", "image_in", "image_out", "text_out", "x"]), json_values),
        max_size=2,
    ).map(json.dumps),
)


@settings(max_examples=60, deadline=None)
@given(text=override_text)
def test_any_override_text_is_a_price_table_or_a_plain_value_error(text: str) -> None:
    outcome: PriceTable | ValueError
    try:
        outcome = PriceTable.from_json(text)
    except ValueError as error:  # anything else escapes and fails the test
        outcome = error
    if isinstance(outcome, ValueError):
        assert type(outcome) is ValueError
        assert str(outcome).strip()
