"""bot.request: Slack text → ImageRequest. Pure functions, so tables plus hypothesis properties."""

from __future__ import annotations

import dataclasses
import math
import re
from collections.abc import Mapping

import pytest
from hypothesis import HealthCheck, assume, event, given, settings
from hypothesis import strategies as st

from bot.request import (
    CLASHES,
    MAX_PROMPT_CHARS,
    MIDJOURNEY_FLAGS,
    OPTIONS,
    Aspect,
    Choices,
    Family,
    HelpRequested,
    ImageRequest,
    IntRange,
    ModelName,
    RequestError,
    ValueKind,
    help_examples,
    normalise,
    parse_request,
    usage_help,
)

D2, D3, GPT = Family.DALL_E_2, Family.DALL_E_3, Family.GPT_IMAGE

# A bot with three deployments of different families; the default is not the first.
MODELS: Mapping[str, Family] = {"Dalle3": D3, "gpt-image-1": GPT, "old": D2}
DEFAULT = "gpt-image-1"

Deployments = Mapping[str, Family] | Family


def parse_ok(text: str, deployments: Deployments, default: str | None = None) -> ImageRequest:
    result = parse_request(text, deployments, default)
    assert isinstance(result, ImageRequest)
    return result


def parse_err(text: str, deployments: Deployments, default: str | None = None) -> str:
    with pytest.raises(RequestError) as info:
        parse_request(text, deployments, default)
    return info.value.message


# --- Family -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("model", "family"),
    [
        ("dall-e-2", D2),
        ("dall-e-3", D3),
        ("DALL-E-3", D3),
        ("gpt-image-1", GPT),
        ("gpt-image-1-mini", GPT),
        ("gpt-image-1.5", GPT),
    ],
)
def test_family_of(model: str, family: Family) -> None:
    assert Family.of(model) is family


@pytest.mark.parametrize("model", ["", "dall-e", "dall-e-4", "gpt-image", "gpt-image-", "gpt-4o"])
def test_family_of_unknown_model(model: str) -> None:
    with pytest.raises(ValueError, match="unknown image model"):
        Family.of(model)


# --- normalise ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        # Slack markup
        pytest.param("hi <@U123|alice>", "hi @alice", id="user-with-name"),
        pytest.param("hi <@U123>", "hi @U123", id="user-id-only"),
        pytest.param("hi <@W0ABC|bob> and <@U9>", "hi @bob and @U9", id="two-users"),
        pytest.param("in <#C123|general>", "in #general", id="channel-with-name"),
        pytest.param("in <#C123|>", "in #C123", id="private-channel-empty-name"),
        pytest.param("in <#C123>", "in #C123", id="channel-id-only"),
        pytest.param("see <https://x.y/z|the site>", "see the site", id="link-with-label"),
        pytest.param("see <https://x.y/z>", "see https://x.y/z", id="bare-link"),
        pytest.param("mail <mailto:a@b.c|a@b.c>", "mail a@b.c", id="mailto"),
        pytest.param("<!here> look", "@here look", id="here"),
        pytest.param("<!channel> look", "@channel look", id="channel-broadcast"),
        pytest.param("<!everyone> look", "@everyone look", id="everyone"),
        pytest.param("<!here|here> look", "@here look", id="here-old-form"),
        pytest.param("hey <!subteam^S123|@team>", "hey @team", id="subteam"),
        pytest.param("on <!date^1392734382^{date_pretty}|Feb 18, 2014>", "on Feb 18, 2014", id="date"),
        pytest.param("<not markup>", "<not markup>", id="unknown-bracket-kept"),
        pytest.param("<@lowercase>", "<@lowercase>", id="not-a-user-id"),
        # the three escapes, decoded once
        pytest.param("cats &amp; dogs", "cats & dogs", id="amp"),
        pytest.param("a &lt;b&gt; c", "a <b> c", id="lt-gt"),
        pytest.param("&amp;lt;", "&lt;", id="no-double-decode"),
        pytest.param("&amp;amp;", "&amp;", id="no-double-decode-amp"),
        pytest.param("&lt;@U123&gt;", "<@U123>", id="escaped-markup-stays-text"),
        pytest.param("&quot; &#39; &nbsp;", "&quot; &#39; &nbsp;", id="other-entities-untouched"),
        pytest.param("<https://x.y/?a=1&amp;b=2|A &amp; B>", "A & B", id="escape-inside-label"),
        # smart quotes
        pytest.param("“hi” „x‟ 5″", '"hi" "x" 5"', id="double-quotes"),
        pytest.param("‘hi’ ‚x‛ 5′", "'hi' 'x' 5'", id="single-quotes"),
        # smart dashes at the start of a token before a letter are flags
        pytest.param("cat —size 1024x1024", "cat --size 1024x1024", id="em-dash-flag"),
        pytest.param("cat –size 1024x1024", "cat --size 1024x1024", id="en-dash-flag"),
        pytest.param("cat ——size x", "cat --size x", id="two-em-dashes"),
        pytest.param("cat -—size x", "cat --size x", id="hyphen-then-em-dash"),
        pytest.param("cat ‐‐n 2", "cat --n 2", id="two-unicode-hyphens"),
        pytest.param("cat \u2212n 2", "cat --n 2", id="minus-sign"),
        pytest.param("—size x cat", "--size x cat", id="at-text-start"),
        pytest.param("cat\n—style natural", "cat\n--style natural", id="after-newline"),
        # ... and prose otherwise
        pytest.param("a cat — fluffy", "a cat — fluffy", id="standalone-em-dash"),
        pytest.param("years 2010–2020", "years 2010–2020", id="mid-word-en-dash"),
        pytest.param("well—maybe", "well—maybe", id="mid-word-em-dash"),
        pytest.param("it was —5 degrees", "it was —5 degrees", id="dash-before-digit"),
        pytest.param("cat ———size", "cat ———size", id="three-dashes-is-prose"),
        pytest.param("cat --size", "cat --size", id="ascii-unchanged"),
        # trimming, inner whitespace kept
        pytest.param("  a\n\nb  c \t", "a\n\nb  c", id="trim-only-ends"),
    ],
)
def test_normalise(raw: str, expected: str) -> None:
    assert normalise(raw) == expected


