"""The playground in a real browser (headless Chromium): a person types, watches, clicks and replies.

Skipped where Chromium, chromedriver or selenium is missing. Every wait is a WebDriverWait on a condition;
the one moment that must last (a preview on screen) is held with the Azure emulator's own gate.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, TypeVar

import httpx
import pytest

from devkit.playground.browser import available, chromium
from tests.playground.conftest import Running

if TYPE_CHECKING:
    from selenium.webdriver.chrome.webdriver import WebDriver
    from selenium.webdriver.remote.webelement import WebElement

pytestmark = [
    pytest.mark.e2e,
    pytest.mark.skipif(not available(), reason="needs /usr/bin/chromium, /usr/bin/chromedriver and selenium"),
]

T = TypeVar("T")
WAIT_S = 90.0  # the bot's jobs on a busy machine; every wait ends as soon as its condition holds
PROMPT = "a lighthouse at dusk"


@pytest.fixture(scope="module")
def browser(running: Running) -> Iterator[WebDriver]:
    with chromium(1400, 1000) as driver:
        driver.get(f"{running.server.url}/")
        yield driver


def wait(driver: WebDriver, condition: Callable[[WebDriver], T | None], timeout: float = WAIT_S) -> T:
    """`condition`'s first truthy answer, checked every 0.1 s; TimeoutException after `timeout` seconds."""
    from selenium.common.exceptions import StaleElementReferenceException
    from selenium.webdriver.support.ui import WebDriverWait

    # The page replaces a message's element whenever the message changes: an element read a moment ago
    # may be gone, and the condition is simply asked again.
    waiting = WebDriverWait(driver, timeout, poll_frequency=0.1, ignored_exceptions=(StaleElementReferenceException,))
    found = waiting.until(condition)
    assert found is not None  # until() returns only a truthy answer
    return found


def css(scope: WebDriver | WebElement, selector: str) -> list[WebElement]:
    from selenium.webdriver.common.by import By

    return scope.find_elements(By.CSS_SELECTOR, selector)


def type_line(driver: WebDriver, box_id: str, text: str) -> None:
    from selenium.webdriver.common.keys import Keys

    [box] = css(driver, f"#{box_id}")
    box.send_keys(text + Keys.ENTER)


def loaded(images: list[WebElement]) -> bool:
    """Every picture downloaded and decoded (an image that failed has no natural width)."""
    return all(
        image.get_property("complete") and int(str(image.get_property("naturalWidth") or 0)) > 0 for image in images
    )


def bot_message(driver: WebDriver, scope: str, has: Callable[[WebElement], bool]) -> WebElement | None:
    """The newest channel message (or thread reply) in `scope` that satisfies `has`."""
    found = [m for m in css(driver, f"{scope} .message[data-key^='m']") if has(m)]
    return found[-1] if found else None


def pictures(message: WebElement, selector: str = "img") -> list[WebElement]:
    return css(message, selector)


def finished(message: WebElement) -> bool:
    return bool(css(message, "button[data-action-id='imagine_regenerate']"))


def click(driver: WebDriver, selector: str) -> None:
    """Click the first element `selector` finds, finding it again if the page replaced it meanwhile."""

    def clicked(d: WebDriver) -> bool:
        found = css(d, selector)
        if found:
            found[0].click()
        return bool(found)

    wait(driver, clicked)


def test_a_request_fills_in_one_message_then_a_carousel_a_regeneration_and_an_edit_in_the_thread(
    running: Running, browser: WebDriver
) -> None:
    """Elements are read inside the waits: the page replaces a message's element each time it changes."""
    driver = browser
    # The lighthouse's stream stops after its partial images until the test lets it go on.
    gate = running.playground.azure.pause("generate")
    type_line(driver, "composer-input", f"/imagine {PROMPT}")

    def placeholder(d: WebDriver) -> tuple[str, str] | None:
        found = bot_message(d, "#messages", lambda m: PROMPT in m.text and "Drawing" in m.text)
        return None if found is None else (found.get_attribute("data-key") or "", found.get_attribute("data-ts") or "")

    key, root_ts = wait(driver, placeholder)
    this = f"#messages .message[data-key='{key}']"

    def previews(d: WebDriver) -> list[WebElement]:
        return [i for i in css(d, f"{this} img") if (i.get_attribute("alt") or "").startswith("Rough preview of")]

    wait(driver, lambda d: previews(d) and loaded(previews(d)))
    gate.release()

    # The same message (the same key) now shows the picture, and no preview any more.
    def final(d: WebDriver) -> tuple[str, str] | None:
        shown = [i for m in css(d, this) if finished(m) for i in pictures(m, "img.bk-image-img")]
        if not shown or not loaded(shown) or previews(d):
            return None
        return shown[0].get_attribute("alt") or "", shown[0].get_attribute("src") or ""

    alt, src = wait(driver, final)
    assert alt == PROMPT
    # Clicking the picture opens it full size; a click anywhere closes it.
    click(driver, f"{this} img.bk-image-img")
    [viewer] = css(driver, "#lightbox")  # the viewer itself is never replaced
    wait(driver, lambda d: viewer.is_displayed() and loaded(css(d, "#lightbox-image")))
    assert css(driver, "#lightbox-image")[0].get_attribute("src") == src
    viewer.click()
    wait(driver, lambda d: not viewer.is_displayed())

    # --n 4: one message with a carousel of four different pictures.
    type_line(driver, "composer-input", "/imagine four logo ideas --n 4")

    def carousel(d: WebDriver) -> list[str] | None:
        for message in css(d, "#messages .message[data-key^='m']"):
            cards = pictures(message, ".bk-card img.bk-card-hero")
            if "four logo ideas" in message.text and len(cards) == 4 and loaded(cards):
                return [card.get_attribute("src") or "" for card in cards]
        return None

    pictures_of = [httpx.get(source, trust_env=False).content for source in wait(driver, carousel)]
    assert len({hashlib.sha256(content).hexdigest() for content in pictures_of}) == 4

    # Regenerate: a new result appears in the lighthouse's thread.
    click(driver, f"{this} button[data-action-id='imagine_regenerate']")
    click(driver, f"{this} .reply-count")
    wait(
        driver,
        lambda d: bot_message(
            d,
            "#thread-messages",
            lambda m: m.get_attribute("data-ts") != root_ts and "imagined:" in m.text and finished(m),
        ),
    )

    # A reply that mentions the bot edits the newest picture of the thread.
    type_line(driver, "thread-input", "make the sky pink")

    def edit(d: WebDriver) -> str | None:
        message = bot_message(d, "#thread-messages", lambda m: "asked for an edit" in m.text and finished(m))
        shown = pictures(message, "img.bk-image-img") if message is not None else []
        return (shown[0].get_attribute("alt") or "") if shown and loaded(shown) else None

    assert wait(driver, edit) == "make the sky pink"
