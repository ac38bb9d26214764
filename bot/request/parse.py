"""`/imagine` text → a validated `ImageRequest`, or the `Problem` that stops it. Pure: no I/O.

Flags may stand anywhere in the text (`--name value` or `--name=value`); what is left is the prompt,
with the user's own spacing. `--model` is resolved first, wherever it is, and every other option is
checked against that model's family (`bot.request.options`). The first problem in the text wins.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Mapping
from dataclasses import dataclass
from fractions import Fraction
from typing import Any

from pydantic import ValidationError

from bot.images.models import Deployments, Family
from bot.images.request import ImageRequest
from bot.images.sizes import MAX_RATIO, Size, SizeRule, is_experimental, listed_sizes, size_for_ratio
from bot.request import midjourney
from bot.request.normalise import normalise
from bot.request.options import (
    FAMILY_OPTIONS,
    FLAG_BY_NAME,
    Flag,
    Kind,
    allowed_values,
    family_flags,
    has_option,
)
from bot.request.problems import (
    BadSize,
    BadValue,
    Clash,
    ConflictingOptions,
    EmptyPrompt,
    ForeignOption,
    MissingValue,
    ModelProblem,
    ModelTrouble,
    OptionNotOnModel,
    Problem,
    PromptTooLong,
    RatioForm,
    RatioTooWide,
    Reason,
    RepeatedOption,
    RequestError,
    SizeForm,
    UnknownOption,
)

_TOKEN = re.compile(r"\S+")
_FLAG = re.compile(r"--([^\W\d_][^\s=]*)(?:=(.*))?", re.DOTALL)
_QUOTE_CHARS = "\"'`"  # backticks too: Slack users wrap values in `code`
_RATIO = re.compile(r"([0-9]{1,6})[:：]([0-9]{1,6})")  # the full-width colon comes from CJK keyboards
_SHOW_MAX = 30  # echo at most this much of a bad value back to the user


@dataclass(frozen=True, slots=True)
class SizeChosen:
    """A shortcut (--ar, --landscape, …) picked the size; `exact` False: the nearest the model makes."""

    shortcut: str  # "16:9" or "landscape"
    size: str
    exact: bool
    squares_only: bool


@dataclass(frozen=True, slots=True)
class ExperimentalSize:
    size: str


Note = SizeChosen | ExperimentalSize


@dataclass(frozen=True, slots=True)
class ParsedRequest:
    request: ImageRequest
    deployment: str | None  # the deployment to use; None when parsed for a bare family
    notes: tuple[Note, ...] = ()


@dataclass(frozen=True, slots=True)
class HelpRequested:
    pass


@dataclass(frozen=True, slots=True)
class _Models:
    family: Family
    chosen: str | None
    names: Mapping[str, Family]
    model: str  # the chosen deployment's model name, or the bare family's


@dataclass(frozen=True, slots=True)
class _Given:
    typed: str  # the flag as typed, e.g. "--Size"
    name: str  # lower case, without dashes
    raw: str | None  # its value as typed; None if there was none (or the flag takes none)


def parse_request(text: str, models: Deployments | Family) -> ParsedRequest | HelpRequested:
    """Normalise and parse `/imagine` text. Raises `RequestError` (only) for unusable text."""
    text = normalise(text)
    if text.casefold() in ("", "help", "--help"):
        return HelpRequested()
    tokens = list(_TOKEN.finditer(text))
    given, used = _scan(tokens)
    chosen = _choose_model(given, _models_of(models), models)
    family = chosen.family
    values: dict[str, str] = {}
    decided_by: dict[str, Flag] = {}
    order: dict[str, int] = {}
    notes: list[Note] = []
    for position, item in enumerate(given):
        flag = FLAG_BY_NAME.get(item.name)
        if flag is None:
            raise RequestError(_unknown_or_foreign(item, chosen))
        if flag.kind is Kind.MODEL:
            continue
        if not has_option(family, flag):
            raise RequestError(_not_on_model(flag, chosen))
        assert flag.field is not None
        earlier = decided_by.setdefault(flag.field, flag)
        if earlier is not flag:
            raise RequestError(ConflictingOptions(earlier.name, flag.name, flag.field))
        if flag.field in values:
            raise RequestError(RepeatedOption(flag.name))
        order[flag.field] = position
        if flag.kind is Kind.SHAPE or flag.kind is Kind.RATIO:
            values["size"], note = _size_from_ratio(flag, item, chosen)
            notes.append(note)
        elif flag.kind is Kind.SWITCH:
            if item.raw is not None:
                raise RequestError(
                    BadValue(flag.name, _show(item.raw), Reason.TAKES_NO_VALUE, RatioForm(), chosen.model)
                )
            values[flag.field] = "true"
        else:
            raw = _unquote(item.raw or "")
            if not raw:
                raise RequestError(MissingValue(flag.name, allowed_values(family, flag)))
            values[flag.field] = raw
    options = _validated(chosen, values, order)
    prompt = _prompt_without(text, tokens, used)
    if not prompt:
        raise RequestError(EmptyPrompt(example_text(family)))
    if len(prompt) > family.max_prompt_chars:
        raise RequestError(PromptTooLong(len(prompt), family.max_prompt_chars, chosen.model))
    request = ImageRequest(prompt=prompt, **options)
    size = Size.parse(request.size)
    if size is not None and is_experimental(size, family):
        notes.append(ExperimentalSize(request.size))
    return ParsedRequest(request, chosen.chosen, tuple(notes))


def _models_of(models: Deployments | Family) -> _Models:
    if isinstance(models, Family):
        return _Models(models, None, {}, models.value)
    names = {name: deployment.family for name, deployment in models.items()}
    return _Models(models.default.family, models.default.name, names, models.default.model)


def _scan(tokens: list[re.Match[str]]) -> tuple[list[_Given], set[int]]:
    """Every `--flag` with its value, in order, and the indexes of the tokens they used."""
    given: list[_Given] = []
    used: set[int] = set()
    i = 0
    while i < len(tokens):
        match = _FLAG.fullmatch(tokens[i][0])
        if match is None:
            i += 1
            continue
        used.add(i)
        name = match[1].casefold()
        flag = FLAG_BY_NAME.get(name)
        raw: str | None = match[2]
        takes_value = flag is not None and flag.kind in (Kind.VALUE, Kind.RATIO, Kind.MODEL)
        if takes_value and raw is None and i + 1 < len(tokens) and _FLAG.fullmatch(tokens[i + 1][0]) is None:
            i += 1
            used.add(i)
            raw = tokens[i][0]
        given.append(_Given("--" + match[1], name, raw))
        i += 1
    return given, used


def _choose_model(given: list[_Given], models: _Models, deployments: Deployments | Family) -> _Models:
    asked = [g for g in given if g.name == "model"]
    names = tuple(models.names)
    if not asked:
        return models
    typed = asked[0].raw or ""
    # With one deployment, naming it is harmless; any other name gets "this bot has one model".
    if models.chosen is None or (len(names) == 1 and _unquote(typed).casefold() != names[0].casefold()):
        raise RequestError(ModelProblem(ModelTrouble.ONLY_ONE, typed, names, models.model))
    if len(asked) > 1:
        raise RequestError(ModelProblem(ModelTrouble.TWICE, typed, names, models.model))
    raw = _unquote(typed)
    if not raw:
        raise RequestError(ModelProblem(ModelTrouble.NO_VALUE, typed, names, models.model))
    name = next((n for n in names if n.casefold() == raw.casefold()), None)
    if name is None or isinstance(deployments, Family):
        raise RequestError(ModelProblem(ModelTrouble.UNKNOWN, _show(raw), names, models.model))
    return _Models(models.names[name], name, models.names, deployments[name].model)


def _unknown_or_foreign(item: _Given, models: _Models) -> Problem:
    foreign = midjourney.CANONICAL.get(item.name)
    if foreign is not None:
        return ForeignOption(foreign, item.typed, models.family, models.model, tuple(models.names), models.chosen)
    options = _option_names(models)
    known = [name for flag in family_flags(models.family, with_model=len(models.names) > 1)
             for name in (flag.name, *flag.aliases)]  # fmt: skip
    close = difflib.get_close_matches(item.name, known, n=1)
    return UnknownOption(_show(item.typed), close[0] if close else None, models.model, options)


def _option_names(models: _Models) -> tuple[str, ...]:
    several = len(models.names) > 1
    return tuple(f.name for f in family_flags(models.family, with_model=several) if f.kind is not Kind.SHAPE)


def _not_on_model(flag: Flag, models: _Models) -> OptionNotOnModel:
    having = tuple(name for name, family in models.names.items() if has_option(family, flag))
    return OptionNotOnModel(flag.name, models.model, models.chosen, having, _option_names(models))


def _size_from_ratio(flag: Flag, item: _Given, models: _Models) -> tuple[str, SizeChosen]:
    family = models.family
    if flag.kind is Kind.SHAPE:
        assert flag.ratio is not None
        if item.raw is not None:
            raise RequestError(BadValue(flag.name, _show(item.raw), Reason.TAKES_NO_VALUE, RatioForm(), models.model))
        ratio, label = flag.ratio, flag.name
    else:
        raw = _unquote(item.raw or "")
        if not raw:
            raise RequestError(MissingValue(flag.name, RatioForm()))
        match = _RATIO.fullmatch(raw)
        if match is None or int(match[1]) == 0 or int(match[2]) == 0:
            raise RequestError(BadValue(flag.name, _show(raw), Reason.NOT_A_RATIO, RatioForm(), models.model))
        ratio, label = Fraction(int(match[1]), int(match[2])), f"{int(match[1])}:{int(match[2])}"
        if listed_sizes(family) is None and not Fraction(1, MAX_RATIO) <= ratio <= MAX_RATIO:
            widest = Fraction(MAX_RATIO) if ratio > 1 else Fraction(1, MAX_RATIO)
            raise RequestError(RatioTooWide(flag.name, label, str(size_for_ratio(widest, family).size)))
    chosen = size_for_ratio(ratio, family)
    listed = listed_sizes(family)
    squares_only = listed is not None and all(s.is_square for s in listed)
    return str(chosen.size), SizeChosen(label, str(chosen.size), chosen.exact, squares_only)


def _validated(models: _Models, values: dict[str, str], order: dict[str, int]) -> dict[str, Any]:
    """The family's options with defaults filled in; the first bad value in the text is the problem."""
    model = FAMILY_OPTIONS[models.family]
    try:
        options = model.model_validate(values)
    except ValidationError as error:
        items = sorted(error.errors(), key=lambda e: order.get(str(e["loc"][0]) if e["loc"] else "", 10**6))
        raise RequestError(_problem(models, values, items[0])) from None
    return dict(options)  # the validated fields; cheaper than model_dump on the ack path


