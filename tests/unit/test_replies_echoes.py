"""Echoes: user and model text that `bot.replies` puts into Slack can never ping, mention or link.

Hostile strings go through every public function of every `bot.replies` module that takes text
(prompts, revised prompts, model and deployment names, ids, notes, report keys). In the mrkdwn that
comes out there may be no `<` at all (no `<!channel>`, `<@U123>` or `<https://evil…>`) besides the
sequences the bot writes itself (the requester's credit, a channel link, a date stamp, a permalink),
and no bare `@channel`/`@here`/`@everyone`. A new public function must be added to the table below,
which is the point: someone has to think about its escaping.
"""

from __future__ import annotations

import importlib
import inspect
import re
from collections.abc import Callable, Iterator
from datetime import timedelta
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.images.models import Deployments, Family
from bot.images.sizes import SizeRule
from bot.replies import modals, notes, requests, results, text, usage
from bot.replies.results import Drawing, Failed, Failure, Finished, Queued, Retrying, Revision
from bot.request import ExperimentalSize, SizeChosen
from bot.request.problems import (
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
    PromptTooLong,
    RatioForm,
    RatioTooWide,
    Reason,
    RepeatedOption,
    SizeForm,
    UnknownOption,
)
from bot.store.spec import OriginKind, PromptStorage, Status
from bot.usage.limits import Blocked, LimitKind
from tests.unit.replies_support import (
    CHANNEL,
    FIGURES,
    LIMITS,
    NOW,
    PERMALINK,
    REQUESTER,
    file_ids,
    make_job,
    report,
)

HOSTILE = [
    "<!channel>",
    "<!here|here>",
    "<!everyone>",
    "<@U123>",
    "<@U123|boss>",
    "<#C123|general>",
    "<!subteam^S123|@team>",
    "<https://evil.example|click>",
    "<https://evil.example>",
    "<mailto:a@evil.example|mail>",
    "&lt;!channel&gt;",
    "&amp;lt;@U123&amp;gt;",
    "@channel",
    "@here",
    "@everyone",
    "@Channel!",
    "hi@here",
    "line one\n<!channel> line two",
    "`<!channel>`",
    "> <!here>",
    "*bold* _it_ ~gone~",
    "x" * 3000 + " <!channel>",  # beyond every echo limit, where truncation happens
]
ALL_AT_ONCE = " ".join(HOSTILE)
# The bot's own time stamps: <!date^…> with a fixed format and fallback.
DATE = re.compile(r"<!date\^\d+\^[{}a-z_ ]+\|[^<>]*>")
OWN = (f"<@{REQUESTER}>", f"<#{CHANNEL}>", f"<{PERMALINK}|")
# Fields Slack never parses for markup: ids and values it hands back, URLs, and an input's text being edited.
UNRENDERED = {
    "initial_value",
    "value",
    "private_metadata",
    "action_id",
    "block_id",
    "callback_id",
    "image_url",
    "slack_file",
    "errors",  # a modal's field errors are shown as plain text
}
BROADCAST = re.compile(r"@(channel|here|everyone)\b", re.IGNORECASE)


def mrkdwn_and_plain(value: Any, *, plain: bool = False) -> Iterator[tuple[str, bool]]:
    """Every string of a reply, and whether Slack shows it as plain text (True) or parses it as mrkdwn."""
    if isinstance(value, str):
        yield value, plain
    elif isinstance(value, dict):
        for key, item in value.items():
            if key in UNRENDERED:
                continue
            literal = plain or key == "alt_text" or (key == "text" and value.get("type") == "plain_text")
            yield from mrkdwn_and_plain(item, plain=literal)
    elif isinstance(value, list | tuple):
        for item in value:
            yield from mrkdwn_and_plain(item, plain=plain)


def assert_inert(value: Any) -> None:
    for string, plain in mrkdwn_and_plain(value):
        if plain:  # shown as typed: no markup, no mention, no broadcast
            continue
        assert not BROADCAST.search(string), string[:300]
        for sequence in OWN:
            string = string.replace(sequence, "")
        string = DATE.sub("", string)
        assert "<" not in string, string[:300]


def hostile_models(h: str) -> Deployments:
    return Deployments({h: "gpt-image-2", f"{h} 2": "dall-e-3"})


