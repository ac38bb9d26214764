"""Every `/imagine` option, defined once: the flags people type, and one validated pydantic model per
model family saying which options it has, what values they take and their defaults.

Adding an option: a `Flag` below and a field on each family model that has it (with a description,
which the help shows); `bot.images.request.ImageRequest` gets the field if Azure needs it.
Adding a model family: one more model class and an entry in `FAMILY_OPTIONS`.
"""

from __future__ import annotations

import typing
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from enum import StrEnum
from fractions import Fraction
from typing import Annotated, Any, Literal

import annotated_types
from pydantic import AfterValidator, BaseModel, BeforeValidator, ConfigDict, Field, model_validator
from pydantic_core import PydanticCustomError

from bot.images.models import Family
from bot.images.sizes import Size, broken_rule, listed_sizes, nearest_valid
from bot.request.problems import Allowed, Choices, Range, SizeForm


class Kind(StrEnum):
    VALUE = "value"  # --quality high
    SWITCH = "switch"  # --raw: on when given
    RATIO = "ratio"  # --ar 16:9 chooses the size
    SHAPE = "shape"  # --landscape chooses the size from a fixed ratio
    MODEL = "model"  # --model NAME chooses the deployment


@dataclass(frozen=True, slots=True)
class Flag:
    name: str
    kind: Kind
    field: str | None  # the family model's field it decides; None for --model
    description: str | None = None  # for flags without a field of their own; fields carry theirs
    aliases: tuple[str, ...] = ()
    ratio: Fraction | None = None  # shapes
    value_name: str = "VALUE"

    @property
    def metavar(self) -> str:
        return {Kind.VALUE: self.value_name, Kind.RATIO: "W:H", Kind.MODEL: "NAME"}.get(self.kind, "")


FLAGS: tuple[Flag, ...] = (
    Flag("size", Kind.VALUE, "size", value_name="WxH"),
    Flag("ar", Kind.RATIO, "size", "aspect ratio instead of --size, e.g. 16:9 or 2:3", aliases=("aspect",)),
    Flag("landscape", Kind.SHAPE, "size", "a wide image (16:9)", ratio=Fraction(16, 9)),
    Flag("portrait", Kind.SHAPE, "size", "a tall image (9:16)", ratio=Fraction(9, 16)),
    Flag("square", Kind.SHAPE, "size", "a square image", ratio=Fraction(1)),
    Flag("quality", Kind.VALUE, "quality"),
    Flag("style", Kind.VALUE, "style"),
    Flag("background", Kind.VALUE, "background"),
    Flag("format", Kind.VALUE, "output_format"),
    Flag("n", Kind.VALUE, "n", value_name="N"),
    Flag("raw", Kind.SWITCH, "raw"),
    Flag("model", Kind.MODEL, None, "which of the bot's models draws it"),
)
FLAG_BY_NAME: Mapping[str, Flag] = {name: flag for flag in FLAGS for name in (flag.name, *flag.aliases)}


# --- value handling shared by the family models ---------------------------------------------------


@dataclass(frozen=True, slots=True)
class ValueAliases:
    """Words accepted for a value besides its own, e.g. hd for high (read by the help)."""

    aliases: Mapping[str, str]


@dataclass(frozen=True, slots=True)
class Unset:
    """What happens when an option without a default is left out (read by the help)."""

    text: str


@dataclass(frozen=True, slots=True)
class Why:
    """Why an option has a single value, said with a refusal."""

    text: str


def _word(aliases: Mapping[str, str] | None = None) -> Callable[[Any], Any]:
    def canonical(value: Any) -> Any:
        if not isinstance(value, str):
            return value
        word = value.strip().casefold()
        return (aliases or {}).get(word, word)

    return canonical


def _whole_number(value: Any) -> Any:
    # ASCII digits only: int() would take "３" and a 5,000-digit number; neither is a real request.
    if isinstance(value, str):
        text = value.strip()
        if not (text.isascii() and text.lstrip("-").isdigit() and len(text) <= 6):
            raise PydanticCustomError("int_parsing", "not a whole number")
        return int(text)
    return value


def _size_for(family: Family) -> Callable[[str], str]:
    def check(value: str) -> str:
        if value == "auto" and family.is_gpt_image:
            return value
        size = Size.parse(value)
        if size is None:
            raise PydanticCustomError("size_form", "not WxH", {"suggestion": str(_default_size(family))})
        rule = broken_rule(size, family)
        if rule is not None:
            suggestion = str(nearest_valid(size, family))
            raise PydanticCustomError("size_rule", "{rule}", {"rule": rule.value, "suggestion": suggestion})
        return str(size)

    return check


def _default_size(family: Family) -> Size:
    listed = listed_sizes(family)
    return listed[-1] if listed and family is Family.DALL_E_2 else Size(1024, 1024)


_QUALITY_ALIASES = {"standard": "medium", "hd": "high"}  # dall-e-3's words, for people used to them
Quality = Annotated[Literal["low", "medium", "high", "auto"], BeforeValidator(_word(_QUALITY_ALIASES)),
                    ValueAliases(_QUALITY_ALIASES)]  # fmt: skip
Background = Annotated[Literal["transparent", "opaque"] | None, BeforeValidator(_word()), Unset("the model decides")]
OutputFormat = Annotated[Literal["png", "jpeg"] | None, BeforeValidator(_word({"jpg": "jpeg"})),
                         ValueAliases({"jpg": "jpeg"}), Unset("png")]  # fmt: skip
