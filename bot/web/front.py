"""The HTTP front: one asyncio server (uvicorn) answering `POST /slack/events`, `GET /healthz` and
`GET /charts/<team>.png`, as a plain ASGI application.

Every Slack request passes `RequestCheck` first (size, content type, ssl_check, signature, shape). A
`/imagine` slash command — the request that comes in bursts — is answered on the event loop itself:
parse, hand the job to the group-commit writer, await its commit, answer. Nothing else happens before
the ack, and a burst costs the same per request whether 1 or 1,000 are open. Everything else goes to
Bolt on a small thread pool. Answers never carry exception text.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Awaitable, Callable, MutableMapping
from concurrent.futures import Executor
from typing import Any, Protocol

from slack_bolt import App, BoltRequest

from bot.intake import ACK_WAIT_S, Intake
from bot.jobs.queue import Enqueued
from bot.jobs.rush import OpenRequests
from bot.listeners.imagine import Accept, ImagineCommand, private
from bot.listeners.usage import usage_words
from bot.replies import notes
from bot.slack.bodies import MAX_BODY_BYTES, STATUS, RequestCheck, Verdict, media_type
from bot.store.spec import JobSpec
from bot.web.charts import PATH_PREFIX, ChartEndpoint

log = logging.getLogger(__name__)

Scope = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[MutableMapping[str, Any]]]
Send = Callable[[MutableMapping[str, Any]], Awaitable[None]]
Health = Callable[[], tuple[bool, dict[str, str]]]
_NEUTRAL = "Sorry, something went wrong on our side. It has been logged."


class AsyncCommitter(Protocol):
    def submit_async(self, spec: JobSpec) -> asyncio.Future[Enqueued]:
        """The job's place once committed, settled on the running loop (bot.jobs.writer.GroupCommitWriter)."""
        ...


class SlackFront:
    def __init__(
        self,
        *,
        health: Health,
        executor: Executor,
        bolt: App | None = None,
        check: RequestCheck | None = None,
        imagine: ImagineCommand | None = None,
        intake: Intake | None = None,
        charts: ChartEndpoint | None = None,
        committer: AsyncCommitter | None = None,
        open_requests: OpenRequests | None = None,
    ) -> None:
        if bolt is not None and check is None:
            raise ValueError("the Slack endpoint needs the request check")
        self._health = health
        self._executor = executor
        self._bolt = bolt
        self._check = check
        self._imagine = imagine
        self._intake = intake
        self._charts = charts
        # With a committer the fast path hands jobs to it directly (its batch hook wakes the workers);
        # without one it goes through `intake.submit` and a thread future.
        self._committer = committer
        self._open = open_requests or OpenRequests(None)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            await _lifespan(receive, send)
            return
        if scope["type"] != "http":
            return
        path, method = str(scope["path"]), str(scope["method"])
        if path == "/healthz":
            if method not in ("GET", "HEAD"):
                await _json(send, 405, {"error": "method not allowed"})
                return
            ok, checks = await self._off_loop(self._health)
            await _json(
                send, 200 if ok else 503, {"status": "ok" if ok else "unavailable", **checks}, head=method == "HEAD"
            )
        elif path == "/slack/events" and self._bolt is not None:
            if method != "POST":
                await _json(send, 405, {"error": "method not allowed"})
                return
            self._open.began()
            try:
                await self._slack(scope, receive, send)
            finally:
                self._open.ended()
        elif path.startswith(PATH_PREFIX) and self._charts is not None:
            if method not in ("GET", "HEAD"):
                await _json(send, 405, {"error": "method not allowed"})
                return
            charts = self._charts
            query = bytes(scope.get("query_string") or b"").decode("latin-1")
            status, headers, body = await self._off_loop(lambda: charts.answer(path, query))
            await _answer(send, status, headers, b"" if method == "HEAD" else body, length=len(body))
        else:
            await _json(send, 404, {"error": "not found"})

    async def _off_loop(self, call: Callable[[], Any]) -> Any:
        return await asyncio.get_running_loop().run_in_executor(self._executor, call)

    async def _slack(self, scope: Scope, receive: Receive, send: Send) -> None:
        assert self._check is not None
        assert self._bolt is not None
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope.get("headers") or []}
        verdict = self._check.before_reading(headers.get("content-length"), headers.get("content-type"))
        if verdict is not Verdict.OK:
            await _refuse(send, verdict)
            return
        body = await _read(receive, MAX_BODY_BYTES)
        if body is None:
            await _refuse(send, Verdict.TOO_LARGE)
            return
        verdict, parsed = self._check.after_reading(
            body,
            headers.get("content-type"),
            headers.get("x-slack-request-timestamp"),
            headers.get("x-slack-signature"),
        )
        if verdict is Verdict.SSL_CHECK:
            await _answer(send, 200, [("Content-Type", "text/plain")], b"")
            return
        if verdict is not Verdict.OK:
            if verdict is Verdict.MALFORMED:
                log.info("refused a signed request with a malformed body")
            await _refuse(send, verdict)
            return
        if (
            self._imagine is not None
            and parsed.get("command") == "/imagine"
            and usage_words(str(parsed.get("text") or "")) is None
        ):
            await _json(send, 200, await self._imagine_fast(parsed))
            return
        # Bolt reads the body again: hand it the normalised content type it compares literally.
        headers["content-type"] = media_type(headers.get("content-type"))
        request = BoltRequest(body=body.decode("utf-8"), headers=headers)
        try:
            response = await self._off_loop(lambda: self._bolt.dispatch(request) if self._bolt else None)
        except Exception:
            # Bolt raised outside any listener (it could not even build a listener's arguments from a
            # payload with wrongly typed fields). The request was signed, so it is logged.
            log.warning("a Slack request Bolt could not dispatch; answered 400", exc_info=True)
            await _refuse(send, Verdict.MALFORMED)
            return
        out = [(k, v) for k, values in response.headers.items() for v in values if k.lower() != "content-length"]
        await _answer(send, response.status, out, response.body.encode("utf-8"))

    async def _imagine_fast(self, command: dict[str, Any]) -> dict[str, Any]:
        assert self._imagine is not None
        assert self._intake is not None
        imagine, intake = self._imagine, self._intake
        try:
            # With limits configured, deciding reads the database: that belongs off the event loop.
            decision = (
                await self._off_loop(lambda: imagine.decide(command))
                if intake.checks_limits
                else imagine.decide(command)
            )
            if not isinstance(decision, Accept):
                return decision.body
            if self._committer is None:
                enqueued = await asyncio.wait_for(asyncio.wrap_future(intake.submit(decision.spec)), ACK_WAIT_S)
            else:
                committed = self._committer.submit_async(decision.spec)
                if intake.checks_limits:  # the limits count it from the database from now on
                    committed.add_done_callback(lambda _: intake.settled(decision.spec))
                enqueued = await _within(committed, ACK_WAIT_S)
        except Exception:
            log.exception("could not queue a request from %s", command.get("user_id"))
            return private(notes.not_accepted())
        return imagine.answer(decision, enqueued)


