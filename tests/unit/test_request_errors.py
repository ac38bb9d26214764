"""Refusals: each names the bad input and something that would work, in one or two short sentences."""

from __future__ import annotations

import pytest

from bot.images.models import Family
from bot.images.sizes import SizeRule
from bot.request.problems import BadSize, BadValue, Clash, ConflictingOptions, Reason, RepeatedOption
from tests.unit.requests_support import D2, D3, GPT1, GPT2, parse_err, parse_ok, problem


@pytest.mark.parametrize(
    ("family", "text", "bad", "good"),
    [
        # unknown flag, with a suggestion and the valid flags
        pytest.param(D2, "cat --sze 512x512", "--sze", "--size", id="d2-unknown"),
        pytest.param(D3, "cat --qualty hd", "--qualty", "--quality", id="d3-unknown"),
        pytest.param(GPT2, "cat --zzz 16:9", "--zzz", "--quality", id="gpt-unknown-no-suggestion"),
        pytest.param(D3, "cat --landscpe", "--landscpe", "--landscape", id="d3-unknown-switch-suggested"),
        pytest.param(GPT2, "cat --fromat png", "--fromat", "--format", id="gpt-unknown-format-suggested"),
        pytest.param(GPT2, "cat --rwa", "--rwa", "--raw", id="gpt-unknown-raw-suggested"),
        pytest.param(D3, "cat --help", "--help", "--size", id="help-flag-among-text"),
        pytest.param(D3, "cat —stlye natural", "--stlye", "--style", id="unknown-smart-dash"),
        # missing value
        pytest.param(D2, "cat --size", "--size", "512x512", id="d2-missing-at-end"),
        pytest.param(D3, "cat --size --style natural", "--size", "1792x1024", id="d3-missing-before-flag"),
        pytest.param(GPT2, "cat --quality=", "--quality", "high", id="gpt-missing-eq"),
        pytest.param(GPT2, 'cat --n ""', "--n", "1 to 10", id="gpt-missing-empty-quotes"),
        pytest.param(GPT2, "cat --size", "--size", "1536x864", id="gpt2-missing-size"),
        pytest.param(D2, "cat --n", "--n", "1 to 5", id="d2-missing-n"),
        # bad value
        pytest.param(D2, "cat --size 500x500", "500x500", "256x256", id="d2-bad-size"),
        pytest.param(D2, "cat --size 1792x1024", "1792x1024", "1024x1024", id="d2-other-family-size"),
        pytest.param(D3, "cat --size 1536x1024", "1536x1024", "1792x1024", id="d3-bad-size"),
        pytest.param(GPT1, "cat --size 1536x864", "1536x864", "1536x1024", id="gpt1-free-size-not-offered"),
        pytest.param(GPT1, "cat --size big", "big", "1536x1024", id="gpt1-bad-size"),
        pytest.param(GPT2, "cat --size big", "big", "1536x864", id="gpt2-not-a-size"),
        pytest.param(D3, "cat --size auto", "auto", "1792x1024", id="d3-no-auto-size"),
        pytest.param(D3, "cat --quality ultra", "ultra", "hd", id="d3-bad-quality"),
        pytest.param(GPT2, "cat --quality ultra", "ultra", "medium", id="gpt-bad-quality"),
        pytest.param(D3, "cat --quality high", "high", "hd", id="d3-no-gpt-quality-alias"),
        pytest.param(D3, "cat --quality medium", "--quality medium", "standard or hd", id="d3-keeps-standard-hd"),
        pytest.param(D3, "cat --style anime", "anime", "natural", id="d3-bad-style"),
        pytest.param(D2, "cat --n 0", "--n 0", "1 to 5", id="d2-n-zero"),
        pytest.param(D2, "cat --n 6", "--n 6", "1 to 5", id="d2-n-too-many"),
        pytest.param(D2, "cat --n abc", "--n abc", "1 to 5", id="d2-n-not-number"),
        pytest.param(GPT2, "cat --n 11", "--n 11", "1 to 10", id="gpt-n-too-many"),
        pytest.param(GPT2, "cat --n -1", "--n -1", "1 to 10", id="gpt-n-negative"),
        pytest.param(GPT2, "cat --n 1.5", "--n 1.5", "1 to 10", id="gpt-n-fraction"),
        pytest.param(GPT2, "cat --n ３", "--n ３", "1 to 10", id="gpt-n-fullwidth-digit"),
        pytest.param(GPT2, "cat --n " + "9" * 5000, "--n 999", "1 to 10", id="gpt-n-huge"),
        pytest.param(D3, "cat --n 2", "--n 2", "--n 1", id="d3-one-image-per-call"),
        pytest.param(D3, "cat --n abc", "--n abc", "--n 1", id="d3-n-not-number"),
        pytest.param(GPT2, "cat --raw=yes", "--raw=yes", "--raw alone", id="switch-with-value"),
        # an option this model doesn't have: explained, not dropped
        pytest.param(D2, "cat --style natural", "--style", "--size", id="d2-no-style"),
        pytest.param(D2, "cat --quality hd", "--quality", "--size", id="d2-no-quality"),
        pytest.param(GPT2, "cat --style natural", "--style", "--quality", id="gpt-no-style"),
        pytest.param(D3, "cat --raw", "--raw", "--style", id="d3-no-raw"),
        # given twice, in any form or case
        pytest.param(D2, "cat --size 512x512 --size=256x256", "--size", "once", id="d2-twice"),
        pytest.param(D3, "cat --style vivid --STYLE vivid", "--style", "once", id="d3-twice-case"),
        pytest.param(GPT2, "--n 2 cat --n=2", "--n", "once", id="gpt-twice"),
        pytest.param(GPT2, "cat --raw --raw", "--raw", "once", id="switch-twice"),
        # nothing left to draw
        pytest.param(D2, "--size 512x512", "description", "--size", id="d2-empty-prompt"),
        pytest.param(D3, "--style natural --quality hd", "description", "--size", id="d3-empty-prompt"),
        pytest.param(GPT2, "--n 2", "description", "--size", id="gpt-empty-prompt"),
    ],
)
def test_errors_name_the_bad_input_and_an_alternative(family: Family, text: str, bad: str, good: str) -> None:
    message = parse_err(text, family)
    assert bad in message
    assert good in message
    assert len(message) < 200, message  # one or two short sentences


