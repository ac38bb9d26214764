"""Brainstorming in the channel, end to end: buttons under results, new options, fan-out, the shortcut."""

from __future__ import annotations

import json
from typing import Any

import pytest
from sqlalchemy import Engine

from bot.emulators.slack import Message, SlackEmulator
from tests.conftest import CHANNEL, USER, BotFactory
from tests.test_end_to_end import PROGRESS_MARKS, final_response, finished_rows, rows

pytestmark = pytest.mark.e2e

OTHER_USER = "U0OTHER001"
ADMIN = "U0ADMIN001"


def image_posts(slack: SlackEmulator, channel: str = CHANNEL) -> list[Message]:
    return [m for m in slack.messages(channel) if m.files and not m.deleted]


def controls(slack: SlackEmulator, job_id: int) -> Message:
    """The buttons message posted under job `job_id`'s image."""

    def find() -> Message | None:
        for message in slack.messages():
            for block in message.blocks or []:
                if block.get("block_id") == f"imagine_controls_{job_id}" and not message.deleted:
                    return message
        return None

    return slack.wait_for(find, timeout=30)


def click(slack: SlackEmulator, bot_url: str, message: Message, action_id: str, user: str = USER) -> Any:
    [actions] = [b for b in message.blocks or [] if b["type"] == "actions"]
    [button] = [e for e in actions["elements"] if e["action_id"] == action_id]
    payload = {
        "type": "block_actions",
        "user": {"id": user, "username": user.lower(), "team_id": slack.team_id},
        "api_app_id": slack.api_app_id,
        "team": {"id": slack.team_id, "domain": slack.team_domain},
        "channel": {"id": message.channel, "name": "general"},
        "container": {
            "type": "message",
            "message_ts": message.ts,
            "channel_id": message.channel,
            "is_ephemeral": False,
        },
        "message": {"ts": message.ts, "text": message.text, "blocks": message.blocks},
        "trigger_id": "12345.67890.abcdef",
        "actions": [
            {
                "action_id": action_id,
                "block_id": actions["block_id"],
                "type": "button",
                "value": button["value"],
                "text": button["text"],
                "action_ts": "1700000000.000001",
            }
        ],
    }
    return slack.send_interaction(bot_url, payload)


def test_every_result_has_buttons_that_carry_only_the_job_id(
    run_bot: BotFactory, slack: SlackEmulator, engine: Engine
) -> None:
    bot = run_bot("dall-e-3")

    slack.send_command(bot.url, "a castle made of cheese")
    [row] = finished_rows(engine)
    buttons = controls(slack, row.id)

    [actions] = [b for b in buttons.blocks or [] if b["type"] == "actions"]
    labels = [e["text"]["text"] for e in actions["elements"]]
    assert labels == ["Regenerate", "Use revised prompt", "More like this", "Delete"]
    assert {e["value"] for e in actions["elements"]} == {str(row.id)}
    assert "cheese" not in json.dumps(buttons.blocks)
    [image] = image_posts(slack)
    assert float(image.ts) < float(buttons.ts)  # the buttons sit under the image


def test_regenerate_queues_a_new_job_credited_to_the_clicker(
    run_bot: BotFactory, slack: SlackEmulator, azure: Any, engine: Engine
) -> None:
    bot = run_bot("dall-e-3")
    slack.send_command(bot.url, "a lighthouse at dusk --style natural --size 1024x1792")
    [first] = finished_rows(engine)

    sent = click(slack, bot.url, controls(slack, first.id), "imagine_regenerate", user=OTHER_USER)

    assert sent.status == 200
    assert sent.elapsed_s < 3
    second = finished_rows(engine, count=2)[1]
    assert (second.user_id, second.origin, second.parent_job_id) == (OTHER_USER, "regenerate", first.id)
    assert (second.prompt, second.size, second.style) == (first.prompt, first.size, first.style)
    assert len(image_posts(slack)) == 2
    assert f"<@{OTHER_USER}>" in (image_posts(slack)[1].text or "")
    # The clicker's answers go to the button's response_url and never replace the shared message.
    posts = slack.responses(sent.response_url)
    assert posts
    assert all(p.body.get("replace_original") is False for p in posts)
    assert len(azure.generation_calls()) == 2


