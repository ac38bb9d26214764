"""Slack `/imagine` text → a validated `ImageRequest`.

Pure: no I/O, no Slack SDK, no logging, no settings. `normalise` undoes what Slack and
smart-punctuation keyboards do to the text; `parse_request` splits flags from the prompt and checks
them against the model family of the chosen deployment. Every option is defined once, in `OPTIONS`,
and every Midjourney parameter we refuse once, in `MIDJOURNEY_FLAGS`: parsing, error messages,
`usage_help` and `help_examples` are all derived from them, so adding an option updates all of these.

User-facing strings here are plain text; the caller escapes them for Slack mrkdwn.
"""

from __future__ import annotations

import difflib
import math
import re
from collections.abc import Iterable, Mapping
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
    RATIO = "ratio"  # W:H in whole numbers, e.g. 16:9; picks the closest size
    SWITCH = "switch"  # no value: `--landscape`
    NAME = "name"  # a deployment name from the bot's configuration


@dataclass(frozen=True, slots=True)
class Choices:
    values: tuple[str, ...]  # canonical spelling, lower case
    # None: the option is not sent unless given, and `unset` says what happens then (for the help).
    default: str | None
    aliases: tuple[tuple[str, str], ...] = ()  # (typed, canonical), e.g. ("hd", "high")
    unset: str | None = None
    example: str | None = None  # the value generated examples use; else the last non-default one


@dataclass(frozen=True, slots=True)
class IntRange:
    low: int
    high: int
    default: int
    # Said to the user when the range is a single value, so the limit doesn't look arbitrary.
    why: str | None = None
    note: str | None = None  # shown in the help, e.g. how several images are made


@dataclass(frozen=True, slots=True)
class Aspect:
    """Picks the family's `--size` closest to an aspect ratio: typed as W:H (`ratio` None), or fixed."""

    ratio: tuple[int, int] | None = None


@dataclass(frozen=True, slots=True)
class ModelName:
    """`--model`: one of the deployments the bot is configured with (the same for every family)."""


Domain: TypeAlias = Choices | IntRange | Aspect | ModelName

_KIND_DOMAIN: Final[Mapping[ValueKind, type]] = MappingProxyType(
    {
        ValueKind.CHOICE: Choices,
        ValueKind.SIZE: Choices,
        ValueKind.INT: IntRange,
        ValueKind.RATIO: Aspect,
        ValueKind.SWITCH: Aspect,
        ValueKind.NAME: ModelName,
    }
)


def _well_formed(kind: ValueKind, domain: Domain) -> bool:
    if not isinstance(domain, _KIND_DOMAIN[kind]):
        return False
    if isinstance(domain, IntRange):
        return domain.low <= domain.default <= domain.high
    if isinstance(domain, Choices):
        return (
            all(v == v.lower() for v in domain.values)
            and (domain.default in domain.values if domain.default is not None else domain.unset is not None)
            and all(a == a.lower() and a not in domain.values and c in domain.values for a, c in domain.aliases)
            and (domain.example is None or domain.example in domain.values)
        )
    if isinstance(domain, Aspect):
        return (domain.ratio is None) == (kind is ValueKind.RATIO) and all(x > 0 for x in domain.ratio or ())
    return True


@dataclass(frozen=True, slots=True)
class OptionSpec:
    """One `--flag`: its value kind, a one-line description, and what each family allows.

    A family missing from `domains` does not have the option; using it there is an error that says so.
    `sets` names another option whose value this one chooses (`--ar` chooses the size); options that
    set the same thing can't be combined.
    """

    name: str
    kind: ValueKind
    description: str
    domains: Mapping[Family, Domain]
    aliases: tuple[str, ...] = ()
    sets: str | None = None
    example: str | None = None  # a typed value for help examples, where the domain has no list (W:H)

    def __post_init__(self) -> None:
        # Checked at import so a bad definition fails the test run, not a user's request.
        for family, domain in self.domains.items():
            if not _well_formed(self.kind, domain):
                raise ValueError(f"option --{self.name} is misdefined for {family}")
        object.__setattr__(self, "domains", MappingProxyType(dict(self.domains)))

    @property
    def flag(self) -> str:
        return f"--{self.name}"

    @property
    def target(self) -> str:
        """The request value this option decides."""
        return self.sets or self.name

    @property
    def metavar(self) -> str:
        return {
            ValueKind.CHOICE: "VALUE",
            ValueKind.SIZE: "WxH",
            ValueKind.INT: "N",
            ValueKind.RATIO: "W:H",
            ValueKind.SWITCH: "",
            ValueKind.NAME: "NAME",
        }[self.kind]


