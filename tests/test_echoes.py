"""Echoes: user and model text that `bot.replies` puts into Slack can never ping, mention or link.

Hostile strings go through every public function of `bot.replies` that takes text (prompt, revised
prompt, error message, model and deployment names, ids, notes). In what comes out there may be no
`<!…>` (broadcasts), no `<@U123>` (a mention the user typed), no `<https://evil…>` (a forged link)
and no bare `@channel`/`@here`/`@everyone`; the only control sequences left are the ones the bot
writes itself (the requester's credit, the channel link, the date stamp). A new public function
must be added to the table below, which is the point: someone has to think about its escaping.
Also: every message the bot posts or sends through a response_url has link unfurling off.
"""

from __future__ import annotations

import inspect
import re
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from functools import partial
from typing import Any

import pytest

from bot import replies
from bot.images import (
    ContentRejected,
    GeneratedImage,
    ImageGenerationError,
    ImageResult,
    InvalidRequest,
    Misconfigured,
    RateLimited,
    ServiceUnavailable,
)
from bot.intake import Deployment
from bot.request import ImageRequest, RequestError
from bot.usage.figures import Tally, UserFigures
from bot.usage.limits import Blocked, LimitSettings
from bot.usage.models import Generation
from bot.usage.report import Report, ReportRow

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
    "x" * 3000 + " <!channel>",  # beyond the echo limit, where truncation happens
]
ALL_AT_ONCE = " ".join(HOSTILE)
REQUESTER = "U0USER0001"
CHANNEL = "C0CHAN0001"
# The bot's own timestamps (retrying(), limit_reached()): <!date^…> with a fixed format and fallback.
DATE = re.compile(r"<!date\^\d+\^[{}a-z_ ]+\|[^<>]*>")


# Fields Slack never parses for markup: ids and values it hands back, and an input's text being edited.
UNRENDERED = {"initial_value", "value", "private_metadata", "action_id", "block_id", "callback_id"}


def texts(value: Any) -> Iterator[str]:
    """Every string Slack would parse as mrkdwn in a reply: the reply itself, or such strings in a message/view."""
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for key, item in value.items():
            plain = key == "text" and value.get("type") == "plain_text"  # shown literally
            if key not in UNRENDERED and not plain:
                yield from texts(item)
    elif isinstance(value, list | tuple):
        for item in value:
            yield from texts(item)


def assert_inert(value: Any, *, own: tuple[str, ...] = ()) -> None:
    for text in texts(value):
        for sequence in own:
            text = text.replace(sequence, "")
        text = DATE.sub("", text)
        assert "<!" not in text, text[:300]
        assert "<@" not in text, text[:300]
        assert "<#" not in text, text[:300]
        assert "<http" not in text, text[:300]
        assert not re.search(r"@(channel|here|everyone)\b", text, re.IGNORECASE), text[:300]


def request(prompt: str = ALL_AT_ONCE, **fields: Any) -> ImageRequest:
    values: dict[str, Any] = {"size": "1024x1024", "quality": "hd", "style": "vivid", "n": 1} | fields
    return ImageRequest(prompt=prompt, **values)


def result(revised: str | None = ALL_AT_ONCE) -> ImageResult:
    return ImageResult((GeneratedImage(b"\x89PNG", "image/png"),), revised, None, 10)


ERRORS = [
    ContentRejected("prompt", ALL_AT_ONCE),
    ContentRejected("output", ALL_AT_ONCE),
    Misconfigured("azure_auth_failed", ALL_AT_ONCE),
    InvalidRequest("azure_invalid_request", ALL_AT_ONCE),
    RateLimited(ALL_AT_ONCE, 1.0),
    ServiceUnavailable("timeout", ALL_AT_ONCE),
]
HOSTILE_DEPLOYMENTS = {
    "dalle3 <!channel>": Deployment("dalle3 <!channel>", "dall-e-3"),
    "<@U123>": Deployment("<@U123>", "gpt-image-1 <https://evil.example|click> @here"),
}
NOW = datetime(2026, 1, 1, tzinfo=UTC)
PERMALINK = f"https://emulated.slack.com/archives/{CHANNEL}/p1767225600000100"
FIGURES = UserFigures(Tally(1, Decimal("0.04")), Tally(2, Decimal("0.08")), Tally(3, Decimal("0.12")), 1, 0)
LIMITS = LimitSettings(images_per_user_per_day=10, jobs_in_flight_per_user=2, monthly_budget_usd=Decimal(50))


def report(key: str) -> Report:
    """A usage report whose keys (user ids, channel ids, model names, read back from rows) are hostile."""
    row = ReportRow(key, 3, 1, 0, 4, Decimal("0.12"))
    return Report(NOW - timedelta(days=30), NOW, (row, ReportRow(REQUESTER, 1, 0, 0, 1, Decimal("0.04"))), row)