# --- parse_request: success ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("family", "size", "quality", "style", "n"),
    [
        pytest.param(D2, "1024x1024", None, None, 1, id="dall-e-2"),
        pytest.param(D3, "1024x1024", "standard", "vivid", 1, id="dall-e-3"),
        pytest.param(GPT, "1024x1024", "medium", None, 1, id="gpt-image"),
    ],
)
def test_defaults(family: Family, size: str, quality: str | None, style: str | None, n: int) -> None:
    assert parse_ok("a badger wearing a tuxedo", family) == ImageRequest(
        "a badger wearing a tuxedo", size, quality, style, n
    )


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
        pytest.param(D3, "cat --n 4", "n", 4, id="d3-n-4-fan-out"),
        pytest.param(GPT, "cat --size 1536x1024", "size", "1536x1024", id="gpt-size"),
        pytest.param(GPT, "cat --size=1024x1536", "size", "1024x1536", id="gpt-size-eq"),
        pytest.param(GPT, "cat --quality high", "quality", "high", id="gpt-quality"),
        pytest.param(GPT, "cat --quality=low", "quality", "low", id="gpt-quality-eq"),
        pytest.param(GPT, "cat --n 10", "n", 10, id="gpt-n"),
        pytest.param(GPT, "cat --n=07", "n", 7, id="gpt-n-leading-zero"),
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
    ],
)
def test_each_flag(family: Family, text: str, field: str, value: object) -> None:
    request = parse_ok(text, family)
    assert getattr(request, field) == value
    assert request.prompt == "cat"


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
def test_prompt_is_text_without_flags(text: str, prompt: str) -> None:
    request = parse_ok(text, D3)
    assert request.prompt == prompt
    assert request.size == "1792x1024" or "--size" not in text


def test_payload_in_prompt_parses_like_any_other() -> None:
    # slack_bolt drops form bodies containing "payload"; this parser must not care.
    assert parse_ok("a payload truck --size 1792x1024", D3) == ImageRequest(
        "a payload truck", "1792x1024", "standard", "vivid", 1
    )


@pytest.mark.parametrize("text", ["", "   ", "help", "HELP", "  Help \n", "--help", "--HELP"])
@pytest.mark.parametrize("family", list(Family))
def test_help(text: str, family: Family) -> None:
    assert parse_request(text, family) == HelpRequested()


def test_help_only_when_alone() -> None:
    assert parse_ok("help me draw a cat", D3).prompt == "help me draw a cat"


def test_prompt_at_the_limit_is_fine() -> None:
    for family, limit in MAX_PROMPT_CHARS.items():
        assert len(parse_ok("x" * limit, family).prompt) == limit


@pytest.mark.parametrize(
    ("request_", "summary"),
    [
        (ImageRequest("p", "1792x1024", "hd", "natural", 1), "1792x1024 · hd · natural · 1 image"),
        (ImageRequest("p", "512x512", None, None, 3), "512x512 · 3 images"),
        (ImageRequest("p", "1024x1536", "high", None, 2), "1024x1536 · high · 2 images"),
        (
            ImageRequest("p", "1024x1024", "high", None, 4, background="transparent", output_format="png"),
            "1024x1024 · high · transparent background · png · 4 images",
        ),
        (ImageRequest("p", "1536x1024", "low", None, 1, output_format="jpeg"), "1536x1024 · low · jpeg · 1 image"),
        (
            ImageRequest("p", "1792x1024", "hd", "vivid", 4, size_note="16:9", deployment="d"),
            "1792x1024 · hd · vivid · 4 images",
        ),
    ],
)
def test_options_summary(request_: ImageRequest, summary: str) -> None:
    assert request_.options_summary() == summary


# --- parse_request: errors ----------------------------------------------------------------------
# Each message must name the bad input and something that would work.


