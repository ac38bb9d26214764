"""Requests made from an earlier result: an edit with an instruction, a variation, a larger version.

They keep the result's options (size, quality, format, background) unless told otherwise; the prompt
is what the edits endpoint receives as the instruction.
"""

from __future__ import annotations

import dataclasses

from bot.images.models import Deployments, Family
from bot.images.request import ImageRequest
from bot.images.sizes import Size, broken_rule, largest_for, nearest_valid
from bot.request.normalise import normalise
from bot.request.parse import HelpRequested, ParsedRequest, parse_request

# Instructions for the model (shown in the channel as what was asked).
VARY_PROMPT = "A variation of this image: keep its subject, composition and style; change the details."
UPSCALE_PROMPT = "The same image at a higher resolution, with finer detail; change nothing else."


def _from(parent: ImageRequest, prompt: str, size: str) -> ImageRequest:
    return dataclasses.replace(parent, prompt=prompt, size=size, n=1, raw=True, style=None)


def edit_request(parent: ImageRequest, text: str, deployments: Deployments) -> ParsedRequest | HelpRequested:
    """`text` is the instruction, with options if the person gave any (`--size`, `--quality`)."""
    parsed = parse_request(text, deployments)
    if isinstance(parsed, HelpRequested):
        return parsed
    given = parsed.request
    typed = normalise(text).casefold()  # as the parser read it: "—Size" is "--size"
    family = deployments.get_or_default(parsed.deployment).family
    size = given.size if _mentions_size(typed) else _made_by(family, parent.size)
    quality = given.quality if "--quality" in typed else parent.quality
    request = dataclasses.replace(_from(parent, given.prompt, size), quality=quality)
    return ParsedRequest(request, parsed.deployment, parsed.notes)


def _mentions_size(typed: str) -> bool:
    return any(flag in typed for flag in ("--size", "--ar", "--aspect", "--landscape", "--portrait", "--square"))


def _made_by(family: Family, size: str) -> str:
    """The parent's size, or the nearest the edit's model makes (`--model` may pick one without free sizes)."""
    parsed = Size.parse(size)
    return str(nearest_valid(parsed, family)) if parsed and broken_rule(parsed, family) else size


def vary_request(parent: ImageRequest) -> ImageRequest:
    return _from(parent, VARY_PROMPT, parent.size)


def upscale_request(parent: ImageRequest, deployments: Deployments, deployment: str) -> ImageRequest:
    size = Size.parse(parent.size)
    family = deployments.get_or_default(deployment).family
    larger = largest_for(size, family) if size is not None else None
    return dataclasses.replace(_from(parent, UPSCALE_PROMPT, str(larger or parent.size)), quality="high")
