"""bot.request.follow_ups: edits, variations and larger versions keep the parent's options."""

from __future__ import annotations

import pytest

from bot.images.models import Deployments
from bot.images.request import ImageRequest
from bot.images.sizes import Size, broken_rule
from bot.request import HelpRequested, ParsedRequest, RequestError
from bot.request.follow_ups import UPSCALE_PROMPT, VARY_PROMPT, edit_request, upscale_request, vary_request

MODELS = Deployments({"main": "gpt-image-2", "mini": "gpt-image-1-mini"})
PARENT = ImageRequest("a fox", "1536x864", "high", 3, None, "transparent", "png", False)


def edited(text: str, parent: ImageRequest = PARENT) -> ParsedRequest:
    result = edit_request(parent, text, MODELS)
    assert isinstance(result, ParsedRequest)
    return result


def test_an_edit_keeps_the_parents_options_and_sends_the_instruction_as_written() -> None:
    result = edited("make the sky pink")

    assert result.request == ImageRequest(
        "make the sky pink", "1536x864", "high", 1, None, "transparent", "png", raw=True
    )
    assert result.deployment == "main"


@pytest.mark.parametrize(
    ("text", "size", "quality"),
    [
        ("make the sky pink --size 1024x1024", "1024x1024", "high"),
        ("make the sky pink --SIZE=1280x720", "1280x720", "high"),
        ("make the sky pink —size 1024x1024", "1024x1024", "high"),  # a phone's smart dash
        ("make the sky pink --ar 1:1", "1024x1024", "high"),
        ("make the sky pink --portrait", "720x1280", "high"),
        ("make the sky pink --quality low", "1536x864", "low"),
        ("make the sky pink --Quality=low", "1536x864", "low"),
        ("make the sky pink –quality low", "1536x864", "low"),
    ],
)
def test_an_edit_takes_the_options_the_person_gave(text: str, size: str, quality: str) -> None:
    request = edited(text).request
    assert (request.prompt, request.size, request.quality) == ("make the sky pink", size, quality)


def test_an_edit_on_another_model_gets_a_size_that_model_makes() -> None:
    result = edited("make the sky pink --model mini")

    assert result.deployment == "mini"
    size = Size.parse(result.request.size)
    assert size is not None
    assert broken_rule(size, MODELS["mini"].family) is None
    assert result.request.size == "1536x1024"  # the nearest in shape to the parent's 1536x864


def test_an_edit_is_one_image_whatever_the_parent_made() -> None:
    assert edited("make it blue").request.n == 1


def test_help_and_refusals_pass_through() -> None:
    assert edit_request(PARENT, "help", MODELS) == HelpRequested()
    with pytest.raises(RequestError):
        edit_request(PARENT, "make it blue --size 1000x600", MODELS)


def test_a_variation_keeps_everything_but_the_prompt() -> None:
    assert vary_request(PARENT) == ImageRequest(VARY_PROMPT, "1536x864", "high", 1, None, "transparent", "png", True)


@pytest.mark.parametrize(
    ("size", "deployment", "larger"),
    [
        ("1536x864", "main", "2560x1440"),  # the largest of the same shape short of experimental
        ("1024x1024", "main", "1920x1920"),
        ("2560x1440", "main", "2560x1440"),  # already the largest
        ("1024x1024", "mini", "1024x1024"),  # mini's largest square is 1024x1024
        ("auto", "main", "auto"),
    ],
)
def test_an_upscale_asks_for_the_largest_size_of_the_same_shape_at_high_quality(
    size: str, deployment: str, larger: str
) -> None:
    parent = ImageRequest("a fox", size, "low", 2, raw=False)

    request = upscale_request(parent, MODELS, deployment)

    assert request == ImageRequest(UPSCALE_PROMPT, larger, "high", 1, raw=True)
