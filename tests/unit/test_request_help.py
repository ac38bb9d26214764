"""The help: generated from the option models, so it lists every option of a family; its examples parse;
models that retire soon (or have) are marked."""

from __future__ import annotations

import re
from datetime import date

import pytest
from slack_sdk.models.blocks import Block

from bot.images.models import Deployments, Family
from bot.images.sizes import size_for_ratio
from bot.replies.requests import help_examples, help_message, model_label, usage_help
from bot.request.options import FLAGS, Kind, family_flags, option_doc
from bot.request.problems import Choices, Range, SizeForm
from tests.unit.requests_support import D2, D3, GPT2, MODELS, parse_ok, parsed

TODAY = date(2026, 12, 1)


def help_line(text: str, flag: str) -> str:
    return next(line for line in text.splitlines() if re.match(rf"\s+--{flag}\b(?!-)", line))


@pytest.mark.parametrize("family", list(Family))
def test_usage_help_lists_every_option_of_the_family(family: Family) -> None:
    text = usage_help(family, today=TODAY)
    for flag in FLAGS:
        if flag.kind is Kind.MODEL:
            assert "--model" not in text  # one model: nothing to pick
            continue
        if flag not in family_flags(family):
            assert re.search(rf"Not available on {family.value}:.*--{flag.name}\b", text), flag
            continue
        doc = option_doc(family, flag)
        line = help_line(text, flag.name)
        assert doc.description in line
        assert all(f"--{alias}" in line for alias in flag.aliases)
        if isinstance(doc.allowed, Choices):
            assert all(value in line for value in doc.allowed.values)
            assert all(f"{typed} means {canonical}" in line for typed, canonical in doc.aliases.items())
            assert doc.default is None or f"{doc.default} (default)" in line
            assert doc.unset is None or f"if left out: {doc.unset}" in line
        elif isinstance(doc.allowed, Range):
            assert str(doc.allowed.high) in line
            assert doc.allowed.why is None or doc.allowed.why in line
        elif isinstance(doc.allowed, SizeForm):
            assert all(size in line for size in doc.allowed.listed or ())
            assert doc.allowed.listed is not None or "above 2560x1440 is experimental" in line
        if flag.kind is Kind.SHAPE:
            assert flag.ratio is not None
            assert str(size_for_ratio(flag.ratio, family).size) in line
            assert parse_ok(f"cat --{flag.name}", family).size in line
    assert f"{family.max_prompt_chars:,}" in text
    assert "Midjourney options (--no, --seed" in text


def test_usage_help_for_gpt_image_2() -> None:
    text = usage_help(GPT2, today=TODAY)
    assert "--size WxH: image size in pixels: any WxH in steps of 16 up to 3840x2160, at most 3:1" in text
    assert "--ar W:H (or --aspect): aspect ratio instead of --size, e.g. 16:9 or 2:3; picks that exact shape" in text
    assert "--landscape: a wide image (16:9); 1280x720" in text
    assert "--raw: your prompt exactly as written" in text
    assert "Not available on gpt-image-2: --style." in text


def test_usage_help_for_dall_e_3_says_one_image_and_why() -> None:
    text = usage_help(D3, today=TODAY)
    assert "--n N: number of images; only 1 (dall-e-3 makes one image per call)" in text
    assert "--landscape: a wide image (16:9); 1792x1024" in text
    assert "picks the closest size" in help_line(text, "ar")


@pytest.mark.parametrize("family", list(Family))
def test_the_usage_examples_parse(family: Family) -> None:
    example = next(line for line in usage_help(family, today=TODAY).splitlines() if line.startswith("Example: "))
    request = parse_ok(example.removeprefix("Example: /imagine "), family)
    assert request.prompt == "a badger wearing a tuxedo"


def test_usage_help_command_name() -> None:
    assert "Example: /draw a badger" in usage_help(D3, today=TODAY, command="/draw")


def test_usage_help_with_several_models_lists_them_and_the_others_options_compactly() -> None:
    models = Deployments({"main": "gpt-image-2", "mini": "gpt-image-1-mini", "d3": "dall-e-3", "d2": "dall-e-2"})
    text = usage_help(models, today=TODAY, command="/draw")

    assert (
        "Models: main (gpt-image-2, the default), mini (gpt-image-1-mini), d3 (dall-e-3, retired 2026-02-18), "
        "d2 (dall-e-2, retired 2025-01-27). Pick one with --model NAME."
    ) in text
    assert "Options for gpt-image-2 (" in text
    assert "--model NAME: which of the bot's models draws it; main (default), mini, d3, d2" in text
    assert "With --model mini (gpt-image-1-mini): --size 1024x1024|1536x1024|1024x1536" in text
    assert "With --model d3 (dall-e-3): --size 1024x1024|1792x1024|1024x1792, --quality standard|hd" in text
    assert "--n 1;" in text  # dall-e-3's single image, compactly
    assert "With --model d2 (dall-e-2): --size 256x256|512x512|1024x1024, --n 1-5; up to 1,000 characters." in text
    assert "--background VALUE" in text  # the default's own options in full
    example = next(line for line in text.splitlines() if line.startswith("Example: /draw "))
    assert parsed(example.removeprefix("Example: /draw "), models).deployment == "main"


