"""The playground: the real bot in a page that looks and behaves like a Slack channel, on loopback.

`python -m devkit.playground` (or `python3 dev.py demo`) starts the Slack and Azure emulators, the real
bot as a child process and the page on http://127.0.0.1:8080/. Nothing leaves the machine: no Slack
app and no Azure resource are needed.
"""

from devkit.playground.runner import BotChoice, Playground

__all__ = ["BotChoice", "Playground"]
