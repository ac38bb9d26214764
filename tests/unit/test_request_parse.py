"""bot.request.parse_request: text → ParsedRequest, for each family; flags anywhere; the prompt kept as typed."""

from __future__ import annotations

import dataclasses

import pytest

from bot.images.models import Deployments, Family
from bot.images.request import ImageRequest
from bot.request import HelpRequested, RequestError, parse_request
from bot.request.options import FLAGS, has_option
from bot.request.problems import EmptyPrompt, OptionNotOnModel, PromptTooLong
from tests.unit.requests_support import D2, D3, GPT1, GPT2, parse_err, parse_ok, parsed, problem


@pytest.mark.parametrize(
    ("family", "expected"),
    [
        pytest.param(D2, ImageRequest("a badger wearing a tuxedo", "1024x1024", None, 1), id="dall-e-2"),
        pytest.param(D3, ImageRequest("a badger wearing a tuxedo", "1024x1024", "standard", 1, "vivid"), id="dall-e-3"),
        pytest.param(GPT1, ImageRequest("a badger wearing a tuxedo", "1024x1024", "medium", 1), id="gpt-image-1"),
        pytest.param(GPT2, ImageRequest("a badger wearing a tuxedo", "1024x1024", "medium", 1), id="gpt-image-2"),
    ],
)
def test_a_plain_description_gets_the_familys_defaults(family: Family, expected: ImageRequest) -> None:
    result = parsed("a badger wearing a tuxedo", family)

    assert result.request == expected
    assert result.deployment is None
    assert result.notes == ()


@pytest.mark.parametrize(
    ("family", "text", "field", "value"),
    [
        pytest.param(D2, "cat --size 512x512", "size", "512x512", id="d2-size"),
        pytest.param(D2, "cat --size=256x256", "size", "256x256", id="d2-size-eq"),
        pytest.param(D2, "cat --n 5", "n", 5, id="d2-n"),
        pytest.param(D2, "cat --n=3", "n", 3, id="d2-n-eq"),
        pytest.param(D3, "cat --size 1792x1024", "size", "1792x1024", id="d3-size"),
        pytest.param(D3, "cat --size=1024x1792", "size", "1024x1792", id="d3-size-eq"),
        pytest.param(D3, "cat --quality hd", "quality", "hd", id="d3-quality"),
        pytest.param(D3, "cat --quality=standard", "quality", "standard", id="d3-quality-eq"),
        pytest.param(D3, "cat --style natural", "style", "natural", id="d3-style"),
        pytest.param(D3, "cat --style=vivid", "style", "vivid", id="d3-style-eq"),
        pytest.param(D3, "cat --n 1", "n", 1, id="d3-n-1"),
        pytest.param(GPT1, "cat --size 1536x1024", "size", "1536x1024", id="gpt1-size"),
        pytest.param(GPT1, "cat --size=1024x1536", "size", "1024x1536", id="gpt1-size-eq"),
        pytest.param(GPT1, "cat --size auto", "size", "auto", id="gpt1-size-auto"),
        pytest.param(GPT1, "cat --quality high", "quality", "high", id="gpt1-quality"),
        pytest.param(GPT1, "cat --raw", "raw", True, id="gpt1-raw"),
        pytest.param(GPT2, "cat --size 1536x864", "size", "1536x864", id="gpt2-free-size"),
        pytest.param(GPT2, "cat --size=1024x640", "size", "1024x640", id="gpt2-smallest-kind"),
        pytest.param(GPT2, "cat --size 3840x2160", "size", "3840x2160", id="gpt2-largest"),
        pytest.param(GPT2, "cat --size auto", "size", "auto", id="gpt2-size-auto"),
        pytest.param(GPT2, "cat --quality=low", "quality", "low", id="gpt2-quality-eq"),
        pytest.param(GPT2, "cat --quality auto", "quality", "auto", id="gpt2-quality-auto"),
        pytest.param(GPT2, "cat --n 10", "n", 10, id="gpt2-n"),
        pytest.param(GPT2, "cat --n=07", "n", 7, id="gpt2-n-leading-zero"),
        pytest.param(GPT2, "cat --raw", "raw", True, id="gpt2-raw"),
        pytest.param(GPT2, "cat", "raw", False, id="gpt2-not-raw"),
        # separators, case, quotes, smart punctuation
        pytest.param(D3, "cat --size 1792×1024", "size", "1792x1024", id="times-sign"),
        pytest.param(D3, "cat --size 1792X1024", "size", "1792x1024", id="capital-x"),
        pytest.param(D3, "cat --SIZE 1792x1024", "size", "1792x1024", id="flag-upper"),
        pytest.param(D3, "cat --Style NATURAL", "style", "natural", id="value-upper"),
        pytest.param(D3, 'cat --style "natural"', "style", "natural", id="double-quoted"),
        pytest.param(D3, "cat --style 'natural'", "style", "natural", id="single-quoted"),
        pytest.param(D3, "cat --style `natural`", "style", "natural", id="backticked"),
        pytest.param(D3, 'cat --style="natural"', "style", "natural", id="eq-quoted"),
        pytest.param(D3, "cat --style “natural”", "style", "natural", id="smart-quoted"),
        pytest.param(D3, "cat —style natural", "style", "natural", id="em-dash-flag"),
        pytest.param(D3, "cat –quality hd", "quality", "hd", id="en-dash-flag"),
        pytest.param(GPT2, "cat —raw", "raw", True, id="em-dash-switch"),
    ],
)
def test_each_flag_sets_its_field(family: Family, text: str, field: str, value: object) -> None:
    request = parse_ok(text, family)
    assert getattr(request, field) == value
    assert request.prompt == "cat"


