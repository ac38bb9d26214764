"""Why a `/imagine` text cannot become a request, as typed values; `bot.replies` words each one.

Every problem names the input at fault and carries what would work instead, so the reply can say both.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from bot.images.models import Family
from bot.images.sizes import SizeRule


@dataclass(frozen=True, slots=True)
class Choices:
    values: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class Range:
    low: int
    high: int
    why: str | None = None  # said when there is a single value, so the limit doesn't look arbitrary


@dataclass(frozen=True, slots=True)
class SizeForm:
    """Any WxH within gpt-image-2's rules, or one of the listed sizes."""

    listed: tuple[str, ...] | None


@dataclass(frozen=True, slots=True)
class RatioForm:
    pass


Allowed = Choices | Range | SizeForm | RatioForm


class Reason(StrEnum):
    NOT_ALLOWED = "not_allowed"
    NOT_A_NUMBER = "not_a_number"
    OUT_OF_RANGE = "out_of_range"
    TAKES_NO_VALUE = "takes_no_value"
    NOT_A_RATIO = "not_a_ratio"


@dataclass(frozen=True, slots=True)
class UnknownOption:
    typed: str  # e.g. "--sze"
    suggestion: str | None  # the nearest option name, e.g. "size"
    model: str  # the model in use, as people know it (e.g. gpt-image-2)
    options: tuple[str, ...]  # the family's option names, for "Options for …"


@dataclass(frozen=True, slots=True)
class ForeignOption:
    """A Midjourney parameter: refused with advice (`bot.replies` holds the advice per flag)."""

    flag: str  # canonical name, e.g. "seed"
    typed: str
    family: Family
    model: str
    models: tuple[str, ...]  # the bot's deployment names (advice may say how to pick one)
    chosen: str | None


@dataclass(frozen=True, slots=True)
class OptionNotOnModel:
    option: str
    model: str
    chosen: str | None  # the deployment in use, None when parsed for a bare family
    having: tuple[str, ...]  # other deployments that have the option
    options: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class MissingValue:
    option: str
    allowed: Allowed


@dataclass(frozen=True, slots=True)
class BadValue:
    option: str
    typed: str
    reason: Reason
    allowed: Allowed
    model: str


@dataclass(frozen=True, slots=True)
class BadSize:
    typed: str
    rule: SizeRule
    suggestion: str  # a size that would work
    model: str
    allowed: SizeForm


@dataclass(frozen=True, slots=True)
class RatioTooWide:
    option: str
    typed: str  # "4:1"
    suggestion: str  # the size at the widest ratio allowed


@dataclass(frozen=True, slots=True)
class RepeatedOption:
    option: str


@dataclass(frozen=True, slots=True)
class ConflictingOptions:
    first: str
    second: str
    target: str  # what both decide, e.g. "size"


@dataclass(frozen=True, slots=True)
class Clash:
    first: tuple[str, str]  # (option, value)
    second: tuple[str, str]
    why: str  # a short plain reason, e.g. "JPEG has no transparency"
    fix: tuple[str, str]  # the value of `second` that would work


@dataclass(frozen=True, slots=True)
class EmptyPrompt:
    example: str


@dataclass(frozen=True, slots=True)
class PromptTooLong:
    length: int
    limit: int
    model: str


class ModelTrouble(StrEnum):
    ONLY_ONE = "only_one"
    TWICE = "twice"
    NO_VALUE = "no_value"
    UNKNOWN = "unknown"


@dataclass(frozen=True, slots=True)
class ModelProblem:
    trouble: ModelTrouble
    typed: str
    names: tuple[str, ...]
    model: str


Problem = (
    UnknownOption
    | ForeignOption
    | OptionNotOnModel
    | MissingValue
    | BadValue
    | BadSize
    | RatioTooWide
    | RepeatedOption
    | ConflictingOptions
    | Clash
    | EmptyPrompt
    | PromptTooLong
    | ModelProblem
)


class RequestError(ValueError):
    """The user's text cannot become a request; `problem` says why."""

    def __init__(self, problem: Problem) -> None:
        super().__init__(type(problem).__name__)
        self.problem = problem


def problem_option(problem: Problem) -> str | None:
    """The option a problem is about, if one: modals show the refusal next to that field."""
    if isinstance(problem, BadSize | RatioTooWide):
        return "size"
    if isinstance(problem, ModelProblem):
        return "model"
    option = getattr(problem, "option", None)
    return option if isinstance(option, str) else None