def problems(h: str) -> list[Any]:
    """One of each problem, with hostile text wherever a problem carries typed text."""
    return [
        UnknownOption(h, h, h, (h,)),
        ForeignOption("seed", h, Family.GPT_IMAGE_2, h, (h, h), h),
        ForeignOption("v", h, Family.DALL_E_3, h, (h,), None),
        OptionNotOnModel(h, h, h, (h,), (h,)),
        OptionNotOnModel(h, h, None, (), (h,)),
        MissingValue(h, Choices((h, h))),
        BadValue(h, h, Reason.NOT_ALLOWED, Choices((h,)), h),
        BadValue(h, h, Reason.TAKES_NO_VALUE, RatioForm(), h),
        BadSize(h, SizeRule.RATIO, h, h, SizeForm(None)),
        BadSize(h, SizeRule.NOT_OFFERED, h, h, SizeForm((h,))),
        RatioTooWide(h, h, h),
        RepeatedOption(h),
        ConflictingOptions(h, h, h),
        Clash((h, h), (h, h), h, (h, h)),
        EmptyPrompt(h),
        PromptTooLong(5, 4, h),
        *(ModelProblem(trouble, h, (h, h), h) for trouble in ModelTrouble),
    ]


STATES: list[results.State] = [
    Queued(1),
    Queued(4),
    Drawing(),
    Drawing("F0PREVIEW01"),
    Retrying(NOW, rate_limited=True),
    Retrying(NOW, rate_limited=False),
    Failed(Failure.DEPLOYMENT_MISSING, deployment="<!channel> dep"),  # the one failure that echoes a name
    Failed(Failure.TOO_LATE, minutes=30),
]


def channel_messages(h: str) -> list[Any]:
    job = make_job(h, deployment=h)
    messages = [results.channel_message(job, state) for state in STATES]
    for kind in OriginKind:  # the verb differs by kind
        messages.append(results.channel_message(make_job(h, kind=kind, parent_job_id=3), Queued(2)))
    for kind in (OriginKind.EDIT, OriginKind.REFERENCE):  # "made from" links
        job = make_job(h, kind=kind, parent_job_id=3)
        messages.append(results.channel_message(job, Finished(file_ids(1), h, Revision.EDIT, PERMALINK)))
    for revision in Revision:
        messages.append(results.channel_message(make_job(h), Finished(file_ids(1), h, revision, PERMALINK)))
    messages.append(results.channel_message(make_job(h, n=3), Finished(file_ids(3), h, Revision.REVISED)))
    # A user id that is not an id (it cannot come from signed Slack traffic, but still) is escaped.
    messages.append(results.channel_message(make_job(h, user=f"U1> {h} <"), Queued(2)))
    messages.append(
        results.channel_message(make_job(h, model="dall-e-3"), Finished(file_ids(1), None, Revision.REVISED))
    )
    return messages


def home(h: str) -> Any:
    recent = [make_job(h, status=status, channel=CHANNEL, n=2) for status in Status] + [
        make_job(h, channel=h, status=Status.SUCCEEDED),
        make_job("sha256:" + h, prompt_storage=PromptStorage.HASHED),
        make_job("", prompt_storage=PromptStorage.ERASED),
        make_job(h, deleted_at=NOW),
    ]
    workspace = usage.home_workspace(report(h, REQUESTER), report(h, CHANNEL), chart_url=None, daily=[])
    return usage.home_view(FIGURES, LIMITS, Decimal(5), recent, workspace=workspace)


