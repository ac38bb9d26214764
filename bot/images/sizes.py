"""Image sizes: what each family accepts, the size for an aspect ratio, and the largest for upscaling.

gpt-image-2 takes any WxH whose sides are multiples of 16, with a long:short ratio of at most 3:1,
between 655,360 and 8,294,400 pixels and no edge over 3840; above 2560x1440 Azure calls it
experimental. Every other family offers a short list. docs/contracts/azure-openai-images.md §2.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from enum import StrEnum
from fractions import Fraction

from bot.images.models import Family

STEP = 16
MAX_RATIO = 3
MIN_PIXELS = 655_360
MAX_PIXELS = 8_294_400
MAX_EDGE = 3840
STABLE_PIXELS = 2560 * 1440  # beyond this Azure calls the size experimental
ONE_MEGAPIXEL = 1024 * 1024

_SIZE = re.compile(r"([0-9]{1,6})\s*[x×]\s*([0-9]{1,6})", re.IGNORECASE)


@dataclass(frozen=True, slots=True, order=True)
class Size:
    width: int
    height: int

    def __str__(self) -> str:
        return f"{self.width}x{self.height}"

    @classmethod
    def parse(cls, text: str) -> Size | None:
        """`1536x864`, `1536X864` or `1536×864` (phones autocorrect x to ×); None if not WxH."""
        match = _SIZE.fullmatch(text.strip())
        return cls(int(match[1]), int(match[2])) if match else None

    @property
    def pixels(self) -> int:
        return self.width * self.height

    @property
    def ratio(self) -> float:
        return self.width / self.height

    @property
    def is_square(self) -> bool:
        return self.width == self.height


STANDARD_SIZES: dict[Family, tuple[Size, ...]] = {
    Family.GPT_IMAGE_1: (Size(1024, 1024), Size(1536, 1024), Size(1024, 1536)),
    Family.DALL_E_3: (Size(1024, 1024), Size(1792, 1024), Size(1024, 1792)),
    Family.DALL_E_2: (Size(256, 256), Size(512, 512), Size(1024, 1024)),
}
DEFAULT_SIZE = Size(1024, 1024)


def listed_sizes(family: Family) -> tuple[Size, ...] | None:
    """The sizes a family offers, or None where any size within the rules works (gpt-image-2)."""
    return STANDARD_SIZES.get(family)


class SizeRule(StrEnum):
    """Which of gpt-image-2's rules a size breaks; `bot.replies` words each one."""

    MULTIPLE_OF_16 = "multiple_of_16"
    RATIO = "ratio"
    TOO_LARGE = "too_large"
    TOO_SMALL = "too_small"
    NOT_OFFERED = "not_offered"  # a family with a list of sizes


def broken_rule(size: Size, family: Family) -> SizeRule | None:
    listed = listed_sizes(family)
    if listed is not None:
        return None if size in listed else SizeRule.NOT_OFFERED
    # The shape first: rounding to steps of 16 cannot fix a 4:1 request, so that is the rule to name.
    if max(size.width, size.height) > MAX_RATIO * min(size.width, size.height):
        return SizeRule.RATIO
    if size.width % STEP or size.height % STEP:
        return SizeRule.MULTIPLE_OF_16
    if size.pixels > MAX_PIXELS or max(size.width, size.height) > MAX_EDGE:
        return SizeRule.TOO_LARGE
    if size.pixels < MIN_PIXELS:
        return SizeRule.TOO_SMALL
    return None


def is_experimental(size: Size, family: Family) -> bool:
    return family is Family.GPT_IMAGE_2 and size.pixels > STABLE_PIXELS


def _round(value: float) -> int:
    return max(STEP, round(value / STEP) * STEP)


def _clamped_ratio(width: float, height: float) -> tuple[float, float]:
    if width > MAX_RATIO * height:
        return width, width / MAX_RATIO
    if height > MAX_RATIO * width:
        return height / MAX_RATIO, height
    return width, height


def _scaled_into_bounds(width: float, height: float, *, max_pixels: int = MAX_PIXELS) -> tuple[float, float]:
    pixels = width * height
    scale = 1.0
    if pixels > max_pixels:
        scale = math.sqrt(max_pixels / pixels)
    elif pixels < MIN_PIXELS:
        scale = math.sqrt(MIN_PIXELS / pixels)
    scale = min(scale, MAX_EDGE / max(width, height))
    return width * scale, height * scale