@pytest.mark.parametrize(
    ("family", "text", "bad", "good"),
    [
        # unknown flag, with a suggestion and the valid flags
        pytest.param(D2, "cat --sze 512x512", "--sze", "--size", id="d2-unknown"),
        pytest.param(D3, "cat --qualty hd", "--qualty", "--quality", id="d3-unknown"),
        pytest.param(GPT, "cat --zzz 16:9", "--zzz", "--quality", id="gpt-unknown-no-suggestion"),
        pytest.param(D3, "cat --landscpe", "--landscpe", "--landscape", id="d3-unknown-switch-suggested"),
        pytest.param(GPT, "cat --fromat png", "--fromat", "--format", id="gpt-unknown-format-suggested"),
        pytest.param(D3, "cat --help", "--help", "--size", id="help-flag-among-text"),
        pytest.param(D3, "cat —stlye natural", "--stlye", "--style", id="unknown-smart-dash"),
        # missing value
        pytest.param(D2, "cat --size", "--size", "512x512", id="d2-missing-at-end"),
        pytest.param(D3, "cat --size --style natural", "--size", "1792x1024", id="d3-missing-before-flag"),
        pytest.param(GPT, "cat --quality=", "--quality", "high", id="gpt-missing-eq"),
        pytest.param(GPT, 'cat --n ""', "--n", "1 to 10", id="gpt-missing-empty-quotes"),
        pytest.param(D3, "cat --n", "--n", "1 to 4", id="d3-missing-n"),
        # bad value
        pytest.param(D2, "cat --size 500x500", "500x500", "256x256", id="d2-bad-size"),
        pytest.param(D2, "cat --size 1792x1024", "1792x1024", "1024x1024", id="d2-other-family-size"),
        pytest.param(D3, "cat --size 1536x1024", "1536x1024", "1792x1024", id="d3-bad-size"),
        pytest.param(GPT, "cat --size big", "big", "1536x1024", id="gpt-bad-size"),
        pytest.param(D3, "cat --quality ultra", "ultra", "hd", id="d3-bad-quality"),
        pytest.param(GPT, "cat --quality ultra", "ultra", "medium", id="gpt-bad-quality"),
        pytest.param(D3, "cat --quality high", "high", "hd", id="d3-no-gpt-quality-alias"),
        pytest.param(D3, "cat --style anime", "anime", "natural", id="d3-bad-style"),
        pytest.param(D2, "cat --n 0", "--n 0", "1 to 5", id="d2-n-zero"),
        pytest.param(D2, "cat --n 6", "--n 6", "1 to 5", id="d2-n-too-many"),
        pytest.param(D2, "cat --n abc", "--n abc", "1 to 5", id="d2-n-not-number"),
        pytest.param(GPT, "cat --n 11", "--n 11", "1 to 10", id="gpt-n-too-many"),
        pytest.param(GPT, "cat --n -1", "--n -1", "1 to 10", id="gpt-n-negative"),
        pytest.param(GPT, "cat --n 1.5", "--n 1.5", "1 to 10", id="gpt-n-fraction"),
        pytest.param(GPT, "cat --n ３", "--n ３", "1 to 10", id="gpt-n-fullwidth-digit"),
        pytest.param(GPT, "cat --n " + "9" * 5000, "--n 999", "1 to 10", id="gpt-n-huge"),
        pytest.param(D3, "cat --n 5", "--n 5", "1 to 4", id="d3-n-five"),
        pytest.param(D3, "cat --n abc", "--n abc", "1 to 4", id="d3-n-not-number"),
        # an option this model doesn't have: explained, not dropped
        pytest.param(D2, "cat --style natural", "--style", "--size", id="d2-no-style"),
        pytest.param(D2, "cat --quality hd", "--quality", "--size", id="d2-no-quality"),
        pytest.param(GPT, "cat --style natural", "--style", "--quality", id="gpt-no-style"),
        # given twice, in any form or case
        pytest.param(D2, "cat --size 512x512 --size=256x256", "--size", "once", id="d2-twice"),
        pytest.param(D3, "cat --style vivid --STYLE vivid", "--style", "once", id="d3-twice-case"),
        pytest.param(GPT, "--n 2 cat --n=2", "--n", "once", id="gpt-twice"),
        # nothing left to draw
        pytest.param(D2, "--size 512x512", "description", "--size", id="d2-empty-prompt"),
        pytest.param(D3, "--style natural --quality hd", "description", "--size", id="d3-empty-prompt"),
        pytest.param(GPT, "--n 2", "description", "--size", id="gpt-empty-prompt"),
    ],
)
def test_errors_name_bad_input_and_an_alternative(family: Family, text: str, bad: str, good: str) -> None:
    message = parse_err(text, family)
    assert bad in message
    assert good in message
    assert len(message) < 200, message  # one or two short sentences


@pytest.mark.parametrize("family", list(Family))
def test_option_the_model_lacks_says_so(family: Family) -> None:
    for spec in OPTIONS.values():
        if family not in spec.domains:
            message = parse_err(f"cat {spec.flag} x", family)
            assert f"{family}, which has no {spec.flag} option" in message


@pytest.mark.parametrize("family", list(Family))
def test_empty_prompt_message(family: Family) -> None:
    assert "add a description of the image" in parse_err("--size 1024x1024", family).lower()


@pytest.mark.parametrize("family", list(Family))
def test_prompt_too_long(family: Family) -> None:
    limit = MAX_PROMPT_CHARS[family]
    message = parse_err("x" * (limit + 1) + " --size 1024x1024", family)
    assert f"{limit + 1:,}" in message
    assert f"{limit:,}" in message
    assert str(family) in message


def test_long_bad_value_is_shortened_in_the_message() -> None:
    message = parse_err("cat --style " + "z" * 500, D3)
    assert "zzz" in message
    assert len(message) < 150


def test_first_error_wins() -> None:
    assert "--sze" in parse_err("--sze 1 --size 500x500", D3)


def test_old_style_construction_gets_defaults_for_new_fields() -> None:
    request = ImageRequest(prompt="p", size="1024x1024", quality="standard", style="vivid", n=1)
    assert (request.size_note, request.deployment, request.background, request.output_format) == (None,) * 4
    assert not hasattr(request, "__dict__")  # still slots
    with pytest.raises(dataclasses.FrozenInstanceError):
        request.n = 2  # type: ignore[misc]


# --- aspect shortcuts ---------------------------------------------------------------------------

