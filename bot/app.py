"""The composition root: every long-lived object is built here, from Settings, and nothing at import.
`bot.processes` runs them as the web, worker and serve processes."""

from __future__ import annotations

import functools
import logging
import ssl
import threading
import time
from collections.abc import Callable, Mapping
from concurrent.futures import Executor
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import certifi
import httpx
import httpx2
from slack_bolt import App, BoltResponse
from slack_bolt.error import BoltError
from slack_sdk import WebClient
from sqlalchemy import Engine, event

from bot import listeners
from bot.images.generator import ImageGenerator
from bot.images.models import lifecycle_warnings
from bot.intake import Intake
from bot.jobs.pacing import Pacer
from bot.jobs.queue import JobQueue
from bot.jobs.retry import RetryPolicy
from bot.jobs.rush import GiveWay, OpenRequests, never_give_way
from bot.jobs.writer import JobCommitter
from bot.listeners.buttons import ResultButtons
from bot.listeners.follow_ups import FollowUps
from bot.listeners.home import AppHome
from bot.listeners.imagine import ImagineCommand
from bot.listeners.mentions import Mentions
from bot.listeners.shortcuts import Shortcuts
from bot.listeners.usage import UsageCommand
from bot.settings import Settings
from bot.slack.bodies import patch_bolt
from bot.slack.gateway import SlackGateway
from bot.slack.pacing import ChannelPacing, retry_handlers
from bot.slack.web_client import PooledWebClient
from bot.store.clock import Clock, utc_now
from bot.store.database import create_database_engine
from bot.store.usage import UsageReader
from bot.usage.limits import Limits
from bot.web.charts import ChartEndpoint, chart_signing_key
from bot.worker.announcer import Announcer
from bot.worker.pool import WorkerPool
from bot.worker.runner import JobRunner, RunnerSettings

log = logging.getLogger(__name__)


class StartupError(Exception):
    """A problem an operator must fix before the bot can run; the message says which and how."""


@dataclass
class Components:
    settings: Settings
    engine: Engine
    queue: JobQueue
    reader: UsageReader
    slack: WebClient
    gateway: SlackGateway
    http: httpx.Client
    clock: Clock
    give_way: GiveWay = never_give_way  # bot/jobs/rush.py: only `serve`'s worker has a front beside it

    def close(self) -> None:
        self.http.close()
        self.engine.dispose()


class _SharedTLSContext(ssl.SSLContext):
    # Bolt deep-copies each lazy listener's request, its WebClient included; an SSLContext cannot be
    # copied, and being immutable once built, need not be.
    def __deepcopy__(self, memo: dict[int, object]) -> _SharedTLSContext:
        return self


@functools.cache
def tls_context() -> ssl.SSLContext:
    """One TLS context per process for every HTTPS client. Without it each httpx client loads the CA
    bundle again, and slack_sdk's urllib transport does so on every call: about 50 ms of CPU each."""
    context = _SharedTLSContext(ssl.PROTOCOL_TLS_CLIENT)  # verifies certificates and host names
    context.load_verify_locations(cafile=certifi.where())
    return context


def build_components(
    settings: Settings,
    *,
    clock: Clock = utc_now,
    monotonic: Callable[[], float] = time.monotonic,
    sleep: Callable[[float], None] = time.sleep,
    give_way: GiveWay | None = None,
) -> Components:
    """`clock`, `monotonic` and `sleep` are the seams tests move time through; `give_way`: in `serve`'s
    worker, the pause before each database transaction and each call to Slack while the front answers a
    burst (bot/jobs/rush.py)."""
    engine = create_database_engine(settings.database_url, pool_size=settings.worker_concurrency + 8)
    if give_way is not None:  # every transaction, read or write, waits while the front is rushed
        event.listen(engine, "begin", lambda _connection: give_way())
    way = give_way or never_give_way
    # trust_env=False: an HTTP(S)_PROXY meant for something else must not capture calls to Azure or Slack.
    # One pool for the Web API calls and the file transfers: about two connections per thread that calls.
    http = httpx.Client(
        trust_env=False, verify=tls_context(), limits=httpx.Limits(max_connections=settings.worker_concurrency * 2 + 16)
    )
    slack = PooledWebClient(
        http=http,
        ssl=tls_context(),
        token=settings.slack_bot_token.get_secret_value(),
        base_url=settings.slack_api_url,
        timeout=30,
        retry_handlers=retry_handlers(sleep),
    )
    gateway = SlackGateway(
        slack,
        http=http,
        bot_token=settings.slack_bot_token,
        max_download_bytes=settings.max_image_bytes,
        pacing=ChannelPacing(clock=monotonic, sleep=sleep),
        sleep=sleep,
        give_way=way,
    )
    return Components(
        settings, engine, JobQueue(engine, clock=clock), UsageReader(engine), slack, gateway, http, clock, way
    )


