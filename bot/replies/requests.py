"""What people read about their `/imagine` text: why it was refused, and the help.

Every refusal names the input at fault and says what would work, in one or two short sentences.
Texts here are plain; callers escape them for mrkdwn (`request_error`, `help_message` do).
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date
from typing import Any

from bot.images.models import Deployments, Family, lifecycle
from bot.images.sizes import MAX_EDGE, MAX_PIXELS, MIN_PIXELS, SizeRule
from bot.replies.text import NO_UNFURL, context, escape, or_list, section
from bot.request import midjourney
from bot.request.options import Kind, family_flags, option_doc
from bot.request.parse import EXAMPLE_PROMPTS, example_flags, example_text
from bot.request.problems import (
    Allowed,
    BadSize,
    BadValue,
    Choices,
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
    Range,
    RatioForm,
    RatioTooWide,
    Reason,
    RepeatedOption,
    SizeForm,
    UnknownOption,
)

FREE_SIZE_EXAMPLE = "1536x864"


def allowed_text(allowed: Allowed) -> str:
    match allowed:
        case Choices(values):
            return or_list(values)
        case Range(low, high, why):
            if low == high:
                return f"{low} ({why})" if why else str(low)
            return f"a number from {low} to {high}"
        case SizeForm(listed):
            return or_list(listed) if listed else f"WxH in steps of 16, e.g. {FREE_SIZE_EXAMPLE}"
        case RatioForm():
            return "W:H in whole numbers, e.g. 16:9 or 2:3"


_SIZE_RULES = {
    SizeRule.MULTIPLE_OF_16: "both sides must be multiples of 16",
    SizeRule.RATIO: "the long side can be at most 3 times the short one (at most 3:1)",
    SizeRule.TOO_LARGE: f"at most {MAX_PIXELS:,} pixels (3840x2160) and no side over {MAX_EDGE}",
    SizeRule.TOO_SMALL: f"at least {MIN_PIXELS:,} pixels (e.g. 1024x640)",
}


def problem_text(problem: Problem) -> str:
    """One or two plain sentences: what was wrong and what would work."""
    match problem:
        case UnknownOption(typed, suggestion, model, options):
            hint = f"; did you mean --{suggestion}?" if suggestion else "."
            return f"Unknown option {typed}{hint} Options for {model}: {_flags(options)}."
        case ForeignOption():
            return f"--{problem.typed[2:].casefold()} is a Midjourney option; it doesn't work here. {_advice(problem)}"
        case OptionNotOnModel(option, model, chosen, having, options):
            if chosen is None:
                takes = f"Remove it; {model} takes {_flags(options)}."
                return f"This bot uses {model}, which has no --{option} option. {takes}"
            subject = f"Model {chosen} ({model})" if chosen != model else model
            fix = (
                f"Remove it, or use --model {having[0]}, which has it."
                if having
                else f"Remove it; {model} takes {_flags(options)}."
            )
            return f"{subject} has no --{option} option. {fix}"
        case MissingValue(option, allowed):
            return f"--{option} needs a value. Use {allowed_text(allowed)}."
        case BadValue(option, typed, reason, allowed, model):
            return _bad_value(option, typed, reason, allowed, model)
        case BadSize(typed, rule, suggestion, model, allowed):
            if rule is SizeRule.NOT_OFFERED or allowed.listed is not None:
                return f"--size {typed} isn't available on {model}. Use {allowed_text(allowed)}."
            return f"--size {typed} won't work on {model}: {_SIZE_RULES[rule]}. Try --size {suggestion}."
        case RatioTooWide(option, typed, suggestion):
            # A tall request gets the tallest shape, 1:3: "--ar 3:1" would turn it on its side.
            width, _, height = suggestion.partition("x")
            tall = width.isdigit() and height.isdigit() and int(width) < int(height)
            widest, too = ("1:3", "too tall") if tall else ("3:1", "too wide")
            return f"--{option} {typed} is {too}: at most {widest}. Try --{option} {widest} ({suggestion})."
        case RepeatedOption(option):
            return f"--{option} was given twice. Give it once."
        case ConflictingOptions(first, second, target):
            return f"--{first} and --{second} both choose the {target}. Give one of them."
        case Clash((first, bad_first), (second, bad_second), why, (_, good)):
            return (
                f"--{first} {bad_first} and --{second} {bad_second} don't go together: {why}. "
                f"Use --{second} {good} or leave out --{first}."
            )
        case EmptyPrompt(example):
            return f"Add a description of the image, e.g. {example}"
        case PromptTooLong(length, limit, model):
            return f"The description is {length:,} characters; {model} takes at most {limit:,}. Shorten it."
        case ModelProblem(trouble, typed, names, model):
            return _model_problem(trouble, typed, names, model)


def _bad_value(option: str, typed: str, reason: Reason, allowed: Allowed, model: str) -> str:
    shown = f"--{option} {typed}"
    if reason is Reason.TAKES_NO_VALUE:
        return f"--{option}={typed} won't work: --{option} takes no value. Use --{option} alone."
    if reason is Reason.NOT_A_RATIO:
        return f"{shown} isn't an aspect ratio. Use {allowed_text(allowed)}."
    if isinstance(allowed, Range) and allowed.low == allowed.high:
        why = f": {allowed.why}" if allowed.why else ""
        return f"{shown} won't work{why}. Use --{option} {allowed.low} or leave it out."
    if reason is Reason.NOT_A_NUMBER:
        return f"{shown} isn't a whole number. Use {allowed_text(allowed)}."
    if reason is Reason.OUT_OF_RANGE:
        return f"{shown} is out of range for {model}. Use {allowed_text(allowed)}."
    return f"{shown} isn't available on {model}. Use {allowed_text(allowed)}."


def _model_problem(trouble: ModelTrouble, typed: str, names: tuple[str, ...], model: str) -> str:
    match trouble:
        case ModelTrouble.ONLY_ONE:
            return f"--model won't work: this bot has one model, {model}. Remove --model."
        case ModelTrouble.TWICE:
            return "--model was given twice. Give it once."
        case ModelTrouble.NO_VALUE:
            return f"--model needs a value. Use {or_list(names)}."
        case ModelTrouble.UNKNOWN:
            return f"--model {typed} isn't one of this bot's models. Use {or_list(names)}."


def _flags(options: tuple[str, ...]) -> str:
    return ", ".join(f"--{name}" for name in options)


# --- Midjourney's parameters, answered with the nearest thing this bot has --------------------------

_REGENERATE = "use the Regenerate button for another take"
_IN_WORDS = "describe the style in words, e.g. 'oil painting, muted colours'"
_EDIT = "Reply to a result in its thread with @imagine and what to change, or use 'Imagine from this image'."
_GPT = (Family.GPT_IMAGE_2, Family.GPT_IMAGE_1)


def _per_family(dall_e_2: str, dall_e_3: str, gpt: str) -> dict[Family, str]:
    return {Family.DALL_E_2: dall_e_2, Family.DALL_E_3: dall_e_3, **dict.fromkeys(_GPT, gpt)}


_ADVICE: Mapping[str, Mapping[Family, str]] = {
    "no": dict.fromkeys(Family, "Describe what you want to see instead, e.g. 'an empty beach', not what to leave out."),
    "seed": dict.fromkeys(Family, f"Azure has no seeds; {_REGENERATE}."),
    "chaos": _per_family(
        f"dall-e-2 has no such setting; {_REGENERATE}.",
        "Use {style}, or the Regenerate button for another take.",
        "Use {quality}, or the Vary button.",
    ),
    "stylize": _per_family(f"dall-e-2 has no such setting; {_IN_WORDS}.", "Use {style}.", "Use {quality}."),
    "v": dict.fromkeys(Family, "{models}"),
    "niji": dict.fromkeys(Family, "{models} For an anime look, say 'anime style' in the description."),
    "q": _per_family("dall-e-2 has one quality; leave it out.", "Use {quality}.", "Use {quality}."),
    "tile": dict.fromkeys(Family, "No model here makes seamless tiles; ask for 'a seamless repeating pattern'."),
    "weird": _per_family(
        "Describe the oddness in words, e.g. 'surreal, dreamlike'.",
        "Use {style}, or describe the oddness in words.",
        "Describe the oddness in words, e.g. 'surreal, dreamlike'.",
    ),
    "stop": _per_family(
        "Images here are always finished; leave it out.",
        "Images here are always finished; leave it out.",
        "Use --quality low for a quicker, rougher image.",
    ),
    "iw": _per_family(
        "This model draws from text only; describe the picture in words.",
        "This model draws from text only; describe the picture in words.",
        _EDIT,
    ),
    "sref": _per_family(
        "This model draws from text only; describe the style in words.",
        "This model draws from text only; describe the style in words.",
        _EDIT,
    ),
    "cref": _per_family(
        "This model draws from text only; describe the character in words.",
        "This model draws from text only; describe the character in words.",
        _EDIT,
    ),
    "repeat": dict.fromkeys(Family, "Use {n}."),
    "fast": dict.fromkeys(Family, "There is one speed here; leave it out."),
}


def _advice(problem: ForeignOption) -> str:
    family = problem.family
    uses: dict[str, str] = {}
    for flag in family_flags(family):
        if flag.kind is not Kind.VALUE:
            continue
        doc = option_doc(family, flag)
        if isinstance(doc.allowed, Range) and doc.allowed.low == doc.allowed.high:  # dall-e-3's --n: no choice
            why = f" ({doc.allowed.why})" if doc.allowed.why else ""
            uses[flag.name] = f"--{flag.name} {doc.allowed.low}{why}"
        elif isinstance(doc.allowed, Range):
            uses[flag.name] = f"--{flag.name} N ({doc.allowed.low} to {doc.allowed.high})"
        elif isinstance(doc.allowed, Choices):
            uses[flag.name] = f"--{flag.name} {or_list(doc.allowed.values)}"
    if len(problem.models) > 1:
        models = f"Pick one of this bot's models with --model: {or_list(problem.models)}."
    else:
        models = f"This bot always uses {problem.model}."
    return _ADVICE[problem.flag][family].format(models=models, **uses)


# --- help -----------------------------------------------------------------------------------------


def request_error(problem: Problem) -> str:
    return f":warning: {escape(problem_text(problem))}\nType `/imagine help` to see every option."


def model_label(model: str, today: date) -> str:
    """The model's name, marked when it is retired or about to be (people pick models by these)."""
    known = lifecycle(model)
    if known is None:
        return model
    if known.retires <= today:
        return f"{model}, retired {known.retires:%Y-%m-%d}"
    if (known.retires - today).days <= 30:
        return f"{model}, retires {known.retires:%Y-%m-%d}"
    return model