def _every_family(domain: Domain) -> dict[Family, Domain]:
    return dict.fromkeys(Family, domain)


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
                name="ar",
                aliases=("aspect",),
                kind=ValueKind.RATIO,
                description="aspect ratio instead of --size, e.g. 16:9 or 2:3",
                domains=_every_family(Aspect()),
                sets="size",
                example="16:9",
            ),
            OptionSpec(
                name="landscape",
                kind=ValueKind.SWITCH,
                description="a wide image",
                domains=_every_family(Aspect((16, 9))),
                sets="size",
            ),
            OptionSpec(
                name="portrait",
                kind=ValueKind.SWITCH,
                description="a tall image",
                domains=_every_family(Aspect((9, 16))),
                sets="size",
            ),
            OptionSpec(
                name="square",
                kind=ValueKind.SWITCH,
                description="a square image",
                domains=_every_family(Aspect((1, 1))),
                sets="size",
            ),
            OptionSpec(
                name="quality",
                kind=ValueKind.CHOICE,
                description="level of detail",
                domains={
                    Family.DALL_E_3: Choices(("standard", "hd"), "standard"),
                    Family.GPT_IMAGE: Choices(
                        ("low", "medium", "high"), "medium", aliases=(("standard", "medium"), ("hd", "high"))
                    ),
                },
            ),
            OptionSpec(
                name="style",
                kind=ValueKind.CHOICE,
                description="vivid is dramatic, natural is more realistic",
                domains={Family.DALL_E_3: Choices(("vivid", "natural"), "vivid")},
            ),
            OptionSpec(
                name="background",
                kind=ValueKind.CHOICE,
                description="see-through or solid (transparent needs png)",
                domains={
                    Family.GPT_IMAGE: Choices(
                        ("transparent", "opaque"), None, unset="the model decides", example="transparent"
                    )
                },
            ),
            OptionSpec(
                name="format",
                kind=ValueKind.CHOICE,
                description="file type",
                domains={Family.GPT_IMAGE: Choices(("png", "jpeg"), None, aliases=(("jpg", "jpeg"),), unset="png")},
            ),
            OptionSpec(
                name="n",
                kind=ValueKind.INT,
                description="number of images",
                domains={
                    Family.DALL_E_2: IntRange(1, 5, 1),
                    Family.DALL_E_3: IntRange(1, 4, 1, note="several jobs, posted together"),
                    Family.GPT_IMAGE: IntRange(1, 10, 1),
                },
            ),
            OptionSpec(
                name="model",
                kind=ValueKind.NAME,
                description="which of the bot's models draws it",
                domains=_every_family(ModelName()),
            ),
        )
    }
)


@dataclass(frozen=True, slots=True)
class Clash:
    """Two option values that can't be used together, and why (plain text)."""

    first: tuple[str, str]  # (option name, canonical value)
    second: tuple[str, str]
    why: str


CLASHES: Final[tuple[Clash, ...]] = (
    Clash(("background", "transparent"), ("format", "jpeg"), "JPEG has no transparency"),
)


# --- Midjourney parameters ----------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ForeignFlag:
    """A Midjourney parameter users bring along: refused, with the nearest thing this bot has.

    `advice` has a text per family. It may use `{models}` (how to pick a model,
    or which one the bot uses) and `{OPTION}` for any option of the family, e.g. `{style}` →
    "--style vivid or natural". Never folded into the prompt: Azure would draw the words.
    """

    names: tuple[str, ...]  # the first is the one shown in the help
    advice: Mapping[Family, str]

    def __post_init__(self) -> None:
        if set(self.advice) != set(Family):
            raise ValueError(f"--{self.names[0]} needs advice for every family")
        object.__setattr__(self, "advice", MappingProxyType(dict(self.advice)))


def _by_family(d2: str, d3: str, gpt: str) -> dict[Family, str]:
    return {Family.DALL_E_2: d2, Family.DALL_E_3: d3, Family.GPT_IMAGE: gpt}