def test_a_size_typed_with_spaces_is_refused_or_read_whole() -> None:
    # "1536 x 864" splits into three tokens: the value is "1536", which is no size; the refusal says so.
    assert "1536" in parse_err("cat --size 1536 x 864", GPT2)


@pytest.mark.parametrize(
    ("text", "prompt"),
    [
        pytest.param("--size 1792x1024 a badger", "a badger", id="start"),
        pytest.param("a --size 1792x1024 badger", "a badger", id="middle"),
        pytest.param("a badger --size 1792x1024", "a badger", id="end"),
        pytest.param("--style natural a --size=1792x1024 badger --quality hd", "a badger", id="everywhere"),
        pytest.param("a,  badger! --size 1792x1024  (in a hat)", "a,  badger! (in a hat)", id="own-spacing-kept"),
        pytest.param("line one\n--size 1792x1024\nline two", "line one\nline two", id="newline-kept"),
        pytest.param("one\n\ntwo --style natural", "one\n\ntwo", id="paragraph-kept"),
        pytest.param("a cat — fluffy, 2010–2020 --style natural", "a cat — fluffy, 2010–2020", id="prose-dashes"),
        pytest.param("a cat -- fluffy --5 x--y", "a cat -- fluffy --5 x--y", id="not-flags"),
        pytest.param('a sign saying "hello" --size 1792x1024', 'a sign saying "hello"', id="quotes-in-prompt"),
        pytest.param("<@U1|ann> &amp; <#C2|dev> --size 1792x1024", "@ann & #dev", id="markup-in-prompt"),
    ],
)
def test_the_prompt_is_the_text_without_its_flags(text: str, prompt: str) -> None:
    request = parse_ok(text, D3)
    assert request.prompt == prompt
    assert request.size == "1792x1024" or "--size" not in text


def test_a_switch_takes_no_value_so_the_next_word_stays_in_the_prompt() -> None:
    assert parse_ok("a fox --raw in snow", GPT2) == ImageRequest("a fox in snow", "1024x1024", "medium", raw=True)


def test_payload_in_the_prompt_parses_like_any_other_word() -> None:
    # slack_bolt drops form bodies containing "payload"; this parser must not care.
    assert parse_ok("a payload truck --size 1792x1024", D3) == ImageRequest(
        "a payload truck", "1792x1024", "standard", 1, "vivid"
    )


@pytest.mark.parametrize("text", ["", "   ", "help", "HELP", "  Help \n", "--help", "--HELP"])
def test_help_alone_or_nothing_asks_for_help(text: str) -> None:
    for family in Family:
        assert parse_request(text, family) == HelpRequested()