def test_use_revised_prompt_sends_the_revised_prompt_to_azure(
    run_bot: BotFactory, slack: SlackEmulator, azure: Any, engine: Engine
) -> None:
    bot = run_bot("dall-e-3")
    slack.send_command(bot.url, "a fox")
    [first] = finished_rows(engine)

    click(slack, bot.url, controls(slack, first.id), "imagine_use_revised")

    second = finished_rows(engine, count=2)[1]
    assert second.origin == "revised"
    assert first.revised_prompt
    assert second.prompt == first.revised_prompt
    assert azure.generation_calls()[1].json["prompt"] == first.revised_prompt


def test_use_revised_prompt_is_offered_only_where_the_model_revises(
    run_bot: BotFactory, slack: SlackEmulator, engine: Engine
) -> None:
    bot = run_bot("gpt-image-1")
    slack.send_command(bot.url, "a fox")
    [row] = finished_rows(engine)

    labels = json.dumps(controls(slack, row.id).blocks)

    assert "Use revised prompt" not in labels
    assert "Regenerate" in labels


def test_more_like_this_makes_another_set_of_the_same_size(
    run_bot: BotFactory, slack: SlackEmulator, azure: Any, engine: Engine
) -> None:
    bot = run_bot("gpt-image-1")
    slack.send_command(bot.url, "a tea party --n 2 --quality low")
    [first] = finished_rows(engine)

    click(slack, bot.url, controls(slack, first.id), "imagine_more")

    second = finished_rows(engine, count=2)[1]
    assert (second.origin, second.n, second.quality) == ("more", 2, "low")
    assert azure.generation_calls()[1].json["n"] == 2


def test_the_requester_can_delete_their_image(run_bot: BotFactory, slack: SlackEmulator, engine: Engine) -> None:
    bot = run_bot("dall-e-3")
    slack.send_command(bot.url, "a regrettable idea")
    [row] = finished_rows(engine)
    buttons = controls(slack, row.id)

    sent = click(slack, bot.url, buttons, "imagine_delete")

    assert sent.status == 200
    slack.wait_for(lambda: not image_posts(slack), timeout=10)
    slack.wait_for(lambda: [m for m in slack.messages() if m.ts == buttons.ts and m.deleted], timeout=10)
    answer = slack.wait_for(lambda: slack.responses(sent.response_url), timeout=10)
    assert "Deleted" in answer[0].body["text"]
    [deleted] = rows(engine)  # the answer is sent after the row is marked
    assert deleted.deleted_by == USER
    assert deleted.deleted_at is not None


def test_someone_else_cannot_delete_but_an_admin_can(run_bot: BotFactory, slack: SlackEmulator, engine: Engine) -> None:
    bot = run_bot("dall-e-3", ADMIN_USER_IDS=ADMIN)
    slack.send_command(bot.url, "a prized painting")
    [row] = finished_rows(engine)
    buttons = controls(slack, row.id)

    refused = click(slack, bot.url, buttons, "imagine_delete", user=OTHER_USER)
    answer = slack.wait_for(lambda: slack.responses(refused.response_url), timeout=10)
    assert f"Only <@{USER}>" in answer[0].body["text"]
    assert image_posts(slack)
    assert rows(engine)[0].deleted_at is None

    click(slack, bot.url, buttons, "imagine_delete", user=ADMIN)
    slack.wait_for(lambda: not image_posts(slack), timeout=10)
    slack.wait_for(lambda: rows(engine)[0].deleted_by == ADMIN or None, timeout=10)


def test_a_click_on_a_deleted_job_gets_a_clear_answer(
    run_bot: BotFactory, slack: SlackEmulator, engine: Engine
) -> None:
    bot = run_bot("dall-e-3")
    slack.send_command(bot.url, "an ephemeral sculpture")
    [row] = finished_rows(engine)
    buttons = controls(slack, row.id)
    click(slack, bot.url, buttons, "imagine_delete")
    slack.wait_for(lambda: rows(engine)[0].deleted_at is not None or None, timeout=10)

    sent = click(slack, bot.url, buttons, "imagine_regenerate")

    answer = slack.wait_for(lambda: slack.responses(sent.response_url), timeout=10)
    assert "no longer exists" in answer[0].body["text"]
    assert len(rows(engine)) == 1


