"""The channel message of a request in every state, the private notes, the usage replies and the modals:
valid Block Kit (slack_sdk's own models, warnings as errors), buttons that carry only ids, plain reasons."""

from __future__ import annotations

import re
from datetime import timedelta
from decimal import Decimal
from typing import Any

import pytest
from slack_sdk.models.blocks import Block

from bot.replies import modals, notes, results, usage
from bot.replies.results import Drawing, Failed, Failure, Finished, Queued, Retrying, Revision
from bot.request import ExperimentalSize, SizeChosen
from bot.store.spec import OriginKind, PromptStorage, Status
from bot.store.usage import DayFigures, Tally, UserFigures
from bot.usage.limits import Blocked, LimitKind, LimitSettings
from tests.unit.replies_support import CHANNEL, FIGURES, LIMITS, NOW, PERMALINK, REQUESTER, file_ids, make_job, report

ID_VALUE = re.compile(r"[0-9]+(:[0-9]+)?")


def validate(blocks: list[dict[str, Any]]) -> None:
    """As Slack would: every block parses into slack_sdk's model (unknown keys warn, and warnings are errors)
    and passes its validators; an actions block or a card holds at least one element."""
    assert len(blocks) <= 50
    for block in blocks:
        parsed = Block.parse(block)
        assert parsed is not None, block
        parsed.validate_json()
        if block["type"] == "actions":
            assert block["elements"], block
        for card in block.get("elements", []) if block["type"] == "carousel" else []:
            assert card.get("actions", [None]), card


def buttons(message: dict[str, Any]) -> list[dict[str, Any]]:
    found = []
    for block in message["blocks"]:
        if block["type"] == "actions":
            found += block["elements"]
        if block["type"] == "carousel":
            found += [button for card in block["elements"] for button in card.get("actions", [])]
    return found


STATES: list[results.State] = [
    Queued(1),
    Queued(2),
    Queued(23),
    Drawing(),
    Drawing("F0PREVIEW01"),
    Retrying(NOW, rate_limited=True),
    Retrying(NOW, rate_limited=False),
    *(Failed(failure, deployment="images", attempts=5, minutes=30) for failure in Failure),
]


@pytest.mark.parametrize("model", ["gpt-image-2", "gpt-image-1-mini", "dall-e-3", "dall-e-2"])
def test_the_channel_message_is_valid_block_kit_in_every_state(model: str) -> None:
    for state in STATES:
        message = results.channel_message(make_job("a fox", model=model), state)

        validate(message["blocks"])
        assert message["text"].startswith(f"<@{REQUESTER}> imagined: a fox")
        assert buttons(message) == []  # buttons only once there is a result


@pytest.mark.parametrize("count", [1, 2, 3, 10])
@pytest.mark.parametrize("model", ["gpt-image-2", "gpt-image-1.5", "dall-e-3", "dall-e-2"])
def test_a_result_is_valid_block_kit_one_image_or_a_carousel(model: str, count: int) -> None:
    for revision in Revision:
        _check_result(model, count, revision)


def _check_result(model: str, count: int, revision: Revision) -> None:
    job = make_job("a fox", model=model, n=count, size="1536x864" if model == "gpt-image-2" else "1024x1024")

    message = results.channel_message(job, Finished(file_ids(count), "A red fox in fresh snow", revision, PERMALINK))

    validate(message["blocks"])
    images = [b for b in message["blocks"] if b["type"] == "image"]
    carousels = [b for b in message["blocks"] if b["type"] == "carousel"]
    if count == 1:
        assert [image["slack_file"] for image in images] == [{"id": "F0FILE0000"}]
        assert carousels == []
    else:
        [carousel] = carousels
        assert [card["hero_image"]["slack_file"]["id"] for card in carousel["elements"]] == list(file_ids(count))
        assert [card["title"]["text"] for card in carousel["elements"]][-1] == f"Image {count} of {count}"
    shown = str(message["blocks"])
    assert ("A red fox in fresh snow" in shown) is (revision is Revision.REVISED)


def test_a_result_from_an_edit_links_what_it_was_made_from() -> None:
    job = make_job("make the sky pink", kind=OriginKind.EDIT, parent_job_id=9)
    message = results.channel_message(job, Finished(file_ids(1), None, Revision.EDIT, PERMALINK))

    assert message["text"].startswith(f"<@{REQUESTER}> asked for an edit:")
    assert f"made from <{PERMALINK}|job 9>" in str(message["blocks"])
    assert "An edit follows the instruction as written" in str(message["blocks"])