# Every public function of bot.replies, called with hostile text wherever it takes text.
Call = Callable[[str], Any]
CASES: dict[str, list[Call]] = {
    # text
    "text.escape": [lambda h: text.escape(h)],
    "text.echo": [lambda h: text.echo(h), lambda h: text.echo(h, 10)],
    "text.quote": [lambda h: text.quote(h), lambda h: text.quote(h, 10)],
    "text.user": [lambda h: text.user(h), lambda h: text.user(REQUESTER)],
    "text.channel": [lambda h: text.channel(h), lambda h: text.channel(CHANNEL)],
    "text.link": [
        lambda h: text.link(h, h),
        lambda h: text.link(PERMALINK, h),
        lambda h: text.link(f"https://x|{h}", h),
    ],
    "text.local_time": [lambda h: text.local_time(NOW)],
    "text.ordinal": [lambda h: text.ordinal(3)],
    "text.money": [lambda h: text.money(Decimal("12.5"))],
    # requests: problem_text and usage_help are plain text that request_error and help_message escape
    "requests.request_error": [lambda h: [requests.request_error(p) for p in problems(h)]],
    "requests.help_message": [
        lambda h: requests.help_message(hostile_models(h), today=NOW.date(), revising_with=h),
        lambda h: requests.help_message(Deployments({h: "dall-e-3"}), today=NOW.date(), revising_with=None),
    ],
    "requests.help_examples": [lambda h: [text.escape(e) for f in Family for e in requests.help_examples(f)]],
    # results
    "results.channel_message": [channel_messages],
    "results.failure_text": [lambda h: [text.escape(results.failure_text(Failed(f, h))) for f in Failure]],
    "results.can_upscale": [lambda h: results.can_upscale(make_job(h))],
    # notes
    "notes.queued": [
        lambda h: notes.queued(5, 1, [SizeChosen(h, h, False, False), ExperimentalSize(h)], in_channel=True, model=h),
        lambda h: notes.queued(5, 4, [SizeChosen(h, h, False, True)], in_channel=False, model=h),
    ],
    "notes.already_queued": [lambda h: notes.already_queued(7)],
    "notes.not_accepted": [lambda h: notes.not_accepted()],
    "notes.modal_failed": [lambda h: notes.modal_failed()],
    "notes.generating": [lambda h: notes.generating(5, h)],
    "notes.still_generating": [lambda h: notes.still_generating(5, h, 20.0)],
    "notes.retrying": [
        lambda h: notes.retrying(5, NOW, rate_limited=True),
        lambda h: notes.retrying(5, NOW, rate_limited=False),
    ],
    "notes.delivered": [
        lambda h: notes.delivered(5, CHANNEL, permalink=PERMALINK, elapsed_s=12.0, by_dm=False),
        lambda h: notes.delivered(5, h, permalink=h, elapsed_s=12.0, by_dm=False),
        lambda h: notes.delivered(5, CHANNEL, permalink=None, elapsed_s=12.0, by_dm=True),
    ],
    "notes.failed": [lambda h: [notes.failed(5, Failed(f, h, 3, 30)) for f in Failure]],
    "notes.posted_by_dm": [
        lambda h: [
            notes.posted_by_dm(channel_id, reason, 5)
            for channel_id in (CHANNEL, h)
            for reason in ("is_archived", "restricted_action", "no_permission", "not_in_channel", h)
        ]
    ],
    "notes.job_gone": [lambda h: notes.job_gone(5)],
    "notes.no_revised_prompt": [lambda h: notes.no_revised_prompt(5)],
    "notes.prompt_not_kept": [lambda h: notes.prompt_not_kept(5)],
    "notes.cannot_edit": [
        lambda h: notes.cannot_edit(h, today=NOW),
        lambda h: notes.cannot_edit("dall-e-3", today=NOW),
    ],
    "notes.delete_forbidden": [lambda h: notes.delete_forbidden(REQUESTER, 5), lambda h: notes.delete_forbidden(h, 5)],
    "notes.deleted": [lambda h: notes.deleted(5)],
    "notes.deleted_but_files_kept": [lambda h: notes.deleted_but_files_kept(5)],
    "notes.delete_refused": [lambda h: notes.delete_refused(5)],
    "notes.follow_up_queued": [lambda h: [notes.follow_up_queued(kind, 5) for kind in OriginKind]],
    "notes.mention_help": [lambda h: notes.mention_help()],
    "notes.no_pictures": [lambda h: notes.no_pictures(16)],
    "notes.too_many_pictures": [lambda h: notes.too_many_pictures(20, 16)],
    "notes.edit_needs_instruction": [lambda h: notes.edit_needs_instruction()],
    # Limits: the figures are the bot's own; the channel list comes from the operator's settings.
    "notes.limit_reached": [
        lambda h: notes.limit_reached(Blocked(LimitKind.CHANNEL, allowed_channels=(CHANNEL, h))),
        lambda h: notes.limit_reached(Blocked(LimitKind.CHANNEL)),
        lambda h: notes.limit_reached(Blocked(LimitKind.DAILY_IMAGES, 10, 10, resets_at=NOW)),
        lambda h: notes.limit_reached(Blocked(LimitKind.IN_FLIGHT, 2, 2)),
        lambda h: notes.limit_reached(
            Blocked(LimitKind.MONTHLY_BUDGET, spent=Decimal("50.01"), budget=Decimal(50), resets_at=NOW)
        ),
    ],
    "notes.limit_note": [lambda h: notes.limit_note(Blocked(LimitKind.IN_FLIGHT, 2, 2))],
    # usage
    "usage.usage_for_user": [lambda h: usage.usage_for_user(FIGURES, LIMITS, Decimal(5))],
    "usage.usage_for_admin": [
        lambda h: usage.usage_for_admin(
            usage.usage_for_user(FIGURES, LIMITS, None), report(h, REQUESTER), report(h, CHANNEL), report(h)
        )
    ],
    "usage.csv_on_its_way": [lambda h: usage.csv_on_its_way()],
    "usage.csv_refused": [lambda h: usage.csv_refused()],
    "usage.admins_only": [lambda h: usage.admins_only()],
    "usage.home_view": [home],
    "usage.home_workspace": [
        lambda h: usage.home_workspace(
            report(h), report(h), chart_url="https://bot.example.com/charts/T1.png?exp=1&sig=a", daily=[]
        )
    ],
    # modals: text fields are plain_text, where Slack parses no markup
    "modals.imagine_this": [
        lambda h: modals.imagine_this(h, CHANNEL, qualities=[h, "low"], models=[h, "main"], default=h, size_hint=h)
    ],
    "modals.edit": [lambda h: modals.edit(modals.EditTarget(5, 0, CHANNEL, None), size=h, size_hint=h)],
    "modals.from_image": [
        lambda h: modals.from_image(modals.SourcePictures(CHANNEL, "1.2", (h,)), size_hint=h, count=2)
    ],
    "modals.field_errors": [lambda h: modals.field_errors(modals.PROMPT_BLOCK, h)],
}
# Building blocks that take text already made safe (mrkdwn the caller wrote) or plain text by design,
# each covered through the functions above that use them.
BUILDING_BLOCKS = {
    "text.plain": "plain_text fields, where Slack parses no markup",
    "text.or_list": "joins texts its callers have escaped",
    "text.section": "wraps mrkdwn its caller wrote",
    "text.context": "wraps mrkdwn its caller wrote",
    "text.ephemeral": "wraps mrkdwn its caller wrote",
    "requests.allowed_text": "plain text inside problem_text",
    "requests.problem_text": "plain text; request_error escapes it",
    "requests.model_label": "plain text; help_message and cannot_edit escape it",
    "requests.usage_help": "plain text; help_message escapes it",
    "notes.note_text": "plain text; queued escapes it",
    "modals.submitted_values": "reads a submitted view: nothing it returns goes to Slack",
}
MODULES = (text, requests, results, notes, usage, modals)