SIZES = {
    D2: ["256x256", "512x512", "1024x1024"],
    D3: ["1024x1024", "1792x1024", "1024x1792"],
    GPT: ["1024x1024", "1536x1024", "1024x1536"],
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


@pytest.mark.parametrize(
    ("family", "ratio", "size", "note"),
    [
        # dall-e-3: 1:1, 7:4 and 4:7; the square/landscape boundary is sqrt(7/4) ≈ 1.323
        (D3, "16:9", "1792x1024", "16:9 → 1792x1024, the closest size dall-e-3 makes"),
        (D3, "9:16", "1024x1792", "9:16 → 1024x1792, the closest size dall-e-3 makes"),
        (D3, "4:3", "1792x1024", "4:3 → 1792x1024, the closest size dall-e-3 makes"),  # 1.333: just past
        (D3, "21:16", "1024x1024", "21:16 → 1024x1024, the closest size dall-e-3 makes"),  # 1.3125: just short
        (D3, "3:4", "1024x1792", "3:4 → 1024x1792, the closest size dall-e-3 makes"),
        (D3, "5:4", "1024x1024", "5:4 → 1024x1024, the closest size dall-e-3 makes"),
        (D3, "7:4", "1792x1024", "7:4 → 1792x1024"),  # exact: no "closest"
        (D3, "1:1", "1024x1024", "1:1 → 1024x1024"),
        (D3, "100:1", "1792x1024", "100:1 → 1792x1024, the closest size dall-e-3 makes"),
        # gpt-image: 1:1, 3:2 and 2:3; the boundary is sqrt(3/2) ≈ 1.225
        (GPT, "3:2", "1536x1024", "3:2 → 1536x1024"),
        (GPT, "2:3", "1024x1536", "2:3 → 1024x1536"),
        (GPT, "1:1", "1024x1024", "1:1 → 1024x1024"),
        (GPT, "16:9", "1536x1024", "16:9 → 1536x1024, the closest size gpt-image makes"),
        (GPT, "5:4", "1536x1024", "5:4 → 1536x1024, the closest size gpt-image makes"),  # 1.25: just past
        (GPT, "6:5", "1024x1024", "6:5 → 1024x1024, the closest size gpt-image makes"),  # 1.2: just short
        (GPT, "4:5", "1024x1536", "4:5 → 1024x1536, the closest size gpt-image makes"),
        # dall-e-2 makes only squares: the default one, and the note says why
        (D2, "16:9", "1024x1024", "16:9 → 1024x1024: dall-e-2 makes only square images"),
        (D2, "2:3", "1024x1024", "2:3 → 1024x1024: dall-e-2 makes only square images"),
        (D2, "1:1", "1024x1024", "1:1 → 1024x1024"),
    ],
)
def test_aspect_ratio_picks_the_nearest_size(family: Family, ratio: str, size: str, note: str) -> None:
    w, h = map(int, ratio.split(":"))
    assert nearest(family, (w, h)) == size  # the table agrees with the log-ratio rule
    assert all(log_distance((w, h), size) <= log_distance((w, h), other) for other in SIZES[family])
    for text in (f"a fox --ar {ratio}", f"--aspect={ratio} a fox"):
        request = parse_ok(text, family)
        assert (request.prompt, request.size, request.size_note) == ("a fox", size, note)


@pytest.mark.parametrize("family", list(Family))
def test_size_table_matches_options(family: Family) -> None:
    domain = OPTIONS["size"].domains[family]
    assert isinstance(domain, Choices)
    assert list(domain.values) == SIZES[family]


@pytest.mark.parametrize(
    ("family", "flag", "size", "note"),
    [
        (D3, "--landscape", "1792x1024", "landscape → 1792x1024"),
        (D3, "--portrait", "1024x1792", "portrait → 1024x1792"),
        (D3, "--square", "1024x1024", "square → 1024x1024"),
        (GPT, "--landscape", "1536x1024", "landscape → 1536x1024"),
        (GPT, "--PORTRAIT", "1024x1536", "portrait → 1024x1536"),
        (GPT, "—square", "1024x1024", "square → 1024x1024"),
        (D2, "--landscape", "1024x1024", "landscape → 1024x1024: dall-e-2 makes only square images"),
        (D2, "--portrait", "1024x1024", "portrait → 1024x1024: dall-e-2 makes only square images"),
        (D2, "--square", "1024x1024", "square → 1024x1024"),
    ],
)
def test_orientation_switches(family: Family, flag: str, size: str, note: str) -> None:
    # A switch takes no value: the next word stays in the prompt.
    request = parse_ok(f"a fox {flag} in snow", family)
    assert (request.prompt, request.size, request.size_note) == ("a fox in snow", size, note)


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


@pytest.mark.parametrize("text", ["a fox", "a fox --size 1792x1024"])
def test_no_size_note_without_a_shortcut(text: str) -> None:
    assert parse_ok(text, D3).size_note is None


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
        pytest.param("cat --ar= --n 2", "--ar", "16:9", id="missing-eq"),
        pytest.param("cat --ar --n 2", "--ar", "16:9", id="missing-before-flag"),
        pytest.param("cat --landscape=yes", "--landscape=yes", "--landscape alone", id="switch-with-value"),
        pytest.param("cat --square=", "--square=", "--square alone", id="switch-with-empty-value"),
    ],
)
@pytest.mark.parametrize("family", list(Family))
def test_shortcut_errors(family: Family, text: str, bad: str, good: str) -> None:
    message = parse_err(text, family)
    assert bad in message
    assert good in message
    assert len(message) < 200, message


# --- gpt-image options --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "field", "value"),
    [
        ("cat --quality standard", "quality", "medium"),
        ("cat --quality HD", "quality", "high"),
        ("cat --quality=hd", "quality", "high"),
        ("cat --quality low", "quality", "low"),
        ("cat --background transparent", "background", "transparent"),
        ("cat --background=OPAQUE", "background", "opaque"),
        ("cat", "background", None),
        ("cat --format png", "output_format", "png"),
        ("cat --format jpeg", "output_format", "jpeg"),
        ("cat --format JPG", "output_format", "jpeg"),
        ("cat --format 'jpg'", "output_format", "jpeg"),
        ("cat", "output_format", None),
        ("cat --background transparent --format png", "background", "transparent"),
        ("cat --background opaque --format jpg", "output_format", "jpeg"),
    ],
)
def test_gpt_image_options(text: str, field: str, value: object) -> None:
    request = parse_ok(text, GPT)
    assert getattr(request, field) == value
    assert request.prompt == "cat"


@pytest.mark.parametrize(
    ("family", "text", "bad", "good"),
    [
        pytest.param(GPT, "cat --background auto", "--background auto", "transparent or opaque", id="bg-auto"),
        pytest.param(GPT, "cat --background", "--background", "transparent or opaque", id="bg-missing"),
        pytest.param(GPT, "cat --format webp", "--format webp", "png or jpeg", id="format-webp"),
        pytest.param(GPT, "cat --format=", "--format", "png or jpeg", id="format-missing"),
        pytest.param(GPT, "cat --quality ultra", "--quality ultra", "low, medium or high", id="quality-bad"),
        pytest.param(GPT, "cat --background transparent --format jpeg", "--format jpeg", "--format png", id="clash"),
        pytest.param(GPT, "--format jpg cat --background=Transparent", "transparency", "--format png", id="clash-jpg"),
        pytest.param(D3, "cat --background transparent", "--background", "--quality", id="d3-no-background"),
        pytest.param(D3, "cat --format png", "--format", "--style", id="d3-no-format"),
        pytest.param(D2, "cat --background opaque", "--background", "--size", id="d2-no-background"),
        pytest.param(D2, "cat --format jpeg", "--format", "--size", id="d2-no-format"),
        pytest.param(D2, "cat --quality standard", "--quality", "--size", id="d2-no-quality-alias-either"),
        pytest.param(D3, "cat --quality medium", "--quality medium", "standard or hd", id="d3-keeps-standard-hd"),
    ],
)
def test_gpt_image_option_errors(family: Family, text: str, bad: str, good: str) -> None:
    message = parse_err(text, family)
    assert bad in message
    assert good in message
    assert len(message) < 200, message