def test_usage_help_with_one_deployment_names_it_without_offering_model() -> None:
    text = usage_help(Deployments({"only": "dall-e-3"}), today=TODAY)
    assert "Model: only (dall-e-3, retired 2026-02-18, the default)." in text
    assert "--model" not in text


@pytest.mark.parametrize(
    ("model", "today", "label"),
    [
        ("gpt-image-1.5", date(2026, 11, 15), "gpt-image-1.5"),  # 31 days before
        ("gpt-image-1.5", date(2026, 11, 16), "gpt-image-1.5, retires 2026-12-16"),  # 30 days before
        ("gpt-image-1.5", date(2026, 12, 1), "gpt-image-1.5, retires 2026-12-16"),
        ("gpt-image-1.5", date(2026, 12, 16), "gpt-image-1.5, retired 2026-12-16"),
        ("gpt-image-1", date(2026, 12, 1), "gpt-image-1, retired 2026-10-23"),
        ("dall-e-3", date(2026, 12, 1), "dall-e-3, retired 2026-02-18"),
        ("gpt-image-2", date(2026, 12, 1), "gpt-image-2"),
        ("gpt-image-2.5-flare", date(2026, 12, 1), "gpt-image-2.5-flare"),  # no schedule known: no label
    ],
)
def test_model_labels_mark_retirement(model: str, today: date, label: str) -> None:
    assert model_label(model, today) == label


def test_the_help_names_a_model_about_to_retire() -> None:
    models = Deployments({"main": "gpt-image-2", "old": "gpt-image-1.5"})
    assert "old (gpt-image-1.5, retires 2026-12-16)" in usage_help(models, today=TODAY)
    blocks = help_message(models, today=TODAY, revising_with=None)["blocks"]
    assert any("gpt-image-1.5, retires 2026-12-16" in block.get("text", {}).get("text", "") for block in blocks)


@pytest.mark.parametrize("family", list(Family))
def test_help_examples_parse(family: Family) -> None:
    examples = help_examples(family)
    assert 2 <= len(examples) <= 3
    assert len(set(examples)) == len(examples)
    assert "--" not in examples[0]  # a plain description works on its own
    for example in examples:
        request = parse_ok(example, family)
        assert request.prompt
        assert "--" not in request.prompt
    assert any("--ar" in e for e in examples) == (family is not D2)


def test_gpt_image_2s_examples_show_a_free_size() -> None:
    assert any("--size 1536x864" in e for e in help_examples(GPT2))


@pytest.mark.parametrize("revising_with", [None, "gpt-5.4-mini"])
@pytest.mark.parametrize(
    "models",
    [MODELS, Deployments({"d3": "dall-e-3"}), Deployments({"mini": "gpt-image-1-mini"})],
    ids=["several", "dall-e-3", "mini"],
)
def test_the_help_message_is_valid_block_kit_with_every_examples_and_the_reference(
    models: Deployments, revising_with: str | None
) -> None:
    message = help_message(models, today=TODAY, revising_with=revising_with)

    assert message["response_type"] == "ephemeral"
    assert (message["unfurl_links"], message["unfurl_media"]) == (False, False)
    for block in message["blocks"]:
        parsed_block = Block.parse(block)
        assert parsed_block is not None
        parsed_block.validate_json()
    text = "\n".join(b.get("text", {}).get("text", "") for b in message["blocks"])
    for deployment in models.values():
        assert all(example.replace("&", "&amp;") in text for example in help_examples(deployment.family))
    assert "Options for" in text
    if revising_with:
        assert f"`{revising_with}` rewrites your prompt" in text
        assert "--raw" in text
    elif models.default.family is D3:
        assert "dall-e-3 rewrites every prompt" in text
    else:
        assert "AZURE_OPENAI_RESPONSES_DEPLOYMENT" in text


def test_the_help_message_shows_each_models_examples_under_its_name() -> None:
    text = str(help_message(MODELS, today=TODAY, revising_with=None))
    assert "(`--model Dalle3`)" in text
    assert "(`--model mini`)" in text
