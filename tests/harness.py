"""The bot in this process, for tests of the middle layer: the real composition root on a migrated
database, Slack's requests through the real HTTP front (ASGI, driven here without a server) and Bolt,
the Slack emulator over real HTTP for the Web API, a scripted image generator behind the real
interface, and time moved by the test (a frozen UTC clock, a fake monotonic clock whose sleep advances
it). Jobs run when the test says so: `bot.work()` posts placeholders and runs every due job.
"""

from __future__ import annotations

import asyncio
import contextlib
import io
from collections import deque
from collections.abc import Callable, Sequence
from concurrent.futures import Executor, Future
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from PIL import Image

from bot.app import build_components, build_intake, build_runner, build_slack_app
from bot.images.generator import (
    GeneratedImage,
    ImageGenerationError,
    ImageResult,
    OnPartial,
    PartialImage,
    TokenUsage,
)
from bot.images.pricing import estimated_output_tokens
from bot.images.request import ImageRequest, InputImage
from bot.jobs.queue import JobQueue
from bot.jobs.writer import DirectCommitter
from bot.settings import Settings
from bot.slack.bodies import RequestCheck
from bot.store.spec import Job
from bot.web.front import SlackFront
from bot.worker.announcer import Announcer
from devkit.slack import SentRequest, SlackEmulator
from tests.conftest import CHANNEL, USER, FrozenClock

OWNER = "test-worker"
_LEASE = timedelta(seconds=30)


class FakeTime:
    """A monotonic clock that stands still until something sleeps: sleeping only advances it."""

    def __init__(self) -> None:
        self.now = 1000.0
        self.slept: list[float] = []

    def monotonic(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.now += seconds

    def advance(self, seconds: float) -> None:
        """Time that passes while something else works (Azure drawing), not slept by the bot."""
        self.now += seconds


class SyncExecutor(Executor):
    """Runs what Bolt hands to its thread pool (lazy listeners) at once, so a test sees it done."""

    def submit(self, fn: Callable[..., Any], /, *args: Any, **kwargs: Any) -> Future[Any]:
        future: Future[Any] = Future()
        try:
            future.set_result(fn(*args, **kwargs))
        except BaseException as error:  # the future carries it, as a thread pool's would
            future.set_exception(error)
        return future


def png(width: int = 64, height: int = 64, colour: tuple[int, int, int] = (200, 80, 40)) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (width, height), colour).save(out, format="PNG")
    return out.getvalue()


@dataclass
class Call:
    operation: str  # "generate" or "edit"
    request: ImageRequest
    images: tuple[InputImage, ...] = ()
    streamed: bool = False


