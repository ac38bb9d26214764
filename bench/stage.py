"""What every benchmark stands on: fresh emulators and a fresh database in this process, the server
under test as a child process (the real bot through devkit/harness.py, the naive app, or the floor), and
readings of that process from /proc.

The emulators stand for services on other machines. Two things they would not cost there are taken out:
Azure draws one picture per prompt (on Azure the drawing is done on Azure's hardware, not on this CPU),
and its latency is a timer, not work.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlencode, urlsplit

from devkit.azure import AzureEmulator
from devkit.azure.state import EmulatorState
from devkit.harness import bot_environment, free_port, start_bot
from devkit.http import Request, Response
from devkit.slack import SlackEmulator

ROOT = Path(__file__).resolve().parent.parent
CHANNEL = "C0BENCH001"
DEPLOYMENT = "gpt-image-2"  # what devkit.harness.bot_environment configures
PROMPT = "a badger wearing a tuxedo, watercolour"
MIB = 1024 * 1024


class _OnePicturePerPrompt(EmulatorState):
    """Every call for a prompt gets the same seed, so devkit.pictures draws it once (its lru_cache)."""

    def image_seed(self, prompt: str, k: int, index: int) -> int:
        return 0


class BenchAzure(AzureEmulator):
    """The Azure emulator with a fixed latency on image-making calls (after the quota and the answer are
    decided, as Azure spends its time drawing) and one drawing per prompt."""

    def __init__(self, *, latency_s: float = 0.0, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        # The emulator keeps its state in `_state` (devkit/azure/emulator.py) and offers no seam for the
        # seed; replaced right after construction, before anything is recorded.
        self._state = _OnePicturePerPrompt(seed=0)
        self._latency_s = latency_s
        self._stopping = threading.Event()

    def handle(self, request: Request) -> Response:
        arrived = time.monotonic()
        response = super().handle(request)
        if not (self._latency_s and request.method == "POST" and "/images/" in request.path):
            return response
        if response.mimetype != "text/event-stream":
            self._stopping.wait(self._latency_s)
            return response
        # A stream's partial images arrive while Azure draws (docs/contracts/azure-openai-images.md §4.4,
        # partial images): the latency is spread evenly before each event, so the completed event comes
        # `latency_s` after the request, as a non-streamed answer would, and the partials before it. The
        # times are kept from the request's arrival, so the emulator's own encoding is not added to them.
        asked = request.get_json(silent=True) or request.form  # an edit's parameters are multipart fields
        events = 1 + int(asked.get("partial_images") or 0)
        response.response = self._paced(response.response, arrived, self._latency_s / events)
        return response

    def _paced(self, chunks: Iterable[Any], arrived: float, gap_s: float) -> Iterator[Any]:
        for index, chunk in enumerate(chunks, start=1):
            self._stopping.wait(max(0.0, arrived + index * gap_s - time.monotonic()))
            yield chunk

    def stop(self) -> None:
        self._stopping.set()  # calls still "drawing" answer at once
        super().stop()


def _quiet(server: object) -> None:
    """Stopping a server under test resets its connections to the emulators; socketserver would print a
    traceback for each, burying the benchmark's output. Nothing else reaches handle_error."""
    inner = getattr(server, "_server", None)
    if inner is not None:
        inner.handle_error = lambda request, client_address: None


# --------------------------------------------------------------------------------- /proc readings


def cpu_ns(pid: int) -> int:
    """CPU nanoseconds the process's live threads have run (/proc/<pid>/task/*/schedstat, first field).

    Nanoseconds, not the 10 ms jiffies of /proc/<pid>/stat: a burst of 10 acks costs a few ms. A thread
    that ends between two readings takes its time with it; the bot's web process keeps its threads.
    """
    total = 0
    with contextlib.suppress(FileNotFoundError):
        for task in os.listdir(f"/proc/{pid}/task"):
            with (
                contextlib.suppress(FileNotFoundError, ProcessLookupError),
                open(f"/proc/{pid}/task/{task}/schedstat") as stat,
            ):
                total += int(stat.read().split()[0])
    return total


