"""Slack entry points. `register` is the table of contents: one line per thing Slack can send us."""

from __future__ import annotations

from slack_bolt import App

from bot import replies
from bot.listeners.buttons import DeleteButton, VariationButtons
from bot.listeners.home import AppHome
from bot.listeners.imagine import ImagineCommand
from bot.listeners.shortcut import ImagineThisShortcut


def register(
    app: App,
    *,
    imagine: ImagineCommand,
    variations: VariationButtons,
    delete: DeleteButton,
    shortcut: ImagineThisShortcut,
    home: AppHome,
) -> None:
    # Inline, not lazy: these only parse and insert rows, and `process_before_response=True` answers
    # in well under a millisecond instead of waiting on Bolt's 5-thread pool (DESIGN.md, step 2).
    # `/imagine usage csv` uploads a file after the ack, lazily; only that command pays for the hand-off.
    usage = imagine.usage
    app.command("/imagine", matchers=[usage.asks_for_csv])(ack=usage.acknowledge_csv, lazy=[usage.send_csv])
    app.command("/imagine")(imagine)
    app.action(replies.REGENERATE)(variations)
    app.action(replies.USE_REVISED)(variations)
    app.action(replies.MORE)(variations)
    # Delete calls Slack (files.delete, chat.delete), so it runs after the ack, lazily.
    app.action(replies.DELETE)(ack=delete.acknowledge, lazy=[delete.delete])
    app.shortcut(replies.SHORTCUT)(shortcut.open_modal)
    app.view(replies.MODAL)(shortcut.submit)
    # The Events API wants its 200 at once; the Home tab is built and published after it.
    app.event("app_home_opened")(ack=home.acknowledge, lazy=[home.publish])