async def _within(future: asyncio.Future[Enqueued], timeout: float) -> Enqueued:
    """`await asyncio.wait_for(future, timeout)` without its extra future and callbacks per request:
    a timer fails the future with TimeoutError unless the writer settled it first."""

    def expire() -> None:
        if not future.done():
            future.set_exception(TimeoutError(f"the job was not committed within {timeout} s"))

    timer = asyncio.get_running_loop().call_later(timeout, expire)
    try:
        return await future
    finally:
        timer.cancel()


async def _read(receive: Receive, limit: int) -> bytes | None:
    """The whole body, or None past `limit` (a client can lie about Content-Length)."""
    chunks: list[bytes] = []
    size = 0
    while True:
        message = await receive()
        chunk = bytes(message.get("body") or b"")
        size += len(chunk)
        if size > limit:
            return None
        chunks.append(chunk)
        if not message.get("more_body"):
            return b"".join(chunks)


async def _answer(
    send: Send, status: int, headers: list[tuple[str, str]], body: bytes, *, length: int | None = None
) -> None:
    raw = [(k.lower().encode("latin-1"), v.encode("latin-1")) for k, v in headers]
    raw.append((b"content-length", str(len(body) if length is None else length).encode()))
    await send({"type": "http.response.start", "status": status, "headers": raw})
    await send({"type": "http.response.body", "body": body})


async def _json(send: Send, status: int, body: dict[str, Any], *, head: bool = False) -> None:
    payload = json.dumps(body).encode("utf-8")
    await _answer(send, status, [("Content-Type", "application/json")], b"" if head else payload, length=len(payload))


async def _refuse(send: Send, verdict: Verdict) -> None:
    words = {
        Verdict.TOO_LARGE: "request body too large",
        Verdict.BAD_CONTENT_TYPE: "unsupported content type",
        Verdict.UNSIGNED: "invalid request",  # Bolt's own words for this
        Verdict.MALFORMED: "malformed request",
    }
    await _json(send, STATUS[verdict], {"error": words.get(verdict, "refused")})


async def _lifespan(receive: Receive, send: Send) -> None:
    while True:
        message = await receive()
        if message["type"] == "lifespan.startup":
            await send({"type": "lifespan.startup.complete"})
        elif message["type"] == "lifespan.shutdown":
            await send({"type": "lifespan.shutdown.complete"})
            return