WholeNumber = Annotated[int, BeforeValidator(_whole_number)]


class FamilyOptions(BaseModel):
    """The options of one model family; validating one is validating a user's options."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    family: typing.ClassVar[Family]


class GptImageOptions(FamilyOptions):
    quality: Quality = Field("medium", description="level of detail; higher takes longer and costs more")
    background: Background = Field(None, description="see-through or solid (transparent needs png)")
    output_format: OutputFormat = Field(None, description="file type")
    n: WholeNumber = Field(1, ge=1, le=10, description="number of images")
    raw: bool = Field(False, description="your prompt exactly as written, not rewritten first")

    @model_validator(mode="after")
    def _transparent_needs_png(self) -> GptImageOptions:
        if self.background == "transparent" and self.output_format == "jpeg":
            raise PydanticCustomError("clash", "JPEG has no transparency", {"fix": "png"})
        return self


class GptImage2Options(GptImageOptions):
    family = Family.GPT_IMAGE_2
    size: Annotated[str, BeforeValidator(_word()), AfterValidator(_size_for(Family.GPT_IMAGE_2))] = Field(
        "1024x1024", description="image size in pixels: any WxH in steps of 16 up to 3840x2160, at most 3:1"
    )


class GptImage1Options(GptImageOptions):
    family = Family.GPT_IMAGE_1
    size: Annotated[str, BeforeValidator(_word()), AfterValidator(_size_for(Family.GPT_IMAGE_1))] = Field(
        "1024x1024", description="image size in pixels"
    )


class DallE3Options(FamilyOptions):
    family = Family.DALL_E_3
    size: Annotated[str, BeforeValidator(_word()), AfterValidator(_size_for(Family.DALL_E_3))] = Field(
        "1024x1024", description="image size in pixels"
    )
    quality: Annotated[Literal["standard", "hd"], BeforeValidator(_word())] = Field(
        "standard", description="level of detail"
    )
    style: Annotated[Literal["vivid", "natural"], BeforeValidator(_word())] = Field(
        "vivid", description="vivid is dramatic, natural is more realistic"
    )
    n: Annotated[WholeNumber, Why("dall-e-3 makes one image per call")] = Field(
        1, ge=1, le=1, description="number of images"
    )


class DallE2Options(FamilyOptions):
    family = Family.DALL_E_2
    size: Annotated[str, BeforeValidator(_word()), AfterValidator(_size_for(Family.DALL_E_2))] = Field(
        "1024x1024", description="image size in pixels"
    )
    n: WholeNumber = Field(1, ge=1, le=5, description="number of images")


FAMILY_OPTIONS: Mapping[Family, type[FamilyOptions]] = {
    model.family: model for model in (GptImage2Options, GptImage1Options, DallE3Options, DallE2Options)
}


# --- what the help and the error messages read ------------------------------------------------------


def has_option(family: Family, flag: Flag) -> bool:
    if flag.kind is Kind.MODEL:
        return True
    return flag.field in FAMILY_OPTIONS[family].model_fields


def family_flags(family: Family, *, with_model: bool = False) -> tuple[Flag, ...]:
    return tuple(f for f in FLAGS if has_option(family, f) and (f.kind is not Kind.MODEL or with_model))


@dataclass(frozen=True, slots=True)
class OptionDoc:
    """One option of one family, as the help describes it."""

    flag: Flag
    description: str
    allowed: Allowed | None  # None for switches, shapes and --model
    default: str | None
    aliases: Mapping[str, str]
    unset: str | None


def option_doc(family: Family, flag: Flag) -> OptionDoc:
    model = FAMILY_OPTIONS[family]
    info = model.model_fields.get(flag.field or "")
    if info is None or flag.kind is not Kind.VALUE:
        described = info.description if info is not None and flag.kind is Kind.SWITCH else flag.description
        return OptionDoc(flag, described or flag.name, None, None, {}, None)
    metadata = list(info.metadata)
    aliases = next((m.aliases for m in metadata if isinstance(m, ValueAliases)), {})
    unset = next((m.text for m in metadata if isinstance(m, Unset)), None)
    default = None if info.default is None else str(info.default)
    return OptionDoc(flag, info.description or flag.name, allowed_values(family, flag), default, aliases, unset)


def allowed_values(family: Family, flag: Flag) -> Allowed:
    """What a value flag of this family takes: a list, a range or a size form."""
    info = FAMILY_OPTIONS[family].model_fields[flag.field or ""]
    if flag.field == "size":
        listed = listed_sizes(family)
        return SizeForm(tuple(str(s) for s in listed) if listed is not None else None)
    low = next((m.ge for m in info.metadata if isinstance(m, annotated_types.Ge)), None)
    high = next((m.le for m in info.metadata if isinstance(m, annotated_types.Le)), None)
    if low is not None and high is not None:
        why = next((m.text for m in info.metadata if isinstance(m, Why)), None)
        return Range(int(str(low)), int(str(high)), why)
    annotation = info.annotation
    values = [a for a in _literal_values(annotation) if isinstance(a, str)]
    return Choices(tuple(values))


def _literal_values(annotation: Any) -> list[Any]:
    if typing.get_origin(annotation) is Literal:
        return list(typing.get_args(annotation))
    return [value for arg in typing.get_args(annotation) for value in _literal_values(arg)]
