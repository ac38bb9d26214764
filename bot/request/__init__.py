"""Slack `/imagine` text → a validated request (pure: no I/O, no Slack SDK, no settings).

`parse_request` is the entry point; problems are typed values (`bot.request.problems`) that
`bot.replies` turns into sentences; `bot.request.options` defines every option once.
"""

from bot.request.normalise import message_words, normalise
from bot.request.parse import (
    ExperimentalSize,
    HelpRequested,
    Note,
    ParsedRequest,
    SizeChosen,
    example_text,
    parse_request,
)
from bot.request.problems import Problem, RequestError

__all__ = [
    "ExperimentalSize",
    "HelpRequested",
    "Note",
    "ParsedRequest",
    "Problem",
    "RequestError",
    "SizeChosen",
    "example_text",
    "message_words",
    "normalise",
    "parse_request",
]
