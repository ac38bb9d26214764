"""Helpers shared by the parser's tests: parse or fail, and the bot's several deployments."""

from __future__ import annotations

import pytest

from bot.images.models import Deployments, Family
from bot.images.request import ImageRequest
from bot.replies.requests import problem_text
from bot.request import HelpRequested, ParsedRequest, Problem, RequestError, parse_request

GPT2, GPT1, D3, D2 = Family.GPT_IMAGE_2, Family.GPT_IMAGE_1, Family.DALL_E_3, Family.DALL_E_2
Models = Deployments | Family

# Four deployments of four families; the default (the first) is gpt-image-2.
MODELS = Deployments({"main": "gpt-image-2", "Dalle3": "dall-e-3", "old": "dall-e-2", "mini": "gpt-image-1-mini"})


def parsed(text: str, models: Models) -> ParsedRequest:
    result = parse_request(text, models)
    assert isinstance(result, ParsedRequest), result
    return result


def parse_ok(text: str, models: Models) -> ImageRequest:
    return parsed(text, models).request


def problem(text: str, models: Models) -> Problem:
    with pytest.raises(RequestError) as caught:
        parse_request(text, models)
    return caught.value.problem


def parse_err(text: str, models: Models) -> str:
    """The refusal as the person reads it (plain text, before mrkdwn escaping)."""
    return problem_text(problem(text, models))


__all__ = [
    "D2",
    "D3",
    "GPT1",
    "GPT2",
    "MODELS",
    "HelpRequested",
    "Models",
    "parse_err",
    "parse_ok",
    "parsed",
    "problem",
]
