"""`imagine-bot` / `python -m bot`: parse the command line, load settings, configure logging, run."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from typing import TypeVar

from pydantic import ValidationError

from bot.settings import CoreSettings, Settings, describe_errors


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="imagine-bot", description="/imagine for Slack with Azure OpenAI.")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    commands.add_parser("serve", help="Slack listener and workers in one process (the default set-up)")
    commands.add_parser("web", help="the Slack listener alone (scale-out; run workers separately)")
    commands.add_parser("worker", help="workers alone (scale-out; any number on one PostgreSQL database)")
    commands.add_parser("migrate", help="upgrade the database schema to the latest version")
    return parser


_S = TypeVar("_S", bound=CoreSettings)


def _load(settings_class: type[_S]) -> _S:
    try:
        return settings_class()
    except ValidationError as error:
        for line in describe_errors(error, settings_class):
            print(f"imagine-bot: {line}", file=sys.stderr)
        print("imagine-bot: see .env.example for every setting.", file=sys.stderr)
        raise SystemExit(2) from None


def main(argv: Sequence[str] | None = None) -> None:
    args = _parser().parse_args(argv)
    from bot.logs import configure_logging

    if args.command == "migrate":
        core = _load(CoreSettings)
        configure_logging(core.log_level, json_lines=core.log_json)
        from bot.database import migrate

        migrate(core.database_url)
        return

    settings = _load(Settings)
    secrets = [
        s.get_secret_value()
        for s in (
            settings.slack_bot_token,
            settings.slack_signing_secret,
            settings.azure_openai_api_key,
            settings.slack_app_token,
        )
        if s is not None
    ]
    configure_logging(settings.log_level, json_lines=settings.log_json, secrets=secrets)
    from bot.app import StartupError, run

    try:
        run(settings, web=args.command in ("serve", "web"), workers=args.command in ("serve", "worker"))
    except StartupError as error:
        print(f"imagine-bot: {error}", file=sys.stderr)
        raise SystemExit(1) from None


if __name__ == "__main__":
    main()