def _same(advice: str) -> dict[Family, str]:
    return dict.fromkeys(Family, advice)


_REGENERATE: Final = "use the Regenerate button for another take"
_IN_WORDS: Final = "describe the style in words, e.g. 'oil painting, muted colours'"
_TEXT_ONLY: Final = "This bot draws from text only; describe the style or character in words."

MIDJOURNEY_FLAGS: Final[tuple[ForeignFlag, ...]] = (
    ForeignFlag(("no",), _same("Describe what you want to see instead, e.g. 'an empty beach', not what to leave out.")),
    ForeignFlag(("seed",), _same(f"Azure has no seeds; {_REGENERATE}.")),
    ForeignFlag(
        ("chaos", "c"),
        _by_family(
            f"dall-e-2 has no such setting; {_REGENERATE}.",
            "Use {style}, or the Regenerate button for another take.",
            "Use {quality}.",
        ),
    ),
    ForeignFlag(
        ("stylize", "s"), _by_family(f"dall-e-2 has no such setting; {_IN_WORDS}.", "Use {style}.", "Use {quality}.")
    ),
    ForeignFlag(("v", "version"), _same("{models}")),
    ForeignFlag(("niji",), _same("{models} For an anime look, say 'anime style' in the description.")),
    ForeignFlag(("q",), _by_family("dall-e-2 has one quality; leave it out.", "Use {quality}.", "Use {quality}.")),
    ForeignFlag(("tile",), _same("No model here makes seamless tiles; ask for 'a seamless repeating pattern'.")),
    ForeignFlag(
        ("weird", "w"),
        _by_family(
            "Describe the oddness in words, e.g. 'surreal, dreamlike'.",
            "Use {style}, or describe the oddness in words.",
            "Describe the oddness in words, e.g. 'surreal, dreamlike'.",
        ),
    ),
    ForeignFlag(
        ("stop",),
        _by_family(
            "Images here are always finished; leave it out.",
            "Images here are always finished; leave it out.",
            "Use --quality low for a quicker, rougher image.",
        ),
    ),
    ForeignFlag(
        ("raw",),
        _by_family(
            f"dall-e-2 has no such setting; {_IN_WORDS}.",
            "Use --style natural for a less stylised look.",
            "Say 'plain, unstylised photo' in the description.",
        ),
    ),
    ForeignFlag(("iw",), _same(_TEXT_ONLY)),
    ForeignFlag(("sref", "sw"), _same(_TEXT_ONLY)),
    ForeignFlag(("cref", "oref", "ow", "cw"), _same(_TEXT_ONLY)),
    ForeignFlag(("repeat", "r"), _same("Use {n}.")),
    ForeignFlag(("fast", "relax", "turbo"), _same("There is one speed here; leave it out.")),
)


def _check_names() -> Mapping[str, OptionSpec | ForeignFlag]:
    """Every name and alias → its definition; also checks the definitions refer to real options."""
    lookup: dict[str, OptionSpec | ForeignFlag] = {}
    entries: list[OptionSpec | ForeignFlag] = [*OPTIONS.values(), *MIDJOURNEY_FLAGS]
    for entry in entries:
        names = (entry.name, *entry.aliases) if isinstance(entry, OptionSpec) else entry.names
        for name in names:
            if name in lookup or name != name.lower():
                raise ValueError(f"--{name} is defined twice or not in lower case")
            lookup[name] = entry
    for spec in OPTIONS.values():
        if spec.sets is not None and (spec.sets not in OPTIONS or set(spec.domains) - set(OPTIONS[spec.sets].domains)):
            raise ValueError(f"--{spec.name} sets an option that is missing for some of its families")
    for clash in CLASHES:
        for name, value in (clash.first, clash.second):
            domains = OPTIONS[name].domains.values()
            if not all(isinstance(d, Choices) and value in d.values for d in domains):
                raise ValueError(f"clash {clash} names a value --{name} doesn't have")
    for foreign in MIDJOURNEY_FLAGS:
        for family in Family:
            _advice(foreign, family, "x")  # a missing {option} fails here, at import
    return MappingProxyType(lookup)