def _problem(models: _Models, values: dict[str, str], error: object) -> Problem:
    assert isinstance(error, dict)
    family = models.family
    kind, context = str(error["type"]), error.get("ctx") or {}
    if not error["loc"]:  # a model-level check: two values that don't go together
        assert kind == "clash"
        return Clash(("background", "transparent"), ("format", "jpeg"), str(error["msg"]), ("format", context["fix"]))
    field = str(error["loc"][0])
    flag = next(f for f in family_flags(family) if f.field == field and f.kind in (Kind.VALUE, Kind.SWITCH))
    typed = _show(values.get(field, ""))
    allowed = allowed_values(family, flag)
    if kind in ("size_rule", "size_form"):
        assert isinstance(allowed, SizeForm)
        rule = SizeRule(context["rule"]) if kind == "size_rule" else SizeRule.NOT_OFFERED
        return BadSize(typed, rule, str(context["suggestion"]), models.model, allowed)
    if kind == "int_parsing":
        return BadValue(flag.name, typed, Reason.NOT_A_NUMBER, allowed, models.model)
    if kind in ("greater_than_equal", "less_than_equal"):
        return BadValue(flag.name, typed, Reason.OUT_OF_RANGE, allowed, models.model)
    return BadValue(flag.name, typed, Reason.NOT_ALLOWED, allowed, models.model)