def test_progress_replaces_the_ack_until_the_outcome(run_bot: BotFactory, slack: SlackEmulator, engine: Engine) -> None:
    bot = run_bot("dall-e-3")

    sent = slack.send_command(bot.url, "a clockwork bird")

    outcome = final_response(slack, sent.response_url)
    posts = [p.body for p in slack.responses(sent.response_url)]
    assert str(posts[0]["text"]).startswith(PROGRESS_MARKS)
    assert all(p["replace_original"] is True and p["response_type"] == "ephemeral" for p in posts)
    assert f"<#{CHANNEL}>" in outcome["text"]
    [image] = image_posts(slack)
    link = f"https://{slack.team_domain}.slack.com/archives/{CHANNEL}/p{image.ts.replace('.', '')}"
    assert f"<{link}|Your image>" in outcome["text"]
    assert " s (job " in outcome["text"]  # how long it took


@pytest.mark.parametrize(
    ("model", "text", "size", "note"),
    [
        ("dall-e-3", "a panorama --ar 16:9", "1792x1024", "16:9 → 1792x1024"),
        ("dall-e-3", "a tower --portrait", "1024x1792", None),
        ("gpt-image-1", "a postcard --ar 3:2", "1536x1024", "3:2 → 1536x1024"),
        ("dall-e-2", "a banner --landscape", "1024x1024", "only square"),
    ],
)
def test_aspect_shortcuts_pick_the_nearest_size_and_say_which(
    run_bot: BotFactory,
    slack: SlackEmulator,
    azure: Any,
    engine: Engine,
    model: str,
    text: str,
    size: str,
    note: str | None,
) -> None:
    bot = run_bot(model)

    ack = slack.send_command(bot.url, text).json()["text"]

    assert size in ack
    if note:
        assert note in ack
    finished_rows(engine)
    assert azure.generation_calls()[0].json["size"] == size


def test_n_on_dall_e_3_fans_out_into_jobs_posted_together(
    run_bot: BotFactory, slack: SlackEmulator, azure: Any, engine: Engine
) -> None:
    bot = run_bot("dall-e-3")

    ack = slack.send_command(bot.url, "a set of chess pieces --n 3").json()["text"]

    assert "posted together" in ack
    jobs = finished_rows(engine, count=3)
    assert {j.group_id for j in jobs} == {jobs[0].id}
    assert sorted(j.group_index for j in jobs) == [1, 2, 3]
    assert {j.group_size for j in jobs} == {3}
    assert len(azure.generation_calls()) == 3
    assert all(call.json["n"] == 1 for call in azure.generation_calls())
    posts = slack.wait_for(lambda: image_posts(slack) if len(image_posts(slack)) == 3 else None, timeout=30)
    top_level = [p for p in posts if p.thread_ts is None]
    threaded = [p for p in posts if p.thread_ts is not None]
    assert len(top_level) == 1
    assert len(threaded) == 2
    assert {p.thread_ts for p in threaded} == {top_level[0].ts}


def test_model_picks_another_configured_deployment(
    run_bot: BotFactory, slack: SlackEmulator, azure: Any, engine: Engine
) -> None:
    bot = run_bot("dall-e-3", AZURE_OPENAI_EXTRA_DEPLOYMENTS="gpt-image=gpt-image-1")

    ack = slack.send_command(bot.url, "--model gpt-image a transparent sticker --background transparent").json()

    assert "gpt-image-1" in ack["text"]
    [row] = finished_rows(engine)
    assert (row.deployment, row.model, row.background) == ("gpt-image", "gpt-image-1", "transparent")
    [call] = azure.generation_calls()
    assert call.path == "/openai/deployments/gpt-image/images/generations"
    assert call.json["background"] == "transparent"


def test_gpt_image_jpeg_output_is_uploaded_as_jpeg(run_bot: BotFactory, slack: SlackEmulator, engine: Engine) -> None:
    bot = run_bot("gpt-image-1")

    slack.send_command(bot.url, "a photo of a meadow --format jpeg --quality hd")

    [row] = finished_rows(engine)
    assert (row.output_format, row.quality) == ("jpeg", "high")
    [post] = image_posts(slack)
    assert post.files[0].filename.endswith(".jpg")
    assert post.files[0].content.startswith(b"\xff\xd8\xff")


