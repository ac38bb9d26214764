"""--ar, --landscape, --portrait, --square: the size for a shape, and the note that says what was picked."""

from __future__ import annotations

import math
from fractions import Fraction

import pytest

from bot.images.models import Family
from bot.images.sizes import listed_sizes
from bot.replies.notes import note_text
from bot.request import SizeChosen
from bot.request.problems import RatioTooWide
from tests.unit.requests_support import D2, D3, GPT1, GPT2, parse_err, parse_ok, parsed, problem

SIZES = {
    D2: ["256x256", "512x512", "1024x1024"],
    D3: ["1024x1024", "1792x1024", "1024x1792"],
    GPT1: ["1024x1024", "1536x1024", "1024x1536"],
}


def log_distance(ratio: tuple[int, int], size: str) -> float:
    width, height = map(int, size.split("x"))
    return abs(math.log(ratio[0] / ratio[1]) - math.log(width / height))


def nearest(family: Family, ratio: tuple[int, int]) -> str:
    """Independent of the parser: the nearest size by log ratio; ties → square, then 1024x1024, then smaller."""
    best = min(log_distance(ratio, s) for s in SIZES[family])
    tied = [s for s in SIZES[family] if log_distance(ratio, s) - best < 1e-9]
    square = [s for s in tied if s.split("x")[0] == s.split("x")[1]]
    pool = square or tied
    return "1024x1024" if "1024x1024" in pool else min(pool, key=lambda s: math.prod(map(int, s.split("x"))))


def exact_free_size(w: int, h: int) -> str | None:
    """Independent of the parser: gpt-image-2's size of exactly w:h, sides in steps of 16, within its
    rules, with the pixel count nearest one megapixel (by log); None if no such size exists."""
    ratio = Fraction(w, h)
    a, b = ratio.numerator, ratio.denominator
    best: tuple[float, str] | None = None
    for m in range(1, 3841):
        width, height = m * a, m * b
        if max(width, height) > 3840:
            break
        if width % 16 or height % 16 or not 655_360 <= width * height <= 8_294_400:
            continue
        if max(width, height) > 3 * min(width, height):
            continue
        distance = abs(math.log(width * height / (1024 * 1024)))
        if best is None or distance < best[0]:
            best = (distance, f"{width}x{height}")
    return None if best is None else best[1]


@pytest.mark.parametrize("family", [D2, D3, GPT1])
def test_the_size_table_matches_the_familys_listed_sizes(family: Family) -> None:
    assert [str(size) for size in listed_sizes(family) or ()] == SIZES[family]


def test_gpt_image_2_lists_no_sizes() -> None:
    assert listed_sizes(GPT2) is None


@pytest.mark.parametrize(
    ("family", "ratio", "size", "note"),
    [
        # dall-e-3: 1:1, 7:4 and 4:7; the square/landscape boundary is sqrt(7/4) ≈ 1.323
        (D3, "16:9", "1792x1024", "16:9 → 1792x1024, the closest size this model makes"),
        (D3, "9:16", "1024x1792", "9:16 → 1024x1792, the closest size this model makes"),
        (D3, "4:3", "1792x1024", "4:3 → 1792x1024, the closest size this model makes"),  # 1.333: just past
        (D3, "21:16", "1024x1024", "21:16 → 1024x1024, the closest size this model makes"),  # 1.3125: short
        (D3, "3:4", "1024x1792", "3:4 → 1024x1792, the closest size this model makes"),
        (D3, "5:4", "1024x1024", "5:4 → 1024x1024, the closest size this model makes"),
        (D3, "7:4", "1792x1024", "7:4 → 1792x1024"),  # exact: no "closest"
        (D3, "1:1", "1024x1024", "1:1 → 1024x1024"),
        (D3, "100:1", "1792x1024", "100:1 → 1792x1024, the closest size this model makes"),
        # gpt-image-1.5 and -1-mini: 1:1, 3:2 and 2:3; the boundary is sqrt(3/2) ≈ 1.225
        (GPT1, "3:2", "1536x1024", "3:2 → 1536x1024"),
        (GPT1, "2:3", "1024x1536", "2:3 → 1024x1536"),
        (GPT1, "1:1", "1024x1024", "1:1 → 1024x1024"),
        (GPT1, "16:9", "1536x1024", "16:9 → 1536x1024, the closest size this model makes"),
        (GPT1, "5:4", "1536x1024", "5:4 → 1536x1024, the closest size this model makes"),  # 1.25: just past
        (GPT1, "6:5", "1024x1024", "6:5 → 1024x1024, the closest size this model makes"),  # 1.2: just short
        (GPT1, "4:5", "1024x1536", "4:5 → 1024x1536, the closest size this model makes"),
        # dall-e-2 makes only squares: the default one, and the note says why
        (D2, "16:9", "1024x1024", "16:9 → 1024x1024: this model makes only square images"),
        (D2, "2:3", "1024x1024", "2:3 → 1024x1024: this model makes only square images"),
        (D2, "1:1", "1024x1024", "1:1 → 1024x1024"),
        # gpt-image-2: the exact shape at about a megapixel, sides rounded to steps of 16
        (GPT2, "16:9", "1280x720", "16:9 → 1280x720"),
        (GPT2, "9:16", "720x1280", "9:16 → 720x1280"),
        (GPT2, "1:1", "1024x1024", "1:1 → 1024x1024"),
        (GPT2, "3:2", "1248x832", "3:2 → 1248x832"),
        (GPT2, "3:1", "1776x592", "3:1 → 1776x592"),
        (GPT2, "1:3", "592x1776", "1:3 → 592x1776"),
    ],
)
def test_an_aspect_ratio_picks_the_nearest_size(family: Family, ratio: str, size: str, note: str) -> None:
    w, h = map(int, ratio.split(":"))
    if family is GPT2:
        assert exact_free_size(w, h) == size  # the table agrees with the rule
    else:
        assert nearest(family, (w, h)) == size
    for text in (f"a fox --ar {ratio}", f"--aspect={ratio} a fox"):
        result = parsed(text, family)
        assert (result.request.prompt, result.request.size) == ("a fox", size)
        [chosen] = result.notes
        assert isinstance(chosen, SizeChosen)
        assert note_text(chosen) == note