def usage_help(models: Deployments | Family, *, today: date, command: str = "/imagine") -> str:
    """Plain-text usage, generated from the option models: every option of the default model, in full."""
    if isinstance(models, Family):
        family, chosen, names = models, None, {}
        model = models.value
    else:
        family, chosen = models.default.family, models.default.name
        names = {name: d for name, d in models.items()}
        model = models.default.model
    lines = [f"Usage: {command} DESCRIPTION [OPTIONS]", f"Example: {command} {example_text(family)}"]
    if names:
        listing = ", ".join(
            f"{name} ({model_label(d.model, today)}{', the default' if name == chosen else ''})"
            for name, d in names.items()
        )
        lines.append(f"Models: {listing}. Pick one with --model NAME." if len(names) > 1 else f"Model: {listing}.")
    lines.append(f"Options for {model} (anywhere in the text; --name=value works too):")
    for flag in family_flags(family, with_model=len(names) > 1):
        lines.append(_help_line(family, flag, names, chosen))
    missing = [f"--{flag.name}" for flag in family_flags(Family.DALL_E_3) + family_flags(Family.GPT_IMAGE_2)
               if flag not in family_flags(family)]  # fmt: skip
    if missing:
        lines.append(f"Not available on {model}: {', '.join(dict.fromkeys(missing))}.")
    for other in dict.fromkeys(d.family for d in names.values() if d.family is not family):
        others = [name for name, d in names.items() if d.family is other]
        limit = f"up to {other.max_prompt_chars:,} characters"
        their_models = ", ".join(dict.fromkeys(names[name].model for name in others))
        lines.append(f"With --model {or_list(others)} ({their_models}): {_compact(other)}; {limit}.")
    shown = ", ".join(f"--{names_[0]}" for names_ in midjourney.MIDJOURNEY_FLAGS[:4])
    lines.append(f"Midjourney options ({shown}, …) don't work here; the bot says what to use instead.")
    lines.append(f"The description can be up to {family.max_prompt_chars:,} characters.")
    return "\n".join(lines)