@pytest.mark.parametrize(
    ("model", "per_image"),
    [("gpt-image-2", ["imagine_edit", "imagine_vary", "imagine_upscale"]), ("dall-e-3", []), ("dall-e-2", [])],
)
def test_buttons_carry_only_ids_and_only_models_that_edit_get_edit_vary_upscale(
    model: str, per_image: list[str]
) -> None:
    for count in (1, 3):
        message = results.channel_message(
            make_job("a fox", job_id=41, model=model, n=count), Finished(file_ids(count), "revised", Revision.REVISED)
        )
        found = buttons(message)
        assert all(ID_VALUE.fullmatch(button["value"]) for button in found), found
        actions = [button["action_id"] for button in found]
        assert actions.count("imagine_regenerate") == 1
        assert actions.count("imagine_use_revised") == 1
        assert actions.count("imagine_delete") == 1
        for action in per_image:
            values = [b["value"] for b in found if b["action_id"] == action]
            assert values == [f"41:{index}" for index in range(count)]
        assert not {"imagine_edit", "imagine_vary", "imagine_upscale"} & set(actions) or per_image


def test_no_upscale_button_when_nothing_larger_is_made() -> None:
    largest = make_job("a fox", model="gpt-image-2", size="2560x1440")
    mini = make_job("a fox", model="gpt-image-1-mini", size="1024x1024")
    assert not results.can_upscale(largest)
    assert not results.can_upscale(mini)
    assert results.can_upscale(make_job("a fox", model="gpt-image-2", size="1024x1024"))
    actions = [
        b["action_id"] for b in buttons(results.channel_message(mini, Finished(file_ids(1), None, Revision.RAW)))
    ]
    assert "imagine_upscale" not in actions
    assert "imagine_edit" in actions


def test_use_revised_prompt_only_when_there_is_one() -> None:
    for revised, revision in [(None, Revision.REVISED), ("x", Revision.RAW), ("x", Revision.NOT_REVISED)]:
        message = results.channel_message(make_job(), Finished(file_ids(1), revised, revision))
        assert "imagine_use_revised" not in [b["action_id"] for b in buttons(message)]


def test_delete_asks_for_confirmation() -> None:
    message = results.channel_message(make_job(), Finished(file_ids(1), None, Revision.RAW))
    [delete] = [b for b in buttons(message) if b["action_id"] == "imagine_delete"]
    assert delete["style"] == "danger"
    assert delete["confirm"]["confirm"]["text"] == "Delete"


@pytest.mark.parametrize(
    ("state", "words"),
    [
        (Queued(1), "Queued, next in line"),
        (Queued(2), "Queued, 2nd in line"),
        (Queued(13), "Queued, 13th in line"),
        (Queued(23), "Queued, 23rd in line"),
        (Drawing(), "Drawing…"),
        (Drawing("F0PREVIEW01"), "(rough preview)"),
        (Retrying(NOW, rate_limited=True), "Azure asked us to slow down"),
        (Retrying(NOW, rate_limited=False), "Azure did not answer properly"),
    ],
)
def test_the_message_says_where_the_job_stands(state: results.State, words: str) -> None:
    assert words in str(results.channel_message(make_job(), state)["blocks"])


@pytest.mark.parametrize("failure", list(Failure))
def test_every_failure_is_a_plain_reason_without_internals(failure: Failure) -> None:
    reason = results.failure_text(Failed(failure, "images", 5, 30))
    assert reason.endswith((".", ")"))
    assert "Traceback" not in reason
    assert "HTTP" not in reason
    message = results.channel_message(make_job(), Failed(failure, "images", 5, 30))
    assert reason.split(".")[0].replace("`", "") in str(message["blocks"]).replace("`", "")
    note = notes.failed(7, Failed(failure, "images", 5, 30))
    assert note["text"].endswith("(job 7)")
    assert note["replace_original"] is True


def test_failure_texts_carry_their_figures() -> None:
    assert "all 4 attempts" in results.failure_text(Failed(Failure.UNAVAILABLE, attempts=4))
    assert "within 30 minutes" in results.failure_text(Failed(Failure.TOO_LATE, minutes=30))
    assert "`gone-deployment`" in results.failure_text(Failed(Failure.DEPLOYMENT_MISSING, "gone-deployment"))
    assert "cost nothing" in results.failure_text(Failed(Failure.PROMPT_REFUSED))


# --- notes ------------------------------------------------------------------------------------------


def test_the_ack_says_the_place_in_line_and_where_the_image_goes() -> None:
    assert notes.queued(4, 1, [], in_channel=True, model="gpt-image-2") == (
        ":art: Job 4 (gpt-image-2) is next in line; it appears in this channel now and fills in as it is drawn."
    )
    private = notes.queued(4, 3, [ExperimentalSize("3840x2160")], in_channel=False, model="gpt-image-2")
    assert "is 3rd in line; it will be posted here when ready." in private
    assert "3840x2160 is above 2560x1440, which Azure calls experimental" in private


