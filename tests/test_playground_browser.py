"""The playground in a real browser: headless Chromium (Debian's `chromium` + `chromium-driver`) drives
the page the way a newcomer would — type a command, watch the image arrive, click Regenerate.

Skipped where Chromium or its driver is not installed (`.ci/run` installs both). The screenshot of the
page goes to the test's temporary directory; with UPDATE_SCREENSHOT=1 it replaces the README's
`docs/playground.png` (so an ordinary test run never dirties the working tree).
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from bot.playground.runner import Playground

if TYPE_CHECKING:
    from selenium.webdriver.remote.webdriver import WebDriver

ROOT = Path(__file__).resolve().parent.parent
CHROMIUM = Path("/usr/bin/chromium")
CHROMEDRIVER = Path("/usr/bin/chromedriver")
SCREENSHOT = ROOT / "docs" / "playground.png"
WINDOW = (1280, 900)

pytestmark = [
    pytest.mark.e2e,
    pytest.mark.skipif(
        not (CHROMIUM.exists() and CHROMEDRIVER.exists()),
        reason=f"needs {CHROMIUM} and {CHROMEDRIVER} (Debian: apt-get install chromium chromium-driver)",
    ),
]

# Images in the channel that the browser has actually loaded and decoded.
_LOADED_IMAGES = """
return Array.from(document.querySelectorAll('.message:not(.ephemeral) img.file-image'))
  .filter((img) => img.complete && img.naturalWidth > 0).length;
"""


@pytest.fixture
def playground(tmp_path: Path) -> Iterator[Playground]:
    # A little Azure latency, so the page really goes through "Imagining…" and "Generating…".
    with Playground(model="dall-e-3", port=0, azure_latency_s=0.3, state_dir=tmp_path / "state") as running:
        yield running


@pytest.fixture
def browser(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[WebDriver]:
    webdriver = pytest.importorskip("selenium.webdriver", reason="selenium is not installed (pip install -e .[dev])")
    from selenium.webdriver.chrome.service import Service

    # Both paths are given, so Selenium Manager has nothing to find; offline mode makes sure it never
    # tries to download a browser or a driver.
    monkeypatch.setenv("SE_OFFLINE", "true")
    options = webdriver.ChromeOptions()
    options.binary_location = str(CHROMIUM)
    for flag in (
        "--headless=new",
        "--no-sandbox",  # CI containers run as root, where Chromium's sandbox cannot start
        "--disable-gpu",
        "--disable-dev-shm-usage",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--no-first-run",
        f"--user-data-dir={tmp_path / 'chromium-profile'}",
        f"--window-size={WINDOW[0]},{WINDOW[1]}",
        "--hide-scrollbars",
        "--force-device-scale-factor=1",
        "--lang=en-US",
    ):
        options.add_argument(flag)
    driver = webdriver.Chrome(options=options, service=Service(executable_path=str(CHROMEDRIVER)))
    # --window-size includes the (invisible) browser frame; pin the page's own viewport instead.
    metrics = {"width": WINDOW[0], "height": WINDOW[1], "deviceScaleFactor": 1, "mobile": False}
    driver.execute_cdp_cmd("Emulation.setDeviceMetricsOverride", metrics)
    driver.set_page_load_timeout(20)
    try:
        yield driver
    finally:
        driver.quit()


def wait_until(driver: WebDriver, condition: Any, what: str, timeout: float = 20) -> Any:
    from selenium.common.exceptions import TimeoutException
    from selenium.webdriver.support.ui import WebDriverWait

    try:
        return WebDriverWait(driver, timeout, poll_frequency=0.1).until(condition)
    except TimeoutException:
        messages = driver.execute_script(
            "return Array.from(document.querySelectorAll('.message')).map((m) => m.innerText).join('\\n---\\n')"
        )
        raise AssertionError(f"the page never showed {what}; the channel shows:\n{messages}") from None


def test_type_a_command_see_the_image_and_regenerate_it(
    playground: Playground, browser: WebDriver, tmp_path: Path
) -> None:
    from selenium.webdriver.common.by import By
    from selenium.webdriver.common.keys import Keys

    browser.get(playground.url)
    wait_until(browser, lambda d: d.find_elements(By.CSS_SELECTOR, "#bot-status.ready"), "the bot as ready")
    assert "Offline playground — emulated Slack and Azure" in browser.find_element(By.CSS_SELECTOR, ".banner").text

    composer = browser.find_element(By.ID, "composer-input")
    composer.send_keys("/imag")
    assert browser.find_element(By.ID, "slash-hint").is_displayed()  # the /imagine hint, as in Slack
    composer.send_keys("ine a lighthouse at dusk", Keys.ENTER)

    wait_until(
        browser,
        lambda d: [
            e for e in d.find_elements(By.CSS_SELECTOR, ".message.ephemeral") if "a lighthouse at dusk" in e.text
        ],
        "the ephemeral ack",
    )
    wait_until(browser, lambda d: d.execute_script(_LOADED_IMAGES) >= 1, "the first image")
    posted = browser.find_element(By.CSS_SELECTOR, ".message.has-image:not(.ephemeral)")
    assert "imagine-bot" in posted.text
    assert "a lighthouse at dusk" in posted.text  # the prompt, credited to @you
    assert "@you" in posted.text
    assert "A richly detailed illustration of a lighthouse at dusk" in posted.text  # the revised prompt
    # "Imagining…" has been replaced in place by the outcome, still only for the requester.
    wait_until(
        browser,
        lambda d: [e for e in d.find_elements(By.CSS_SELECTOR, ".message.ephemeral") if "posted" in e.text],
        "the ack replaced by the outcome",
    )
    assert "Only visible to you" in browser.find_element(By.CSS_SELECTOR, ".message.ephemeral").text

    regenerate = _regenerate_button(browser)
    shot = tmp_path / "playground.png"
    browser.execute_script("document.getElementById('messages').scrollTop = 1e9;")
    assert browser.save_screenshot(str(shot))
    if os.environ.get("UPDATE_SCREENSHOT") == "1":
        SCREENSHOT.parent.mkdir(exist_ok=True)
        shutil.copyfile(shot, SCREENSHOT)

    if regenerate is None:
        pytest.skip("Regenerate button not yet implemented (issue 5)")
    regenerate.click()
    wait_until(browser, lambda d: d.execute_script(_LOADED_IMAGES) >= 2, "a second image after Regenerate")


def _regenerate_button(browser: WebDriver) -> Any:
    """The Regenerate button under the image; None only while the bot has no such button (issue 5)."""
    from selenium.webdriver.common.by import By

    from bot import replies

    def find(driver: WebDriver) -> Any:
        found = [b for b in driver.find_elements(By.CSS_SELECTOR, "button[data-action-id]") if b.text == "Regenerate"]
        return found[-1] if found else None

    if not hasattr(replies, "REGENERATE"):
        return find(browser)
    return wait_until(browser, find, "the Regenerate button")