def test_clash_message() -> None:
    assert parse_err("cat --background transparent --format jpeg", GPT) == (
        "--background transparent and --format jpeg don't go together: JPEG has no transparency. "
        "Use --format png or leave out --background."
    )


def test_clashes_refer_to_real_values() -> None:
    for clash in CLASHES:
        for name, value in (clash.first, clash.second):
            assert all(isinstance(d, Choices) and value in d.values for d in OPTIONS[name].domains.values())


# --- --model ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "deployment", "field", "value"),
    [
        pytest.param("a fox", DEFAULT, "quality", "medium", id="default"),
        pytest.param("--model Dalle3 a fox --style natural", "Dalle3", "style", "natural", id="first"),
        pytest.param("a fox --style natural --model Dalle3", "Dalle3", "style", "natural", id="last"),
        pytest.param("a --size 1792x1024 fox --model=dalle3", "Dalle3", "size", "1792x1024", id="middle-eq-lower"),
        pytest.param(
            "a fox --background transparent --model GPT-IMAGE-1", DEFAULT, "background", "transparent", id="up"
        ),
        pytest.param("a fox --model 'old' --n 5", "old", "n", 5, id="quoted"),
        pytest.param("a fox --n 4 —model Dalle3", "Dalle3", "n", 4, id="d3-fan-out-smart-dash"),
        pytest.param(
            "a fox --model old --ar 16:9",
            "old",
            "size_note",
            "16:9 → 1024x1024: dall-e-2 makes only square images",
            id="ar-on-d2",
        ),
        pytest.param("a fox --landscape --model Dalle3", "Dalle3", "size", "1792x1024", id="switch-before-model"),
        pytest.param("a fox --model Dalle3 --quality hd", "Dalle3", "quality", "hd", id="d3-quality"),
        pytest.param("a fox --quality hd", DEFAULT, "quality", "high", id="gpt-alias-on-default"),
    ],
)
def test_model_is_chosen_before_other_flags(text: str, deployment: str, field: str, value: object) -> None:
    request = parse_ok(text, MODELS, DEFAULT)
    assert request.deployment == deployment
    assert getattr(request, field) == value
    assert request.prompt == "a fox"
    assert "--model" not in request.prompt


def test_model_defaults_to_the_first_deployment() -> None:
    assert parse_ok("a fox", MODELS).deployment == "Dalle3"


def test_bare_family_has_no_deployment() -> None:
    assert parse_ok("a fox", D3).deployment is None


@pytest.mark.parametrize(
    ("deployments", "text", "bad", "good"),
    [
        pytest.param(MODELS, "a fox --model dall-e-4", "--model dall-e-4", "Dalle3, gpt-image-1 or old", id="unknown"),
        pytest.param(MODELS, "a fox --model", "--model", "Dalle3, gpt-image-1 or old", id="missing"),
        pytest.param(MODELS, "a fox --model= --n 2", "--model", "Dalle3, gpt-image-1 or old", id="missing-eq"),
        pytest.param(MODELS, "--model old a fox --model old", "--model", "once", id="twice"),
        pytest.param(D3, "a fox --model gpt", "--model", "this bot has one model, dall-e-3", id="bare-family"),
        pytest.param({"only": GPT}, "a fox --model other", "--model other", "Use only", id="single-unknown"),
        # every other option is checked against the chosen model, wherever --model is
        pytest.param(MODELS, "a fox --style natural --model old", "--style", "--model Dalle3", id="style-on-d2"),
        pytest.param(MODELS, "a fox --style natural", "--style", "--model Dalle3", id="style-on-default-gpt"),
        pytest.param(
            MODELS, "a fox --background opaque --model Dalle3", "--background", "--model gpt-image-1", id="bg"
        ),
        pytest.param(MODELS, "a fox --size 1792x1024", "--size 1792x1024", "1536x1024", id="size-of-default"),
        pytest.param(MODELS, "a fox --n 5 --model Dalle3", "--n 5", "1 to 4", id="n-of-chosen"),
        pytest.param(MODELS, "a fox --quality hd --model old", "--quality", "--model", id="quality-on-d2"),
        pytest.param(MODELS, "--model old " + "x" * 1001, "1,001", "1,000", id="prompt-limit-of-chosen"),
        # the unknown-flag message offers --model when there is a choice
        pytest.param(MODELS, "a fox --modle old", "--modle", "--model", id="typo"),
    ],
)
def test_model_errors(deployments: Deployments, text: str, bad: str, good: str) -> None:
    message = parse_err(text, deployments, DEFAULT if deployments is MODELS else None)
    assert bad in message
    assert good in message
    assert len(message) < 200, message


def test_model_is_resolved_before_the_first_error() -> None:
    # The --style error is about gpt-image (the chosen model), though --style comes first.
    assert parse_err("a fox --style anime --model gpt-image-1", MODELS, "Dalle3").startswith(
        "Model gpt-image-1 (gpt-image) has no --style option"
    )


def test_single_deployment_mapping() -> None:
    assert parse_ok("a fox --model ONLY", {"only": GPT}).deployment == "only"
    assert parse_ok("a fox", {"only": GPT}).deployment == "only"


@pytest.mark.parametrize(
    ("deployments", "default"),
    [
        pytest.param({}, None, id="empty"),
        pytest.param(MODELS, "nope", id="default-not-a-deployment"),
        pytest.param(D3, "Dalle3", id="default-with-bare-family"),
        pytest.param({"a": D3, "A": GPT}, None, id="names-differ-only-in-case"),
    ],
)
def test_bad_configuration_is_a_value_error(deployments: Deployments, default: str | None) -> None:
    with pytest.raises(ValueError, match=r"deployment") as info:
        parse_request("a fox", deployments, default)
    assert not isinstance(info.value, RequestError)
    with pytest.raises(ValueError, match=r"deployment"):
        usage_help(deployments, default)