def _help_line(family: Family, flag: Any, names: Mapping[str, Any], chosen: str | None) -> str:
    doc = option_doc(family, flag)
    head = " ".join(filter(None, [f"--{flag.name}", flag.metavar]))
    if flag.aliases:
        head += " (or " + ", ".join(f"--{alias}" for alias in flag.aliases) + ")"
    if flag.kind is Kind.MODEL:
        detail = ", ".join(f"{name} (default)" if name == chosen else name for name in names)
    elif flag.kind is Kind.SHAPE:
        from bot.images.sizes import size_for_ratio

        assert flag.ratio is not None
        detail = str(size_for_ratio(flag.ratio, family).size)
    elif flag.kind is Kind.RATIO:
        detail = "picks that exact shape" if family is Family.GPT_IMAGE_2 else "picks the closest size"
    elif doc.allowed is None:
        detail = "off unless given"
    else:
        detail = _describe(doc.allowed, doc.default, doc.aliases, doc.unset)
    return f"  {head}: {doc.description}; {detail}"


def _describe(allowed: Allowed, default: str | None, aliases: Mapping[str, str], unset: str | None) -> str:
    if isinstance(allowed, Choices):
        text = ", ".join(f"{v} (default)" if v == default else v for v in allowed.values)
        if aliases:
            text += " (" + ", ".join(f"{typed} means {canonical}" for typed, canonical in aliases.items()) + ")"
        return text + (f"; if left out: {unset}" if unset else "")
    if isinstance(allowed, Range):
        if allowed.low == allowed.high:
            return f"only {allowed.low}" + (f" ({allowed.why})" if allowed.why else "")
        return f"{allowed.low} to {allowed.high}, default {default}"
    if isinstance(allowed, SizeForm):
        if allowed.listed:
            return ", ".join(f"{v} (default)" if v == default else v for v in allowed.listed)
        return f"default {default}; above 2560x1440 is experimental"
    return allowed_text(allowed)


