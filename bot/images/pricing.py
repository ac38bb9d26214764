"""What an image costs, in US dollars: from the tokens an answer reports, or estimated before the call.

GPT image models are billed per million tokens — text in, image in (an edit's pictures), image out —
and every answer carries its `usage`, so a finished job's cost is computed from it. Before a call
(budget limits) the cost is estimated from the output tokens a size and quality take. The retired
DALL·E models were billed per image. Rates: docs/contracts/azure-models.md §2; operators
override any of them with IMAGE_PRICES_JSON, parsed by `PriceTable.from_json`.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Mapping
from dataclasses import dataclass, replace
from decimal import Decimal
from typing import Any

from bot.images.generator import TokenUsage
from bot.images.models import Family
from bot.images.sizes import Size

MILLION = Decimal(1_000_000)


@dataclass(frozen=True, slots=True)
class TokenRates:
    """USD per million tokens. Chat models (the Responses API) use text_in and text_out only."""

    text_in: Decimal = Decimal(0)
    image_in: Decimal = Decimal(0)
    image_out: Decimal = Decimal(0)
    text_out: Decimal = Decimal(0)


_RATES: dict[str, TokenRates] = {
    "gpt-image-2": TokenRates(Decimal(5), Decimal(8), Decimal(30)),
    "gpt-image-1.5": TokenRates(Decimal(5), Decimal(8), Decimal(32)),
    "gpt-image-1-mini": TokenRates(Decimal(2), Decimal("2.5"), Decimal(8)),
    "gpt-image-1": TokenRates(Decimal(5), Decimal(10), Decimal(40)),  # retired; for older rows
}
# Per image, by (model, quality, square or not); dall-e-2 by size. Retired models, for older rows.
_PER_IMAGE: dict[tuple[str, str | None, str], Decimal] = {
    ("dall-e-3", "standard", "square"): Decimal("0.04"),
    ("dall-e-3", "standard", "oblong"): Decimal("0.08"),
    ("dall-e-3", "hd", "square"): Decimal("0.08"),
    ("dall-e-3", "hd", "oblong"): Decimal("0.12"),
    ("dall-e-2", None, "256x256"): Decimal("0.016"),
    ("dall-e-2", None, "512x512"): Decimal("0.018"),
    ("dall-e-2", None, "1024x1024"): Decimal("0.020"),
}
# Output tokens of one image by quality, for 1024x1024 / 1024x1536 / 1536x1024
# (docs/contracts/azure-models.md §2.1); other sizes scale with their pixels. `auto` is estimated as
# `high`, so a budget check never underestimates.
_OUTPUT_TOKENS = {"low": (272, 408, 400), "medium": (1056, 1584, 1568), "high": (4160, 6240, 6208)}
_SQUARE = 1024 * 1024
OVERRIDE_EXAMPLE = '{"gpt-image-2": {"text_in": 5, "image_in": 8, "image_out": 30}}'


def estimated_output_tokens(size: str, quality: str | None) -> int:
    square, tall, wide = _OUTPUT_TOKENS.get(quality or "high", _OUTPUT_TOKENS["high"])
    parsed = Size.parse(size) or Size(1024, 1024)  # "auto" may pick any shape; price it as a square
    if parsed == Size(1024, 1536):
        return tall
    if parsed == Size(1536, 1024):
        return wide
    return math.ceil(square * parsed.pixels / _SQUARE)


def estimated_text_tokens(prompt: str) -> int:
    return math.ceil(len(prompt) / 4)


class PriceTable:
    """The built-in rates and per-image prices, with IMAGE_PRICES_JSON's entries in front."""

    def __init__(
        self,
        rates: Mapping[str, TokenRates] | None = None,
        per_image: Mapping[tuple[str, str, str | None], Decimal] | None = None,
    ) -> None:
        self._rates = {**_RATES, **(rates or {})}
        self._per_image_overrides = dict(per_image or {})

    def rates(self, model: str) -> TokenRates | None:
        return self._rates.get(model.strip().lower())

    def cost(self, model: str, size: str, quality: str | None, images: int, usage: TokenUsage | None) -> Decimal | None:
        """The cost of a finished call: from its token usage where there is one, else per image."""
        if usage is None:
            return self._per_image(model, size, quality, images)
        rates = self.rates(model)
        if rates is None:
            return None
        total = (
            usage.text_input_tokens * rates.text_in
            + usage.image_input_tokens * rates.image_in
            + usage.output_tokens * rates.image_out
        )
        chat = self.rates(usage.chat_model) if usage.chat_model else None
        if chat is not None:  # a chat model without a configured rate is left out, not guessed
            total += usage.chat_input_tokens * chat.text_in + usage.chat_output_tokens * chat.text_out
        return total / MILLION

    def estimate(self, model: str, size: str, quality: str | None, images: int, *, prompt: str = "") -> Decimal | None:
        """The cost expected before the call, for budget limits."""
        if not Family.of(model).is_gpt_image:
            return self._per_image(model, size, quality, images)
        usage = TokenUsage(
            text_input_tokens=estimated_text_tokens(prompt),
            output_tokens=estimated_output_tokens(size, quality) * images,
        )
        return self.cost(model, size, quality, images, usage)

    def _per_image(self, model: str, size: str, quality: str | None, images: int) -> Decimal | None:
        name = model.strip().lower()
        override = self._per_image_overrides.get((name, size, quality or None))
        if override is not None:
            return override * images
        family = Family.of(name)
        key = (name, None, size) if family is Family.DALL_E_2 else (name, quality, _shape(size))
        price = _PER_IMAGE.get(key)
        return None if price is None else price * images

    @classmethod
    def from_json(cls, text: str) -> PriceTable:
        """`{"<model>": {"text_in": …, "image_in": …, "image_out": …, "text_out": …}}` (USD per million
        tokens) and, for the retired per-image models, `{"<model>|<size>|<quality>": <USD per image>}`.
        ValueError with a plain message."""
        try:
            data = json.loads(text, parse_float=Decimal)
        except (json.JSONDecodeError, RecursionError):  # RecursionError: nested deeper than the parser goes
            raise ValueError(f"is not JSON; expected an object such as {OVERRIDE_EXAMPLE}") from None
        if not isinstance(data, dict):
            raise ValueError(f"is not a JSON object; expected one such as {OVERRIDE_EXAMPLE}")
        rates: dict[str, TokenRates] = {}
        per_image: dict[tuple[str, str, str | None], Decimal] = {}
        for key, value in data.items():
            if "|" in key:
                per_image[_per_image_key(key)] = _price(key, value)
            else:
                rates[key.strip().lower()] = _rates(key, value, _RATES.get(key.strip().lower(), TokenRates()))
        return cls(rates, per_image)