def test_midjourney_flags_are_answered_not_swallowed(run_bot: BotFactory, slack: SlackEmulator, engine: Engine) -> None:
    bot = run_bot("dall-e-3")

    reply = slack.send_command(bot.url, "a beach --no people --seed 42").json()["text"]

    assert "--no is a Midjourney option" in reply
    assert rows(engine) == []


def test_the_message_shortcut_opens_a_prefilled_modal_and_queues_the_submission(
    run_bot: BotFactory, slack: SlackEmulator, azure: Any, engine: Engine
) -> None:
    bot = run_bot("dall-e-3")
    source = slack.add_message(CHANNEL, "a &lt;brave&gt; knight riding a snail", user=OTHER_USER)

    opened = slack.send_interaction(
        bot.url,
        {
            "type": "message_action",
            "callback_id": "imagine_this",
            "trigger_id": "777.888.shortcut",
            "user": {"id": USER, "team_id": slack.team_id},
            "team": {"id": slack.team_id, "domain": slack.team_domain},
            "channel": {"id": CHANNEL, "name": "general"},
            "message_ts": source.ts,
            "message": {"ts": source.ts, "text": source.text, "user": OTHER_USER},
        },
    )

    assert opened.status == 200
    [view] = slack.wait_for(lambda: slack.opened_views(), timeout=10)
    [prompt_block] = [b for b in view["blocks"] if b["block_id"] == "prompt"]
    assert prompt_block["element"]["initial_value"] == "a <brave> knight riding a snail"
    assert {b["block_id"] for b in view["blocks"]} >= {"prompt", "size", "style", "quality"}

    def submit(size: str) -> Any:
        return slack.send_interaction(
            bot.url,
            {
                "type": "view_submission",
                "user": {"id": USER, "team_id": slack.team_id},
                "team": {"id": slack.team_id, "domain": slack.team_domain},
                "trigger_id": "999.000.submit",
                "view": {
                    **view,
                    "state": {
                        "values": {
                            "prompt": {"value": {"type": "plain_text_input", "value": "a brave knight riding a snail"}},
                            "size": {"value": {"type": "static_select", "selected_option": {"value": size}}},
                            "style": {"value": {"type": "static_select", "selected_option": None}},
                            "quality": {"value": {"type": "static_select", "selected_option": {"value": "hd"}}},
                        }
                    },
                },
            },
        )

    refused = submit("256x256")
    assert refused.json()["response_action"] == "errors"
    assert "256x256" in refused.json()["errors"]["size"]
    assert rows(engine) == []

    accepted = submit("1792x1024")
    assert accepted.status == 200
    assert accepted.body in (b"", b"{}") or "errors" not in accepted.json()
    [row] = finished_rows(engine)
    assert (row.origin, row.channel_id, row.user_id) == ("shortcut", CHANNEL, USER)
    assert (row.prompt, row.size, row.quality) == ("a brave knight riding a snail", "1792x1024", "hd")
    assert image_posts(slack)
    # No response_url with a modal: progress and outcome reach the requester as ephemeral messages.
    slack.wait_for(lambda: [m for m in slack.ephemerals(USER) if "posted" in (m.text or "")], timeout=10)


def test_a_slow_generation_tells_the_requester_it_is_still_going(
    run_bot: BotFactory, slack: SlackEmulator, azure: Any, engine: Engine
) -> None:
    from bot.emulators.azure import Slow

    azure.fail_next(Slow(2.0))
    bot = run_bot("dall-e-3", PROGRESS_UPDATE_SECONDS="0.5")

    sent = slack.send_command(bot.url, "a patient tortoise")

    final_response(slack, sent.response_url)
    texts = [str(p.body["text"]) for p in slack.responses(sent.response_url)]
    assert texts[0].startswith(":art: Generating")
    assert texts[1].startswith(":art: Still generating")
    assert "s so far" in texts[1]
    assert "is posted" in texts[-1]
    assert len(texts) == 3
