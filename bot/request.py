"""Slack `/imagine` text → a validated `ImageRequest`.

Pure: no I/O, no Slack SDK, no logging, no settings. `normalise` undoes what Slack and
smart-punctuation keyboards do to the text; `parse_request` splits flags from the prompt and checks
them against the model family. Every option is defined once, in `OPTIONS`: parsing, error messages
and `usage_help` are all derived from it, so adding an option updates all three.

User-facing strings here are plain text; the caller escapes them for Slack mrkdwn.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from types import MappingProxyType
from typing import Final, TypeAlias


class Family(StrEnum):
    """Model families differ in sizes, options and limits; deployments of one family behave alike."""

    DALL_E_2 = "dall-e-2"
    DALL_E_3 = "dall-e-3"
    GPT_IMAGE = "gpt-image"

    @classmethod
    def of(cls, model: str) -> Family:
        """The family of an Azure model name: dall-e-2, dall-e-3 or any gpt-image-* (gpt-image-1, -1.5, …)."""
        name = model.strip().lower()
        if name in (cls.DALL_E_2.value, cls.DALL_E_3.value):
            return cls(name)
        if name.startswith("gpt-image-") and len(name) > len("gpt-image-"):
            return cls.GPT_IMAGE
        raise ValueError(f"unknown image model {model!r}: expected dall-e-2, dall-e-3 or gpt-image-*")


MAX_PROMPT_CHARS: Final[Mapping[Family, int]] = MappingProxyType(
    {Family.DALL_E_2: 1000, Family.DALL_E_3: 4000, Family.GPT_IMAGE: 32000}
)


# --- option definitions -------------------------------------------------------------------------


class ValueKind(StrEnum):
    CHOICE = "choice"  # one word from a list, any case
    SIZE = "size"  # WxH from a list; "x", "X" and "×" all separate (phones autocorrect to ×)
    INT = "int"  # a whole number in a range


@dataclass(frozen=True, slots=True)
class Choices:
    values: tuple[str, ...]  # canonical spelling, lower case
    default: str


@dataclass(frozen=True, slots=True)
class IntRange:
    low: int
    high: int
    default: int
    # Said to the user when the range is a single value, so the limit doesn't look arbitrary.
    why: str | None = None


Domain: TypeAlias = Choices | IntRange


@dataclass(frozen=True, slots=True)
class OptionSpec:
    """One `--flag`: its value kind, a one-line description, and what each family allows.

    A family missing from `domains` does not have the option; using it there is an error that says so.
    """

    name: str
    kind: ValueKind
    description: str
    domains: Mapping[Family, Domain]

    def __post_init__(self) -> None:
        # Checked at import so a bad definition fails the test run, not a user's request.
        for family, domain in self.domains.items():
            if isinstance(domain, IntRange):
                ok = self.kind is ValueKind.INT and domain.low <= domain.default <= domain.high
            else:
                ok = (
                    self.kind is not ValueKind.INT
                    and domain.default in domain.values
                    and all(v == v.lower() for v in domain.values)
                )
            if not ok:
                raise ValueError(f"option --{self.name} is misdefined for {family}")
        object.__setattr__(self, "domains", MappingProxyType(dict(self.domains)))

    @property
    def flag(self) -> str:
        return f"--{self.name}"

    @property
    def metavar(self) -> str:
        return {ValueKind.CHOICE: "VALUE", ValueKind.SIZE: "WxH", ValueKind.INT: "N"}[self.kind]


_DALL_E_3_ONE_IMAGE: Final = "dall-e-3 makes one image per request"

OPTIONS: Final[Mapping[str, OptionSpec]] = MappingProxyType(
    {
        spec.name: spec
        for spec in (
            OptionSpec(
                name="size",
                kind=ValueKind.SIZE,
                description="image size in pixels",
                domains={
                    Family.DALL_E_2: Choices(("256x256", "512x512", "1024x1024"), "1024x1024"),
                    Family.DALL_E_3: Choices(("1024x1024", "1792x1024", "1024x1792"), "1024x1024"),
                    Family.GPT_IMAGE: Choices(("1024x1024", "1536x1024", "1024x1536"), "1024x1024"),
                },
            ),
            OptionSpec(
                name="quality",
                kind=ValueKind.CHOICE,
                description="level of detail",
                domains={
                    Family.DALL_E_3: Choices(("standard", "hd"), "standard"),
                    Family.GPT_IMAGE: Choices(("low", "medium", "high"), "medium"),
                },
            ),
            OptionSpec(
                name="style",
                kind=ValueKind.CHOICE,
                description="vivid is dramatic, natural is more realistic",
                domains={Family.DALL_E_3: Choices(("vivid", "natural"), "vivid")},
            ),
            OptionSpec(
                name="n",
                kind=ValueKind.INT,
                description="number of images",
                domains={
                    Family.DALL_E_2: IntRange(1, 5, 1),
                    Family.DALL_E_3: IntRange(1, 1, 1, why=_DALL_E_3_ONE_IMAGE),
                    Family.GPT_IMAGE: IntRange(1, 10, 1),
                },
            ),
        )
    }
)


# --- results ------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ImageRequest:
    prompt: str  # normalised, non-empty, within the family's max length
    size: str  # always concrete: defaults are filled in
    quality: str | None  # None where the family has no quality option (dall-e-2)
    style: str | None  # dall-e-3 only
    n: int

    def options_summary(self) -> str:
        """Plain text of the effective options, e.g. "1792x1024 · hd · natural · 1 image"."""
        images = f"{self.n} image" if self.n == 1 else f"{self.n} images"
        extras = [v for v in (self.quality, self.style) if v is not None]
        return " · ".join([self.size, *extras, images])


@dataclass(frozen=True, slots=True)
class HelpRequested:
    pass


class RequestError(ValueError):
    """The user's text cannot become a request.

    `.message` is plain text for the user (not escaped: the caller escapes for Slack). It names the bad
    input and says what would work.
    """

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


# --- normalisation ------------------------------------------------------------------------------

# `[^<>]*`: Slack escapes a typed "<" or ">" as &lt; / &gt;, so a raw bracket pair is always markup.
_MARKUP = re.compile(r"<([^<>]*)>")
_USER = re.compile(r"@([UWB][A-Z0-9]+)(?:\|(.*))?", re.DOTALL)
_CHANNEL = re.compile(r"#([CGD][A-Z0-9]+)(?:\|(.*))?", re.DOTALL)
_SPECIAL = re.compile(r"!(here|channel|everyone)(?:\|.*)?", re.DOTALL)
_SUBTEAM = re.compile(r"!subteam\^([A-Z0-9]+)(?:\|(.*))?", re.DOTALL)
_DATE = re.compile(r"!date\^[^|]*\|(.*)", re.DOTALL)
_LINK = re.compile(r"([A-Za-z][A-Za-z0-9+.\-]*:[^|\s]+)(?:\|(.*))?", re.DOTALL)

# One pass over the text, so "&amp;lt;" becomes "&lt;" and is not decoded again.
_ESCAPE = re.compile(r"&(lt|gt|amp);")
_UNESCAPED = {"lt": "<", "gt": ">", "amp": "&"}

_QUOTES = str.maketrans(dict.fromkeys("“”„‟″", '"') | dict.fromkeys("‘’‚‛′", "'"))

# Smart Dashes (macOS) / Smart Punctuation (iOS) turn "--size" into "—size" before Slack sees it.
# Only at the start of a token and right before a letter: "a cat — fluffy" and "2010–2020" are prose.
_DASH = "\u2010-\u2015\u2212"
_SMART_FLAG = re.compile(rf"(?<!\S)(?:[{_DASH}]{{1,2}}|-[{_DASH}])(?=[^\W\d_])")


def _unmarkup(match: re.Match[str]) -> str:
    body = match[1]
    if m := _USER.fullmatch(body):
        return "@" + (m[2] or m[1])
    if m := _CHANNEL.fullmatch(body):
        return "#" + (m[2] or m[1])
    if m := _SPECIAL.fullmatch(body):
        return "@" + m[1]
    if m := _SUBTEAM.fullmatch(body):
        label = m[2] or m[1]
        return label if label.startswith("@") else "@" + label
    if m := _DATE.fullmatch(body):
        return m[1]
    if m := _LINK.fullmatch(body):
        return m[2] or m[1]
    return match[0]  # not Slack markup: leave it alone


def normalise(text: str) -> str:
    """Slack markup → plain text, the three HTML escapes decoded, smart quotes/dashes undone, trimmed."""
    text = _MARKUP.sub(_unmarkup, text)  # before unescaping, or a decoded "&lt;" would look like markup
    text = _ESCAPE.sub(lambda m: _UNESCAPED[m[1]], text)
    text = text.translate(_QUOTES)
    text = _SMART_FLAG.sub("--", text)
    return text.strip()


# --- parsing ------------------------------------------------------------------------------------

_TOKEN = re.compile(r"\S+")
_FLAG = re.compile(r"--([^\W\d_][^\s=]*)(?:=(.*))?", re.DOTALL)
_QUOTE_CHARS = "\"'`"  # backticks too: Slack users wrap values in `code`
_MAX_INT_DIGITS = 6  # bounds int() on hostile input; real values are one or two digits
_SHOW_MAX = 30  # echo at most this much of a bad value back to the user


def _or_list(items: list[str]) -> str:
    return items[0] if len(items) == 1 else ", ".join(items[:-1]) + " or " + items[-1]


def _show(value: str) -> str:
    return value if len(value) <= _SHOW_MAX else value[: _SHOW_MAX - 1] + "…"


def _family_options(family: Family) -> list[OptionSpec]:
    return [spec for spec in OPTIONS.values() if family in spec.domains]


def _flags_sentence(family: Family) -> str:
    return f"Options for {family}: " + ", ".join(s.flag for s in _family_options(family)) + "."


def _allowed(domain: Domain) -> str:
    if isinstance(domain, Choices):
        return _or_list(list(domain.values))
    if domain.low == domain.high:
        return f"{domain.low} ({domain.why})" if domain.why else str(domain.low)
    return f"a number from {domain.low} to {domain.high}"


def _unquote(value: str) -> str:
    if len(value) >= 2 and value[0] == value[-1] and value[0] in _QUOTE_CHARS:
        return value[1:-1]
    return value


def _parse_value(spec: OptionSpec, domain: Domain, raw: str, family: Family) -> str | int:
    shown = f"{spec.flag} {_show(raw)}"
    if isinstance(domain, IntRange):
        number = int(raw) if raw.isascii() and raw.isdigit() and len(raw) <= _MAX_INT_DIGITS else None
        if number is not None and domain.low <= number <= domain.high:
            return number
        if domain.low == domain.high:
            # One legal value: say why, rather than "not a number" / "out of range".
            reason = f": {domain.why}" if domain.why else ""
            raise RequestError(f"{shown} won't work{reason}. Use {spec.flag} {domain.low} or leave it out.")
        if number is None:
            raise RequestError(f"{shown} isn't a whole number. Use {_allowed(domain)}.")
        raise RequestError(f"{shown} is out of range for {family}. Use {_allowed(domain)}.")
    canonical = raw.casefold()
    if spec.kind is ValueKind.SIZE:
        canonical = canonical.replace("×", "x")
    if canonical in domain.values:
        return canonical
    raise RequestError(f"{shown} isn't available on {family}. Use {_allowed(domain)}.")


def _unknown_flag(typed: str, family: Family) -> RequestError:
    known = [s.name for s in _family_options(family)]
    close = difflib.get_close_matches(typed[2:].casefold(), known, n=1)
    hint = f"; did you mean --{close[0]}?" if close else "."
    return RequestError(f"Unknown option {_show(typed)}{hint} {_flags_sentence(family)}")


def _unavailable(spec: OptionSpec, family: Family) -> RequestError:
    # Users don't pick the model, so name the one in use rather than tell them to switch.
    others = ", ".join(s.flag for s in _family_options(family))
    return RequestError(f"This bot uses {family}, which has no {spec.flag} option. Remove it; {family} takes {others}.")


def _collapse(whitespace: str) -> str:
    # Where a flag was cut out, keep a line break if there was one, else one space.
    return "\n" if "\n" in whitespace else " "


def parse_request(text: str, family: Family) -> ImageRequest | HelpRequested:
    """Normalise and parse `/imagine` text for `family`. Raises `RequestError` (only) for unusable text."""
    text = normalise(text)
    if text.casefold() in ("", "help", "--help"):
        return HelpRequested()

    tokens = list(_TOKEN.finditer(text))
    removed: set[int] = set()
    values: dict[str, str | int] = {}
    i = 0
    while i < len(tokens):
        flag = _FLAG.fullmatch(tokens[i][0])
        if flag is None:
            i += 1
            continue
        removed.add(i)
        typed = "--" + flag[1]
        spec = OPTIONS.get(flag[1].casefold())
        if spec is None:
            raise _unknown_flag(typed, family)
        domain = spec.domains.get(family)
        if domain is None:
            raise _unavailable(spec, family)
        if spec.name in values:
            raise RequestError(f"{spec.flag} was given twice. Give it once.")
        raw: str | None = flag[2]
        if raw is None and i + 1 < len(tokens) and _FLAG.fullmatch(tokens[i + 1][0]) is None:
            i += 1
            removed.add(i)
            raw = tokens[i][0]
        raw = _unquote(raw or "")
        if not raw:
            raise RequestError(f"{spec.flag} needs a value. Use {_allowed(domain)}.")
        values[spec.name] = _parse_value(spec, domain, raw, family)
        i += 1

    prompt = _prompt_without(text, tokens, removed)
    if not prompt:
        raise RequestError(f"Add a description of the image, e.g. {_example(family)}")
    limit = MAX_PROMPT_CHARS[family]
    if len(prompt) > limit:
        raise RequestError(
            f"The description is {len(prompt):,} characters; {family} takes at most {limit:,}. Shorten it."
        )

    for spec in _family_options(family):
        domain = spec.domains[family]
        values.setdefault(spec.name, domain.default)
    return ImageRequest(
        prompt=prompt,
        size=_text(values, "size"),
        quality=_text(values, "quality") if "quality" in values else None,
        style=_text(values, "style") if "style" in values else None,
        n=_int(values, "n"),
    )


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
            pieces.append(_collapse(gap) if cut else gap)
        pieces.append(token[0])
        gap, cut = "", False
    return "".join(pieces)


def _text(values: Mapping[str, str | int], name: str) -> str:
    value = values[name]
    assert isinstance(value, str), name  # guaranteed by OptionSpec.__post_init__
    return value


def _int(values: Mapping[str, str | int], name: str) -> int:
    value = values[name]
    assert isinstance(value, int), name  # guaranteed by OptionSpec.__post_init__
    return value


# --- help ---------------------------------------------------------------------------------------

_EXAMPLE_PROMPT: Final = "a badger wearing a tuxedo"
_EXAMPLE_FLAGS: Final = 2


def _example(family: Family) -> str:
    """A prompt with a couple of non-default options that are valid for `family`."""
    flags: list[str] = []
    for spec in _family_options(family):
        domain = spec.domains[family]
        if isinstance(domain, Choices):
            others = [v for v in domain.values if v != domain.default]
            value = others[-1] if others else None
        else:
            value = str(domain.default + 1) if domain.default < domain.high else None
        if value is not None:
            flags.append(f"{spec.flag} {value}")
    return " ".join([_EXAMPLE_PROMPT, *flags[:_EXAMPLE_FLAGS]])


def _describe(domain: Domain) -> str:
    if isinstance(domain, Choices):
        return ", ".join(f"{v} (default)" if v == domain.default else v for v in domain.values)
    if domain.low == domain.high:
        return f"only {domain.low}" + (f" ({domain.why})" if domain.why else "")
    return f"{domain.low} to {domain.high}, default {domain.default}"


def usage_help(family: Family, *, command: str = "/imagine") -> str:
    """Plain-text usage for `family`, generated from `OPTIONS`."""
    lines = [
        f"Usage: {command} DESCRIPTION [OPTIONS]",
        f"Example: {command} {_example(family)}",
        f"Options for {family} (anywhere in the text; --name=value works too):",
    ]
    lines += [
        f"  {spec.flag} {spec.metavar}: {spec.description}; {_describe(spec.domains[family])}"
        for spec in _family_options(family)
    ]
    missing = [spec.flag for spec in OPTIONS.values() if family not in spec.domains]
    if missing:
        lines.append(f"Not available on {family}: {', '.join(missing)}.")
    lines.append(f"The description can be up to {MAX_PROMPT_CHARS[family]:,} characters.")
    return "\n".join(lines)
