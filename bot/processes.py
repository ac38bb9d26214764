"""The three processes (docs/architecture.md), built from the composition root in `bot.app`:

- web    — the HTTP front (uvicorn) and the group-commit writer; Socket Mode instead when SLACK_APP_TOKEN is set;
- worker — the announcer and the job runners (any number of them on one PostgreSQL database);
- serve  — web here, and one worker as a child process, woken through a pipe when a job is queued,
           so the acks never share a GIL with the drawing; the worker gives way while the front
           answers a burst (`bot/jobs/rush.py`).
"""

from __future__ import annotations

import contextlib
import gc
import importlib.util
import logging
import multiprocessing
import multiprocessing.process
import os
import signal
import subprocess
import sys
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

from bot.app import (
    build_components,
    build_generators,
    build_intake,
    build_slack_app,
    build_worker_pool,
    chart_endpoint,
)
from bot.jobs.queue import JobQueue
from bot.jobs.rush import OpenRequests, Rush
from bot.jobs.writer import GroupCommitWriter
from bot.settings import Settings
from bot.slack.bodies import RequestCheck
from bot.web.front import SlackFront

log = logging.getLogger(__name__)


def run_web(
    settings: Settings,
    *,
    worker: WorkerChild | None = None,
    wake: Callable[[], None] = lambda: None,
    rush: Rush | None = None,
) -> None:
    """The HTTP front (or Socket Mode) until SIGTERM or SIGINT; then the writer commits what it accepted."""

    components = build_components(settings)
    # One wake-up per commit that created jobs, whichever path they came by (not one per job).
    writer = GroupCommitWriter(components.queue, on_created=wake).start()
    intake = build_intake(components, writer)
    executor = ThreadPoolExecutor(max_workers=8, thread_name_prefix="bolt")
    open_requests = OpenRequests(rush)
    # Socket Mode's requests reach Bolt alone: it counts them. Over HTTP the front does.
    socket_requests = open_requests if settings.slack_app_token is not None else None
    app, imagine = build_slack_app(components, intake, open_requests=socket_requests)
    socket_mode = None
    if settings.slack_app_token is not None:
        from slack_bolt.adapter.socket_mode import SocketModeHandler

        socket_mode = SocketModeHandler(app, settings.slack_app_token.get_secret_value())
        socket_mode.connect()  # type: ignore[no-untyped-call]
        log.info("connected to Slack in Socket Mode")

    def health() -> tuple[bool, dict[str, str]]:
        checks = {"database": _database_state(components.queue)}
        if worker is not None:
            checks["workers"] = "ok" if worker.alive() else "stopped"
        return all(v == "ok" for v in checks.values()), checks

    front = SlackFront(
        health=health,
        executor=executor,
        bolt=app if socket_mode is None else None,
        check=RequestCheck(settings.slack_signing_secret),
        imagine=imagine,
        intake=intake,
        charts=chart_endpoint(components) if settings.public_url else None,
        committer=writer,
        open_requests=open_requests,
    )
    log.info("listening on http://%s:%s (%s)", settings.host, settings.port, "web+workers" if worker else "web")
    try:
        _uvicorn(front, settings)
    finally:
        log.info("shutting down")
        if socket_mode is not None:
            socket_mode.close()  # type: ignore[no-untyped-call]
        writer.stop()
        executor.shutdown(wait=False, cancel_futures=True)
        components.close()


def run_worker(
    settings: Settings, *, wake_fd: int | None = None, serve_http: bool = True, rush: Rush | None = None
) -> None:
    """Workers until SIGTERM or SIGINT; then drain: stop claiming, finish or release jobs, exit."""
    components = build_components(settings, give_way=rush.give_way if rush is not None else None)
    pool = build_worker_pool(components, build_generators(components))
    stop = threading.Event()
    if not serve_http:
        _stop_on_signals(stop)
    if wake_fd is not None:
        threading.Thread(target=_relay_wakes, args=(wake_fd, pool.wake), name="wake", daemon=True).start()
    pool.start()
    try:
        if serve_http:

            def health() -> tuple[bool, dict[str, str]]:
                workers = "ok" if pool.alive() else "stopped"
                checks = {"database": _database_state(components.queue), "workers": workers}
                return all(v == "ok" for v in checks.values()), checks

            _uvicorn(SlackFront(health=health, executor=ThreadPoolExecutor(max_workers=2)), settings)
        else:
            stop.wait()
    finally:
        pool.stop(settings.shutdown_grace_seconds)
        components.close()


