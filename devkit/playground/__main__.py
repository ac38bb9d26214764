"""`python -m devkit.playground` (`python3 dev.py demo`): the playground until Ctrl-C or SIGTERM.

Every line meant for the person is flushed as it is written (issue 17): the URL appears at once even
when stdout is a pipe or a file. Both signals stop the page, the bot and the emulators, and remove the
temporary directory; the exit code is then 0.
"""

from __future__ import annotations

import argparse
import logging
import signal
import socket
import sys
import threading
import webbrowser
from collections.abc import Sequence
from types import FrameType
from typing import TextIO

from devkit.playground.person import Person
from devkit.playground.runner import CHANNEL_ID, MODELS, USER_ID, BotChoice, Playground, describe
from devkit.playground.sample import SAMPLE_NAME, SAMPLE_TEXT, sample_picture
from devkit.playground.server import PlaygroundServer

__all__ = ["main"]


def say(line: str, *, stream: TextIO | None = None) -> None:
    """A line for the person at the terminal, flushed at once (stdout unless told otherwise)."""
    out = stream or sys.stdout
    out.write(line + "\n")
    out.flush()


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m devkit.playground",
        description="Try imagine-bot in a page that looks like a Slack channel: emulated Slack and Azure, "
        "the real bot, nothing leaves this machine.",
    )
    parser.add_argument("--port", type=int, default=8080, help="the page's port on 127.0.0.1 (default 8080)")
    parser.add_argument("--open", action="store_true", help="open the page in a browser")
    parser.add_argument(
        "--model", choices=[m.name for m in MODELS], default="gpt-image-2", help="the model to start with"
    )
    parser.add_argument("--revise-prompts", action="store_true", help="revise prompts through the Responses API")
    parser.add_argument(
        "--pace", type=float, default=1.5, metavar="SECONDS", help="hold each emulated Azure call this long (1.5)"
    )
    return parser


def _port_free(port: int) -> bool:
    with socket.socket() as probe:
        # As the server binds (SO_REUSEADDR): connections of a playground that just stopped do not count.
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    logging.basicConfig(level=logging.WARNING, format="playground: %(levelname)s %(name)s: %(message)s")
    if not _port_free(args.port):
        say(f"playground: port {args.port} is in use; pick another with --port", stream=sys.stderr)
        return 1
    stop = threading.Event()
    serving = False

    def on_signal(signum: int, _frame: FrameType | None) -> None:
        if not serving:
            raise KeyboardInterrupt  # still starting: unwind, and the context managers clean up
        stop.set()

    previous = {sig: signal.signal(sig, on_signal) for sig in (signal.SIGINT, signal.SIGTERM)}
    choice = BotChoice(args.model, args.revise_prompts)
    say(f"Starting the Slack and Azure emulators and the bot ({describe(choice)})…")
    try:
        with Playground(choice, pace_s=args.pace) as playground:
            person = Person(playground)
            playground.slack.post_user_message(
                CHANNEL_ID, SAMPLE_TEXT, user=USER_ID, files=[(SAMPLE_NAME, sample_picture(), "image/png")]
            )
            with PlaygroundServer(playground, person, port=args.port) as server:
                serving = True
                url = f"{server.url}/"
                say(f"Playground ready: open {url}")
                say("Type /imagine a lighthouse at dusk in #general. Ctrl-C stops everything.")
                if args.open:
                    threading.Thread(target=webbrowser.open, args=(url,), daemon=True).start()
                stop.wait()
                say("Stopping the playground…")
    except KeyboardInterrupt:
        say("Stopped before the playground was ready.")
    except (OSError, RuntimeError) as error:
        say(f"playground: {error}", stream=sys.stderr)
        return 1
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    return 0


if __name__ == "__main__":
    sys.exit(main())
