"""The composition root: every long-lived object is built here, from Settings, and nothing at import.

`run()` serves one process in one of the three shapes of DESIGN.md:
- serve  — Slack listener and workers together (SQLite by default);
- web    — the Slack listener alone;
- worker — workers alone (any number of them on one PostgreSQL database).
"""

from __future__ import annotations

import json
import logging
import signal
import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import timedelta
from types import FrameType
from typing import TYPE_CHECKING, Any

import httpx
from pydantic import SecretStr
from slack_bolt import App, BoltResponse
from slack_bolt.adapter.wsgi import SlackRequestHandler
from slack_bolt.error import BoltError
from slack_sdk import WebClient
from sqlalchemy import Engine

from bot import listeners, slack_compat
from bot.charts_http import ChartEndpoint, chart_signing_key
from bot.database import create_database_engine
from bot.delivery import SlackDelivery, slack_retry_handlers
from bot.http_guard import SlackRequestGuard
from bot.images.azure import AzureOpenAIImages
from bot.intake import Intake
from bot.jobs.queue import JobQueue, utc_now
from bot.jobs.ratelimit import SharedRateLimit
from bot.jobs.retry import RetryPolicy
from bot.jobs.worker import JobRunner, WorkerPool
from bot.listeners.buttons import DeleteButton, VariationButtons
from bot.listeners.home import AppHome
from bot.listeners.imagine import ImagineCommand
from bot.listeners.shortcut import ImagineThisShortcut
from bot.listeners.usage import UsageCommand
from bot.settings import Settings
from bot.usage.limits import Limits

if TYPE_CHECKING:
    from _typeshed.wsgi import StartResponse, WSGIApplication, WSGIEnvironment

log = logging.getLogger(__name__)

# Slack's largest payloads (modal submissions) are tens of kilobytes; refuse anything far beyond.
MAX_REQUEST_BODY_BYTES = 1024 * 1024


class StartupError(Exception):
    """A problem an operator must fix before the bot can run; the message says which and how."""


@dataclass
class Components:
    settings: Settings
    engine: Engine
    queue: JobQueue
    slack: WebClient
    http: httpx.Client

    def close(self) -> None:
        self.http.close()
        self.engine.dispose()


def build_components(settings: Settings) -> Components:
    engine = create_database_engine(settings.database_url, pool_size=settings.worker_concurrency + 8)
    slack = WebClient(
        token=settings.slack_bot_token.get_secret_value(),
        base_url=settings.slack_api_url,
        timeout=30,
        retry_handlers=slack_retry_handlers(),
    )
    # trust_env=False: an HTTP(S)_PROXY meant for something else must not capture calls to Azure.
    http = httpx.Client(trust_env=False, limits=httpx.Limits(max_connections=settings.worker_concurrency * 2 + 4))
    return Components(settings, engine, JobQueue(engine), slack, http)


def build_slack_app(components: Components, *, on_enqueued: Callable[[], None]) -> App:
    settings = components.settings
    slack_compat.apply()
    try:
        # The token is checked once here (auth.test) and cached, so no request waits on Slack later.
        app = App(
            client=components.slack,
            token=settings.slack_bot_token.get_secret_value(),
            signing_secret=settings.slack_signing_secret.get_secret_value(),
            process_before_response=True,
            raise_error_for_unhandled_request=False,
        )
    except BoltError as error:
        raise StartupError(f"Slack refused SLACK_BOT_TOKEN at start-up: {_first_line(error)}") from None
    app.error(_log_unhandled_error)
    limits = settings.limits
    intake = Intake(
        components.queue,
        settings.deployments,
        limits=Limits(components.engine, limits) if limits.any else None,
        prices=settings.image_prices,
        on_enqueued=on_enqueued,
    )
    usage = UsageCommand(components.engine, limits, is_admin=settings.admins.__contains__)
    charts = ChartEndpoint(components.engine, chart_signing_key(settings.slack_signing_secret))

    def chart_url(team_id: str) -> str | None:
        # Slack fetches an image block's picture itself: without a public address there is none to give.
        return charts.url_for(settings.public_url, team_id, utc_now()) if settings.public_url else None

    listeners.register(
        app,
        imagine=ImagineCommand(intake, usage),
        variations=VariationButtons(intake),
        delete=DeleteButton(intake, is_admin=settings.admins.__contains__),
        shortcut=ImagineThisShortcut(intake),
        home=AppHome(components.engine, limits, is_admin=settings.admins.__contains__, chart_url=chart_url),
    )
    return app


