"""Slack entry points. `register` is the table of contents: one line per thing Slack can send us."""

from __future__ import annotations

from slack_bolt import App

from bot.listeners.imagine import ImagineCommand


def register(app: App, *, imagine: ImagineCommand) -> None:
    # Inline, not lazy: the listener only parses and inserts a row, and `process_before_response=True`
    # answers in well under a millisecond instead of waiting on Bolt's 5-thread pool (DESIGN.md, step 2).
    app.command("/imagine")(imagine)