def _compact(family: Family) -> str:
    """ "--size 1024x1024|1536x1024|…, --n 1-10": the valued options of `family`, on one line."""
    parts = []
    for flag in family_flags(family):
        doc = option_doc(family, flag)
        if isinstance(doc.allowed, Choices):
            parts.append(f"--{flag.name} {'|'.join(doc.allowed.values)}")
        elif isinstance(doc.allowed, SizeForm):
            parts.append(f"--size {'|'.join(doc.allowed.listed) if doc.allowed.listed else 'WxH'}")
        elif isinstance(doc.allowed, Range):
            low, high = doc.allowed.low, doc.allowed.high
            parts.append(f"--{flag.name} {low}" if low == high else f"--{flag.name} {low}-{high}")
    return ", ".join(parts)


def help_examples(family: Family) -> list[str]:
    """Two or three `/imagine` texts (without the command) for `family`, each a valid request."""
    examples = [EXAMPLE_PROMPTS[1], example_text(family)]
    if family is not Family.DALL_E_2:
        extra = [f for f in example_flags(family) if not f.startswith("--size")]
        examples.append(" ".join([EXAMPLE_PROMPTS[2], "--ar 16:9", *extra[1:]]))
    return examples


def help_message(deployments: Deployments, *, today: date, revising_with: str | None) -> dict[str, Any]:
    """Block Kit help: what the command does, how prompts are treated, examples, then every option."""
    default = deployments.default
    models = ", ".join(f"`{escape(name)}` ({escape(model_label(d.model, today))})" for name, d in deployments.items())
    if revising_with:
        revision = (
            f"Before drawing, `{escape(revising_with)}` rewrites your prompt for the image model, and the post "
            "shows the prompt it used. Add `--raw` to send your words exactly as written."
        )
    elif default.family is Family.DALL_E_3:
        revision = "dall-e-3 rewrites every prompt; the post shows the prompt it used."
    else:
        revision = (
            f"{escape(default.model)} draws your prompt exactly as written. An admin can turn on prompt "
            "revision (the post then shows the prompt the model used) by setting "
            "`AZURE_OPENAI_RESPONSES_DEPLOYMENT` to a chat model deployment; see the README."
        )
    blocks: list[dict[str, Any]] = [
        section(
            "*/imagine* describes an image in words; I draw it with Azure OpenAI and post it in the channel, "
            f"credited to you, and you can watch it form.\nModels: {models}; `{escape(default.name)}` unless you "
            "add `--model NAME`."
        ),
        section(revision),
        context(
            "To change a result, mention me in its thread (`@imagine make the sky pink`) or use its "
            "Edit, Vary and Upscale buttons. On anyone's picture, the message menu has *Imagine from this image*."
        ),
    ]
    for name, deployment in deployments.items():
        examples = "\n".join(f"`/imagine {escape(e)}`" for e in help_examples(deployment.family))
        title = f"*{escape(model_label(deployment.model, today))}*"
        if len(deployments) > 1:
            title += f" (`--model {escape(name)}`)"
        blocks.append(section(f"{title}\n{examples}"))
    blocks.append({"type": "divider"})
    reference = usage_help(deployments if len(deployments) > 1 else default.family, today=today)
    blocks.append(section(f"```{escape(reference)}```"))
    return {"response_type": "ephemeral", "text": "How to use /imagine", "blocks": blocks, **NO_UNFURL}