def memory_kib(pid: int) -> dict[str, int]:
    """VmHWM (peak resident set since start) and VmRSS (now), from /proc/<pid>/status, and Pss (now), from
    /proc/<pid>/smaps_rollup: the resident set with each page shared with other processes divided among
    them, so two processes forked from one sum to what they cost the machine."""
    values: dict[str, int] = {}
    with open(f"/proc/{pid}/status") as status:
        for line in status:
            name, _, rest = line.partition(":")
            if name in ("VmHWM", "VmRSS"):
                values[name] = int(rest.split()[0])
    with open(f"/proc/{pid}/smaps_rollup") as rollup:
        for line in rollup:
            name, _, rest = line.partition(":")
            if name == "Pss":
                values[name] = int(rest.split()[0])
    return values


def children(pid: int) -> list[int]:
    """The process's direct children (the `serve` worker)."""
    found = []
    for task in os.listdir(f"/proc/{pid}/task"):
        with contextlib.suppress(FileNotFoundError), open(f"/proc/{pid}/task/{task}/children") as listing:
            found += [int(child) for child in listing.read().split()]
    return found


# --------------------------------------------------------------------------------- servers under test


@dataclass
class Server:
    """A server under test; its output goes to a file, so draining a pipe costs this process nothing."""

    process: subprocess.Popen[Any]
    url: str
    log_path: Path

    @property
    def pid(self) -> int:
        return self.process.pid

    def worker_pid(self) -> int | None:
        kids = children(self.pid)
        return kids[0] if kids else None

    def tail(self, lines: int = 40) -> str:
        text = self.log_path.read_text(errors="replace") if self.log_path.exists() else ""
        return "\n".join(text.splitlines()[-lines:])

    def stop(self, timeout: float = 20) -> int:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
        try:
            return self.process.wait(timeout)
        except subprocess.TimeoutExpired:
            for pid in [*children(self.pid), self.pid]:
                with contextlib.suppress(ProcessLookupError):
                    os.kill(pid, signal.SIGKILL)
            return self.process.wait(5)


@dataclass
class Stage:
    """One server under test with its own emulators and database: the unit every scenario runs on."""

    slack: SlackEmulator
    azure: BenchAzure
    database_url: str
    directory: Path
    servers: list[Server] = field(default_factory=list)
    _channels: list[str] = field(default_factory=list)

    def start_bot(self, name: str, **settings: str) -> Server:
        """`python -m bot serve` (web here, workers in a child) on this stage, healthy before it returns."""
        settings.setdefault("SHUTDOWN_GRACE_SECONDS", "0")  # jobs left at the end of a load do not matter
        env = bot_environment(self.slack, self.azure, database_url=self.database_url, **settings)
        log_path = self.directory / f"{name}.log"
        with open(log_path, "w") as log:
            try:
                bot = start_bot(env, "serve", cwd=self.directory, log_file=log, timeout=120)
            except RuntimeError as error:
                raise RuntimeError(f"{error}\n{log_path.read_text(errors='replace')[-3000:]}") from None
        server = Server(bot.process, bot.url, log_path)
        self.servers.append(server)
        return server

    def start_naive(self, name: str) -> Server:
        """bench/naive_app.py: /imagine as Bolt's tutorials write it."""
        env = bot_environment(self.slack, self.azure, database_url=self.database_url)
        return self._start([sys.executable, "-m", "bench.naive_app"], env, name)

    def start_floor(self, name: str = "floor") -> Server:
        """bench/floor.py: the trivial asyncio server the ack figures are compared with."""
        env = {**os.environ, "PYTHONPATH": str(ROOT)}
        port = free_port()
        return self._start([sys.executable, "-m", "bench.floor", str(port)], {**env, "PORT": str(port)}, name)

    def _start(self, argv: list[str], env: dict[str, str], name: str) -> Server:
        log_path = self.directory / f"{name}.log"
        with open(log_path, "w") as log:
            process = subprocess.Popen(argv, env=env, cwd=ROOT, stdout=log, stderr=subprocess.STDOUT)
        server = Server(process, f"http://127.0.0.1:{env['PORT']}", log_path)
        self.servers.append(server)
        _wait_listening(server)
        return server

    def channels(self, count: int) -> list[str]:
        """`count` more channels with the bot in them. The bot paces its posts per channel (a token bucket
        of Slack's 1 message a second); loads that must not wait on that spread their jobs over these."""
        made = [f"C0BENCH{len(self._channels) + n + 2:03d}" for n in range(count)]
        for channel in made:
            self.slack.add_channel(channel, name=channel.lower(), member=True)
        self._channels.extend(made)
        return made

    def commands(self, url: str, count: int, *, text: str = PROMPT, channels: list[str] | None = None) -> list[bytes]:
        """`count` complete HTTP requests, each a distinct signed `/imagine` with its own response_url and
        trigger_id, as Slack sends them (a new connection each: `Connection: close`), in CHANNEL or in turn
        in `channels`. Built before any clock starts; the bot's signature check accepts them for five minutes."""
        split = urlsplit(url)
        requests = []
        stamp = time.time_ns()
        for index in range(count):
            user = f"U0BENCH{index % 1000:04d}"
            channel = channels[index % len(channels)] if channels else CHANNEL
            fields = {
                "token": self.slack.verification_token,
                "team_id": self.slack.team_id,
                "team_domain": self.slack.team_domain,
                "channel_id": channel,
                "channel_name": "bench",
                "user_id": user,
                "user_name": f"bench{index % 1000}",
                "command": "/imagine",
                "text": text,
                "api_app_id": self.slack.api_app_id,
                "is_enterprise_install": "false",
                "response_url": self.slack.new_response_url(channel_id=channel, user_id=user),
                "trigger_id": f"{stamp}.{index}.bench",
            }
            body = urlencode(fields).encode()
            headers = {
                "Host": split.netloc,
                "Content-Type": "application/x-www-form-urlencoded",
                "Content-Length": str(len(body)),
                "User-Agent": "Slackbot 1.0 (+https://api.slack.com/robots)",
                "Accept": "application/json,*/*",
                "Connection": "close",
                **self.slack.sign(body),
            }
            head = "".join(f"{name}: {value}\r\n" for name, value in headers.items())
            requests.append(f"POST /slack/events HTTP/1.1\r\n{head}\r\n".encode() + body)
        return requests

    def deliveries(self) -> int:
        """Final images shared so far, in any channel (previews, `…-preview-N`, left out)."""
        return sum(1 for file in self.slack.files().values() if file.shares and "preview" not in file.filename)

    def jobs_by_status(self) -> dict[str, int]:
        from sqlalchemy import func, select

        from bot.store.database import create_database_engine
        from bot.store.tables import Generation

        engine = create_database_engine(self.database_url)
        try:
            with engine.connect() as connection:
                rows = connection.execute(select(Generation.status, func.count()).group_by(Generation.status))
                return {str(getattr(status, "value", status)): int(count) for status, count in rows}
        finally:
            engine.dispose()


