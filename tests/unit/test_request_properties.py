"""Properties of the parser: any text parses or is refused cleanly, and a valid request typed any way
a person might type it comes back as it was meant."""

from __future__ import annotations

from fractions import Fraction
from typing import Any

from hypothesis import assume, event, given, settings
from hypothesis import strategies as st

from bot.images.models import Family
from bot.images.request import ImageRequest
from bot.images.sizes import Size, broken_rule, listed_sizes
from bot.replies.requests import problem_text
from bot.request import HelpRequested, ParsedRequest, RequestError, SizeChosen, parse_request
from bot.request.options import FLAGS, Kind, allowed_values, family_flags, option_doc
from bot.request.problems import Choices, Range, SizeForm
from tests.unit.request_strategies import any_text
from tests.unit.requests_support import MODELS, Models
from tests.unit.test_request_shapes import exact_free_size, nearest

FIELD_OF_FLAG = {flag.name: str(flag.field) for flag in FLAGS if flag.kind in (Kind.VALUE, Kind.SWITCH)}
FREE_SIZES = ["1536x864", "1024x640", "640x1024", "2048x1152", "1920x1088", "3840x2160", "1280x1280", "2880x960"]


def _is_valid_for(request: ImageRequest, family: Family) -> bool:
    """An independent reading of the options: every field holds an allowed value or its family's default."""
    for flag in FLAGS:
        if flag.kind not in (Kind.VALUE, Kind.SWITCH):
            continue
        assert flag.field is not None
        value = getattr(request, flag.field)
        if flag not in family_flags(family):
            if value not in (None, False) and not (flag.field == "n" and value == 1):
                return False
            continue
        if flag.kind is Kind.SWITCH:
            if not isinstance(value, bool):
                return False
            continue
        allowed = allowed_values(family, flag)
        if isinstance(allowed, Choices):
            if value not in allowed.values and not (value is None and option_doc(family, flag).default is None):
                return False
        elif isinstance(allowed, Range):
            if not (isinstance(value, int) and allowed.low <= value <= allowed.high):
                return False
        elif isinstance(allowed, SizeForm):
            size = Size.parse(value)
            if value == "auto":
                return family.is_gpt_image
            if size is None or broken_rule(size, family) is not None:
                return False
    return (request.background, request.output_format) != ("transparent", "jpeg")


@settings(max_examples=80, deadline=None)
@given(text=any_text, models=st.sampled_from([*Family, MODELS]))
def test_any_text_parses_or_fails_cleanly(text: str, models: Models) -> None:
    result: ParsedRequest | HelpRequested | RequestError
    try:
        result = parse_request(text, models)
    except RequestError as error:  # anything else escapes and fails the test
        result = error
    event(type(result).__name__)
    if isinstance(result, RequestError):
        message = problem_text(result.problem)
        assert message.strip()
        assert len(message) < 200, message
        return
    if isinstance(result, HelpRequested):
        return
    if isinstance(models, Family):
        assert result.deployment is None
        family = models
    else:
        assert result.deployment is not None
        family = models[result.deployment].family
    request = result.request
    assert request.prompt.strip()
    assert request.prompt == request.prompt.strip()
    assert len(request.prompt) <= family.max_prompt_chars
    assert _is_valid_for(request, family), request
    for note in result.notes:
        assert note.size == request.size