def _prompt_without(text: str, tokens: list[re.Match[str]], removed: set[int]) -> str:
    """The text minus removed tokens: the user's own spacing kept, except where a flag was cut out."""
    pieces: list[str] = []
    gap = ""
    cut = False
    end = 0
    for index, token in enumerate(tokens):
        gap += text[end : token.start()]
        end = token.end()
        if index in removed:
            cut = True
            continue
        if pieces:  # whitespace before the first kept token is dropped
            pieces.append(("\n" if "\n" in gap else " ") if cut else gap)
        pieces.append(token[0])
        gap, cut = "", False
    return "".join(pieces)


def _unquote(value: str) -> str:
    if len(value) >= 2 and value[0] == value[-1] and value[0] in _QUOTE_CHARS:
        return value[1:-1]
    return value


def _show(value: str) -> str:
    return value if len(value) <= _SHOW_MAX else value[: _SHOW_MAX - 1] + "…"


EXAMPLE_PROMPTS = (
    "a badger wearing a tuxedo",
    "a red fox in the snow, watercolour",
    "a lighthouse in a storm, oil painting",
)


def example_flags(family: Family) -> list[str]:
    """A couple of non-default options valid together on `family`, e.g. ["--size 1536x864", "--quality high"]."""
    examples = {
        Family.GPT_IMAGE_2: ["--size 1536x864", "--quality high"],
        Family.GPT_IMAGE_1: ["--size 1536x1024", "--quality high"],
        Family.DALL_E_3: ["--size 1792x1024", "--style natural"],
        Family.DALL_E_2: ["--size 512x512", "--n 2"],
    }
    return examples[family]


def example_text(family: Family) -> str:
    return " ".join([EXAMPLE_PROMPTS[0], *example_flags(family)])