@dataclass
class FakeImages:
    """An `ImageGenerator` that answers from a script: results, errors, or previews then a result."""

    script: deque[ImageResult | ImageGenerationError | Callable[[OnPartial | None], ImageResult]] = field(
        default_factory=deque
    )
    calls: list[Call] = field(default_factory=list)
    partials: int = 0  # previews to send before each default result, where previews are asked for
    revised: str | None = None  # the revised prompt of each default result
    drawing: Callable[[], None] = lambda: None  # called before each preview: lets a test move time

    def will_return(self, result: ImageResult) -> None:
        self.script.append(result)

    def will_fail(self, error: ImageGenerationError) -> None:
        self.script.append(error)

    def generate(self, request: ImageRequest, *, on_partial: OnPartial | None = None) -> ImageResult:
        self.calls.append(Call("generate", request, streamed=on_partial is not None))
        return self._answer(request, on_partial)

    def edit(
        self,
        request: ImageRequest,
        images: Sequence[InputImage],
        *,
        mask: InputImage | None = None,
        on_partial: OnPartial | None = None,
    ) -> ImageResult:
        self.calls.append(Call("edit", request, tuple(images), streamed=on_partial is not None))
        return self._answer(request, on_partial)

    def _answer(self, request: ImageRequest, on_partial: OnPartial | None) -> ImageResult:
        if self.script:
            step = self.script.popleft()
            if isinstance(step, ImageGenerationError):
                raise step
            return step(on_partial) if callable(step) else step
        if on_partial is not None:
            for index in range(self.partials):
                self.drawing()
                with contextlib.suppress(Exception):  # as the real generator: a preview never costs the image
                    on_partial(PartialImage(index, GeneratedImage(png(16, 16, (90, 90, 90 + index)), "image/png")))
        images = tuple(GeneratedImage(png(colour=(10 * i, 120, 200)), "image/png") for i in range(request.n))
        output = estimated_output_tokens(request.size, request.quality) * request.n
        usage = TokenUsage(text_input_tokens=len(request.prompt) // 4 + 1, output_tokens=output)
        return ImageResult(images, self.revised, usage, 1234)


def settings_for(slack: SlackEmulator, database_url: str, **values: Any) -> Settings:
    base: dict[str, Any] = {
        "slack_bot_token": slack.bot_token,
        "slack_signing_secret": slack.signing_secret,
        "slack_api_url": slack.api_url,
        "azure_openai_endpoint": "http://127.0.0.1:9",  # never called: the fake generator answers
        "azure_openai_api_key": "test-azure-key",
        "azure_openai_deployment": "gpt-image-2",
        "database_url": database_url,
    }
    return Settings(_env_file=None, **{**base, **values})  # type: ignore[call-arg]


class Bot:
    """The bot, in process. `url` is where the emulator delivers Slack's requests to it."""

    url = "inprocess://bot"

    def __init__(
        self,
        slack: SlackEmulator,
        database_url: str,
        *,
        clock: FrozenClock,
        images: FakeImages | None = None,
        **settings: Any,
    ) -> None:
        self.slack = slack
        self.clock = clock
        self.time = FakeTime()
        self.settings = settings_for(slack, database_url, **settings)
        self.components = build_components(
            self.settings, clock=clock, monotonic=self.time.monotonic, sleep=self.time.sleep
        )
        self.intake = build_intake(self.components, DirectCommitter(self.components.queue))
        self.app, self.imagine = build_slack_app(self.components, self.intake, listener_executor=SyncExecutor())
        self.front = self.make_front()
        self.images = images or FakeImages()
        generators = dict.fromkeys(self.settings.deployments, self.images)
        self.runner = build_runner(self.components, generators, owner=OWNER)  # type: ignore[arg-type]
        self.announcer = Announcer(
            self.components.queue, self.components.gateway, owner=OWNER, monotonic=self.time.monotonic
        )
        self._loop = asyncio.new_event_loop()
        slack.route(self.url, self.deliver)

    def make_front(self, **extra: Any) -> SlackFront:
        """The ASGI front over this bot, as `serve` builds it; `extra`: SlackFront's optional parts."""
        return SlackFront(
            health=lambda: (True, {"database": "ok"}),
            executor=SyncExecutor(),
            bolt=self.app,
            check=RequestCheck(self.settings.slack_signing_secret),
            imagine=self.imagine,
            intake=self.intake,
            **extra,
        )

    @property
    def queue(self) -> JobQueue:
        return self.components.queue

    def close(self) -> None:
        self._loop.close()
        self.components.close()

    # --- Slack toward the bot -----------------------------------------------------------------

    def deliver(self, body: bytes, headers: dict[str, str]) -> tuple[int, dict[str, str], bytes]:
        """One HTTP request through the real ASGI front, as uvicorn would hand it over."""
        return self.request("POST", "/slack/events", body, headers)

    def request(
        self, method: str, path: str, body: bytes = b"", headers: dict[str, str] | None = None, query: str = ""
    ) -> tuple[int, dict[str, str], bytes]:
        return self._loop.run_until_complete(asgi_call(self.front, method, path, body, headers, query))

    def command(self, text: str, *, user_id: str = USER, channel_id: str = CHANNEL, **extra: Any) -> SentRequest:
        return self.slack.send_command(self.url, text, user_id=user_id, channel_id=channel_id, **extra)

    # --- the worker's side ----------------------------------------------------------------------

    def work(self, *, limit: int = 20) -> list[Job]:
        """Post pending placeholders, then run every due job (and the placeholders they cause)."""
        ran: list[Job] = []
        while len(ran) < limit:
            self.announcer.announce_pending()
            self.announcer.refresh_places()
            job = self.queue.claim(OWNER, _LEASE)
            if job is not None:
                self.runner.run(job)
                ran.append(job)
            elif self.queue.pending_messages(timedelta(seconds=60)):
                self.time.sleep(1.0)  # placeholders wait for their channel's turn (Slack's pace)
            else:
                return ran
        raise AssertionError(f"more than {limit} jobs ran: a job requeues itself?")

    def take(self) -> Job | None:
        """What an idle worker does as a job comes in: claim it with its message still to post, and run it."""
        job = self.queue.claim(OWNER, _LEASE, post_message=True)
        if job is not None:
            self.runner.run(job)
        return job

    def job(self, job_id: int) -> Job:
        found = self.queue.get(job_id)
        assert found is not None, f"no job {job_id}"
        return found

    def jobs(self) -> list[Job]:
        found = []
        job_id = 1
        while (job := self.queue.get(job_id)) is not None:
            found.append(job)
            job_id += 1
        return found


async def asgi_call(
    app: SlackFront,
    method: str,
    path: str,
    body: bytes = b"",
    headers: dict[str, str] | None = None,
    query: str = "",
) -> tuple[int, dict[str, str], bytes]:
    """One HTTP request through an ASGI front, as uvicorn would hand it over: (status, headers, body)."""
    raw = {k.lower(): v for k, v in (headers or {}).items()}
    raw.setdefault("content-length", str(len(body)))
    scope = {
        "type": "http",
        "method": method,
        "path": path,
        "query_string": query.encode(),
        "headers": [(k.encode("latin-1"), v.encode("latin-1")) for k, v in raw.items()],
    }
    incoming = [{"type": "http.request", "body": body, "more_body": False}]
    sent: list[dict[str, Any]] = []

    async def receive() -> dict[str, Any]:
        return incoming.pop(0) if incoming else {"type": "http.disconnect"}

    async def send(message: Any) -> None:
        sent.append(dict(message))

    await app(scope, receive, send)
    start = sent[0]
    answer_headers = {k.decode("latin-1"): v.decode("latin-1") for k, v in start["headers"]}
    return int(start["status"]), answer_headers, b"".join(m.get("body", b"") for m in sent[1:])