def _wait_listening(server: Server, timeout: float = 30) -> None:
    """Until the port takes connections (the floor and the naive app have no health check)."""
    import socket

    split = urlsplit(server.url)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if server.process.poll() is not None:
            raise RuntimeError(f"{server.process.args!r} exited with {server.process.returncode}:\n{server.tail()}")
        with contextlib.suppress(OSError), socket.create_connection((split.hostname, split.port), timeout=1):
            return
        time.sleep(0.05)  # a starting process: nothing to wait on but its port
    server.stop()
    raise RuntimeError(f"{server.process.args!r} did not listen within {timeout} s:\n{server.tail()}")


_MIGRATING = threading.Lock()


@contextlib.contextmanager
def stage(workdir: Path, name: str, *, latency_s: float = 0.0, **azure: Any) -> Iterator[Stage]:
    """Fresh emulators and a fresh migrated SQLite file (the `serve` default) for one scenario; every
    server started on it is stopped on the way out."""
    from bot.store.database import migrate

    directory = workdir / name
    directory.mkdir(parents=True, exist_ok=True)
    database_url = f"sqlite:///{directory / 'imagine.sqlite3'}"
    with _MIGRATING:  # Alembic keeps its context in module globals: one migration at a time
        migrate(database_url)  # as `serve` would; done here so start-up is in no figure
    slack = SlackEmulator()
    bench_azure = BenchAzure(latency_s=latency_s, **azure)
    with slack, bench_azure:
        for emulator in (slack, bench_azure):
            _quiet(emulator)
        slack.add_channel(CHANNEL, name="bench", member=True)
        current = Stage(slack, bench_azure, database_url, directory)
        try:
            yield current
        finally:
            for server in current.servers:
                server.stop()


__all__ = ["CHANNEL", "MIB", "PROMPT", "ROOT", "BenchAzure", "Server", "Stage", "cpu_ns", "memory_kib", "stage"]