def public_functions() -> set[str]:
    return {
        f"{module.__name__.rsplit('.', 1)[1]}.{name}"
        for module in MODULES
        for name, value in vars(module).items()
        if inspect.isfunction(value) and value.__module__ == module.__name__ and not name.startswith("_")
    }


def test_every_public_reply_is_in_the_table() -> None:
    missing = public_functions() - CASES.keys() - BUILDING_BLOCKS.keys()
    assert not missing, f"add {sorted(missing)} to CASES with hostile input (and make them escape it)"
    package = importlib.import_module("bot.replies")
    assert {m.__name__ for m in MODULES} == {
        f"bot.replies.{info}" for info in ("text", "requests", "results", "notes", "usage", "modals")
    }
    assert package.__doc__


@pytest.mark.parametrize("name", sorted(CASES))
def test_hostile_text_comes_out_inert(name: str) -> None:
    for hostile in [*HOSTILE, ALL_AT_ONCE]:
        for call in CASES[name]:
            assert_inert(call(hostile))


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("<!channel> hi", "&lt;!channel&gt; hi"),
        ("<@U123> & <#C1|x>", "&lt;@U123&gt; &amp; &lt;#C1|x&gt;"),
        ("<https://evil.example|click>", "&lt;https://evil.example|click&gt;"),
        ("@channel and @Here and @everyone", "@\u2060channel and @\u2060Here and @\u2060everyone"),
        ("email@channels.example", "email@channels.example"),
        ("&amp;", "&amp;amp;"),
    ],
)
def test_escape(raw: str, expected: str) -> None:
    assert text.escape(raw) == expected