def test_a_long_bad_value_is_shortened_in_the_message() -> None:
    message = parse_err("cat --style " + "z" * 500, D3)
    assert "zzz" in message
    assert len(message) < 150


# --- gpt-image-2's free sizes -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("typed", "rule", "words"),
    [
        pytest.param("1000x600", SizeRule.MULTIPLE_OF_16, "multiples of 16", id="not-multiples-of-16"),
        pytest.param("4000x1000", SizeRule.RATIO, "at most 3:1", id="too-wide"),
        pytest.param("1024x3360", SizeRule.RATIO, "at most 3:1", id="too-tall"),
        pytest.param("4000x4000", SizeRule.TOO_LARGE, "at most 8,294,400 pixels", id="too-many-pixels"),
        pytest.param("3856x1920", SizeRule.TOO_LARGE, "no side over 3840", id="edge-too-long"),
        pytest.param("512x512", SizeRule.TOO_SMALL, "at least 655,360 pixels", id="too-small"),
        pytest.param("16x16", SizeRule.TOO_SMALL, "at least 655,360 pixels", id="tiny"),
    ],
)
def test_a_free_size_that_breaks_a_rule_names_the_rule_and_suggests_a_size_that_parses(
    typed: str, rule: SizeRule, words: str
) -> None:
    refused = problem(f"cat --size {typed}", GPT2)

    assert isinstance(refused, BadSize)
    assert (refused.typed, refused.rule, refused.model) == (typed, rule, "gpt-image-2")
    message = parse_err(f"cat --size {typed}", GPT2)
    assert f"--size {typed}" in message
    assert words in message
    assert f"Try --size {refused.suggestion}." in message
    assert len(message) < 200
    assert parse_ok(f"cat --size {refused.suggestion}", GPT2).size == refused.suggestion


def test_the_suggestion_keeps_the_shape_where_the_rules_allow() -> None:
    suggestion = problem("cat --size 1000x600", GPT2)
    assert isinstance(suggestion, BadSize)
    width, height = map(int, suggestion.suggestion.split("x"))
    assert abs(width / height - 1000 / 600) < 0.05


@pytest.mark.parametrize("typed", ["2560x1456", "3840x2160", "2048x2048", "3072x1536"])
def test_a_size_above_2560x1440_parses_with_an_experimental_note(typed: str) -> None:
    from bot.request import ExperimentalSize
    from tests.unit.requests_support import parsed

    result = parsed(f"cat --size {typed}", GPT2)

    assert result.request.size == typed
    assert result.notes == (ExperimentalSize(typed),)


