"""--model picks one of the bot's deployments (checked first, wherever it stands); Midjourney's
parameters are refused with advice that names only options this bot has."""

from __future__ import annotations

import re

import pytest

from bot.images.models import Deployments, Family
from bot.request.midjourney import CANONICAL, MIDJOURNEY_FLAGS
from bot.request.options import FLAG_BY_NAME, family_flags
from bot.request.problems import ForeignOption, ModelProblem, ModelTrouble
from tests.unit.requests_support import D2, D3, GPT1, GPT2, MODELS, Models, parse_err, parsed, problem


@pytest.mark.parametrize(
    ("text", "deployment", "field", "value"),
    [
        pytest.param("a fox", "main", "quality", "medium", id="default"),
        pytest.param("--model Dalle3 a fox --style natural", "Dalle3", "style", "natural", id="first"),
        pytest.param("a fox --style natural --model Dalle3", "Dalle3", "style", "natural", id="last"),
        pytest.param("a --size 1792x1024 fox --model=dalle3", "Dalle3", "size", "1792x1024", id="middle-eq-lower"),
        pytest.param("a fox --background transparent --model MAIN", "main", "background", "transparent", id="up"),
        pytest.param("a fox --model 'old' --n 5", "old", "n", 5, id="quoted"),
        pytest.param("a fox --n 1 —model Dalle3", "Dalle3", "n", 1, id="smart-dash"),
        pytest.param("a fox --model old --ar 16:9", "old", "size", "1024x1024", id="ar-on-d2"),
        pytest.param("a fox --landscape --model Dalle3", "Dalle3", "size", "1792x1024", id="switch-before-model"),
        pytest.param("a fox --model Dalle3 --quality hd", "Dalle3", "quality", "hd", id="d3-quality"),
        pytest.param("a fox --quality hd", "main", "quality", "high", id="gpt-alias-on-default"),
        pytest.param("a fox --size 1536x864", "main", "size", "1536x864", id="free-size-on-default"),
        pytest.param("a fox --model mini --size 1536x1024", "mini", "size", "1536x1024", id="mini-listed-size"),
        pytest.param("a fox --model mini --raw", "mini", "raw", True, id="mini-raw"),
    ],
)
def test_the_model_is_chosen_before_other_flags(text: str, deployment: str, field: str, value: object) -> None:
    result = parsed(text, MODELS)
    assert result.deployment == deployment
    assert getattr(result.request, field) == value
    assert result.request.prompt == "a fox"


def test_the_default_is_the_first_deployment() -> None:
    assert parsed("a fox", Deployments({"b": "dall-e-3", "a": "gpt-image-2"})).deployment == "b"


def test_a_bare_family_has_no_deployment() -> None:
    assert parsed("a fox", D3).deployment is None


@pytest.mark.parametrize(
    ("models", "text", "bad", "good"),
    [
        pytest.param(MODELS, "a fox --model dall-e-4", "--model dall-e-4", "main, Dalle3, old or mini", id="unknown"),
        pytest.param(MODELS, "a fox --model", "--model", "main, Dalle3, old or mini", id="missing"),
        pytest.param(MODELS, "a fox --model= --n 2", "--model", "main, Dalle3, old or mini", id="missing-eq"),
        pytest.param(MODELS, "--model old a fox --model old", "--model", "once", id="twice"),
        pytest.param(D3, "a fox --model gpt", "--model", "this bot has one model, dall-e-3", id="bare-family"),
        pytest.param(
            Deployments({"only": "gpt-image-2"}), "a fox --model other", "--model", "one model, gpt-image-2", id="one"
        ),
        # every other option is checked against the chosen model, wherever --model is
        pytest.param(MODELS, "a fox --style natural --model old", "--style", "--model Dalle3", id="style-on-d2"),
        pytest.param(MODELS, "a fox --style natural", "--style", "--model Dalle3", id="style-on-default"),
        pytest.param(MODELS, "a fox --background opaque --model Dalle3", "--background", "--model main", id="bg"),
        pytest.param(MODELS, "a fox --size 1792x1024 --model mini", "--size 1792x1024", "1536x1024", id="size-mini"),
        pytest.param(MODELS, "a fox --n 5 --model Dalle3", "--n 5", "--n 1", id="n-of-chosen"),
        pytest.param(MODELS, "a fox --quality hd --model old", "--quality", "--model", id="quality-on-d2"),
        pytest.param(MODELS, "--model old " + "x" * 1001, "1,001", "1,000", id="prompt-limit-of-chosen"),
        # the unknown-flag message offers --model when there is a choice
        pytest.param(MODELS, "a fox --modle old", "--modle", "--model", id="typo"),
    ],
)
def test_model_errors(models: Models, text: str, bad: str, good: str) -> None:
    message = parse_err(text, models)
    assert bad in message
    assert good in message
    assert len(message) < 200, message