def retrying(error: ImageGenerationError, hostile: str) -> Any:
    return replies.retrying(error, NOW, 5)


def failed(error: ImageGenerationError, hostile: str) -> Any:
    return replies.failed(error, 5, 3)


def usage_for_admin(hostile: str) -> Any:
    mine = replies.usage_for_user(FIGURES, LIMITS, Decimal(5))
    return replies.usage_for_admin(mine, report(hostile), report(hostile), report(hostile))


def home_view(hostile: str) -> Any:
    """The App Home with hostile prompts, statuses and channel ids read back from rows, and an admin part."""

    def job(**fields: Any) -> Generation:
        values = {"prompt": hostile, "channel_id": CHANNEL, "status": "succeeded", "n": 2, "created_at": NOW}
        return Generation(**(values | fields))

    recent = [job(), job(channel_id=hostile, status=hostile), job(prompt="sha256:" + hostile), job(deleted_at=NOW)]
    workspace = replies.home_workspace(report(hostile), report(hostile), chart_url=None, daily=[])
    return replies.home_view(FIGURES, LIMITS, Decimal(5), recent, workspace=workspace)


HOME_OWN = (f"<#{CHANNEL}>", f"<@{REQUESTER}>", f"<#{REQUESTER}>")

# Every public function of bot.replies, called with hostile text wherever it takes text, and the
# control sequences its output may legitimately contain. `hostile` is one string or the combination.
Call = Callable[[str], Any]
CASES: dict[str, list[tuple[Call, tuple[str, ...]]]] = {
    "escape": [(lambda h: replies.escape(h), ())],
    "queued": [
        (lambda h: replies.queued(request(h, size_note=h, deployment=h), h, [1]), ()),
        (lambda h: replies.queued(request(h, n=3), h, [1, 2, 3], position=4), ()),
    ],
    "already_queued": [(lambda h: replies.already_queued(7), ())],
    "request_error": [(lambda h: replies.request_error(RequestError(h)), ())],
    "help_message": [
        (lambda h: replies.help_message(HOSTILE_DEPLOYMENTS, "<@U123>"), ()),
        (lambda h: replies.help_message({h: Deployment(h, "dall-e-2")}, h), ()),
    ],
    "not_accepted": [(lambda h: replies.not_accepted(), ())],
    "image_comment": [
        (lambda h: replies.image_comment(REQUESTER, request(h), h, result(h)), (f"<@{REQUESTER}>",)),
        (lambda h: replies.image_comment(REQUESTER, request(h), h, result(None)), (f"<@{REQUESTER}>",)),
        # An id that is not an id (it cannot come from signed Slack traffic, but still) is escaped.
        (lambda h: replies.image_comment(f"U1> {h} <", request(h), h, result(h)), ()),
    ],
    "generating": [(lambda h: replies.generating(request(h), 5), ())],
    "still_generating": [(lambda h: replies.still_generating(request(h), 5, 20.0), ())],
    "delivered": [
        (lambda h: replies.delivered(CHANNEL, 5, fallback_dm=False, group_note=h), (f"<#{CHANNEL}>",)),
        (lambda h: replies.delivered(f"{h}", 5, fallback_dm=False), ()),
        (lambda h: replies.delivered(CHANNEL, 5, fallback_dm=True, group_note=h), ()),
        # The permalink is Slack's (chat.getPermalink), the one link the bot writes itself.
        (
            lambda h: replies.delivered(CHANNEL, 5, fallback_dm=False, group_note=h, link=PERMALINK),
            (f"<{PERMALINK}|", f"<#{CHANNEL}>"),
        ),
    ],
    "retrying": [(partial(retrying, error), ()) for error in ERRORS if error.retryable],
    "failed": [(partial(failed, error), ()) for error in ERRORS],
    "too_late": [(lambda h: replies.too_late(5, timedelta(minutes=30)), ())],
    "internal_error": [(lambda h: replies.internal_error(5), ())],
    "not_postable": [
        (lambda h: replies.not_postable(CHANNEL, "is_archived", 5), (f"<#{CHANNEL}>",)),
        (lambda h: replies.not_postable(CHANNEL, h, 5), (f"<#{CHANNEL}>",)),
        (lambda h: replies.not_postable(h, "not_in_channel", 5), ()),
    ],
    "undeliverable": [(lambda h: replies.undeliverable(h, 5), ())],
    "controls": [
        (lambda h: replies.controls(5, has_revised_prompt=True, group_note=h), ()),
        (lambda h: replies.controls(5, has_revised_prompt=False), ()),
    ],
    "job_gone": [(lambda h: replies.job_gone(5), ())],
    "no_revised_prompt": [(lambda h: replies.no_revised_prompt(5), ())],
    "delete_forbidden": [
        (lambda h: replies.delete_forbidden(REQUESTER, 5), (f"<@{REQUESTER}>",)),
        (lambda h: replies.delete_forbidden(h, 5), ()),
    ],
    "deleted": [(lambda h: replies.deleted(5), ())],
    # Limits: the figures are the bot's own; the channel list comes from the operator's settings.
    "limit_reached": [
        (lambda h: replies.limit_reached(Blocked("channel", f"<#{CHANNEL}>", "<#C0OTHER01>", None)), ("<#C0OTHER01>",)),
        (lambda h: replies.limit_reached(Blocked("daily_images", "10", "10", NOW)), ()),
        (lambda h: replies.limit_reached(Blocked("monthly_budget", "$50.01", "$50.00", NOW)), ()),
    ],
    "limit_reached_message": [(lambda h: replies.limit_reached_message(Blocked("in_flight", "2", "2", None)), ())],
    "usage_for_user": [(lambda h: replies.usage_for_user(FIGURES, LIMITS, Decimal(5)), ())],
    "usage_for_admin": [(usage_for_admin, (f"<@{REQUESTER}>", f"<#{REQUESTER}>"))],
    "csv_on_its_way": [(lambda h: replies.csv_on_its_way(), ())],
    "admins_only": [(lambda h: replies.admins_only(), ())],
    "prompt_not_kept": [(lambda h: replies.prompt_not_kept(5), ())],
    "home_view": [(home_view, HOME_OWN)],
    "home_workspace": [
        (
            lambda h: replies.home_workspace(report(h), report(h), chart_url="https://x.example/c.png", daily=[]),
            HOME_OWN,
        )
    ],
    "modal": [
        (lambda h: replies.modal(h, h, HOSTILE_DEPLOYMENTS, "<@U123>", {"size": [h], "style": [h]}), ()),
    ],
}
# Plain-text fields of the file upload: Slack shows them as typed and parses no markup in them.
PLAIN_TEXT = {"alt_text", "image_title"}


