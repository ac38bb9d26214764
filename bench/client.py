"""The load client: fires prebuilt HTTP requests at a server the way Slack does, from its own process.

    python -m bench.client PLAN.json      # started by `run_load`; prints "ready", waits for "go", prints JSON

Why its own process: the emulators live in the benchmark's process, and a client sharing their GIL would
time its own waiting. Why so plain: in the first version (asyncio streams, one coroutine per request,
the default event loop) the client itself cost as much as the server it measured — a trivial server's
p99 for 200 at once was 80–115 ms. Here every request is one `asyncio.Protocol` on uvloop, the bytes are
built and signed before the clock starts, and the answer is read by counting bytes, not by a parser.

It stays an honest burst: every request opens a new TCP connection and says `Connection: close`, as each
Slack delivery does, and in a burst every connection is asked for in the same turn of the event loop.
A request's latency runs from the moment the client asked for its connection to the moment the whole
answer (head and `Content-Length` body) had arrived.
"""

from __future__ import annotations

import asyncio
import json
import os
import resource
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any


def _content_length(head: bytes) -> int:
    """The Content-Length of a lower-cased answer head (0 without one: our servers always send it)."""
    at = head.find(b"content-length:")
    if at < 0:
        return 0
    line_end = head.find(b"\r\n", at)
    return int(head[at + 15 : line_end if line_end >= 0 else len(head)])


class _Exchange(asyncio.Protocol):
    """One request on its own connection: send it, count the answer's bytes, note when it was complete."""

    __slots__ = ("_buffer", "_done", "_need", "_transport", "request", "started", "status")

    def __init__(self, request: bytes, started: float, done: Callable[[_Exchange, int | None], None]) -> None:
        self.request = request
        self.started = started
        self.status: int | None = None
        self._done: Callable[[_Exchange, int | None], None] | None = done
        self._buffer = b""
        self._need = -1  # total bytes of the answer, once its head is in
        self._transport: asyncio.BaseTransport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self._transport = transport
        transport.write(self.request)  # type: ignore[attr-defined]

    def data_received(self, data: bytes) -> None:
        self._buffer += data
        if self._need < 0:
            end = self._buffer.find(b"\r\n\r\n")
            if end < 0:
                return
            head = self._buffer[:end].lower()
            try:
                self.status = int(head[9:12])
            except ValueError:
                self.finish(None)
                return
            self._need = end + 4 + _content_length(head)
        if len(self._buffer) >= self._need:
            self.finish(self.status)

    def eof_received(self) -> bool | None:
        self.finish(self.status if self._need >= 0 and len(self._buffer) >= self._need else None)
        return None

    def connection_lost(self, exc: Exception | None) -> None:
        self._transport = None
        self.finish(None)

    def finish(self, status: int | None) -> None:
        """Record the outcome once; the connection is then left for the server to close (no TIME_WAIT here)."""
        done, self._done = self._done, None
        if done is not None:
            done(self, status)

    def abandon(self) -> None:
        transport, self._transport = self._transport, None
        if transport is not None:
            transport.abort()  # type: ignore[attr-defined]
        self.finish(None)


@dataclass
class _Run:
    """What one load produced: per request (start offset, latency, status or None)."""

    outcomes: list[tuple[float, float, int | None]] = field(default_factory=list)
    schedule_lag_s: float = 0.0
    connect_spread_s: float = 0.0


async def _load(plan: dict[str, Any], requests: Sequence[bytes]) -> _Run:
    loop = asyncio.get_running_loop()
    host, port, timeout = str(plan["host"]), int(plan["port"]), float(plan["timeout_s"])
    mode = str(plan["mode"])
    run = _Run()
    results: list[tuple[float, float, int | None] | None] = [None] * len(requests)
    finished = loop.create_future()
    remaining = len(requests)
    clock = time.perf_counter
    origin = clock()
    next_index = 0
    connecting: set[asyncio.Task[None]] = set()  # the loop keeps only weak references to tasks
    exchanges: list[_Exchange] = []

    def on_done(index: int) -> Callable[[_Exchange, int | None], None]:
        def done(exchange: _Exchange, status: int | None) -> None:
            nonlocal remaining
            now = clock()
            latency = min(now - exchange.started, timeout) if status is not None else timeout
            results[index] = (exchange.started - origin, latency, status)
            remaining -= 1
            if mode == "closed":
                fire_next()
            if remaining == 0 and not finished.done():
                finished.set_result(None)

        return done

    def fire(index: int) -> None:
        started = clock()
        exchange = _Exchange(requests[index], started, on_done(index))
        exchanges.append(exchange)
        loop.call_later(timeout, exchange.abandon)

        async def connect() -> None:
            try:
                await loop.create_connection(lambda: exchange, host, port)
            except OSError:
                exchange.finish(None)

        connecting.add(task := loop.create_task(connect()))
        task.add_done_callback(connecting.discard)

    def fire_next() -> None:
        nonlocal next_index
        if next_index < len(requests):
            next_index += 1
            fire(next_index - 1)

    if not requests:
        return run
    if mode == "burst":
        for index in range(len(requests)):
            fire(index)
        run.connect_spread_s = clock() - origin
    elif mode == "steady":
        rate = float(plan["rate_per_s"])
        start = loop.time() + 0.05
        lags: list[float] = []

        def scheduled(index: int, due: float) -> None:
            lags.append(loop.time() - due)
            fire(index)

        for index in range(len(requests)):
            due = start + index / rate
            loop.call_at(due, scheduled, index, due)
        await finished
        run.schedule_lag_s = max(lags, default=0.0)
    elif mode == "closed":
        for _ in range(min(int(plan["concurrency"]), len(requests))):
            fire_next()
    else:
        raise ValueError(f"unknown mode {mode!r}")
    await finished
    # Every outcome is in; connections the server has not closed yet, and connects still pending after a
    # timeout, are dropped here so the loop closes clean.
    for exchange in exchanges:
        exchange.abandon()
    for task in list(connecting):
        task.cancel()
    await asyncio.gather(*connecting, return_exceptions=True)
    run.outcomes = [r for r in results if r is not None]
    return run