def build_intake(components: Components, committer: JobCommitter) -> Intake:
    settings = components.settings
    limits = settings.limits
    return Intake(
        committer,
        components.queue,
        settings.deployments,
        limits=Limits(components.reader, limits, clock=components.clock) if limits.any else None,
        prices=settings.image_prices,
        progress_in_channel=settings.progress_in_channel,
    )


def build_slack_app(
    components: Components,
    intake: Intake,
    *,
    listener_executor: Executor | None = None,
    open_requests: OpenRequests | None = None,
) -> tuple[App, ImagineCommand]:
    """The Bolt app with every listener registered; the /imagine command is returned for the HTTP fast path.

    With `open_requests` every request Bolt handles counts as open while it runs: Socket Mode's, which
    reach Bolt alone (the HTTP front counts its own), so a burst over the socket holds the worker back
    too (bot/jobs/rush.py)."""
    settings = components.settings
    patch_bolt()
    try:
        # The token is checked once here (auth.test) and cached, so no request waits on Slack later.
        app = App(
            name="imagine-bot",  # without a name Bolt walks the call stack for one, a tenth of a second
            client=components.slack,  # it carries the bot token
            signing_secret=settings.slack_signing_secret.get_secret_value(),
            process_before_response=True,
            raise_error_for_unhandled_request=False,
            listener_executor=listener_executor,
        )
    except BoltError as error:
        raise StartupError(f"Slack refused SLACK_BOT_TOKEN at start-up: {_first_line(error)}") from None
    app.error(_log_unhandled_error)
    if open_requests is not None:
        app.use(_counted_as_open(open_requests))
    is_admin = settings.admins.__contains__
    today = lambda: components.clock().date()  # noqa: E731 (a one-line clock view)
    imagine = ImagineCommand(intake, today=today, revising_with=settings.azure_openai_responses_deployment)
    follow_ups = FollowUps(intake)
    charts = chart_endpoint(components)
    public_url = settings.public_url

    def chart_url(team_id: str) -> str | None:
        # Slack fetches an image block's picture itself: without a public address there is none to give.
        return charts.url_for(public_url, team_id, components.clock()) if public_url else None

    listeners.register(
        app,
        imagine=imagine,
        usage=UsageCommand(components.reader, settings.limits, is_admin=is_admin, clock=components.clock),
        buttons=ResultButtons(follow_ups, components.gateway, is_admin=is_admin, clock=components.clock),
        shortcuts=Shortcuts(intake, components.gateway),
        mentions=Mentions(intake, follow_ups, components.gateway),
        home=AppHome(
            components.reader, settings.limits, is_admin=is_admin, chart_url=chart_url, clock=components.clock
        ),
    )
    return app, imagine


def chart_endpoint(components: Components) -> ChartEndpoint:
    return ChartEndpoint(
        components.reader, chart_signing_key(components.settings.slack_signing_secret), components.clock
    )


def _counted_as_open(open_requests: OpenRequests) -> Callable[[Callable[[], BoltResponse]], BoltResponse]:
    # `next` by that name: Bolt passes a middleware's arguments by name.
    def count_open(next: Callable[[], BoltResponse]) -> BoltResponse:
        open_requests.began()
        try:
            return next()
        finally:
            open_requests.ended()

    return count_open


def _log_unhandled_error(error: Exception, body: dict[str, Any]) -> BoltResponse:
    log.error("unhandled error in a listener (%s)", body.get("type") or body.get("command"), exc_info=error)
    # 200 with a neutral text: Slack shows it to the user, and no exception text leaves the process.
    return BoltResponse(status=200, body="Sorry, something went wrong on our side. It has been logged.")