class WorkerChild:
    """`serve`'s worker process: started with a wake pipe, restarted if it dies (its jobs are taken
    over once their leases expire), stopped with SIGTERM so it drains.

    The first one is forked before any thread or connection exists, so it starts with everything this
    process has imported (a second or so of CPU saved, and memory shared until written); a restart,
    when threads do exist, runs a fresh `python -m bot worker`.
    """

    def __init__(self, settings: Settings, rush: Rush) -> None:
        self._settings = settings
        self._rush = rush
        self._read, self._write = os.pipe()
        os.set_blocking(self._write, False)
        self._stopping = threading.Event()
        alone = threading.active_count() == 1  # forking is only safe with no other thread running
        self.process: subprocess.Popen[bytes] | _Forked = self._fork() if alone else self._spawn()
        threading.Thread(target=self._supervise, name="worker-supervisor", daemon=True).start()

    def _spawn(self) -> subprocess.Popen[bytes]:
        command = [sys.executable, "-m", "bot", "worker", "--wake-fd", str(self._read), "--no-http"]
        command += ["--rush-fd", str(self._rush.fd)]
        return subprocess.Popen(command, pass_fds=(self._read, self._rush.fd))

    def _fork(self) -> _Forked:
        child = multiprocessing.get_context("fork").Process(
            target=_forked_worker, args=(self._settings, self._read, self._write, self._rush), name="worker"
        )
        # Everything imported so far lives as long as both processes: out of the collector's sight, its pages
        # are not rewritten by a collection in either, and stay shared (PSS of the pair 155 → 148 MB with
        # 10,000 jobs queued, bench/pipeline.py). Python's documented recipe for fork without exec.
        gc.collect()  # what is garbage now would otherwise stay, frozen, for good
        gc.freeze()
        child.start()
        return _Forked(child)

    def alive(self) -> bool:
        return self.process.poll() is None

    def wake(self) -> None:
        with contextlib.suppress(BlockingIOError, BrokenPipeError):
            os.write(self._write, b".")  # a full pipe already holds a wake-up

    def _supervise(self) -> None:
        delay = 1.0
        while not self._stopping.is_set():
            code = self.process.wait()
            if self._stopping.is_set():
                return
            log.error("the worker process exited with %s; starting another in %.0f s", code, delay)
            if self._stopping.wait(delay):
                return
            self.process = self._spawn()
            delay = min(delay * 2, 30.0)

    def stop(self) -> None:
        self._stopping.set()
        if self.alive():
            self.process.send_signal(signal.SIGTERM)
        try:
            self.process.wait(self._settings.shutdown_grace_seconds + 10)
        except subprocess.TimeoutExpired:
            self.process.kill()
        os.close(self._write)
        os.close(self._read)


class _Forked:
    """A forked worker, behind the part of Popen's interface WorkerChild uses."""

    def __init__(self, process: multiprocessing.process.BaseProcess) -> None:
        self._process = process

    def poll(self) -> int | None:
        return self._process.exitcode

    def wait(self, timeout: float | None = None) -> int:
        self._process.join(timeout)
        if self._process.exitcode is None:
            raise subprocess.TimeoutExpired("worker", timeout or 0)
        return self._process.exitcode

    def send_signal(self, sig: int) -> None:
        if self._process.pid is not None:
            os.kill(self._process.pid, sig)

    def kill(self) -> None:
        self._process.kill()


def _forked_worker(settings: Settings, read_fd: int, write_fd: int, rush: Rush) -> None:
    # The serving process's end of the pipe must not stay open here too, or the worker would never see
    # end of file when `serve` is gone.
    os.close(write_fd)
    run_worker(settings, wake_fd=read_fd, serve_http=False, rush=rush)


def run_serve(settings: Settings) -> None:
    """web here and a worker child process, woken through a pipe; SIGTERM stops both, the worker draining."""
    rush = Rush()
    child = WorkerChild(settings, rush)
    try:
        run_web(settings, worker=child, wake=child.wake, rush=rush)
    finally:
        child.stop()


def _relay_wakes(fd: int, wake: Callable[[], None]) -> None:
    """Wake the workers on each byte from `serve`; at end of file `serve` is gone (even killed), so this
    worker stops too, draining as on SIGTERM, instead of living on as an orphan."""
    while os.read(fd, 4096):
        wake()
    log.warning("the serving process is gone; stopping")
    os.kill(os.getpid(), signal.SIGTERM)


def _database_state(queue: JobQueue) -> str:
    try:
        queue.ping()
        return "ok"
    except Exception as error:  # any driver error means "not ready"; its text may carry a DSN
        log.warning("health check: database did not answer (%s)", type(error).__name__)
        return "unavailable"


def _uvicorn(front: SlackFront, settings: Settings) -> None:
    import uvicorn

    config = uvicorn.Config(
        front,
        host=settings.host,
        port=settings.port,
        lifespan="on",
        log_config=None,  # our logging set-up stays in charge
        access_log=False,
        timeout_keep_alive=15,
        proxy_headers=False,  # Slack's requests are signed; who forwarded them does not matter here
        backlog=2048,  # a burst of connections waits in the kernel's queue, not refused
        loop="uvloop" if _has("uvloop") else "asyncio",
        http="httptools" if _has("httptools") else "h11",
    )
    # uvicorn stops gracefully on SIGTERM/SIGINT, then raises the signal again under the handlers it found.
    # With the default handlers that would kill the process before it drains its writer and its worker:
    # these do nothing, so `run` returns and the callers' `finally` blocks run.
    for sig in (signal.SIGTERM, signal.SIGINT):
        if threading.current_thread() is threading.main_thread():
            signal.signal(sig, lambda signum, frame: None)
    uvicorn.Server(config).run()


def _has(module: str) -> bool:

    return importlib.util.find_spec(module) is not None


def _stop_on_signals(stop: threading.Event) -> None:
    def stopping(signum: int, _frame: object) -> None:
        stop.set()

    signal.signal(signal.SIGTERM, stopping)
    signal.signal(signal.SIGINT, stopping)