SAFE_WORDS = ["a", "badger", "wearing", "tuxedo", "red", "fox", "payload", "help", "sky", "x", "16:9", "2010–2020", "—"]


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
def rendered_requests(draw: st.DrawFn) -> tuple[Models, ImageRequest, str | None, str, str | None]:
    """A valid request, and a way a person might type it: flags anywhere, in either form, any case.

    Returns the deployments, the request, the deployment expected, the text, and the shortcut the size
    note must name (None: no shortcut was used).
    """
    models: Models
    flags: list[str] = []
    deployment: str | None
    if draw(st.booleans()):
        models = MODELS
        deployment = draw(st.sampled_from(list(MODELS)))
        family = MODELS[deployment].family
        if deployment != MODELS.default.name or draw(st.booleans()):
            flags.append(_flag(draw, "model", _case(draw, deployment)))
    else:
        family = draw(st.sampled_from(list(Family)))
        models, deployment = family, None
    words = draw(st.lists(st.sampled_from(SAFE_WORDS), min_size=1, max_size=8))
    assume(words != ["help"])
    chosen: dict[str, Any] = {}
    for flag in family_flags(family):
        if flag.kind not in (Kind.VALUE, Kind.SWITCH):
            continue
        doc = option_doc(family, flag)
        default: Any = doc.default
        if flag.kind is Kind.SWITCH:
            if draw(st.booleans()):
                chosen[flag.name] = True
                flags.append(_flag(draw, flag.name, None))
            continue
        allowed = doc.allowed
        if isinstance(allowed, Range):
            value: Any = draw(st.integers(allowed.low, allowed.high))
            typed = str(value)
            default = int(default) if default is not None else None
        elif isinstance(allowed, SizeForm):
            value = draw(st.sampled_from(list(allowed.listed or FREE_SIZES)))
            typed = value.replace("x", draw(st.sampled_from(["x", "X", "×"])))
        else:
            assert isinstance(allowed, Choices)
            value = draw(st.sampled_from(allowed.values))
            aliases = [typed for typed, canonical in doc.aliases.items() if canonical == value]
            typed = _case(draw, draw(st.sampled_from([value, *aliases])))
        if draw(st.booleans()):  # given explicitly; otherwise the default must come back
            chosen[flag.name] = value
            flags.append(_flag(draw, flag.name, typed))
        else:
            chosen[flag.name] = default
    if (chosen.get("background"), chosen.get("format")) == ("transparent", "jpeg"):
        chosen["format"] = None
        flags = [f for f in flags if "format" not in f.lower()]
    label: str | None = None
    if not any("size" in f.lower() for f in flags) and draw(st.booleans()):  # the size by shortcut
        if draw(st.booleans()):
            w, h = draw(st.integers(1, 40)), draw(st.integers(1, 40))
            if listed_sizes(family) is None:
                assume(Fraction(1, 3) <= Fraction(w, h) <= 3)
            flags.append(_flag(draw, draw(st.sampled_from(["ar", "aspect"])), f"{w}{draw(st.sampled_from(':：'))}{h}"))
            label = f"{w}:{h}"
        else:
            label = draw(st.sampled_from(["landscape", "portrait", "square"]))
            flags.append(_flag(draw, label, None))
            w, h = {"landscape": (16, 9), "portrait": (9, 16), "square": (1, 1)}[label]
        chosen["size"] = nearest(family, (w, h)) if listed_sizes(family) else exact_free_size(w, h)
    tokens = list(words)
    for flag_text in flags:
        tokens.insert(draw(st.integers(0, len(tokens))), flag_text)
    fields: dict[str, Any] = {FIELD_OF_FLAG[name]: value for name, value in chosen.items()}
    request = ImageRequest(prompt=" ".join(words), **fields)
    return models, request, deployment, " ".join(tokens), label


@settings(max_examples=80, deadline=None)
@given(case=rendered_requests())
def test_round_trip(case: tuple[Models, ImageRequest, str | None, str, str | None]) -> None:
    models, request, deployment, text, label = case
    result = parse_request(text, models)
    assert isinstance(result, ParsedRequest)
    assert result.request == request
    assert result.deployment == deployment
    chosen = [note for note in result.notes if isinstance(note, SizeChosen)]
    if label is None:
        assert chosen == []
    else:
        [note] = chosen
        assert (note.shortcut, note.size) == (label, request.size)


def test_the_free_sizes_the_round_trip_draws_from_are_valid() -> None:
    for text in FREE_SIZES:
        size = Size.parse(text)
        assert size is not None
        assert broken_rule(size, Family.GPT_IMAGE_2) is None