def test_model_problems_are_typed() -> None:
    names = ("main", "Dalle3", "old", "mini")
    assert problem("a fox --model nope", MODELS) == ModelProblem(ModelTrouble.UNKNOWN, "nope", names, "gpt-image-2")
    assert problem("a fox --model", MODELS) == ModelProblem(ModelTrouble.NO_VALUE, "", names, "gpt-image-2")
    assert problem("a fox --model old --model old", MODELS).trouble is ModelTrouble.TWICE  # type: ignore[union-attr]
    assert problem("a fox --model x", GPT2) == ModelProblem(ModelTrouble.ONLY_ONE, "x", (), "gpt-image-2")


def test_the_model_is_resolved_before_the_first_error() -> None:
    # The --style error is about gpt-image-2 (the chosen model), though --style comes first.
    models = Deployments({"Dalle3": "dall-e-3", "main": "gpt-image-2"})
    assert parse_err("a fox --style anime --model main", models).startswith(
        "Model main (gpt-image-2) has no --style option"
    )


def test_a_single_deployment_may_be_named() -> None:
    only = Deployments({"only": "gpt-image-2"})
    assert parsed("a fox --model ONLY", only).deployment == "only"
    assert parsed("a fox", only).deployment == "only"


@pytest.mark.parametrize(
    "models",
    [
        pytest.param({}, id="empty"),
        pytest.param({"a": "dall-e-3", "A": "gpt-image-2"}, id="names-differ-only-in-case"),
    ],
)
def test_a_bad_set_of_deployments_is_a_value_error(models: dict[str, str]) -> None:
    with pytest.raises(ValueError, match="deployment"):
        Deployments(models)


# --- Midjourney flags ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("family", "text", "advice"),
    [
        (D3, "a beach --no people", "Describe what you want to see instead, e.g. 'an empty beach'"),
        (GPT2, "a beach --no=people,cars", "an empty beach"),
        (D2, "a beach --NO people", "an empty beach"),
        (D3, "a fox --seed 42", "Azure has no seeds; use the Regenerate button for another take."),
        (GPT2, "a fox --seed 42", "Regenerate button"),
        (D2, "a fox --seed 42", "Regenerate button"),
        (D3, "a fox --chaos 50", "--style vivid or natural"),
        (GPT2, "a fox --c 50", "--quality low, medium, high or auto"),
        (GPT1, "a fox --c 50", "Vary button"),
        (D2, "a fox --c 50", "Regenerate button"),
        (D3, "a fox --stylize 250", "--style vivid or natural"),
        (GPT2, "a fox --s 250", "--quality low, medium, high or auto"),
        (D2, "a fox --s 250", "in words"),
        (D3, "a fox --q 2", "Use --quality standard or hd."),
        (GPT2, "a fox --q .5", "Use --quality low, medium, high or auto."),
        (D2, "a fox --q 2", "leave it out"),
        (D3, "a fox --v 6.1", "This bot always uses dall-e-3."),
        (GPT2, "a fox --version 7", "This bot always uses gpt-image-2."),
        (D2, "a fox --niji 6", "This bot always uses dall-e-2. For an anime look, say 'anime style'"),
        (D3, "a fox --tile", "seamless repeating pattern"),
        (D3, "a fox --weird 250", "--style vivid or natural"),
        (GPT2, "a fox --w 250", "in words"),
        (GPT2, "a fox --stop 50", "--quality low"),
        (D3, "a fox --stop 50", "leave it out"),
        (D3, "a fox --iw 2", "text only"),
        (GPT2, "a fox --iw 2", "Imagine from this image"),
        (GPT2, "a fox --sref https://x.y/a.png", "in its thread with @imagine"),
        (D2, "a fox --cref https://x.y/a.png", "text only"),
        (D3, "a fox --repeat 3", "dall-e-3 makes one image per call"),
        (D2, "a fox --repeat 3", "--n N (1 to 5)"),
        (GPT2, "a fox --r 3", "--n N (1 to 10)"),
        (D3, "a fox --relax", "one speed"),
    ],
)
def test_midjourney_flags_say_what_to_use_instead(family: Family, text: str, advice: str) -> None:
    message = parse_err(text, family)
    typed = re.search(r"--(\w+)", text)
    assert typed is not None
    assert message.startswith(f"--{typed[1].lower()} is a Midjourney option; it doesn't work here. ")
    assert advice in message


