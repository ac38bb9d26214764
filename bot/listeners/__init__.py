"""Slack entry points. `register` is the table of contents: one line per thing Slack can send us.

Inline (`ack=` only): listeners that only parse and insert a row, answered in well under a millisecond
with `process_before_response=True` instead of waiting on Bolt's thread pool. Anything that calls Slack
(a modal, a private note, a delete) runs after the ack (`lazy=`), so Slack's 3 seconds are never at risk.
"""

from __future__ import annotations

from slack_bolt import App

from bot.listeners.buttons import ResultButtons
from bot.listeners.home import AppHome
from bot.listeners.imagine import ImagineCommand
from bot.listeners.mentions import Mentions
from bot.listeners.shortcuts import Shortcuts
from bot.listeners.usage import UsageCommand
from bot.replies import modals, results


def register(
    app: App,
    *,
    imagine: ImagineCommand,
    usage: UsageCommand,
    buttons: ResultButtons,
    shortcuts: Shortcuts,
    mentions: Mentions,
    home: AppHome,
) -> None:
    app.command("/imagine", matchers=[usage.asks_for_csv])(ack=usage.acknowledge_csv, lazy=[usage.send_csv])
    app.command("/imagine", matchers=[usage.asks_for_usage])(usage)
    app.command("/imagine")(imagine)
    for action in (results.REGENERATE, results.USE_REVISED, results.VARY, results.UPSCALE, results.EDIT):
        app.action(action)(ack=buttons.acknowledge, lazy=[buttons.follow_up])
    app.action(results.DELETE)(ack=buttons.acknowledge, lazy=[buttons.delete])
    app.view(modals.EDIT_MODAL)(buttons.submit_edit)
    app.shortcut(modals.IMAGINE_THIS)(ack=shortcuts.acknowledge, lazy=[shortcuts.open_imagine_this])
    app.shortcut(modals.FROM_IMAGE)(ack=shortcuts.acknowledge, lazy=[shortcuts.open_from_image])
    app.view(modals.IMAGINE_MODAL)(shortcuts.submit_imagine_this)
    app.view(modals.FROM_IMAGE_MODAL)(shortcuts.submit_from_image)
    # The Events API wants its 200 at once: edits from mentions and the Home tab are worked out after it.
    app.event("app_mention")(ack=mentions.acknowledge, lazy=[mentions.handle])
    app.event("app_home_opened")(ack=home.acknowledge, lazy=[home.publish])