def test_every_ratio_within_3_to_1_is_exact_on_gpt_image_2() -> None:
    for w, h in [(w, h) for w in range(1, 13) for h in range(1, 13) if w <= 3 * h and h <= 3 * w]:
        result = parsed(f"a fox --ar {w}:{h}", GPT2)
        [chosen] = result.notes
        assert isinstance(chosen, SizeChosen)
        assert result.request.size == exact_free_size(w, h)
        assert chosen.exact


@pytest.mark.parametrize(
    ("ratio", "suggestion", "words"),
    [("4:1", "1776x592", "Try --ar 3:1 (1776x592)"), ("1:4", "592x1776", "Try --ar 1:3 (592x1776)")],
)
def test_a_ratio_beyond_3_to_1_is_refused_with_the_widest_that_works(ratio: str, suggestion: str, words: str) -> None:
    assert problem(f"a fox --ar {ratio}", GPT2) == RatioTooWide("ar", ratio, suggestion)
    message = parse_err(f"a fox --ar {ratio}", GPT2)
    assert f"--ar {ratio}" in message
    assert words in message
    widest = words.split("--ar ")[1].split(" ")[0]
    assert parse_ok(f"a fox --ar {widest}", GPT2).size == suggestion


@pytest.mark.parametrize("family", [D2, D3, GPT1])
def test_families_with_listed_sizes_take_any_ratio_and_pick_the_nearest(family: Family) -> None:
    assert parse_ok("a fox --ar 4:1", family).size == nearest(family, (4, 1))


@pytest.mark.parametrize(
    ("family", "flag", "size", "note"),
    [
        (D3, "--landscape", "1792x1024", "landscape → 1792x1024, the closest size this model makes"),
        (D3, "--portrait", "1024x1792", "portrait → 1024x1792, the closest size this model makes"),
        (D3, "--square", "1024x1024", "square → 1024x1024"),
        (GPT1, "--landscape", "1536x1024", "landscape → 1536x1024, the closest size this model makes"),
        (GPT1, "--PORTRAIT", "1024x1536", "portrait → 1024x1536, the closest size this model makes"),
        (GPT1, "—square", "1024x1024", "square → 1024x1024"),
        (GPT2, "--landscape", "1280x720", "landscape → 1280x720"),
        (GPT2, "--portrait", "720x1280", "portrait → 720x1280"),
        (GPT2, "--square", "1024x1024", "square → 1024x1024"),
        (D2, "--landscape", "1024x1024", "landscape → 1024x1024: this model makes only square images"),
        (D2, "--portrait", "1024x1024", "portrait → 1024x1024: this model makes only square images"),
        (D2, "--square", "1024x1024", "square → 1024x1024"),
    ],
)
def test_orientation_switches(family: Family, flag: str, size: str, note: str) -> None:
    # A switch takes no value: the next word stays in the prompt.
    result = parsed(f"a fox {flag} in snow", family)
    assert (result.request.prompt, result.request.size) == ("a fox in snow", size)
    assert [note_text(n) for n in result.notes if isinstance(n, SizeChosen)] == [note]


@pytest.mark.parametrize(
    "text",
    [
        'a fox --ar "16:9"',
        "a fox --ar `16:9`",
        "a fox --AR 16:9",
        "a fox —ar 16:9",
        "a fox --ar 16：9",
        "a fox --ar 032:18",
    ],
)
def test_aspect_ratio_spellings(text: str) -> None:
    assert parse_ok(text, D3).size == "1792x1024"
    assert parse_ok(text, GPT2).size == "1280x720"


@pytest.mark.parametrize("text", ["a fox", "a fox --size 1792x1024"])
def test_no_size_note_without_a_shortcut(text: str) -> None:
    assert parsed(text, D3).notes == ()