@pytest.mark.parametrize(
    ("note", "text"),
    [
        (SizeChosen("16:9", "1280x720", True, False), "16:9 → 1280x720"),
        (SizeChosen("16:9", "1792x1024", False, False), "16:9 → 1792x1024, the closest size this model makes"),
        (
            SizeChosen("landscape", "1024x1024", False, True),
            "landscape → 1024x1024: this model makes only square images",
        ),
        (ExperimentalSize("2560x1456"), "2560x1456 is above 2560x1440"),
    ],
)
def test_note_text(note: SizeChosen | ExperimentalSize, text: str) -> None:
    assert notes.note_text(note).startswith(text)


def test_private_notes_replace_the_ack_but_notes_beside_shared_messages_never_do() -> None:
    assert notes.generating(3, "a fox")["replace_original"] is True
    for note in (
        notes.job_gone(3),
        notes.no_revised_prompt(3),
        notes.prompt_not_kept(3),
        notes.deleted(3),
        notes.delete_forbidden(REQUESTER, 3),
        notes.follow_up_queued(OriginKind.EDIT, 3),
        notes.cannot_edit("dall-e-3", today=NOW),
        notes.limit_note(Blocked(LimitKind.IN_FLIGHT, 2, 2)),
    ):
        assert note["replace_original"] is False
        assert note["response_type"] == "ephemeral"


def test_delivered_links_the_post_or_says_it_came_by_direct_message() -> None:
    shared = notes.delivered(3, CHANNEL, permalink=PERMALINK, elapsed_s=41.6, by_dm=False)["text"]
    assert f"<{PERMALINK}|Your image> is posted in <#{CHANNEL}> after 42 s (job 3)." in shared
    assert "in a direct message to you" in notes.delivered(3, CHANNEL, permalink=None, elapsed_s=1, by_dm=True)["text"]


@pytest.mark.parametrize(
    ("reason", "words"),
    [
        ("is_archived", "is archived"),
        ("restricted_action", "only some people may post"),
        ("no_permission", "does not let apps share files"),
        ("not_in_channel", "/invite @imagine"),
        ("not_allowed_token_type", "would not let me post in"),
    ],
)
def test_posted_by_dm_says_why_and_what_to_do(reason: str, words: str) -> None:
    assert words in notes.posted_by_dm(CHANNEL, reason, 3)["text"]


def test_cannot_edit_names_the_model_with_its_retirement() -> None:
    assert "dall-e-3, retired 2026-02-18 cannot edit pictures" in notes.cannot_edit("dall-e-3", today=NOW)["text"]


@pytest.mark.parametrize(
    ("blocked", "words"),
    [
        (Blocked(LimitKind.CHANNEL, allowed_channels=("C0OK000001",)), ["not open for /imagine", "Try <#C0OK000001>."]),
        (Blocked(LimitKind.CHANNEL), ["not open for /imagine", "Try another channel."]),
        (
            Blocked(LimitKind.DAILY_IMAGES, 10, 10, resets_at=NOW),
            ["daily image limit", "Now at 10; the limit is 10", "resets"],
        ),
        (Blocked(LimitKind.IN_FLIGHT, 2, 2), ["in progress as allowed", "when one of them is posted"]),
        (
            Blocked(LimitKind.MONTHLY_BUDGET, spent=Decimal("50.004"), budget=Decimal(50), resets_at=NOW),
            ["monthly image budget", "Now at $50.00; the budget is $50.00", "resets"],
        ),
    ],
)
def test_a_limit_says_which_and_where_it_stands_and_that_nothing_was_queued(blocked: Blocked, words: list[str]) -> None:
    text = notes.limit_reached(blocked)
    assert all(word in text for word in words), text
    assert text.endswith("Nothing was queued.")


# --- usage and the App Home -------------------------------------------------------------------------


def test_a_persons_usage_shows_their_figures_and_what_is_left() -> None:
    figures = UserFigures(Tally(2, Decimal("0.08")), Tally(2, Decimal("0.08")), Tally(1, Decimal("1")), 2, 1)
    text = usage.usage_for_user(figures, LIMITS, Decimal("12.5"))["text"]

    assert "Today: 2 images · $0.08" in text
    assert "Last 30 days: 1 image · $1.00" in text
    assert "8 of 10 images left today" in text
    assert "1 of 2 jobs in progress" in text
    assert "workspace budget $37.50 of $50.00 left this month" in text
    assert "Limits: none set" in usage.usage_for_user(figures, LimitSettings(), None)["text"]