# --- results ------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ImageRequest:
    prompt: str  # normalised, non-empty, within the family's max length
    size: str  # always concrete: defaults are filled in
    quality: str | None  # None where the family has no quality option (dall-e-2)
    style: str | None  # dall-e-3 only
    n: int  # dall-e-3 makes one image per call: the caller makes n jobs
    # Set when --ar/--landscape/--portrait/--square picked the size, e.g.
    # "16:9 → 1792x1024, the closest size dall-e-3 makes".
    size_note: str | None = None
    deployment: str | None = None  # the chosen deployment; None when parsed for a bare Family
    background: str | None = None  # gpt-image: "transparent" or "opaque"; None lets the model decide
    output_format: str | None = None  # gpt-image: "png" or "jpeg"; None means png

    def options_summary(self) -> str:
        """Plain text of the effective options, e.g. "1792x1024 · hd · natural · 1 image"."""
        images = f"{self.n} image" if self.n == 1 else f"{self.n} images"
        extras = [v for v in (self.quality, self.style) if v is not None]
        if self.background is not None:
            extras.append(f"{self.background} background")
        if self.output_format is not None:
            extras.append(self.output_format)
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
_RATIO = re.compile(r"([0-9]{1,6})[:：]([0-9]{1,6})")  # the full-width colon comes from CJK keyboards
_SAME = 1e-9  # log-ratio distances closer than this are ties

Deployments: TypeAlias = Mapping[str, Family] | Family


@dataclass(frozen=True, slots=True)
class _Models:
    """The bot's deployments as the parser sees them, and the one this request uses."""

    family: Family
    chosen: str | None  # None: called with a bare Family
    names: Mapping[str, Family]  # empty for a bare Family

    @property
    def several(self) -> bool:
        return len(self.names) > 1

    def hint(self) -> str:
        if self.several:
            return f"Pick one of this bot's models with --model: {_or_list(list(self.names))}."
        return f"This bot always uses {self.family}."


def _models(deployments: Deployments, default: str | None) -> _Models:
    """Checks the bot's configuration (a mistake there is a ValueError, not the user's RequestError)."""
    if isinstance(deployments, Family):
        if default is not None:
            raise ValueError("a default deployment needs a mapping of deployments")
        return _Models(deployments, None, MappingProxyType({}))
    if not deployments:
        raise ValueError("no deployments given")
    if len({name.casefold() for name in deployments}) != len(deployments):
        raise ValueError(f"deployment names must differ in more than case: {list(deployments)}")
    chosen = next(iter(deployments)) if default is None else default
    if chosen not in deployments:
        raise ValueError(f"default deployment {default!r} is not one of {list(deployments)}")
    return _Models(deployments[chosen], chosen, MappingProxyType(dict(deployments)))


def _or_list(items: list[str]) -> str:
    return items[0] if len(items) == 1 else ", ".join(items[:-1]) + " or " + items[-1]


def _show(value: str) -> str:
    return value if len(value) <= _SHOW_MAX else value[: _SHOW_MAX - 1] + "…"


def _family_options(family: Family, several: bool = False) -> list[OptionSpec]:
    """The options a user of `family` can give; --model only where there is a choice of models."""
    return [
        spec for spec in OPTIONS.values() if family in spec.domains and (spec.kind is not ValueKind.NAME or several)
    ]


def _flag_list(family: Family, several: bool) -> str:
    # The size switches are left out of sentences to keep them short; the help lists them.
    return ", ".join(s.flag for s in _family_options(family, several) if s.kind is not ValueKind.SWITCH)


def _flags_sentence(family: Family, several: bool) -> str:
    return f"Options for {family}: {_flag_list(family, several)}."


def _allowed(domain: Domain) -> str:
    if isinstance(domain, Choices):
        return _or_list(list(domain.values))
    if isinstance(domain, Aspect):
        return "W:H in whole numbers, e.g. 16:9 or 2:3"
    if isinstance(domain, ModelName):
        return "a model name"  # not reached: --model is checked against the deployments
    if domain.low == domain.high:
        return f"{domain.low} ({domain.why})" if domain.why else str(domain.low)
    return f"a number from {domain.low} to {domain.high}"


def _use(spec: OptionSpec, domain: Domain) -> str:
    """How to use an option, for advice: "--style vivid or natural", "--n N (1 to 4)"."""
    if isinstance(domain, IntRange):
        return f"{spec.flag} {spec.metavar} ({domain.low} to {domain.high})"
    if isinstance(domain, Choices):
        return f"{spec.flag} {_or_list(list(domain.values))}"
    return f"{spec.flag} {spec.metavar}".strip()