def _new_loop() -> asyncio.AbstractEventLoop:
    try:
        import uvloop
    except ImportError:  # the numbers then include the default loop's cost; the JSON says which loop ran
        return asyncio.new_event_loop()
    return uvloop.new_event_loop()


def _read_requests(path: Path) -> list[bytes]:
    data = path.read_bytes()
    requests, at = [], 0
    while at < len(data):
        size = int.from_bytes(data[at : at + 4], "big")
        requests.append(data[at + 4 : at + 4 + size])
        at += 4 + size
    return requests


def write_requests(path: Path, requests: Sequence[bytes]) -> None:
    path.write_bytes(b"".join(len(r).to_bytes(4, "big") + r for r in requests))


def main(argv: list[str]) -> int:
    plan = json.loads(Path(argv[0]).read_text())
    requests = _read_requests(Path(plan["requests_file"]))
    loop = _new_loop()
    asyncio.set_event_loop(loop)
    print("ready", flush=True)
    if sys.stdin.readline().strip() != "go":
        return 1
    cpu_before = resource.getrusage(resource.RUSAGE_SELF)
    run = loop.run_until_complete(_load(plan, requests))
    cpu_after = resource.getrusage(resource.RUSAGE_SELF)
    client_cpu = (cpu_after.ru_utime - cpu_before.ru_utime) + (cpu_after.ru_stime - cpu_before.ru_stime)
    out = {
        "outcomes": run.outcomes,
        "schedule_lag_s": run.schedule_lag_s,
        "connect_spread_s": run.connect_spread_s,
        "client_cpu_s": client_cpu,
        "loop": type(loop).__module__.split(".")[0],
    }
    sys.stdout.write(json.dumps(out) + "\n")
    sys.stdout.flush()
    loop.close()
    return 0


# ------------------------------------------------------------------------------------ the parent's side


@dataclass(frozen=True)
class LoadRun:
    """A finished load, as the client saw it."""

    outcomes: list[tuple[float, float, int | None]]  # (start offset s, latency s, HTTP status or None)
    schedule_lag_s: float
    connect_spread_s: float
    client_cpu_s: float
    loop: str
    wall_s: float


def run_load(
    workdir: Path,
    url: str,
    requests: Sequence[bytes],
    *,
    mode: str,
    timeout_s: float,
    rate_per_s: float = 0.0,
    concurrency: int = 0,
    around: Callable[[], object] | None = None,
) -> tuple[LoadRun, list[object]]:
    """Runs one load in a client process. `around()` is called just before "go" and just after the
    answers are in (it samples the server's CPU); its two results come back as the second value."""
    from urllib.parse import urlsplit

    split = urlsplit(url)
    requests_file = workdir / f"requests-{os.getpid()}-{time.monotonic_ns()}.bin"
    write_requests(requests_file, requests)
    plan = {
        "mode": mode,
        "host": split.hostname or "127.0.0.1",
        "port": split.port or 80,
        "timeout_s": timeout_s,
        "rate_per_s": rate_per_s,
        "concurrency": concurrency,
        "requests_file": str(requests_file),
    }
    plan_file = requests_file.with_suffix(".json")
    plan_file.write_text(json.dumps(plan))
    client = subprocess.Popen(
        [sys.executable, "-m", "bench.client", str(plan_file)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
        cwd=Path(__file__).resolve().parent.parent,
    )
    try:
        assert client.stdin is not None
        assert client.stdout is not None
        if client.stdout.readline().strip() != "ready":
            raise RuntimeError("the load client did not start")
        samples = [around() if around else None]
        began = time.perf_counter()
        client.stdin.write("go\n")
        client.stdin.flush()
        line = client.stdout.readline()
        wall = time.perf_counter() - began
        samples.append(around() if around else None)
        if client.wait(30) != 0 or not line:
            raise RuntimeError(f"the load client exited with {client.returncode}")
    finally:
        if client.poll() is None:
            client.kill()
            client.wait()
        requests_file.unlink(missing_ok=True)
        plan_file.unlink(missing_ok=True)
    out = json.loads(line)
    run = LoadRun(
        outcomes=[(float(s), float(lat), None if st is None else int(st)) for s, lat, st in out["outcomes"]],
        schedule_lag_s=float(out["schedule_lag_s"]),
        connect_spread_s=float(out["connect_spread_s"]),
        client_cpu_s=float(out["client_cpu_s"]),
        loop=str(out["loop"]),
        wall_s=wall,
    )
    return run, samples


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