def test_an_admins_usage_ranks_people_channels_and_models() -> None:
    mine = usage.usage_for_user(FIGURES, LIMITS, None)
    text = usage.usage_for_admin(mine, report("U0AAAA0001", "U0BBBB0002"), report(CHANNEL), report("gpt-image-2"))[
        "text"
    ]

    assert text.startswith(mine["text"])
    assert text.index("<@U0BBBB0002>: 4") < text.index("<@U0AAAA0001>: 3")  # most images first
    assert f"<#{CHANNEL}>: 3" in text
    assert "gpt-image-2: 3" in text
    assert "/imagine usage csv" in text


def test_the_home_tab_is_valid_block_kit_with_recent_jobs_and_the_admins_part() -> None:
    recent = [
        make_job("a fox " * 40, status=Status.SUCCEEDED, n=3),
        make_job("a fox", status=Status.QUEUED),
        make_job("a fox", status=Status.REJECTED),
        make_job("", prompt_storage=PromptStorage.ERASED, status=Status.SUCCEEDED),
        make_job("sha256:abc", prompt_storage=PromptStorage.HASHED, status=Status.FAILED),
        make_job("a fox", deleted_at=NOW),
    ]
    daily = [DayFigures((NOW - timedelta(days=29 - i)).date(), i % 4, Decimal("0.04") * (i % 4)) for i in range(30)]
    for chart_url in (None, "https://bot.example.com/charts/T0TEAM0001.png?exp=1&sig=ab"):
        workspace = usage.home_workspace(report(REQUESTER), report(CHANNEL), chart_url=chart_url, daily=daily)
        view = usage.home_view(FIGURES, LIMITS, Decimal(5), recent, workspace=workspace)
        assert view["type"] == "home"
        validate(view["blocks"])
    shown = str(view["blocks"])
    assert "(3 images)" in shown
    assert shown.count("_(prompt not kept)_") == 2
    assert "sha256:abc" not in shown
    assert ":wastebasket: deleted" in shown
    assert "a fox a fox" in shown
    assert "a fox " * 40 not in shown


def test_the_home_tab_without_jobs_says_so_and_without_a_chart_url_draws_a_sparkline() -> None:
    view = usage.home_view(FIGURES, LIMITS, None, [])
    assert "Nothing yet" in str(view["blocks"])
    daily = [DayFigures(NOW.date(), 4, Decimal("0.16"))]
    workspace = usage.home_workspace(report(REQUESTER), report(CHANNEL), chart_url=None, daily=daily)
    assert "(peak 4)" in str(workspace)
    assert "Set `PUBLIC_URL`" in str(workspace)


# --- modals -----------------------------------------------------------------------------------------


def test_the_modals_are_valid_block_kit() -> None:
    views = [
        modals.imagine_this(
            "a fox",
            CHANNEL,
            qualities=["low", "high"],
            models=["main", "mini"],
            default="mini",
            size_hint="WxH, e.g. 1536x864",
        ),
        modals.imagine_this("a fox", CHANNEL, qualities=[], models=["main"], default="main", size_hint="WxH"),
        modals.edit(modals.EditTarget(5, 1, CHANNEL, "1.2"), size="1536x864", size_hint="WxH"),
        modals.from_image(modals.SourcePictures(CHANNEL, "1.2", ("F0FILE0001",)), size_hint="WxH", count=1),
    ]
    for view in views:
        assert view["type"] == "modal"
        validate(view["blocks"])


def test_edit_targets_and_source_pictures_round_trip_through_private_metadata() -> None:
    for target in (modals.EditTarget(5, 1, CHANNEL, "1.2"), modals.EditTarget(5, 0, CHANNEL, None)):
        assert modals.EditTarget.decode(target.encode()) == target
    source = modals.SourcePictures(CHANNEL, "1.2", ("F0FILE0001", "F0FILE0002"))
    assert modals.SourcePictures.decode(source.encode()) == source
    for junk in ("", "[]", "{}", "not json", "[1, 2]", '["x", 1, "C", null]'):
        assert modals.EditTarget.decode(junk) is None
        assert modals.SourcePictures.decode(junk) is None


def test_submitted_values_reads_typed_and_picked_values() -> None:
    view = {
        "state": {
            "values": {
                "prompt": {"value": {"type": "plain_text_input", "value": "  a fox  "}},
                "size": {"value": {"type": "plain_text_input", "value": None}},
                "quality": {"value": {"type": "static_select", "selected_option": {"value": "high"}}},
                "model": {"value": {"type": "static_select", "selected_option": None}},
            }
        }
    }
    assert modals.submitted_values(view) == {"prompt": "a fox", "quality": "high"}
    assert modals.submitted_values({}) == {}


def test_field_errors_point_at_the_field_and_stay_short() -> None:
    answer = modals.field_errors(modals.SIZE_BLOCK, "x" * 500)
    assert answer["response_action"] == "errors"
    assert list(answer["errors"]) == ["size"]
    assert len(answer["errors"]["size"]) == 150