def _advice(foreign: ForeignFlag, family: Family, models_hint: str) -> str:
    uses = {spec.name: _use(spec, spec.domains[family]) for spec in _family_options(family)}
    return foreign.advice[family].format(models=models_hint, **uses)


_LOOKUP: Final = _check_names()


def _unquote(value: str) -> str:
    if len(value) >= 2 and value[0] == value[-1] and value[0] in _QUOTE_CHARS:
        return value[1:-1]
    return value


def _parse_value(spec: OptionSpec, domain: Choices | IntRange, raw: str, family: Family) -> str | int:
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
    canonical = dict(domain.aliases).get(canonical, canonical)
    if canonical in domain.values:
        return canonical
    raise RequestError(f"{shown} isn't available on {family}. Use {_allowed(domain)}.")


def _pixels(size: str) -> tuple[int, int]:
    width, height = size.split("x")
    return int(width), int(height)


def _squares_only(family: Family, sizes_option: str = "size") -> bool:
    domain = OPTIONS[sizes_option].domains[family]
    assert isinstance(domain, Choices), sizes_option  # checked by _check_names
    return all(w == h for w, h in map(_pixels, domain.values))


def _closest_size(family: Family, ratio: tuple[int, int], sizes_option: str = "size") -> tuple[str, bool]:
    """The size of `family` nearest `ratio` by log(w/h), and whether it is exact.

    Ties go to the square size, then the default, then the smaller one.
    """
    domain = OPTIONS[sizes_option].domains[family]
    assert isinstance(domain, Choices), sizes_option  # checked by _check_names
    target = math.log(ratio[0]) - math.log(ratio[1])

    def distance(size: str) -> float:
        width, height = _pixels(size)
        return abs(target - (math.log(width) - math.log(height)))

    best = min(map(distance, domain.values))
    tied = [size for size in domain.values if distance(size) - best <= _SAME]
    pick = min(tied, key=lambda s: (_pixels(s)[0] != _pixels(s)[1], s != domain.default, math.prod(_pixels(s))))
    return pick, best <= _SAME


def _ratio(spec: OptionSpec, domain: Aspect, raw: str | None) -> tuple[int, int]:
    if domain.ratio is not None:  # a switch
        if raw is not None:
            raise RequestError(
                f"{spec.flag}={_show(raw)} won't work: {spec.flag} takes no value. Use {spec.flag} alone."
            )
        return domain.ratio
    value = _unquote(raw or "")
    if not value:
        raise RequestError(f"{spec.flag} needs a value. Use {_allowed(domain)}.")
    match = _RATIO.fullmatch(value)
    if match is None or int(match[1]) == 0 or int(match[2]) == 0:
        raise RequestError(f"{spec.flag} {_show(value)} isn't an aspect ratio. Use {_allowed(domain)}.")
    return int(match[1]), int(match[2])


def _size_note(spec: OptionSpec, ratio: tuple[int, int], family: Family) -> tuple[str, str]:
    """The size a shortcut picks, and the note saying so, e.g. "16:9 → 1792x1024, the closest size …"."""
    size, exact = _closest_size(family, ratio, spec.target)
    label = f"{ratio[0]}:{ratio[1]}" if spec.kind is ValueKind.RATIO else spec.name
    if _squares_only(family, spec.target) and ratio[0] != ratio[1]:
        return size, f"{label} → {size}: {family} makes only square images"
    if spec.kind is ValueKind.RATIO and not exact:
        return size, f"{label} → {size}, the closest size {family} makes"
    return size, f"{label} → {size}"


def _unknown_flag(typed: str, models: _Models) -> RequestError:
    known = [name for s in _family_options(models.family, models.several) for name in (s.name, *s.aliases)]
    close = difflib.get_close_matches(typed[2:].casefold(), known, n=1)
    hint = f"; did you mean --{close[0]}?" if close else "."
    return RequestError(f"Unknown option {_show(typed)}{hint} {_flags_sentence(models.family, models.several)}")