@pytest.mark.parametrize("typed", ["2560x1440", "1440x2560", "1536x864", "1024x640", "auto"])
def test_a_size_up_to_2560x1440_parses_without_a_note(typed: str) -> None:
    from tests.unit.requests_support import parsed

    assert parsed(f"cat --size {typed}", GPT2).notes == ()


@pytest.mark.parametrize("family", [D2, D3, GPT1])
def test_a_family_with_listed_sizes_names_them_all(family: Family) -> None:
    from bot.images.sizes import listed_sizes

    listed = listed_sizes(family)
    assert listed is not None
    message = parse_err("cat --size 1000x1000", family)
    assert all(str(size) in message for size in listed)
    assert f"isn't available on {family.value}" in message


# --- clashes and shortcuts ------------------------------------------------------------------------


def test_clash_message() -> None:
    assert problem("cat --background transparent --format jpeg", GPT2) == Clash(
        ("background", "transparent"), ("format", "jpeg"), "JPEG has no transparency", ("format", "png")
    )
    assert parse_err("cat --background transparent --format jpeg", GPT2) == (
        "--background transparent and --format jpeg don't go together: JPEG has no transparency. "
        "Use --format png or leave out --background."
    )


@pytest.mark.parametrize("family", [GPT1, GPT2])
def test_the_clashs_fix_parses(family: Family) -> None:
    refused = problem("--format jpg cat --background=Transparent", family)
    assert isinstance(refused, Clash)
    option, value = refused.fix
    assert parse_ok(f"cat --background transparent --{option} {value}", family).output_format == value


@pytest.mark.parametrize(
    ("text", "bad", "good"),
    [
        pytest.param("cat --ar 16:9 --size 1024x1024", "--ar and --size", "one of them", id="ar-and-size"),
        pytest.param("cat --size 1024x1024 --landscape", "--size and --landscape", "one of them", id="size-and-switch"),
        pytest.param("cat --portrait --square", "--portrait and --square", "one of them", id="two-switches"),
        pytest.param("cat --aspect 2:3 --landscape", "--ar and --landscape", "one of them", id="alias-and-switch"),
        pytest.param("cat --ar 1:1 --aspect 2:3", "--ar", "once", id="ar-twice-via-alias"),
        pytest.param("cat --landscape --LANDSCAPE", "--landscape", "once", id="switch-twice"),
        pytest.param("cat --ar 16x9", "--ar 16x9", "16:9", id="x-not-colon"),
        pytest.param("cat --ar 0:9", "--ar 0:9", "W:H", id="zero-width"),
        pytest.param("cat --ar 16:0", "--ar 16:0", "W:H", id="zero-height"),
        pytest.param("cat --ar 1.5:1", "--ar 1.5:1", "whole numbers", id="fraction"),
        pytest.param("cat --ar -16:9", "--ar -16:9", "16:9", id="negative"),
        pytest.param("cat --ar 16:9:1", "--ar 16:9:1", "16:9", id="three-parts"),
        pytest.param("cat --ar 1234567:1", "--ar 1234567:1", "16:9", id="too-many-digits"),
        pytest.param("cat --ar", "--ar", "16:9", id="missing-at-end"),
        pytest.param("cat --ar= --n 1", "--ar", "16:9", id="missing-eq"),
        pytest.param("cat --ar --n 1", "--ar", "16:9", id="missing-before-flag"),
        pytest.param("cat --landscape=yes", "--landscape=yes", "--landscape alone", id="switch-with-value"),
        pytest.param("cat --square=", "--square=", "--square alone", id="switch-with-empty-value"),
    ],
)
def test_shortcut_errors(text: str, bad: str, good: str) -> None:
    for family in Family:
        message = parse_err(text, family)
        assert bad in message
        assert good in message
        assert len(message) < 200, message


def test_conflicts_and_repeats_are_typed() -> None:
    assert problem("cat --ar 16:9 --size 1024x1024", GPT2) == ConflictingOptions("ar", "size", "size")
    assert problem("cat --n 1 --n 2", GPT2) == RepeatedOption("n")


def test_dall_e_3s_single_image_says_why() -> None:
    refused = problem("cat --n 2", D3)
    assert isinstance(refused, BadValue)
    assert refused.reason is Reason.OUT_OF_RANGE
    assert "dall-e-3 makes one image per call" in parse_err("cat --n 2", D3)
