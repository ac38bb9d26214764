"""`python -m devkit.playground.screenshots [--out docs]`: the README's pictures of the playground, taken
in headless Chromium from a scripted session with the real bot.

* playground.png — a result with its buttons, and its thread open (the files, the prompt the model used);
* playground-edit.png — a thread with an edit chain (two replies that mention the bot);
* playground-n4.png — `/imagine four logo ideas --n 4`: one message, a carousel of four pictures.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, TypeVar

from devkit.playground.browser import available, chromium
from devkit.playground.person import Person
from devkit.playground.runner import CHANNEL_ID, USER_ID, BotChoice, Playground
from devkit.playground.sample import SAMPLE_NAME, SAMPLE_TEXT, sample_picture
from devkit.playground.server import PlaygroundServer

if TYPE_CHECKING:
    from selenium.webdriver.chrome.webdriver import WebDriver
    from selenium.webdriver.remote.webelement import WebElement

__all__ = ["main"]

T = TypeVar("T")
WAIT_S = 120.0


def _wait(driver: WebDriver, condition: Callable[[WebDriver], T | None]) -> T:
    from selenium.common.exceptions import StaleElementReferenceException
    from selenium.webdriver.support.ui import WebDriverWait

    ignored = (StaleElementReferenceException,)  # the page replaces a message's element when it changes
    found = WebDriverWait(driver, WAIT_S, poll_frequency=0.1, ignored_exceptions=ignored).until(condition)
    assert found is not None
    return found


def _css(scope: WebDriver | WebElement, selector: str) -> list[WebElement]:
    from selenium.webdriver.common.by import By

    return scope.find_elements(By.CSS_SELECTOR, selector)


def _type(driver: WebDriver, box_id: str, text: str) -> None:
    from selenium.webdriver.common.keys import Keys

    _css(driver, f"#{box_id}")[0].send_keys(text + Keys.ENTER)


def _settled(driver: WebDriver) -> bool:
    """Every picture on screen has loaded, and no message is still being drawn."""
    images = _css(driver, ".messages img, .thread-messages img")
    drawn = all(bool(i.get_property("complete")) and int(str(i.get_property("naturalWidth") or 0)) > 0 for i in images)
    busy = any("Drawing" in m.text or "Queued" in m.text for m in _css(driver, ".message"))
    return drawn and not busy


def _finished(driver: WebDriver, scope: str, words: str) -> WebElement | None:
    """The newest finished result (it has Regenerate) in `scope` whose text has `words`."""
    found = [
        m
        for m in _css(driver, f"{scope} .message[data-key^='m']")
        if words in m.text and _css(m, "button[data-action-id='imagine_regenerate']")
    ]
    return found[-1] if found else None


def take(out: Path) -> list[Path]:
    """Run the session and save the three pictures into `out`; returns their paths."""
    out.mkdir(parents=True, exist_ok=True)
    saved: list[Path] = []
    with Playground(BotChoice(revise_prompts=True), pace_s=1.0) as playground:
        person = Person(playground)
        playground.slack.post_user_message(
            CHANNEL_ID, SAMPLE_TEXT, user=USER_ID, files=[(SAMPLE_NAME, sample_picture(), "image/png")]
        )
        with PlaygroundServer(playground, person, port=0) as server, chromium(1440, 1080) as driver:
            driver.get(f"{server.url}/")

            def shot(name: str) -> None:
                from selenium.webdriver.common.action_chains import ActionChains

                _wait(driver, _settled)
                # The pointer rests on the banner, so no message shows its hover toolbar.
                ActionChains(driver).move_to_element(_css(driver, ".banner")[0]).perform()
                path = out / name
                driver.save_screenshot(str(path))
                saved.append(path)

            _type(driver, "composer-input", "/imagine a lighthouse at dusk")
            result = _wait(driver, lambda d: _finished(d, "#messages", "a lighthouse at dusk"))
            _wait(driver, lambda d: _css(result, ".reply-count"))[0].click()
            _wait(driver, lambda d: _css(d, "#thread-messages .file-image"))
            shot("playground.png")

            _type(driver, "thread-input", "make the sky pink")
            _wait(driver, lambda d: _finished(d, "#thread-messages", "make the sky pink"))
            _type(driver, "thread-input", "add a small red boat")
            _wait(driver, lambda d: _finished(d, "#thread-messages", "add a small red boat"))
            driver.set_window_size(1440, 1900)  # tall enough for the chain: each version, its files, the replies
            shot("playground-edit.png")
            driver.set_window_size(1440, 1080)

            _css(driver, "#thread-close")[0].click()
            _type(driver, "composer-input", "/imagine four logo ideas --n 4")
            _wait(driver, lambda d: _finished(d, "#messages", "four logo ideas"))
            shot("playground-n4.png")
    return saved


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m devkit.playground.screenshots", description=__doc__)
    parser.add_argument("--out", type=Path, default=Path("docs"), help="where to save the pictures (docs)")
    args = parser.parse_args(argv)
    if not available():
        sys.stderr.write("screenshots: needs /usr/bin/chromium, /usr/bin/chromedriver and selenium\n")
        return 1
    for path in take(args.out):
        sys.stdout.write(f"saved {path}\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