def _unavailable(spec: OptionSpec, models: _Models) -> RequestError:
    family = models.family
    takes = f"Remove it; {family} takes {_flag_list(family, models.several)}."
    if models.chosen is None:
        return RequestError(f"This bot uses {family}, which has no {spec.flag} option. {takes}")
    having = [name for name, other in models.names.items() if other in spec.domains]
    if having:
        takes = f"Remove it, or use --model {having[0]}, which has it."
    return RequestError(f"Model {models.chosen} ({family}) has no {spec.flag} option. {takes}")


def _foreign(foreign: ForeignFlag, typed: str, models: _Models) -> RequestError:
    advice = _advice(foreign, models.family, models.hint())
    return RequestError(f"--{typed[2:].casefold()} is a Midjourney option; it doesn't work here. {advice}")


def _clash(values: Mapping[str, str | int]) -> Clash | None:
    return next((c for c in CLASHES if all(values.get(name) == v for name, v in (c.first, c.second))), None)


@dataclass(frozen=True, slots=True)
class _Given:
    typed: str  # the flag as typed, e.g. "--Size"
    entry: OptionSpec | ForeignFlag | None  # None: unknown
    raw: str | None  # its value as typed; None if there was none (or the flag takes none)


def _scan(tokens: list[re.Match[str]]) -> tuple[list[_Given], set[int]]:
    """Every `--flag` with its value, in order, and the indexes of the tokens they used."""
    given: list[_Given] = []
    used: set[int] = set()
    i = 0
    while i < len(tokens):
        flag = _FLAG.fullmatch(tokens[i][0])
        if flag is None:
            i += 1
            continue
        used.add(i)
        entry = _LOOKUP.get(flag[1].casefold())
        raw: str | None = flag[2]
        takes_value = isinstance(entry, OptionSpec) and entry.kind is not ValueKind.SWITCH
        if takes_value and raw is None and i + 1 < len(tokens) and _FLAG.fullmatch(tokens[i + 1][0]) is None:
            i += 1
            used.add(i)
            raw = tokens[i][0]
        given.append(_Given("--" + flag[1], entry, raw))
        i += 1
    return given, used


def _choose_model(given: list[_Given], models: _Models) -> _Models:
    asked = [g for g in given if isinstance(g.entry, OptionSpec) and g.entry.kind is ValueKind.NAME]
    if not asked:
        return models
    if models.chosen is None:
        raise RequestError(f"--model won't work: this bot has one model, {models.family}. Remove --model.")
    if len(asked) > 1:
        raise RequestError("--model was given twice. Give it once.")
    names = list(models.names)
    raw = _unquote(asked[0].raw or "")
    if not raw:
        raise RequestError(f"--model needs a value. Use {_or_list(names)}.")
    name = next((n for n in names if n.casefold() == raw.casefold()), None)
    if name is None:
        raise RequestError(f"--model {_show(raw)} isn't one of this bot's models. Use {_or_list(names)}.")
    return _Models(models.names[name], name, models.names)


def _collapse(whitespace: str) -> str:
    # Where a flag was cut out, keep a line break if there was one, else one space.
    return "\n" if "\n" in whitespace else " "