# --- Midjourney flags ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("family", "text", "advice"),
    [
        (D3, "a beach --no people", "Describe what you want to see instead, e.g. 'an empty beach'"),
        (GPT, "a beach --no=people,cars", "an empty beach"),
        (D2, "a beach --NO people", "an empty beach"),
        (D3, "a fox --seed 42", "Azure has no seeds; use the Regenerate button for another take."),
        (GPT, "a fox --seed 42", "Regenerate button"),
        (D2, "a fox --seed 42", "Regenerate button"),
        (D3, "a fox --chaos 50", "--style vivid or natural"),
        (GPT, "a fox --c 50", "--quality low, medium or high"),
        (D2, "a fox --c 50", "Regenerate button"),
        (D3, "a fox --stylize 250", "--style vivid or natural"),
        (GPT, "a fox --s 250", "--quality low, medium or high"),
        (D2, "a fox --s 250", "in words"),
        (D3, "a fox --q 2", "Use --quality standard or hd."),
        (GPT, "a fox --q .5", "Use --quality low, medium or high."),
        (D2, "a fox --q 2", "leave it out"),
        (D3, "a fox --v 6.1", "This bot always uses dall-e-3."),
        (GPT, "a fox --version 7", "This bot always uses gpt-image."),
        (D2, "a fox --niji 6", "This bot always uses dall-e-2. For an anime look, say 'anime style'"),
        (D3, "a fox --tile", "seamless repeating pattern"),
        (D3, "a fox --weird 250", "--style vivid or natural"),
        (GPT, "a fox --w 250", "in words"),
        (GPT, "a fox --stop 50", "--quality low"),
        (D3, "a fox --stop 50", "leave it out"),
        (D3, "a fox --raw", "--style natural"),
        (GPT, "a fox --raw", "in the description"),
        (D3, "a fox --iw 2", "text only"),
        (GPT, "a fox --sref https://x.y/a.png", "text only"),
        (D2, "a fox --cref https://x.y/a.png", "text only"),
        (D3, "a fox --repeat 3", "--n N (1 to 4)"),
        (GPT, "a fox --r 3", "--n N (1 to 10)"),
        (D3, "a fox --relax", "one speed"),
    ],
)
def test_midjourney_flags_say_what_to_use_instead(family: Family, text: str, advice: str) -> None:
    message = parse_err(text, family)
    typed = re.search(r"--(\w+)", text)
    assert typed is not None
    assert message.startswith(f"--{typed[1].lower()} is a Midjourney option; it doesn't work here. ")
    assert advice in message


@pytest.mark.parametrize("text", ["a fox --v 6", "a fox --niji"])
def test_midjourney_model_flags_point_at_model_when_there_are_several(text: str) -> None:
    message = parse_err(text, MODELS, DEFAULT)
    assert "--model: Dalle3, gpt-image-1 or old" in message


def test_midjourney_advice_follows_the_chosen_model() -> None:
    assert "--style vivid or natural" in parse_err("--s 100 a fox --model Dalle3", MODELS, DEFAULT)
    assert "--quality low, medium or high" in parse_err("--s 100 a fox", MODELS, DEFAULT)


@pytest.mark.parametrize("deployments", [D2, D3, GPT, MODELS], ids=str)
def test_every_midjourney_flag_is_refused_with_valid_advice(deployments: Deployments) -> None:
    for foreign in MIDJOURNEY_FLAGS:
        for name in foreign.names:
            message = parse_err(f"a fox --{name} 1", deployments)
            assert message.startswith(f"--{name} is a Midjourney option"), message
            assert len(message) < 200, message
            # Every option the advice mentions works here (on the default model).
            advice = message.split(". ", 1)[1]
            for flag in re.findall(r"--[a-z]+", advice):
                assert flag in [f"--{n}" for s in OPTIONS.values() for n in (s.name, *s.aliases)], message
                family = deployments if isinstance(deployments, Family) else next(iter(deployments.values()))
                if flag != "--model":
                    assert family in OPTIONS[flag[2:]].domains, message
                else:
                    assert not isinstance(deployments, Family), message


def test_midjourney_names_do_not_shadow_options() -> None:
    names = [n for f in MIDJOURNEY_FLAGS for n in f.names]
    assert len(names) == len(set(names))
    assert not set(names) & {n for s in OPTIONS.values() for n in (s.name, *s.aliases)}


# --- usage_help ---------------------------------------------------------------------------------


def _help_line(text: str, flag: str) -> str:
    return next(line for line in text.splitlines() if re.match(rf"\s+{flag}\b(?!-)", line))


@pytest.mark.parametrize("family", list(Family))
def test_usage_help_lists_every_option_of_the_family(family: Family) -> None:
    text = usage_help(family)
    for spec in OPTIONS.values():
        domain = spec.domains.get(family)
        if spec.kind is ValueKind.NAME:
            assert spec.flag not in text  # one model: nothing to pick
            continue
        if domain is None:
            assert re.search(rf"Not available on {family}:.*{spec.flag}", text)
            continue
        line = _help_line(text, spec.flag)
        assert spec.description in line
        assert all(f"--{alias}" in line for alias in spec.aliases)
        if isinstance(domain, Choices):
            assert all(v in line for v in domain.values)
            assert all(f"{a} means {c}" in line for a, c in domain.aliases)
            assert (domain.default is None) or f"{domain.default} (default)" in line
            assert (domain.unset is None) or f"if left out: {domain.unset}" in line
        elif isinstance(domain, IntRange):
            assert str(domain.high) in line
            assert (domain.note or "") in line
        elif isinstance(domain, Aspect) and domain.ratio is not None:
            assert parse_ok(f"cat {spec.flag}", family).size in line
    assert f"{MAX_PROMPT_CHARS[family]:,}" in text
    assert "Midjourney options (--no, --seed" in text