def _log_unhandled_error(error: Exception, body: dict[str, Any]) -> BoltResponse:
    log.error("unhandled error in a listener (%s)", body.get("type") or body.get("command"), exc_info=error)
    # 200 with a neutral text: Slack shows it to the user, and no exception text leaves the process.
    return BoltResponse(status=200, body="Sorry, something went wrong on our side. It has been logged.")


def _first_line(error: Exception) -> str:
    return str(error).splitlines()[0][:200] if str(error) else type(error).__name__


def build_worker_pool(components: Components) -> WorkerPool:
    settings = components.settings
    generators = {
        name: AzureOpenAIImages(
            endpoint=settings.azure_openai_endpoint,
            api_key=settings.azure_openai_api_key,
            deployment=name,
            model=model,
            # An explicit api-version is for the default deployment; the others use their family's.
            api_version=settings.azure_openai_api_version if name == settings.azure_openai_deployment else None,
            http=components.http,
            timeout_s=settings.azure_timeout_seconds,
            poll_interval_s=settings.azure_poll_seconds,
            max_image_bytes=settings.max_image_bytes,
        )
        for name, model in settings.deployments.items()
    }
    delivery = SlackDelivery(components.slack)
    policy = RetryPolicy(max_attempts=settings.job_max_attempts)
    rate_limit = None
    if settings.azure_rpm_limit is not None:
        rate_limit = SharedRateLimit(
            components.engine, name=f"azure:{settings.azure_openai_deployment}", per_minute=settings.azure_rpm_limit
        )
    return WorkerPool(
        components.queue,
        lambda owner: JobRunner(
            components.queue,
            generators,
            delivery,
            policy=policy,
            owner=owner,
            deadline=timedelta(minutes=settings.job_deadline_minutes),
            prices=settings.image_prices,
            hash_prompts=settings.store_prompts == "hash",
            still_generating_after_s=settings.progress_update_seconds,
        ),
        concurrency=settings.worker_concurrency,
        lease_s=settings.job_lease_seconds,
        poll_s=settings.queue_poll_seconds,
        rate_limit=rate_limit,
    )


class HealthCheck:
    """200 only when the database answers and, where this process runs workers, they are alive."""

    def __init__(self, queue: JobQueue, pool: WorkerPool | None) -> None:
        self._queue = queue
        self._pool = pool

    def __call__(self) -> tuple[bool, dict[str, str]]:
        checks: dict[str, str] = {}
        try:
            self._queue.ping()
            checks["database"] = "ok"
        except Exception as error:  # any driver error means "not ready"; its text may carry a DSN
            log.warning("health check: database did not answer (%s)", type(error).__name__)
            checks["database"] = "unavailable"
        if self._pool is not None:
            checks["workers"] = "ok" if self._pool.alive() else "stopped"
        return all(v == "ok" for v in checks.values()), checks