def parse_request(
    text: str, deployments: Mapping[str, Family] | Family, default: str | None = None
) -> ImageRequest | HelpRequested:
    """Normalise and parse `/imagine` text. Raises `RequestError` (only) for unusable text.

    `deployments` is the bot's one model family, or its deployments by name with their families;
    `default` names the deployment used without `--model` (the first one if None). `--model` is
    resolved first, wherever it is, and every other option is checked against its family.
    """
    models = _models(deployments, default)
    text = normalise(text)
    if text.casefold() in ("", "help", "--help"):
        return HelpRequested()

    tokens = list(_TOKEN.finditer(text))
    given, removed = _scan(tokens)
    models = _choose_model(given, models)
    family = models.family
    values: dict[str, str | int] = {}
    decided_by: dict[str, OptionSpec] = {}
    size_note: str | None = None
    for item in given:
        if item.entry is None:
            raise _unknown_flag(item.typed, models)
        if isinstance(item.entry, ForeignFlag):
            raise _foreign(item.entry, item.typed, models)
        spec = item.entry
        if spec.kind is ValueKind.NAME:
            continue
        domain = spec.domains.get(family)
        if domain is None:
            raise _unavailable(spec, models)
        earlier = decided_by.setdefault(spec.target, spec)
        if earlier is not spec:
            raise RequestError(f"{earlier.flag} and {spec.flag} both choose the {spec.target}. Give one of them.")
        if spec.target in values:
            raise RequestError(f"{spec.flag} was given twice. Give it once.")
        if isinstance(domain, Aspect):
            values[spec.target], size_note = _size_note(spec, _ratio(spec, domain, item.raw), family)
            continue
        assert isinstance(domain, Choices | IntRange), spec.name  # ModelName is only on --model
        raw = _unquote(item.raw or "")
        if not raw:
            raise RequestError(f"{spec.flag} needs a value. Use {_allowed(domain)}.")
        values[spec.name] = _parse_value(spec, domain, raw, family)

    clash = _clash(values)
    if clash is not None:
        (first, bad_first), (second, bad_second) = clash.first, clash.second
        domain = OPTIONS[second].domains[family]
        assert isinstance(domain, Choices), second  # checked by _check_names
        other = next(v for v in domain.values if v != bad_second)
        raise RequestError(
            f"--{first} {bad_first} and --{second} {bad_second} don't go together: {clash.why}. "
            f"Use --{second} {other} or leave out --{first}."
        )

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
        if isinstance(domain, Choices | IntRange) and domain.default is not None:
            values.setdefault(spec.name, domain.default)
    return ImageRequest(
        prompt=prompt,
        size=_text(values, "size"),
        quality=_optional_text(values, "quality"),
        style=_optional_text(values, "style"),
        n=_int(values, "n"),
        size_note=size_note,
        deployment=models.chosen,
        background=_optional_text(values, "background"),
        output_format=_optional_text(values, "format"),
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


def _optional_text(values: Mapping[str, str | int], name: str) -> str | None:
    return _text(values, name) if name in values else None


def _int(values: Mapping[str, str | int], name: str) -> int:
    value = values[name]
    assert isinstance(value, int), name  # guaranteed by OptionSpec.__post_init__
    return value


# --- help ---------------------------------------------------------------------------------------

_EXAMPLE_PROMPTS: Final = (
    "a badger wearing a tuxedo",
    "a red fox in the snow, watercolour",
    "a lighthouse in a storm, oil painting",
)
_EXAMPLE_FLAGS: Final = 2


def _example_flags(family: Family) -> list[tuple[OptionSpec, str]]:
    """A non-default value for each option of `family` that has a list or range, skipping clashes."""
    chosen: dict[str, str | int] = {}
    flags: list[tuple[OptionSpec, str]] = []
    for spec in _family_options(family):
        domain = spec.domains[family]
        value: str | None = None
        if isinstance(domain, Choices):
            others = [v for v in domain.values if v != domain.default]
            value = domain.example or (others[-1] if others else None)
        elif isinstance(domain, IntRange) and domain.default < domain.high:
            value = str(domain.default + 1)
        if value is not None and _clash({**chosen, spec.name: value}) is None:
            chosen[spec.name] = value
            flags.append((spec, value))
    return flags


def _render(prompt: str, flags: Iterable[tuple[OptionSpec, str]]) -> str:
    return " ".join([prompt, *(f"{spec.flag} {value}" for spec, value in flags)])


def _example(family: Family) -> str:
    """A prompt with a couple of non-default options that are valid for `family`."""
    return _render(_EXAMPLE_PROMPTS[0], _example_flags(family)[:_EXAMPLE_FLAGS])


def help_examples(family: Family) -> list[str]:
    """Two or three `/imagine` texts (without the command) for `family`, each a valid request."""
    flags = _example_flags(family)
    examples = [_EXAMPLE_PROMPTS[1], _example(family)]
    shortcuts = [
        (spec, spec.example)
        for spec in _family_options(family)
        if spec.kind is ValueKind.RATIO and spec.example and not _squares_only(family, spec.target)
    ]
    if shortcuts:  # the rest of the options with an aspect ratio, which replaces --size
        targets = {spec.target for spec, _ in shortcuts[:1]}
        rest = [(s, v) for s, v in flags[_EXAMPLE_FLAGS:] if s.name not in targets]
        examples.append(_render(_EXAMPLE_PROMPTS[2], [*shortcuts[:1], *rest[:_EXAMPLE_FLAGS]]))
    elif flags[_EXAMPLE_FLAGS:]:
        examples.append(_render(_EXAMPLE_PROMPTS[2], flags[_EXAMPLE_FLAGS:][:_EXAMPLE_FLAGS]))
    return examples


def _describe(spec: OptionSpec, domain: Domain, family: Family, models: _Models) -> str:
    if isinstance(domain, Choices):
        text = ", ".join(f"{v} (default)" if v == domain.default else v for v in domain.values)
        if domain.aliases:
            text += " (" + ", ".join(f"{typed} means {canonical}" for typed, canonical in domain.aliases) + ")"
        if domain.default is None:
            text += f"; if left out: {domain.unset}"
        return text
    if isinstance(domain, IntRange):
        if domain.low == domain.high:
            return f"only {domain.low}" + (f" ({domain.why})" if domain.why else "")
        note = f" ({domain.note})" if domain.note else ""
        return f"{domain.low} to {domain.high}, default {domain.default}{note}"
    if isinstance(domain, ModelName):
        return ", ".join(f"{name} (default)" if name == models.chosen else name for name in models.names)
    squares = f" ({family} makes only square images)" if _squares_only(family, spec.target) else ""
    if squares:
        return f"always {_closest_size(family, domain.ratio or (1, 1), spec.target)[0]}{squares}"
    if domain.ratio is None:
        sizes = OPTIONS[spec.target].domains[family]
        assert isinstance(sizes, Choices), spec.target  # checked by _check_names
        return f"picks the closest of {', '.join(sizes.values)}{squares}"
    return _closest_size(family, domain.ratio, spec.target)[0] + squares


def _help_line(spec: OptionSpec, family: Family, models: _Models) -> str:
    head = " ".join(filter(None, [spec.flag, spec.metavar]))
    if spec.aliases:
        head += " (or " + ", ".join(f"--{alias}" for alias in spec.aliases) + ")"
    return f"  {head}: {spec.description}; {_describe(spec, spec.domains[family], family, models)}"


def _compact(family: Family) -> str:
    """ "--size 1024x1024|1536x1024|…, --n 1-10": the valued options of `family`, on one line."""
    parts = []
    for spec in _family_options(family):
        domain = spec.domains[family]
        if isinstance(domain, Choices):
            parts.append(f"{spec.flag} {'|'.join(domain.values)}")
        elif isinstance(domain, IntRange):
            parts.append(f"{spec.flag} {domain.low}-{domain.high}")
    return ", ".join(parts)


def usage_help(
    deployments: Mapping[str, Family] | Family, default: str | None = None, *, command: str = "/imagine"
) -> str:
    """Plain-text usage, generated from `OPTIONS` and `MIDJOURNEY_FLAGS`.

    With a bare `Family`, for that family; with deployments, for the default one, plus the model names
    and one line for each other family.
    """
    models = _models(deployments, default)
    family = models.family
    lines = [f"Usage: {command} DESCRIPTION [OPTIONS]", f"Example: {command} {_example(family)}"]
    subject = str(family)
    if models.chosen is not None:
        subject = f"{family}, model {models.chosen}"
        listing = ", ".join(
            f"{name} ({other}, the default)" if name == models.chosen else f"{name} ({other})"
            for name, other in models.names.items()
        )
        lines.append(f"Models: {listing}. Pick one with --model NAME." if models.several else f"Model: {listing}.")
    lines.append(f"Options for {subject} (anywhere in the text; --name=value works too):")
    lines += [_help_line(spec, family, models) for spec in _family_options(family, models.several)]
    missing = [spec.flag for spec in OPTIONS.values() if family not in spec.domains]
    if missing:
        lines.append(f"Not available on {family}: {', '.join(missing)}.")
    for other in dict.fromkeys(f for f in models.names.values() if f is not family):
        names = [name for name, f in models.names.items() if f is other]
        limit = f"up to {MAX_PROMPT_CHARS[other]:,} characters"
        lines.append(f"With --model {_or_list(names)} ({other}): {_compact(other)}; {limit}.")
    shown = ", ".join(f"--{foreign.names[0]}" for foreign in MIDJOURNEY_FLAGS[:4])
    lines.append(f"Midjourney options ({shown}, …) don't work here; the bot says what to use instead.")
    lines.append(f"The description can be up to {MAX_PROMPT_CHARS[family]:,} characters.")
    return "\n".join(lines)