def _shape(size: str) -> str:
    parsed = Size.parse(size)
    return "square" if parsed is None or parsed.is_square else "oblong"


def _price(key: str, value: object) -> Decimal:
    # bool is an int in Python, and `true` is surely a mistake rather than a price.
    if isinstance(value, bool) or not isinstance(value, int | Decimal):
        raise ValueError(f"price for {key!r} is not a number of US dollars")
    price = Decimal(value)
    if not price.is_finite() or price < 0:
        raise ValueError(f"price for {key!r} must be zero or more US dollars")
    return price


def _rates(key: str, value: Any, listed: TokenRates) -> TokenRates:
    """The rates given, over the listed ones: `{"image_out": 40}` changes one rate, not the others to 0."""
    if not isinstance(value, dict) or not value or set(value) - {"text_in", "image_in", "image_out", "text_out"}:
        raise ValueError(
            f"rates for {key!r} must be an object of text_in, image_in, image_out, text_out, e.g. "
            f'{{"text_in": 5, "image_out": 30}} (USD per million tokens)'
        )
    return replace(listed, **{name: _price(f"{key}.{name}", rate) for name, rate in value.items()})


def _per_image_key(key: str) -> tuple[str, str, str | None]:
    parts = [part.strip().lower() for part in key.split("|")]
    if len(parts) != 3:
        raise ValueError(f'key {key!r} is not "<model>|<size>|<quality>", e.g. "dall-e-3|1024x1024|standard"')
    model, size, quality = parts
    try:
        Family.of(model)
    except ValueError:
        raise ValueError(f"key {key!r}: unknown model {model!r}") from None
    if not re.fullmatch(r"[1-9][0-9]*x[1-9][0-9]*", size):
        raise ValueError(f"key {key!r}: size {size!r} is not WIDTHxHEIGHT, e.g. 1024x1024")
    if quality and not re.fullmatch(r"[a-z]+", quality):  # it would never match a request: say so now
        raise ValueError(f"key {key!r}: quality {quality!r} is not a word, e.g. standard or hd")
    return model, size, quality or None