@pytest.mark.parametrize("text", ["a fox --v 6", "a fox --niji"])
def test_midjourney_model_flags_point_at_model_when_there_are_several(text: str) -> None:
    assert "--model: main, Dalle3, old or mini" in parse_err(text, MODELS)


def test_midjourney_advice_follows_the_chosen_model() -> None:
    assert "--style vivid or natural" in parse_err("--s 100 a fox --model Dalle3", MODELS)
    assert "--quality low, medium, high or auto" in parse_err("--s 100 a fox", MODELS)


def test_a_midjourney_flag_is_a_typed_problem() -> None:
    assert problem("a fox --Stylize 100", GPT2) == ForeignOption("stylize", "--Stylize", GPT2, "gpt-image-2", (), None)


@pytest.mark.parametrize("models", [D2, D3, GPT1, GPT2, MODELS, Deployments({"d3": "dall-e-3", "m": "gpt-image-2"})])
def test_every_midjourney_flag_is_refused_with_advice_whose_options_exist(models: Models) -> None:
    family = models if isinstance(models, Family) else models.default.family
    several = not isinstance(models, Family) and len(models) > 1
    offered = {f"--{name}" for flag in family_flags(family, with_model=several) for name in (flag.name, *flag.aliases)}
    for names in MIDJOURNEY_FLAGS:
        for name in names:
            message = parse_err(f"a fox --{name} 1", models)
            assert message.startswith(f"--{name} is a Midjourney option"), message
            assert len(message) < 200, message
            advice = message.split(". ", 1)[1]
            for flag in re.findall(r"--[a-z]+", advice):
                assert flag in offered, message
            for single in re.findall(r"--n N \((\d+) to (\d+)\)", advice):
                assert single[0] != single[1], message  # "1 to 1" is no choice


def test_midjourney_names_do_not_shadow_options() -> None:
    names = [name for group in MIDJOURNEY_FLAGS for name in group]
    assert len(names) == len(set(names)) == len(CANONICAL)
    assert not set(names) & set(FLAG_BY_NAME)


@pytest.mark.parametrize(
    ("model", "free"),
    [
        ("gpt-image-2", True),
        ("gpt-image-2.5-flare", True),  # the second generation's rules
        ("gpt-image-1.5", False),
        ("gpt-image-1-mini", False),
        ("gpt-image-3", False),  # a generation this code has not met: the standard sizes, the safe fallback
    ],
)
def test_each_gpt_image_model_gets_its_generations_sizes(model: str, free: bool) -> None:
    models = Deployments({"images": model})
    assert parsed("a fox --size 1536x1024", models).request.size == "1536x1024"  # every GPT image model
    if free:
        assert parsed("a fox --size 1536x864", models).request.size == "1536x864"
        assert parsed("a fox --ar 16:9", models).request.size == "1280x720"
    else:
        message = parse_err("a fox --size 1536x864", models)
        assert f"--size 1536x864 isn't available on {model}. Use 1024x1024, 1536x1024 or 1024x1536." == message
        assert parsed("a fox --ar 16:9", models).request.size == "1536x1024"