def _first_line(error: Exception) -> str:
    return str(error).splitlines()[0][:200] if str(error) else type(error).__name__


def build_generators(components: Components) -> dict[str, ImageGenerator]:
    # Imported here, not at the top: only worker processes draw, and the openai package takes a second
    # to import that the web process, which answers Slack, should not spend at start.
    from bot.images.azure import AzureImages, openai_client
    from bot.images.azure_legacy import LegacyAzureImages

    settings = components.settings
    # One HTTP connection pool for every Azure call; the openai client runs on httpx2 (httpx's successor).
    azure_http = httpx2.Client(
        trust_env=False, verify=tls_context(), limits=httpx2.Limits(max_connections=settings.worker_concurrency * 2 + 4)
    )
    client = openai_client(
        settings.azure_openai_endpoint, settings.azure_openai_api_key, azure_http, settings.azure_timeout_seconds
    )
    generators: dict[str, ImageGenerator] = {}
    for name, deployment in settings.deployments.items():
        if deployment.family.is_gpt_image:
            generators[name] = AzureImages(
                client,
                deployment,
                responses_deployment=settings.azure_openai_responses_deployment,
                give_way=components.give_way,
            )
        else:
            generators[name] = LegacyAzureImages(
                endpoint=settings.azure_openai_endpoint,
                api_key=settings.azure_openai_api_key,
                deployment=deployment,
                http=components.http,
                api_version=settings.azure_openai_api_version,
                timeout_s=settings.azure_timeout_seconds,
                poll_interval_s=settings.azure_poll_seconds,
                max_image_bytes=settings.max_image_bytes,
            )
    return generators


def build_runner(
    components: Components,
    generators: Mapping[str, ImageGenerator],
    *,
    owner: str,
    stopping: threading.Event | None = None,
    pacer: Pacer | None = None,
) -> JobRunner:
    settings = components.settings
    revising = settings.azure_openai_responses_deployment is not None
    return JobRunner(
        components.queue,
        generators,
        components.gateway,
        owner=owner,
        policy=RetryPolicy(max_attempts=settings.job_max_attempts),
        prices=settings.image_prices,
        revises=lambda deployment: revising and settings.deployments.get_or_default(deployment).family.is_gpt_image,
        pacer=pacer,
        settings=RunnerSettings(
            deadline=timedelta(minutes=settings.job_deadline_minutes),
            still_drawing_after_s=settings.progress_update_seconds,
            hash_prompts=settings.store_prompts == "hash",
        ),
        clock=components.clock,
        stopping=stopping,
    )


def build_worker_pool(
    components: Components, generators: Mapping[str, ImageGenerator], *, owner: str | None = None
) -> WorkerPool:
    settings = components.settings
    pacer = None
    if settings.azure_rpm_limit is not None:
        pacer = Pacer(
            components.engine, name=f"azure:{settings.azure_openai_deployment}", per_minute=settings.azure_rpm_limit
        )
    return WorkerPool(
        components.queue,
        lambda worker, stopping: build_runner(components, generators, owner=worker, stopping=stopping, pacer=pacer),
        lambda worker: Announcer(components.queue, components.gateway, owner=worker),
        concurrency=settings.worker_concurrency,
        lease_s=settings.job_lease_seconds,
        poll_s=settings.queue_poll_seconds,
        owner=owner,
        # A new job is taken with its message only where the message and the image can go at once.
        crowded=lambda: components.gateway.pacing.crowded(spare=1),
    )


def warn_about_lifecycles(settings: Settings, clock: Clock = utc_now) -> None:
    for warning in lifecycle_warnings(settings.deployments, clock().date()):
        deployment = warning.deployment
        instead = f"; replace it with {warning.replacement}" if warning.replacement else ""
        if warning.retired:
            log.warning("deployment %s runs %s, which Azure retired on %s: every call will fail%s",
                        deployment.name, deployment.model, warning.retires, instead)  # fmt: skip
        else:
            log.warning("deployment %s runs %s, which Azure retires on %s%s",
                        deployment.name, deployment.model, warning.retires, instead)  # fmt: skip