def test_usage_help_dall_e_3_fan_out_and_shortcuts() -> None:
    text = usage_help(D3)
    assert "--n N: number of images; 1 to 4, default 1 (several jobs, posted together)" in text
    assert "--landscape: a wide image; 1792x1024" in text
    assert "--ar W:H (or --aspect)" in text


def test_usage_help_dall_e_2_says_squares_only() -> None:
    assert "--ar W:H (or --aspect): aspect ratio instead of --size, e.g. 16:9 or 2:3; always 1024x1024 " in usage_help(
        D2
    )


@pytest.mark.parametrize("family", list(Family))
def test_usage_help_example_parses(family: Family) -> None:
    example = next(line for line in usage_help(family).splitlines() if line.startswith("Example: /imagine "))
    request = parse_ok(example.removeprefix("Example: /imagine "), family)
    assert request.prompt == "a badger wearing a tuxedo"


def test_usage_help_command_name() -> None:
    assert "/draw a badger" in usage_help(D3, command="/draw")


def test_usage_help_with_models() -> None:
    text = usage_help(MODELS, DEFAULT, command="/draw")
    assert "Models: Dalle3 (dall-e-3), gpt-image-1 (gpt-image, the default), old (dall-e-2)." in text
    assert "Options for gpt-image, model gpt-image-1 (" in text
    assert "--model NAME: which of the bot's models draws it; Dalle3, gpt-image-1 (default), old" in text
    assert "With --model Dalle3 (dall-e-3): --size 1024x1024|1792x1024|1024x1792" in text
    assert "--style vivid|natural" in text
    assert "With --model old (dall-e-2): --size 256x256|512x512|1024x1024, --n 1-5; up to 1,000 characters." in text
    assert "--background VALUE" in text  # the default's own options in full
    example = next(line for line in text.splitlines() if line.startswith("Example: /draw "))
    assert parse_ok(example.removeprefix("Example: /draw "), MODELS, DEFAULT).deployment == DEFAULT


def test_usage_help_with_one_deployment() -> None:
    text = usage_help({"only": D3})
    assert "Model: only (dall-e-3, the default)." in text
    assert "--model" not in text


@pytest.mark.parametrize("family", list(Family))
def test_help_examples_parse(family: Family) -> None:
    examples = help_examples(family)
    assert 2 <= len(examples) <= 3
    assert len(set(examples)) == len(examples)
    assert "--" not in examples[0]  # a plain description works on its own
    for example in examples:
        request = parse_ok(example, family)
        assert request.prompt
        assert "--" not in request.prompt
    assert any("--ar" in e for e in examples) == (family is not D2)


def test_help_examples_show_gpt_image_options() -> None:
    assert any("--background transparent" in e for e in help_examples(GPT))


# --- properties ---------------------------------------------------------------------------------

FRAGMENTS = [
    "<@U123|alice>",
    "<@U123>",
    "<#C1|general>",
    "<#C1|>",
    "<https://x.y/z|label>",
    "<mailto:a@b.c|a@b.c>",
    "<!here>",
    "<!subteam^S1|@team>",
    "<!date^1^{date}|today>",
    "&lt;",
    "&gt;",
    "&amp;",
    "&amp;lt;",
    "<",
    ">",
    "|",
    "—",
    "–",
    "‐",
    "−",
    "-",
    "--",
    "“",
    "”",
    "‘",
    "’",
    '"',
    "'",
    "`",
    "×",
    "=",
    ":",
    "：",
    "help",
    "payload",
    *(f"--{n}" for spec in OPTIONS.values() for n in (spec.name, *spec.aliases)),
    *(f"--{n}" for foreign in MIDJOURNEY_FLAGS for n in foreign.names),
    "--sze",
    "--Size",
    "—size",
    "–n",
    "--n=",
    "--style=",
    "--ar=",
    "--model=",
    "1024x1024",
    "1792x1024",
    "1536x1024",
    "512x512",
    "16:9",
    "2:3",
    "0:1",
    "hd",
    "standard",
    "natural",
    "vivid",
    "high",
    "transparent",
    "jpeg",
    "jpg",
    "png",
    *MODELS,
    "GPT-IMAGE-1",
    "0",
    "1",
    "2",
    "11",
]
slackish_text = st.lists(
    st.one_of(st.sampled_from(FRAGMENTS), st.text(max_size=8), st.sampled_from([" ", "  ", "\n", "\t"])),
    max_size=16,
).map("".join)
any_text = st.one_of(st.text(), slackish_text)

# ImageRequest field of each option that has its own value (the shortcuts set "size"; --model is .deployment)
FIELDS = {
    "size": "size",
    "quality": "quality",
    "style": "style",
    "background": "background",
    "format": "output_format",
    "n": "n",
}


def test_fields_cover_the_valued_options() -> None:
    valued = {s.name for s in OPTIONS.values() if s.sets is None and s.kind is not ValueKind.NAME}
    assert valued == set(FIELDS)
    assert all(isinstance(d, ModelName) for d in OPTIONS["model"].domains.values())


def _is_valid_for(request: ImageRequest, family: Family) -> bool:
    for name, field in FIELDS.items():
        domain = OPTIONS[name].domains.get(family)
        value = getattr(request, field)
        if domain is None:
            if value is not None:
                return False
        elif isinstance(domain, Choices):
            if value not in domain.values and not (value is None and domain.default is None):
                return False
        elif not (isinstance(domain, IntRange) and isinstance(value, int) and domain.low <= value <= domain.high):
            return False
    return (request.background, request.output_format) != ("transparent", "jpeg")