@settings(max_examples=80, deadline=None)
@given(st.text())
def test_escaped_text_can_never_form_slack_markup(raw: str) -> None:
    escaped = text.escape(raw)
    assert "<" not in escaped
    assert ">" not in escaped
    assert not BROADCAST.search(escaped)


def test_the_requesters_credit_survives_the_escaping() -> None:
    message = results.channel_message(make_job(ALL_AT_ONCE), Queued(1))
    assert message["text"].startswith(f"<@{REQUESTER}> imagined:")
    assert message["text"].count("<@") == 1


def test_a_link_is_made_only_from_an_https_url_the_bot_trusts() -> None:
    assert text.link(PERMALINK, "Your image") == f"<{PERMALINK}|Your image>"
    assert text.link("javascript:alert(1)", "x") == "x"
    assert text.link("https://a.example|<!channel>", "x") == "x"
    assert text.link("https://a.example>x", "x") == "x"


def test_mentions_are_made_only_from_slack_ids() -> None:
    assert text.user("U0USER0001") == "<@U0USER0001>"
    assert text.channel("C0CHAN0001") == "<#C0CHAN0001>"
    assert text.user("U1|x> <!channel") == "U1|x&gt; &lt;!channel"
    assert text.channel("lower") == "lower"


def test_plain_text_fields_keep_what_was_typed_but_no_broadcast_word() -> None:
    view = modals.imagine_this(ALL_AT_ONCE, CHANNEL, qualities=[], models=["main"], default="main", size_hint="WxH")
    prompt = view["blocks"][0]["element"]
    assert prompt["type"] == "plain_text_input"
    assert prompt["initial_value"].startswith("<!channel> <!here|here>")
    assert not BROADCAST.search(prompt["initial_value"])
    assert len(prompt["initial_value"]) <= 3000


def test_echoed_prompts_are_cut() -> None:
    long = "word " * 2000
    assert len(text.echo(long)) <= text.MAX_ECHO_CHARS + 2
    assert text.echo(long).endswith(" …")
    message = results.channel_message(make_job(long), Queued(1))
    assert len(message["text"]) < 300
    assert len(message["blocks"][0]["text"]["text"]) < 800
    assert len(notes.generating(5, long)["text"]) < 400
    assert len(notes.queued(5, 1, [], in_channel=True, model="gpt-image-2")) < 200


def messages() -> Iterator[tuple[str, dict[str, Any]]]:
    """Every message dict the bot posts or sends through a response_url (not views)."""
    for name, calls in CASES.items():
        for call in calls:
            value = call("a fox https://example.com")
            for item in value if isinstance(value, list) else [value]:
                if (
                    isinstance(item, dict)
                    and item.get("type") not in ("modal", "home")
                    and "response_action" not in item
                ):
                    yield name, item


def test_every_message_has_link_unfurling_off() -> None:
    seen = {name for name, _ in messages()}
    assert {"results.channel_message", "notes.generating", "notes.failed", "requests.help_message"} <= seen
    for name, message in messages():
        if "type" in message:  # a block, not a message
            continue
        assert message.get("unfurl_links") is False, name
        assert message.get("unfurl_media") is False, name


def test_retry_times_are_shown_in_each_readers_time_zone() -> None:
    stamp = int(NOW.timestamp())
    assert f"<!date^{stamp}^{{time_secs}}|12:00:00 UTC>" in notes.retrying(5, NOW, rate_limited=True)["text"]
    assert "resets <!date^" in notes.limit_reached(Blocked(LimitKind.DAILY_IMAGES, 3, 3, resets_at=NOW + timedelta(1)))
