"""`imagine-bot` / `python -m bot`: parse the command line, load settings, configure logging, run."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from typing import NoReturn, TypeVar

from pydantic import ValidationError

from bot.settings import CoreSettings, Settings, describe_errors


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="imagine-bot", description="/imagine for Slack with Azure OpenAI.")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    commands.add_parser("serve", help="Slack listener and workers in one process (the default set-up)")
    commands.add_parser("web", help="the Slack listener alone (scale-out; run workers separately)")
    worker = commands.add_parser("worker", help="workers alone (scale-out; any number on one PostgreSQL database)")
    # Used by `serve` for its child process: woken through a pipe, and no HTTP listener of its own.
    worker.add_argument("--wake-fd", type=int, help=argparse.SUPPRESS)
    worker.add_argument("--no-http", action="store_true", help=argparse.SUPPRESS)
    worker.add_argument("--rush-fd", type=int, help=argparse.SUPPRESS)
    commands.add_parser("migrate", help="upgrade the database schema to the latest version")
    report = commands.add_parser("report", help="usage by user, channel, day or model: images, failures, cost")
    report.add_argument("--since", default="30d", help="an age (30d, 12h, 2w) or a UTC date/time (default 30d)")
    report.add_argument("--until", help="the same forms; a bare date includes that whole day (default now)")
    report.add_argument("--by", choices=["user", "channel", "day", "model", "origin"], default="user")
    report.add_argument("--format", choices=["table", "csv", "json"], default="table")
    purge = commands.add_parser("purge", help="erase old prompts (PROMPT_RETENTION_DAYS); counts and costs remain")
    purge.add_argument("--older-than", type=int, metavar="DAYS", help="default: PROMPT_RETENTION_DAYS")
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


def _report(args: argparse.Namespace, database_url: str) -> None:
    """Print the usage report to stdout; a bad window or an unreadable database is one line on stderr."""
    from datetime import UTC, datetime

    from sqlalchemy import inspect
    from sqlalchemy.exc import OperationalError

    from bot.store.usage import Grouping, UsageReader
    from bot.usage.report import FORMATS, parse_since, parse_until

    def stop(message: str, code: int) -> NoReturn:
        print(f"imagine-bot: report: {message}", file=sys.stderr)
        raise SystemExit(code)

    now = datetime.now(UTC)
    try:
        since = parse_since(args.since, now)
    except ValueError as error:
        stop(f"--since: {error}", 2)
    try:
        until = parse_until(args.until, now)
    except ValueError as error:
        stop(f"--until: {error}", 2)
    if since >= until:
        stop(f"--since {args.since} is not before --until {args.until or 'now'}", 2)
    from bot.store.database import create_database_engine  # after the checks: it imports Alembic, which logs

    engine = create_database_engine(database_url)
    try:
        if not inspect(engine).has_table("generations"):
            stop("the database has no generations table yet; run imagine-bot migrate", 1)
        report = UsageReader(engine).report(since=since, until=until, by=Grouping(args.by))
    except OperationalError as error:
        stop(f"cannot read the database: {str(error.orig).strip().splitlines()[0]}", 1)
    finally:
        engine.dispose()
    sys.stdout.write(FORMATS[args.format](report, Grouping(args.by)))


def _purge(days: int | None, database_url: str) -> None:
    from datetime import UTC, datetime, timedelta

    from bot.jobs.queue import JobQueue
    from bot.store.database import create_database_engine

    if days is None or days < 1:
        print("imagine-bot: purge: set PROMPT_RETENTION_DAYS or pass --older-than DAYS (1 or more)", file=sys.stderr)
        raise SystemExit(2)
    engine = create_database_engine(database_url)
    try:
        erased = JobQueue(engine).purge_prompts(datetime.now(UTC) - timedelta(days=days))
    finally:
        engine.dispose()
    print(f"Erased the prompts of {erased} request(s) finished more than {days} days ago.", flush=True)


def main(argv: Sequence[str] | None = None) -> None:
    args = _parser().parse_args(argv)
    from bot.logs import configure_logging

    if args.command == "report":
        core = _load(CoreSettings)
        configure_logging(core.log_level, json_lines=core.log_json)
        _report(args, core.database_url)
        return

    if args.command == "purge":
        core = _load(CoreSettings)
        configure_logging(core.log_level, json_lines=core.log_json)
        _purge(args.older_than or core.prompt_retention_days, core.database_url)
        return

    if args.command == "migrate":
        core = _load(CoreSettings)
        configure_logging(core.log_level, json_lines=core.log_json)
        from bot.store.database import migrate

        revision = migrate(core.database_url)
        print(f"imagine-bot: the database schema is at revision {revision} (the latest).", flush=True)
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
    from bot.app import StartupError, warn_about_lifecycles
    from bot.jobs.rush import Rush
    from bot.processes import run_serve, run_web, run_worker

    warn_about_lifecycles(settings)
    if args.command == "serve":
        # The all-in-one mode is the zero-set-up one: bring the (SQLite) schema up to date first.
        # `web`/`worker` deployments migrate once in the release phase instead (Procfile).
        from bot.store.database import MigrationFailed, migrate_in_child

        try:
            migrate_in_child(settings.database_url)
        except MigrationFailed as failed:
            print(f"imagine-bot: {failed}", file=sys.stderr, flush=True)
            raise SystemExit(1) from None
    try:
        if args.command == "serve":
            run_serve(settings)
        elif args.command == "web":
            run_web(settings)
        else:
            rush = Rush(args.rush_fd) if args.rush_fd is not None else None
            run_worker(settings, wake_fd=args.wake_fd, serve_http=not args.no_http, rush=rush)
    except StartupError as error:
        print(f"imagine-bot: {error}", file=sys.stderr, flush=True)
        raise SystemExit(1) from None


if __name__ == "__main__":
    main()