def nearest_valid(size: Size, family: Family) -> Size:
    """A size close to `size` that `family` accepts: what a refusal suggests instead."""
    listed = listed_sizes(family)
    if listed is not None:
        return nearest_listed(Fraction(size.width, size.height), listed)
    width, height = _scaled_into_bounds(*_clamped_ratio(size.width, size.height))
    candidate = Size(_round(width), _round(height))
    for _ in range(4):  # rounding can step just outside a bound; walk back in
        rule = broken_rule(candidate, family)
        if rule is None:
            return candidate
        if rule is SizeRule.TOO_LARGE:
            candidate = Size(candidate.width - STEP, candidate.height - STEP * candidate.height // candidate.width)
        elif rule is SizeRule.TOO_SMALL:
            candidate = Size(candidate.width + STEP, candidate.height + STEP)
        elif rule is SizeRule.RATIO:  # rounding stretched a 3:1 shape just past 3:1: pull the long side in
            long_is_width = candidate.width > candidate.height
            candidate = Size(candidate.width - STEP * long_is_width, candidate.height - STEP * (not long_is_width))
        else:
            candidate = Size(_round(candidate.width), _round(candidate.height))
    return DEFAULT_SIZE


def nearest_listed(ratio: Fraction, listed: tuple[Size, ...]) -> Size:
    """The listed size nearest `ratio` by log(w/h); ties go to the square, then 1024x1024, then the smaller."""
    target = math.log(ratio)

    def distance(size: Size) -> float:
        return abs(target - math.log(size.ratio))

    best = min(map(distance, listed))
    tied = [size for size in listed if distance(size) - best <= 1e-9]
    return min(tied, key=lambda s: (not s.is_square, s != DEFAULT_SIZE, s.pixels))


def exact_size(ratio: Fraction, *, near_pixels: int, max_pixels: int = MAX_PIXELS) -> Size | None:
    """The size with exactly `ratio`, both sides multiples of 16, within the rules, nearest `near_pixels`."""
    if not Fraction(1, MAX_RATIO) <= ratio <= MAX_RATIO:
        return None
    a, b = ratio.numerator, ratio.denominator
    # w = m·a and h = m·b are both multiples of 16 exactly when m is a multiple of this step.
    step = math.lcm(STEP // math.gcd(STEP, a), STEP // math.gcd(STEP, b))
    best: Size | None = None
    m = step
    while m * max(a, b) <= MAX_EDGE and m * m * a * b <= max_pixels:
        size = Size(m * a, m * b)
        if size.pixels >= MIN_PIXELS and (
            best is None or abs(math.log(size.pixels / near_pixels)) < abs(math.log(best.pixels / near_pixels))
        ):
            best = size
        m += step
    return best


@dataclass(frozen=True, slots=True)
class RatioSize:
    size: Size
    exact: bool  # False: the nearest the family makes, or rounded to steps of 16


def size_for_ratio(ratio: Fraction, family: Family) -> RatioSize:
    """The size for an aspect ratio: exact at about one megapixel on gpt-image-2, else the nearest listed."""
    listed = listed_sizes(family)
    if listed is not None:
        size = nearest_listed(ratio, listed)
        return RatioSize(size, Fraction(size.width, size.height) == ratio)
    exact = exact_size(ratio, near_pixels=ONE_MEGAPIXEL)
    if exact is not None:
        return RatioSize(exact, True)
    width = math.sqrt(ONE_MEGAPIXEL * ratio)
    return RatioSize(nearest_valid(Size(round(width), round(ONE_MEGAPIXEL / width)), family), False)


def largest_for(size: Size, family: Family) -> Size:
    """The largest size of the same shape the family makes without going experimental (Upscale)."""
    listed = listed_sizes(family)
    ratio = Fraction(size.width, size.height)
    if listed is not None:
        same_shape = [s for s in listed if abs(math.log(s.ratio / size.ratio)) < 0.25]
        return max(same_shape, key=lambda s: s.pixels) if same_shape else size
    exact = exact_size(ratio, near_pixels=STABLE_PIXELS, max_pixels=STABLE_PIXELS)
    if exact is not None and exact.pixels > size.pixels:
        return exact
    scale = math.sqrt(STABLE_PIXELS / size.pixels)
    candidate = Size(int(size.width * scale) // STEP * STEP, int(size.height * scale) // STEP * STEP)
    return candidate if candidate.pixels > size.pixels and broken_rule(candidate, family) is None else size