@settings(max_examples=300, deadline=None)
@given(text=any_text, deployments=st.sampled_from([*Family, MODELS]))
def test_any_text_parses_or_fails_cleanly(text: str, deployments: Deployments) -> None:
    result: ImageRequest | HelpRequested | RequestError
    try:
        result = parse_request(text, deployments)
    except RequestError as error:  # anything else escapes and fails the test
        result = error
    event(type(result).__name__)  # shows the mix of outcomes under --hypothesis-show-statistics
    if isinstance(result, RequestError):
        assert result.message.strip()
        return
    if isinstance(result, HelpRequested):
        return
    assert isinstance(result, ImageRequest)
    if isinstance(deployments, Family):
        assert result.deployment is None
        family = deployments
    else:
        assert result.deployment in deployments
        family = deployments[result.deployment]
    assert result.prompt.strip()
    assert result.prompt == result.prompt.strip()
    assert len(result.prompt) <= MAX_PROMPT_CHARS[family]
    assert _is_valid_for(result, family)
    assert result.size_note is None or result.size in result.size_note


SAFE_WORDS = [
    "a",
    "badger",
    "wearing",
    "tuxedo",
    "red",
    "fox",
    "payload",
    "help",
    "sky",
    "x",
    "16:9",
    "2010–2020",
    "—",
    "!",
]


def _case(draw: st.DrawFn, typed: str) -> str:
    return draw(st.sampled_from([typed, typed.upper(), typed.lower()]))


def _flag(draw: st.DrawFn, name: str, value: str | None) -> str:
    flag = draw(st.sampled_from([f"--{name}", f"--{name.upper()}", f"—{name}"]))
    if value is None:
        return flag
    if draw(st.booleans()):
        value = '"' + value + '"'
    return f"{flag}={value}" if draw(st.booleans()) else f"{flag} {value}"


@st.composite
def rendered_requests(draw: st.DrawFn) -> tuple[Deployments, ImageRequest, str, str | None]:
    """A valid request, and a way a user might type it: flags anywhere, in either form, any case.

    Also returns the label the size note must start with (None: no shortcut was used).
    """
    deployments: Deployments
    flags: list[str] = []
    if draw(st.booleans()):
        deployments = MODELS
        deployment: str | None = draw(st.sampled_from(list(MODELS)))
        assert deployment is not None
        family = MODELS[deployment]
        if deployment != DEFAULT or draw(st.booleans()):
            flags.append(_flag(draw, "model", _case(draw, deployment)))
    else:
        family = draw(st.sampled_from(list(Family)))
        deployments, deployment = family, None
    words = draw(st.lists(st.sampled_from(SAFE_WORDS), min_size=1, max_size=8))
    assume(words not in (["help"],))
    chosen: dict[str, str | int | None] = {}
    for name in FIELDS:
        domain = OPTIONS[name].domains.get(family)
        if domain is None:
            chosen[name] = None
            continue
        if isinstance(domain, Choices):
            value: str | int = draw(st.sampled_from(domain.values))
            typed = _case(draw, draw(st.sampled_from([value, *(a for a, c in domain.aliases if c == value)])))
            if name == "size" and draw(st.booleans()):
                typed = typed.replace("x", "×").replace("X", "×")
        else:
            assert isinstance(domain, IntRange)
            value = draw(st.integers(domain.low, domain.high))
            typed = str(value)
        if draw(st.booleans()):  # given explicitly; otherwise the default must come back
            chosen[name] = value
            flags.append(_flag(draw, name, typed))
        else:
            chosen[name] = domain.default
    if (chosen["background"], chosen["format"]) == ("transparent", "jpeg"):
        chosen["format"] = None
        flags = [f for f in flags if "format" not in f.lower()]
    label: str | None = None
    if not any("size" in f.lower() for f in flags) and draw(st.booleans()):  # the size by shortcut
        if draw(st.booleans()):
            w, h = draw(st.integers(1, 40)), draw(st.integers(1, 40))
            flags.append(_flag(draw, draw(st.sampled_from(["ar", "aspect"])), f"{w}{draw(st.sampled_from(':：'))}{h}"))
            label = f"{w}:{h}"
        else:
            label = draw(st.sampled_from(["landscape", "portrait", "square"]))
            flags.append(_flag(draw, label, None))
            w, h = {"landscape": (16, 9), "portrait": (9, 16), "square": (1, 1)}[label]
        chosen["size"] = nearest(family, (w, h))
    tokens = list(words)
    for flag in flags:
        tokens.insert(draw(st.integers(0, len(tokens))), flag)
    request = ImageRequest(
        prompt=" ".join(words),
        size=str(chosen["size"]),
        quality=None if chosen["quality"] is None else str(chosen["quality"]),
        style=None if chosen["style"] is None else str(chosen["style"]),
        n=int(chosen["n"] or 0),
        deployment=deployment,
        background=None if chosen["background"] is None else str(chosen["background"]),
        output_format=None if chosen["format"] is None else str(chosen["format"]),
    )
    return deployments, request, " ".join(tokens), label


@settings(max_examples=300, deadline=None)
@given(case=rendered_requests())
def test_round_trip(case: tuple[Deployments, ImageRequest, str, str | None]) -> None:
    deployments, request, text, label = case
    result = parse_request(text, deployments, DEFAULT if deployments is MODELS else None)
    assert isinstance(result, ImageRequest)
    assert dataclasses.replace(result, size_note=None) == request
    if label is None:
        assert result.size_note is None
    else:
        assert result.size_note is not None
        assert result.size_note.startswith(f"{label} → {request.size}")


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.filter_too_much])
@given(text=any_text)
def test_normalise_is_idempotent(text: str) -> None:
    once = normalise(text)
    # Decoding &lt; / &amp; can't be idempotent ("&amp;lt;" → "&lt;" → "<"), and a decoded "<…>" would
    # then read as markup; Slack never sends such text twice, so the property is over the rest.
    assume("<" not in once and "&" not in once)
    assert normalise(once) == once


@settings(max_examples=200, deadline=None)
@given(typed=st.text())
def test_slack_escaping_is_undone(typed: str) -> None:
    # Slack escapes exactly & < > in what the user typed; normalise must give back the typed characters.
    # Expected: normalise the typed text with & and < shielded, so they are not decoded or read as markup.
    assume("\ue000" not in typed and "\ue001" not in typed)
    escaped = typed.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    shielded = typed.replace("&", "\ue000").replace("<", "\ue001")
    expected = normalise(shielded).replace("\ue000", "&").replace("\ue001", "<")
    assert normalise(escaped) == expected
