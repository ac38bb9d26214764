"""Estimated cost of a request in USD, per model, size and quality.

Figures: shared/reference/azure-images-api.md §5.2 (Azure list prices via the litellm price map;
dall-e-2 uses OpenAI's list price because Azure's was not published in the material).
An estimate, not a bill: Azure also charges prompt tokens on token-priced models.

Operators whose contract differs from the list price (or who use a model the table does not know,
such as a newer gpt-image-*) override single entries with the `IMAGE_PRICES_JSON` setting, parsed by
`PriceTable.from_json`; everything not overridden keeps the built-in figure.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from decimal import Decimal
from types import MappingProxyType
from typing import TypeAlias

from bot.request import Family

_D = Decimal
_WIDE = ("1792x1024", "1024x1792")
_TALL_OR_WIDE = ("1536x1024", "1024x1536")

# (model prefix, quality, size class) -> USD per image. Size class "square" or "oblong".
_PER_IMAGE: dict[tuple[str, str | None, str], Decimal] = {
    ("dall-e-3", "standard", "square"): _D("0.04"),
    ("dall-e-3", "standard", "oblong"): _D("0.08"),
    ("dall-e-3", "hd", "square"): _D("0.08"),
    ("dall-e-3", "hd", "oblong"): _D("0.12"),
    ("gpt-image-1", "low", "square"): _D("0.011"),
    ("gpt-image-1", "medium", "square"): _D("0.042"),
    ("gpt-image-1", "high", "square"): _D("0.167"),
    ("gpt-image-1", "low", "oblong"): _D("0.016"),
    ("gpt-image-1", "medium", "oblong"): _D("0.063"),
    ("gpt-image-1", "high", "oblong"): _D("0.25"),
    ("gpt-image-1-mini", "low", "square"): _D("0.002"),
    ("gpt-image-1-mini", "medium", "square"): _D("0.008"),
    ("gpt-image-1-mini", "high", "square"): _D("0.033"),
    ("gpt-image-1-mini", "low", "oblong"): _D("0.003"),
    ("gpt-image-1-mini", "medium", "oblong"): _D("0.012"),
    ("gpt-image-1-mini", "high", "oblong"): _D("0.05"),
}
_DALL_E_2 = {"256x256": _D("0.016"), "512x512": _D("0.018"), "1024x1024": _D("0.020")}

# (model, size, quality) exactly as a job records them; quality None for models without one.
PriceKey: TypeAlias = tuple[str, str, str | None]

_SIZE = re.compile(r"[1-9][0-9]*x[1-9][0-9]*")
_QUALITY = re.compile(r"[a-z0-9_-]*")
OVERRIDE_EXAMPLE = '{"dall-e-3|1024x1024|standard": 0.05}'


def _list_price(model: str, size: str, quality: str | None) -> Decimal | None:
    family = Family.of(model)
    if family is Family.DALL_E_2:
        return _DALL_E_2.get(size)
    shape = "oblong" if size in _WIDE + _TALL_OR_WIDE else "square"
    if family is Family.DALL_E_3:
        return _PER_IMAGE.get(("dall-e-3", quality, shape))
    # gpt-image-1.5 is priced like gpt-image-1 until Azure lists it separately.
    key = "gpt-image-1-mini" if model.startswith("gpt-image-1-mini") else "gpt-image-1"
    return _PER_IMAGE.get((key, quality, shape))


class PriceTable:
    """The built-in list prices, with exact (model, size, quality) entries overriding them."""

    def __init__(self, overrides: Mapping[PriceKey, Decimal] | None = None) -> None:
        self._overrides: Mapping[PriceKey, Decimal] = MappingProxyType(dict(overrides or {}))

    @property
    def overrides(self) -> Mapping[PriceKey, Decimal]:
        return self._overrides

    @classmethod
    def from_json(cls, text: str) -> PriceTable:
        """Parse `{"<model>|<size>|<quality>": <USD per image>, …}`; ValueError with a plain message.

        The quality part is empty for a model without one (dall-e-2: `"dall-e-2|512x512|"`).
        """
        try:
            # Decimal, not float: 0.1 in the setting must be exactly 0.1 in every estimate.
            data = json.loads(text, parse_float=Decimal)
        except json.JSONDecodeError:
            raise ValueError(f"is not JSON; expected an object such as {OVERRIDE_EXAMPLE}") from None
        if not isinstance(data, dict):
            raise ValueError(f"is not a JSON object; expected one such as {OVERRIDE_EXAMPLE}")
        return cls({_parse_key(key): _parse_price(key, value) for key, value in data.items()})

    def price_per_image(self, model: str, size: str, quality: str | None) -> Decimal | None:
        """USD for one image, or None when neither the overrides nor the list know the combination."""
        override = self._overrides.get((model.strip().lower(), size, quality or None))
        return override if override is not None else _list_price(model, size, quality)

    def estimate(self, model: str, size: str, quality: str | None, images: int) -> Decimal | None:
        price = self.price_per_image(model, size, quality)
        return None if price is None else price * images


def _parse_key(key: str) -> PriceKey:
    parts = key.split("|")
    if len(parts) != 3:
        raise ValueError(f'key {key!r} is not "<model>|<size>|<quality>", e.g. "dall-e-3|1024x1024|standard"')
    model, size, quality = (part.strip().lower() for part in parts)
    try:
        Family.of(model)
    except ValueError:
        raise ValueError(f"key {key!r}: unknown model {model!r} (dall-e-2, dall-e-3 or gpt-image-*)") from None
    if not _SIZE.fullmatch(size):
        raise ValueError(f"key {key!r}: size {size!r} is not WIDTHxHEIGHT, e.g. 1024x1024")
    if not _QUALITY.fullmatch(quality):
        raise ValueError(f"key {key!r}: quality {quality!r} is not a word such as standard, hd, low or high")
    return model, size, quality or None


def _parse_price(key: str, value: object) -> Decimal:
    # bool is an int in Python, and `true` is surely a mistake rather than a price.
    if isinstance(value, bool) or not isinstance(value, int | Decimal):
        raise ValueError(f"price for {key!r} is not a number of US dollars per image")
    price = Decimal(value)
    if not price.is_finite() or price < 0:
        raise ValueError(f"price for {key!r} must be zero or more US dollars per image")
    return price


DEFAULT_PRICES = PriceTable()


def price_per_image(model: str, size: str, quality: str | None) -> Decimal | None:
    """USD for one image at list price, or None when the model is not in the table (an unknown gpt-image-*)."""
    return DEFAULT_PRICES.price_per_image(model, size, quality)


def estimate_cost(
    model: str, size: str, quality: str | None, images: int, prices: PriceTable = DEFAULT_PRICES
) -> Decimal | None:
    return prices.estimate(model, size, quality, images)
