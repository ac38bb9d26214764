"""Estimated cost of a request in USD, per model, size and quality.

Figures: shared/reference/azure-images-api.md §5.2 (Azure list prices via the litellm price map;
dall-e-2 uses OpenAI's list price because Azure's was not published in the material).
An estimate, not a bill: Azure also charges prompt tokens on token-priced models.
"""

from __future__ import annotations

from decimal import Decimal

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


def price_per_image(model: str, size: str, quality: str | None) -> Decimal | None:
    """USD for one image, or None when the model is not in the table (an unknown gpt-image-* model)."""
    family = Family.of(model)
    if family is Family.DALL_E_2:
        return _DALL_E_2.get(size)
    shape = "oblong" if size in _WIDE + _TALL_OR_WIDE else "square"
    if family is Family.DALL_E_3:
        return _PER_IMAGE.get(("dall-e-3", quality, shape))
    # gpt-image-1.5 is priced like gpt-image-1 until Azure lists it separately.
    key = "gpt-image-1-mini" if model.startswith("gpt-image-1-mini") else "gpt-image-1"
    return _PER_IMAGE.get((key, quality, shape))


def estimate_cost(model: str, size: str, quality: str | None, images: int) -> Decimal | None:
    price = price_per_image(model, size, quality)
    return None if price is None else price * images
