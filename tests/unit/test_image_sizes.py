"""bot.images.sizes: gpt-image-2's rules for free sizes, the listed sizes of the others, and the sizes the
bot picks itself (a refusal's suggestion, an aspect ratio's size, an upscale's size)."""

from __future__ import annotations

import math
from fractions import Fraction

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.images.models import Family
from bot.images.sizes import (
    DEFAULT_SIZE,
    STABLE_PIXELS,
    Size,
    SizeRule,
    broken_rule,
    exact_size,
    is_experimental,
    largest_for,
    listed_sizes,
    nearest_listed,
    nearest_valid,
    size_for_ratio,
)

GPT2 = Family.GPT_IMAGE_2


@pytest.mark.parametrize(
    ("text", "size"),
    [
        ("1536x864", Size(1536, 864)),
        ("1536X864", Size(1536, 864)),
        ("1536×864", Size(1536, 864)),
        (" 1536 x 864 ", Size(1536, 864)),
        ("auto", None),
        ("1536", None),
        ("1536x", None),
        ("-16x16", None),
        ("1234567x1", None),
        ("1.5x1", None),
    ],
)
def test_size_parse(text: str, size: Size | None) -> None:
    assert Size.parse(text) == size


def test_a_size_prints_as_wxh_and_knows_its_shape() -> None:
    size = Size(1536, 864)
    assert (str(size), size.pixels, size.is_square) == ("1536x864", 1536 * 864, False)
    assert size.ratio == pytest.approx(16 / 9)
    assert Size(1024, 1024).is_square


@pytest.mark.parametrize(
    ("size", "rule"),
    [
        (Size(1536, 864), None),
        (Size(1024, 640), None),  # 655,360 pixels exactly: the least allowed
        (Size(3840, 2160), None),  # 8,294,400 exactly: the most allowed
        (Size(2160, 3840), None),
        (Size(3072, 1024), None),  # 3:1 exactly
        (Size(1000, 600), SizeRule.MULTIPLE_OF_16),
        (Size(1024, 1000), SizeRule.MULTIPLE_OF_16),
        (Size(4000, 1000), SizeRule.RATIO),  # 4:1, though 1000 is no multiple of 16 either
        (Size(3088, 1024), SizeRule.RATIO),
        (Size(4000, 4000), SizeRule.TOO_LARGE),
        (Size(3856, 1920), SizeRule.TOO_LARGE),  # an edge over 3840
        (Size(1008, 640), SizeRule.TOO_SMALL),
        (Size(512, 512), SizeRule.TOO_SMALL),
    ],
)
def test_gpt_image_2s_rules(size: Size, rule: SizeRule | None) -> None:
    assert broken_rule(size, GPT2) is rule


@pytest.mark.parametrize(
    ("family", "sizes"),
    [
        (Family.GPT_IMAGE_1, ["1024x1024", "1536x1024", "1024x1536"]),
        (Family.DALL_E_3, ["1024x1024", "1792x1024", "1024x1792"]),
        (Family.DALL_E_2, ["256x256", "512x512", "1024x1024"]),
    ],
)
def test_the_other_families_take_only_their_listed_sizes(family: Family, sizes: list[str]) -> None:
    listed = listed_sizes(family)
    assert [str(s) for s in listed or ()] == sizes
    assert all(broken_rule(s, family) is None for s in listed or ())
    assert broken_rule(Size(1536, 864), family) is SizeRule.NOT_OFFERED


def test_only_gpt_image_2_above_2560x1440_is_experimental() -> None:
    assert not is_experimental(Size(2560, 1440), GPT2)
    assert is_experimental(Size(2560, 1456), GPT2)
    assert is_experimental(Size(3840, 2160), GPT2)
    assert not is_experimental(Size(1792, 1024), Family.DALL_E_3)
    assert STABLE_PIXELS == 2560 * 1440


sides = st.integers(min_value=1, max_value=20_000)


@settings(max_examples=80, deadline=None)
@given(width=sides, height=sides, family=st.sampled_from(list(Family)))
def test_the_nearest_valid_size_is_always_valid(width: int, height: int, family: Family) -> None:
    suggestion = nearest_valid(Size(width, height), family)
    assert broken_rule(suggestion, family) is None