def build_wsgi(
    slack_app: App | None,
    health: HealthCheck,
    *,
    signing_secret: SecretStr | None = None,
    charts: ChartEndpoint | None = None,
) -> WSGIApplication:
    """`/healthz` unsigned; `/slack/events` only through the guard (size, content type, signature, shape);
    `/charts/…` only with a signed, expiring URL (Slack fetches the App Home chart from there)."""
    slack_handler: WSGIApplication | None = None
    if slack_app is not None:
        if signing_secret is None:
            raise ValueError("the Slack endpoint needs the signing secret")
        slack_handler = SlackRequestGuard(
            SlackRequestHandler(slack_app), signing_secret=signing_secret, max_body_bytes=MAX_REQUEST_BODY_BYTES
        )

    def application(environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
        path, method = environ.get("PATH_INFO", ""), environ.get("REQUEST_METHOD", "")
        if path == "/healthz" and method in ("GET", "HEAD"):
            ok, checks = health()
            return _respond(start_response, 200 if ok else 503, {"status": "ok" if ok else "unavailable", **checks})
        if path == "/slack/events" and slack_handler is not None:
            if method != "POST":
                return _respond(start_response, 405, {"error": "method not allowed"})
            return slack_handler(environ, start_response)
        if path.startswith("/charts/") and charts is not None:
            if method not in ("GET", "HEAD"):
                return _respond(start_response, 405, {"error": "method not allowed"})
            return charts(environ, start_response)
        return _respond(start_response, 404, {"error": "not found"})

    return application


def _respond(start_response: StartResponse, status: int, body: dict[str, str]) -> list[bytes]:
    payload = json.dumps(body).encode()
    reason = {200: "OK", 404: "Not Found", 405: "Method Not Allowed", 503: "Service Unavailable"}[status]
    start_response(f"{status} {reason}", [("Content-Type", "application/json"), ("Content-Length", str(len(payload)))])
    return [payload]


def run(settings: Settings, *, web: bool, workers: bool) -> None:
    """Serve until SIGTERM or SIGINT, then drain: stop claiming, finish or release jobs, exit."""
    from waitress.server import create_server

    components = build_components(settings)
    pool = build_worker_pool(components) if workers else None
    on_enqueued = pool.wake if pool is not None else (lambda: None)
    slack_app = build_slack_app(components, on_enqueued=on_enqueued) if web else None
    socket_mode = None
    if slack_app is not None and settings.slack_app_token is not None:
        from slack_bolt.adapter.socket_mode import SocketModeHandler

        socket_mode = SocketModeHandler(slack_app, settings.slack_app_token.get_secret_value())
    # The HTTP listener always runs: /healthz for the platform, /slack/events unless Socket Mode, and the
    # App Home chart wherever Slack can reach it (PUBLIC_URL), Socket Mode included.
    charts = None
    if web and settings.public_url:
        charts = ChartEndpoint(components.engine, chart_signing_key(settings.slack_signing_secret))
    wsgi = build_wsgi(
        slack_app if socket_mode is None else None,
        HealthCheck(components.queue, pool),
        signing_secret=settings.slack_signing_secret,
        charts=charts,
    )
    server = create_server(
        wsgi,
        host=settings.host,
        port=settings.port,
        threads=8,
        max_request_body_size=MAX_REQUEST_BODY_BYTES,
        ident="imagine-bot",
        # Waitress's main loop visits every open connection each time it wakes, so fewer open at once
        # keeps a burst cheap (bench, 200 commands at once: p99 1.2 s at waitress's default of 100,
        # 0.37 s at 50, 0.3 s at 25). Idle keep-alive sockets are closed after 15 s instead of 120 s, so
        # they do not hold places a new request needs.
        connection_limit=settings.http_connection_limit,
        channel_timeout=15,
    )
    _exit_on_signals()
    if pool is not None:
        pool.start()
    if socket_mode is not None:
        socket_mode.connect()  # type: ignore[no-untyped-call]
        log.info("connected to Slack in Socket Mode")
    log.info(
        "listening on http://%s:%s (%s)",
        settings.host,
        getattr(server, "effective_port", settings.port),
        "+".join(part for part, on in (("web", web), ("workers", workers)) if on),
    )
    try:
        server.run()
    finally:
        log.info("shutting down")
        if socket_mode is not None:
            socket_mode.close()  # type: ignore[no-untyped-call]
        if pool is not None:
            pool.stop(settings.shutdown_grace_seconds)
        components.close()


def _exit_on_signals() -> None:
    if threading.current_thread() is not threading.main_thread():
        return

    def stop(signum: int, _frame: FrameType | None) -> None:
        # waitress's loop turns SystemExit into an orderly close; the finally-block above drains.
        raise SystemExit(0)

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
