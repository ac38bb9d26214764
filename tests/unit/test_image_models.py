"""bot.images.models: model names → families, what each family can do, and the retirement schedule."""

from __future__ import annotations

import logging
from datetime import UTC, date, datetime, time

import pytest

from bot.images.models import (
    LIFECYCLE,
    Deployment,
    Deployments,
    Family,
    Lifecycle,
    LifecycleWarning,
    lifecycle,
    lifecycle_warnings,
)


@pytest.mark.parametrize(
    ("model", "family"),
    [
        ("gpt-image-2", Family.GPT_IMAGE_2),
        ("GPT-IMAGE-2", Family.GPT_IMAGE_2),
        (" gpt-image-2 ", Family.GPT_IMAGE_2),
        ("gpt-image-2.5-flare", Family.GPT_IMAGE_2),  # the second generation's rules
        ("gpt-image-2.5-sunburst", Family.GPT_IMAGE_2),
        ("gpt-image-2-preview", Family.GPT_IMAGE_2),
        ("gpt-image-1.5", Family.GPT_IMAGE_1),
        ("gpt-image-1-mini", Family.GPT_IMAGE_1),
        ("gpt-image-1", Family.GPT_IMAGE_1),
        # a generation this code has not met: the standard sizes every GPT image model takes
        ("gpt-image-3", Family.GPT_IMAGE_1),
        ("gpt-image-20", Family.GPT_IMAGE_1),
        ("gpt-image-x", Family.GPT_IMAGE_1),
        ("dall-e-3", Family.DALL_E_3),
        ("DALL-E-3", Family.DALL_E_3),
        ("dall-e-2", Family.DALL_E_2),
    ],
)
def test_family_of_a_model_name(model: str, family: Family) -> None:
    assert Family.of(model) is family


@pytest.mark.parametrize("model", ["", "dall-e", "dall-e-4", "gpt-image", "gpt-image-", "gpt-4o", "FLUX.2-pro", "mj"])
def test_an_unknown_model_is_a_value_error_naming_it_and_the_known_ones(model: str) -> None:
    with pytest.raises(ValueError, match="unknown image model") as caught:
        Family.of(model)
    assert repr(model) in str(caught.value)
    assert "gpt-image-2" in str(caught.value)


@pytest.mark.parametrize(
    ("family", "gpt", "edits", "prompt"),
    [
        (Family.GPT_IMAGE_2, True, True, 32000),
        (Family.GPT_IMAGE_1, True, True, 32000),
        (Family.DALL_E_3, False, False, 4000),
        (Family.DALL_E_2, False, False, 1000),
    ],
)
def test_what_each_family_can_do(family: Family, gpt: bool, edits: bool, prompt: int) -> None:
    assert (family.is_gpt_image, family.edits, family.max_prompt_chars) == (gpt, edits, prompt)


def test_the_retirement_schedule() -> None:
    assert lifecycle("gpt-image-2") == Lifecycle(date(2027, 4, 21), None)
    assert lifecycle("gpt-image-1-mini") == Lifecycle(date(2027, 4, 7), "gpt-image-2")
    assert lifecycle("GPT-Image-1.5") == Lifecycle(date(2026, 12, 16), "gpt-image-2")
    assert lifecycle("gpt-image-1") == Lifecycle(date(2026, 10, 23), "gpt-image-2")
    assert lifecycle("dall-e-3") == Lifecycle(date(2026, 2, 18), "gpt-image-2")
    assert lifecycle("dall-e-2") == Lifecycle(date(2025, 1, 27), "gpt-image-2")
    assert lifecycle("gpt-image-2.5-flare") is None
    assert all(Family.of(model) for model in LIFECYCLE)  # every scheduled model is one the bot knows


def test_lifecycle_warnings_name_models_retiring_within_30_days_and_those_retired() -> None:
    deployments = Deployments(
        {"main": "gpt-image-2", "old": "gpt-image-1.5", "mini": "gpt-image-1-mini", "d3": "dall-e-3"}
    )

    warnings = lifecycle_warnings(deployments, date(2026, 12, 1))

    assert warnings == [
        LifecycleWarning(Deployment("old", "gpt-image-1.5"), date(2026, 12, 16), "gpt-image-2", retired=False),
        LifecycleWarning(Deployment("d3", "dall-e-3"), date(2026, 2, 18), "gpt-image-2", retired=True),
    ]


@pytest.mark.parametrize(
    ("today", "warned", "retired"),
    [
        (date(2026, 11, 15), False, False),  # 31 days ahead: not yet
        (date(2026, 11, 16), True, False),  # 30 days ahead
        (date(2026, 12, 16), True, True),
        (date(2027, 6, 1), True, True),
    ],
)
def test_the_warning_window_for_gpt_image_1_5(today: date, warned: bool, retired: bool) -> None:
    warnings = lifecycle_warnings(Deployments({"old": "gpt-image-1.5"}), today)
    assert bool(warnings) is warned
    assert all(w.retired is retired for w in warnings)


def test_deployments_keep_the_default_first() -> None:
    deployments = Deployments({"Main": "gpt-image-2", "mini": "gpt-image-1-mini"})

    assert deployments.default == Deployment("Main", "gpt-image-2")
    assert list(deployments) == ["Main", "mini"]
    assert len(deployments) == 2
    assert deployments["mini"].family is Family.GPT_IMAGE_1
    assert deployments.get_or_default(None) == deployments.default
    assert deployments.get_or_default("gone") == deployments.default
    assert deployments.get_or_default("mini").name == "mini"


@pytest.mark.parametrize("models", [{}, {"a": "gpt-image-2", "A": "dall-e-3"}])
def test_deployments_refuse_none_or_names_differing_only_in_case(models: dict[str, str]) -> None:
    with pytest.raises(ValueError, match="deployment"):
        Deployments(models)


@pytest.mark.parametrize(
    ("today", "expected"),
    [
        (date(2026, 12, 1), "runs gpt-image-1.5, which Azure retires on 2026-12-16; replace it with gpt-image-2"),
        (
            date(2026, 12, 17),
            "runs gpt-image-1.5, which Azure retired on 2026-12-16: every call will fail; replace it with gpt-image-2",
        ),
    ],
)
def test_the_operator_is_warned_at_start_about_a_retiring_or_retired_model(
    today: date, expected: str, caplog: pytest.LogCaptureFixture
) -> None:
    from bot.app import warn_about_lifecycles
    from bot.settings import Settings

    settings = Settings(  # type: ignore[call-arg]
        _env_file=None,
        slack_bot_token="xoxb-test",
        slack_signing_secret="secret",
        azure_openai_endpoint="https://example.openai.azure.com",
        azure_openai_api_key="key",
        azure_openai_deployment="old-one",
        image_model="gpt-image-1.5",
    )
    with caplog.at_level(logging.WARNING, logger="bot.app"):
        warn_about_lifecycles(settings, lambda: datetime.combine(today, time(9), UTC))
    assert [r.getMessage() for r in caplog.records] == [f"deployment old-one {expected}"]