def test_help_is_help_only_when_alone() -> None:
    assert parse_ok("help me draw a cat", D3).prompt == "help me draw a cat"


@pytest.mark.parametrize("family", list(Family))
def test_a_prompt_at_the_limit_is_fine_and_one_more_character_is_refused(family: Family) -> None:
    limit = family.max_prompt_chars
    assert len(parse_ok("x" * limit, family).prompt) == limit

    refused = problem("x" * (limit + 1) + " --size 1024x1024", family)

    assert refused == PromptTooLong(limit + 1, limit, family.value)
    message = parse_err("x" * (limit + 1) + " --size 1024x1024", family)
    assert f"{limit + 1:,}" in message
    assert f"{limit:,}" in message
    assert family.value in message


@pytest.mark.parametrize(
    ("family", "limit"), [(D2, 1000), (D3, 4000), (GPT1, 32000), (GPT2, 32000)], ids=lambda v: str(v)
)
def test_prompt_limits_per_family(family: Family, limit: int) -> None:
    assert family.max_prompt_chars == limit


@pytest.mark.parametrize("family", list(Family))
def test_nothing_left_to_draw_asks_for_a_description_with_an_example_that_parses(family: Family) -> None:
    refused = problem("--size 1024x1024", family)

    assert isinstance(refused, EmptyPrompt)
    assert "add a description of the image" in parse_err("--size 1024x1024", family).lower()
    example = parse_ok(refused.example, family)
    assert example.prompt == "a badger wearing a tuxedo"


@pytest.mark.parametrize("family", list(Family))
def test_an_option_the_model_lacks_is_explained_not_dropped(family: Family) -> None:
    for flag in FLAGS:
        if has_option(family, flag):
            continue
        refused = problem(f"cat --{flag.name} x", family)
        assert isinstance(refused, OptionNotOnModel), flag
        assert f"{family.value}, which has no --{flag.name} option" in parse_err(f"cat --{flag.name} x", family)


def test_the_first_problem_in_the_text_wins() -> None:
    # Unknown options are found before any value is checked; among bad values, the first typed wins.
    assert "--sze" in parse_err("--sze 1 --size 500x500", D3)
    assert "--quality ultra" in parse_err("cat --quality ultra --n 99", GPT2)
    assert "--n 99" in parse_err("cat --n 99 --quality ultra", GPT2)


def test_request_error_is_a_value_error_carrying_the_typed_problem() -> None:
    with pytest.raises(ValueError, match="UnknownOption") as caught:
        parse_request("cat --sze 1", GPT2)
    assert isinstance(caught.value, RequestError)


def test_a_deployment_of_an_unknown_model_is_a_configuration_error_not_a_refusal() -> None:
    with pytest.raises(ValueError, match="unknown image model") as caught:
        parse_request("a fox", Deployments({"mj": "midjourney-v7"}))
    assert not isinstance(caught.value, RequestError)


@pytest.mark.parametrize(
    ("request_", "summary"),
    [
        (ImageRequest("p", "1792x1024", "hd", 1, "natural"), "1792x1024 · hd · natural · 1 image"),
        (ImageRequest("p", "512x512", None, 3), "512x512 · 3 images"),
        (ImageRequest("p", "1024x1536", "high", 2), "1024x1536 · high · 2 images"),
        (
            ImageRequest("p", "1024x1024", "high", 4, background="transparent", output_format="png"),
            "1024x1024 · high · transparent background · png · 4 images",
        ),
        (
            ImageRequest("p", "1536x864", "low", 1, output_format="jpeg", raw=True),
            "1536x864 · low · jpeg · raw · 1 image",
        ),
    ],
)
def test_options_summary(request_: ImageRequest, summary: str) -> None:
    assert request_.options_summary() == summary


def test_image_request_is_frozen_with_slots_and_defaults_for_the_optional_fields() -> None:
    request = ImageRequest(prompt="p", size="1024x1024")
    assert (request.quality, request.n, request.style, request.background, request.output_format, request.raw) == (
        None,
        1,
        None,
        None,
        None,
        False,
    )
    assert not hasattr(request, "__dict__")
    with pytest.raises(dataclasses.FrozenInstanceError):
        request.n = 2  # type: ignore[misc]