def public_functions() -> set[str]:
    return {
        name
        for name, value in vars(replies).items()
        if inspect.isfunction(value) and value.__module__ == replies.__name__ and not name.startswith("_")
    }


def test_every_public_reply_is_in_the_table() -> None:
    missing = public_functions() - CASES.keys() - PLAIN_TEXT
    assert not missing, f"add {sorted(missing)} to CASES with hostile input (and make them escape it)"


@pytest.mark.parametrize("hostile", [*HOSTILE, ALL_AT_ONCE], ids=[*(h[:30] for h in HOSTILE), "all at once"])
@pytest.mark.parametrize("name", sorted(CASES))
def test_hostile_text_comes_out_inert(name: str, hostile: str) -> None:
    for call, own in CASES[name]:
        assert_inert(call(hostile), own=own)


def test_the_requesters_credit_survives_the_escaping() -> None:
    comment = replies.image_comment(REQUESTER, request(), "dall-e-3", result())
    assert comment.startswith(f"<@{REQUESTER}> imagined:")
    assert comment.count("<@") == 1


def test_the_modal_keeps_the_text_as_typed_in_a_plain_text_field_only() -> None:
    view = replies.modal(ALL_AT_ONCE, CHANNEL, HOSTILE_DEPLOYMENTS, "<@U123>", {})
    prompt = view["blocks"][0]["element"]
    assert prompt["type"] == "plain_text_input"
    assert prompt["initial_value"] == ALL_AT_ONCE[:3000]


def test_plain_text_fields_are_plain() -> None:
    # Slack renders file titles and alt text literally, so they keep what the user typed.
    assert replies.image_title(request("<!channel>")) == "<!channel>"
    assert replies.alt_text(request("<!channel>")) == "<!channel>"


def messages() -> Iterator[tuple[str, dict[str, Any]]]:
    """Every message dict the bot posts (chat.postMessage) or sends to a response_url / as an ack."""
    for name, cases in CASES.items():
        for call, _ in cases:
            value = call("a fox https://example.com")
            if isinstance(value, dict) and value.get("type") not in ("modal", "home"):  # views, not messages
                yield name, value


def test_every_posted_message_has_link_unfurling_off() -> None:
    seen = {name for name, _ in messages()}
    assert {"controls", "generating", "failed", "deleted", "help_message", "job_gone"} <= seen
    for name, message in messages():
        assert message.get("unfurl_links") is False, name
        assert message.get("unfurl_media") is False, name
