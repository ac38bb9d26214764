"""The image models Azure serves, what each can do, and when each retires.

Facts and sources: docs/contracts/azure-models.md §1 (lifecycle) and docs/contracts/azure-openai-images.md §2 (sizes).
A model name maps to a `Family`: deployments of one family take the same options and sizes.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from datetime import date, timedelta
from enum import StrEnum


class Family(StrEnum):
    GPT_IMAGE_2 = "gpt-image-2"  # any size in steps of 16 up to 3840x2160; streams; edits
    GPT_IMAGE_1 = "gpt-image-1"  # gpt-image-1.5, -1-mini and unknown gpt-image-*: three standard sizes
    DALL_E_3 = "dall-e-3"  # retired 2026-02-18: one image per call, revises every prompt
    DALL_E_2 = "dall-e-2"  # retired 2025-01-27: square sizes, submit-and-poll

    @classmethod
    def of(cls, model: str) -> Family:
        """The family of an Azure model name; ValueError for a name that is no image model."""
        name = model.strip().lower()
        if name in (cls.DALL_E_2.value, cls.DALL_E_3.value):
            return cls(name)
        if _GPT_IMAGE.fullmatch(name):
            # gpt-image-2, gpt-image-2.5-flare, …: the second generation's free sizes. Anything else
            # (1.5, 1-mini, a generation this code has not met) gets the sizes every GPT image model takes.
            return cls.GPT_IMAGE_2 if re.match(r"gpt-image-2(\b|[.-])", name) else cls.GPT_IMAGE_1
        raise ValueError(
            f"unknown image model {model!r}: expected gpt-image-2, gpt-image-1-mini, gpt-image-1.5, "
            "another gpt-image-*, or the retired dall-e-3 / dall-e-2"
        )

    @property
    def is_gpt_image(self) -> bool:
        return self in (Family.GPT_IMAGE_2, Family.GPT_IMAGE_1)

    @property
    def max_prompt_chars(self) -> int:
        return {Family.DALL_E_2: 1000, Family.DALL_E_3: 4000}.get(self, 32000)

    @property
    def edits(self) -> bool:
        """The edits endpoint with images as input (Azure has no variations endpoint)."""
        return self.is_gpt_image


_GPT_IMAGE = re.compile(r"gpt-image-[0-9a-z][0-9a-z.-]*")


@dataclass(frozen=True, slots=True)
class Lifecycle:
    retires: date
    replacement: str | None


# docs/contracts/azure-models.md §1: Azure's retirement schedule as of 2026-07-07. Deployments of
# a retired model answer every call with an error; `lifecycle_warnings` tells operators in advance.
LIFECYCLE: Mapping[str, Lifecycle] = {
    "gpt-image-2": Lifecycle(date(2027, 4, 21), None),
    "gpt-image-1-mini": Lifecycle(date(2027, 4, 7), "gpt-image-2"),
    "gpt-image-1.5": Lifecycle(date(2026, 12, 16), "gpt-image-2"),
    "gpt-image-1": Lifecycle(date(2026, 10, 23), "gpt-image-2"),
    "dall-e-3": Lifecycle(date(2026, 2, 18), "gpt-image-2"),
    "dall-e-2": Lifecycle(date(2025, 1, 27), "gpt-image-2"),
}
WARN_BEFORE = timedelta(days=30)


def lifecycle(model: str) -> Lifecycle | None:
    return LIFECYCLE.get(model.strip().lower())


@dataclass(frozen=True, slots=True)
class Deployment:
    """One Azure deployment the bot may use: the name chosen in Azure AI Foundry and its model."""

    name: str
    model: str
    family: Family = field(init=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "family", Family.of(self.model))  # read on every request: worked out once


class Deployments(Mapping[str, Deployment]):
    """The bot's deployments by name, the default (AZURE_OPENAI_DEPLOYMENT) first."""

    def __init__(self, models: Mapping[str, str]) -> None:
        if not models:
            raise ValueError("at least one deployment is needed")
        if len({name.casefold() for name in models}) != len(models):
            raise ValueError(f"deployment names must differ in more than case: {list(models)}")
        self._by_name = {name: Deployment(name, model) for name, model in models.items()}
        self.default = next(iter(self._by_name.values()))

    def __getitem__(self, name: str) -> Deployment:
        return self._by_name[name]

    def __iter__(self) -> Iterator[str]:
        return iter(self._by_name)

    def __len__(self) -> int:
        return len(self._by_name)

    def get_or_default(self, name: str | None) -> Deployment:
        return self._by_name.get(name or "", self.default)


@dataclass(frozen=True, slots=True)
class LifecycleWarning:
    deployment: Deployment
    retires: date
    replacement: str | None
    retired: bool


def lifecycle_warnings(deployments: Deployments, today: date) -> list[LifecycleWarning]:
    """Every configured model that is retired or retires within WARN_BEFORE, for the start-up log."""
    warnings = []
    for deployment in deployments.values():
        known = lifecycle(deployment.model)
        if known is not None and known.retires <= today + WARN_BEFORE:
            warnings.append(LifecycleWarning(deployment, known.retires, known.replacement, known.retires <= today))
    return warnings
