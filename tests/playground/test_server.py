"""The page's JSON API and what it renders, with the emulators and the real bot behind it; the bot's
settings from the page (the prompt reviser, the model switcher that restarts the bot)."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from devkit.playground.runner import RESPONSES_DEPLOYMENT, USER_ID, BotChoice
from tests.playground.conftest import Running, State, action_ids, results, run_playground

pytestmark = pytest.mark.e2e

_SRC = re.compile(r'src="(/files/F[A-Z0-9]+/[^"]+)"')


@pytest.fixture(scope="module")
def running() -> Iterator[Running]:
    """One playground for the module, revising prompts as the page's switch allows. The test that
    restarts the bot with another model runs last (tests/conftest.py orders it)."""
    with run_playground(BotChoice("gpt-image-2", revise_prompts=True)) as started:
        yield started


def test_imagine_from_this_image_starts_from_the_posted_picture(running: Running) -> None:
    page = running.page
    [sample] = [m for m in page.state()["messages"] if m["ts"] == running.sample_ts]
    assert [s["callback_id"] for s in sample["shortcuts"]] == ["imagine_from_image", "imagine_this"]
    assert page.post("/api/shortcut", {"ts": running.sample_ts, "callback_id": "imagine_from_image"})["ok"]
    modal = page.until(lambda s: s["modal"])
    assert modal["title"] == "Imagine from image"
    assert page.post("/api/view", {"view_id": modal["id"], "fields": {"prompt": "as a watercolour"}})["ok"]
    page.until(lambda s: any("imagined, from a picture" in m["html"] for m in s["messages"]))


@pytest.fixture(scope="module")
def result(running: Running) -> dict[str, Any]:
    """One finished `/imagine a lighthouse at dusk --n 2`, shared by the tests that work from it (two images:
    no previews, so it is quick; the browser test watches a single image with its previews)."""
    assert running.page.post("/api/send", {"text": "/imagine a lighthouse at dusk --n 2"}) == {
        "ok": True,
        "error": None,
    }
    # Its own result: a test that ran first on this playground (the shortcut's) may have finished one too.
    return running.page.until(
        lambda s: next(
            (m for m in results(s) if "a lighthouse at dusk" in m["html"] and "from a picture" not in m["html"]), None
        )
    )


def test_a_command_is_one_message_with_its_pictures_buttons_and_thread(
    running: Running, result: dict[str, Any]
) -> None:
    state = running.page.state()
    job = result_job(result)  # other tests of this module may have run first: find this request's ack
    notes = [m["html"] for m in state["messages"] if m["ephemeral"]]
    assert any(re.search(rf"Job {job} \(gpt-image-2\) is (next|\w+) in line", html) for html in notes), notes
    assert result["edited"]  # the placeholder, updated in place
    assert result["html"].count('class="bk-card"') == 2
    assert result["html"].count('alt="a lighthouse at dusk"') == 2
    assert action_ids(result) == {
        "imagine_edit",
        "imagine_vary",
        "imagine_upscale",
        "imagine_regenerate",
        "imagine_delete",
    }
    assert [b["value"] for b in result["buttons"] if b["action_id"] == "imagine_edit"] == [
        f"{result_job(result)}:0",
        f"{result_job(result)}:1",
    ]
    sources = _SRC.findall(result["html"])
    assert len(set(sources)) == 2
    picture = running.page.http.get(sources[0])
    assert picture.headers["content-type"] == "image/png"
    assert picture.content.startswith(b"\x89PNG")
    # The files are shared in the message's own thread, where the channel can see them.
    replies = next(m for m in state["messages"] if m["key"] == result["key"])["replies"]
    assert all(src in replies[-1]["html"] for src in sources)


def result_job(result: dict[str, Any]) -> str:
    """The job id a result's buttons carry (Regenerate's value)."""
    return str(next(b["value"] for b in result["buttons"] if b["action_id"] == "imagine_regenerate"))


def test_a_mention_in_the_thread_edits_the_newest_image(running: Running, result: dict[str, Any]) -> None:
    running.page.post("/api/send", {"text": "make the sky pink", "thread_ts": result["ts"]})

    def edit(state: State) -> dict[str, Any] | None:
        root = next(m for m in state["messages"] if m["ts"] == result["ts"])
        return next((r for r in root["replies"] if "asked for an edit" in r["html"]), None)

    placeholder = running.page.until(edit)
    assert "make the sky pink" in placeholder["html"]


def test_edit_opens_a_modal_that_shows_the_bots_field_errors(running: Running, result: dict[str, Any]) -> None:
    page = running.page
    value = f"{result_job(result)}:1"
    assert page.post("/api/click", {"ts": result["ts"], "action_id": "imagine_edit", "value": value})["ok"]
    modal = page.until(lambda s: s["modal"])
    assert modal["title"] == "Edit this image"
    assert 'data-block-id="prompt"' in modal["html"]
    refused = page.post("/api/view", {"view_id": modal["id"], "fields": {"prompt": " "}})
    assert refused["ok"] is False
    assert set(refused["errors"]) == {"prompt"}
    assert '<div class="bk-error" role="alert">' in page.state()["modal"]["html"]
    assert page.post("/api/view", {"view_id": modal["id"], "fields": {"prompt": "add a small boat"}})["ok"]
    assert page.state()["modal"] is None  # the bot took it: the edit is queued


def test_usage_and_the_app_home_with_its_chart(running: Running) -> None:
    page = running.page
    page.post("/api/send", {"text": "/imagine usage"})
    page.until(lambda s: any(m["ephemeral"] and "Workspace, last 30 days" in m["html"] for m in s["messages"]))
    page.post("/api/home")
    home = page.until(lambda s: s["home"])
    [chart] = re.findall(r'src="(http://127\.0\.0\.1:\d+/charts/[^"]+)"', home["html"])
    answer = httpx.get(chart.replace("&amp;", "&"), trust_env=False)
    assert answer.status_code == 200
    assert answer.headers["content-type"] == "image/png"


def test_the_page_its_files_and_its_guards(running: Running) -> None:
    http = running.page.http
    assert 'src="/static/app.js"' in http.get("/").text
    assert http.get("/static/style.css").headers["content-type"].startswith("text/css")
    assert http.get("/static/../runner.py").status_code == 404
    assert http.get("/files/F0099999999/x.png").status_code == 404
    assert http.post("/api/send", content=b'{"text": "hi"}', headers={"content-type": "text/plain"}).status_code == 415
    assert http.post("/api/click", json={"ts": "1.000001", "action_id": "x", "value": ""}).status_code == 400


def test_each_choice_gives_the_bot_its_own_settings(running: Running) -> None:
    playground = running.playground
    env = playground.environment_for(BotChoice("gpt-image-1-mini", revise_prompts=True))
    assert (env["IMAGE_MODEL"], env["AZURE_OPENAI_DEPLOYMENT"]) == ("gpt-image-1-mini", "gpt-image-1-mini")
    assert env["AZURE_OPENAI_RESPONSES_DEPLOYMENT"] == RESPONSES_DEPLOYMENT
    assert "dalle3" not in env["AZURE_OPENAI_EXTRA_DEPLOYMENTS"]
    assert env["ADMIN_USER_IDS"] == USER_ID
    assert env["PUBLIC_URL"] == f"http://127.0.0.1:{env['PORT']}"
    assert env["DATABASE_URL"] == playground.database_url
    assert env["SLACK_BOT_TOKEN"] == playground.slack.bot_token != "xoxb-test-token"
    assert "AZURE_OPENAI_RESPONSES_DEPLOYMENT" not in playground.environment_for(BotChoice())


def test_revised_prompts_work_offline(running: Running) -> None:
    page = running.page
    assert page.state()["choice"] == {"model": "gpt-image-2", "revise_prompts": True}
    page.post("/api/send", {"text": "/imagine a quiet harbour at noon"})  # its own prompt: others ran first
    result = page.until(lambda s: next((r for r in results(s) if "a quiet harbour at noon" in r["html"]), None))
    assert "Prompt the model used:" in result["html"]
    assert "imagine_use_revised" in {b["action_id"] for b in result["buttons"]}


def test_last_the_retired_model_fails_in_words_after_a_restart(running: Running) -> None:
    page = running.page
    assert page.post("/api/bot", {"model": "dall-e-3"})["ok"]
    page.until(lambda s: s["bot"]["status"] == "ready" and s["choice"]["model"] == "dall-e-3", timeout=60)
    assert "dall-e-3 (retired)" in page.state()["bot"]["detail"]
    page.post("/api/send", {"text": "/imagine a cat"})
    failure = page.until(lambda s: next((m for m in s["messages"] if "is not available" in m["html"]), None))
    assert "dalle3" in failure["html"]