@settings(max_examples=60, deadline=None)
@given(width=st.integers(40, 8000), height=st.integers(40, 8000))
def test_the_nearest_valid_size_keeps_the_shape_within_the_ratio_limit(width: int, height: int) -> None:
    ratio = min(max(width / height, 1 / 3), 3)
    suggestion = nearest_valid(Size(width, height), GPT2)
    assert abs(math.log(suggestion.ratio / ratio)) < 0.2


def test_a_valid_size_is_its_own_nearest() -> None:
    assert nearest_valid(Size(1536, 864), GPT2) == Size(1536, 864)
    assert nearest_valid(Size(1792, 1024), Family.DALL_E_3) == Size(1792, 1024)


@pytest.mark.parametrize(
    ("ratio", "size"),
    [(Fraction(1), Size(1024, 1024)), (Fraction(16, 9), Size(1536, 1024)), (Fraction(9, 16), Size(1024, 1536))],
)
def test_nearest_listed_by_log_ratio(ratio: Fraction, size: Size) -> None:
    listed = listed_sizes(Family.GPT_IMAGE_1)
    assert listed is not None
    assert nearest_listed(ratio, listed) == size


def test_nearest_listed_ties_go_to_the_square_then_1024_then_the_smaller() -> None:
    dall_e_2 = listed_sizes(Family.DALL_E_2)
    assert dall_e_2 is not None
    assert nearest_listed(Fraction(16, 9), dall_e_2) == DEFAULT_SIZE


@settings(max_examples=60, deadline=None)
@given(a=st.integers(1, 60), b=st.integers(1, 60))
def test_an_exact_size_has_exactly_the_ratio_and_obeys_the_rules(a: int, b: int) -> None:
    size = exact_size(Fraction(a, b), near_pixels=1024 * 1024)
    if not Fraction(1, 3) <= Fraction(a, b) <= 3:
        assert size is None
        return
    if size is None:
        return  # no multiple of the ratio fits (it would need sides beyond the rules)
    assert Fraction(size.width, size.height) == Fraction(a, b)
    assert broken_rule(size, GPT2) is None


@pytest.mark.parametrize(
    ("ratio", "size", "exact"),
    [
        (Fraction(16, 9), Size(1280, 720), True),
        (Fraction(1), Size(1024, 1024), True),
        (Fraction(3, 1), Size(1776, 592), True),
    ],
)
def test_size_for_ratio_on_gpt_image_2_is_exact_at_about_a_megapixel(ratio: Fraction, size: Size, exact: bool) -> None:
    chosen = size_for_ratio(ratio, GPT2)
    assert (chosen.size, chosen.exact) == (size, exact)


def test_size_for_ratio_on_a_listed_family_is_the_nearest_and_says_whether_exact() -> None:
    assert size_for_ratio(Fraction(7, 4), Family.DALL_E_3).exact
    chosen = size_for_ratio(Fraction(16, 9), Family.DALL_E_3)
    assert (chosen.size, chosen.exact) == (Size(1792, 1024), False)


@settings(max_examples=80, deadline=None)
@given(width=st.integers(40, 240).map(lambda v: v * 16), height=st.integers(40, 240).map(lambda v: v * 16))
def test_largest_for_is_never_smaller_never_experimental_and_keeps_the_shape(width: int, height: int) -> None:
    size = Size(width, height)
    if broken_rule(size, GPT2) is not None:
        return
    larger = largest_for(size, GPT2)
    assert broken_rule(larger, GPT2) is None
    assert larger.pixels >= size.pixels
    assert larger == size or larger.pixels <= STABLE_PIXELS
    assert abs(math.log(larger.ratio / size.ratio)) < 0.05


@pytest.mark.parametrize(
    ("size", "family", "larger"),
    [
        (Size(1536, 864), GPT2, Size(2560, 1440)),
        (Size(1024, 1024), GPT2, Size(1920, 1920)),
        (Size(3840, 2160), GPT2, Size(3840, 2160)),  # already past the stable sizes: nothing larger offered
        (Size(256, 256), Family.DALL_E_2, Size(1024, 1024)),
        (Size(1024, 1024), Family.GPT_IMAGE_1, Size(1024, 1024)),
        (Size(1024, 1792), Family.DALL_E_3, Size(1024, 1792)),
    ],
)
def test_largest_for(size: Size, family: Family, larger: Size) -> None:
    assert largest_for(size, family) == larger
