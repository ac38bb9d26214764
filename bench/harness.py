"""Processes and emulators for the benchmarks: the real bot (or the naive app) as a child process,
talking over loopback to an emulated Slack and Azure that live in this process.

Deliberately independent of tests/conftest.py (benchmarks are not tests), but it starts the bot the
same way: `python -m bot serve` with the settings pointed at the emulators.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx
from sqlalchemy import func, select

from bot.database import create_database_engine, migrate
from bot.emulators._http import LoopbackServer, Request, Response
from bot.emulators.azure import AzureEmulator
from bot.emulators.slack import SlackEmulator
from bot.usage.models import Generation

ROOT = Path(__file__).resolve().parent.parent
CHANNEL = "C0BENCH001"
MODEL = "dall-e-3"  # the default model: a URL answer, so the bot downloads the image as in production
DEPLOYMENT = "dalle3"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class ChildProcess:
    """A server under test; its output goes to a file, so draining a pipe costs this process nothing."""

    process: subprocess.Popen[bytes]
    url: str
    log_path: Path

    @property
    def pid(self) -> int:
        return self.process.pid

    def tail(self, lines: int = 30) -> str:
        text = self.log_path.read_text(errors="replace") if self.log_path.exists() else ""
        return "\n".join(text.splitlines()[-lines:])

    def memory_kib(self) -> dict[str, int]:
        """VmHWM (peak resident set since start) and VmRSS (now), from /proc: Linux only, no psutil."""
        values: dict[str, int] = {}
        with open(f"/proc/{self.pid}/status") as status:
            for line in status:
                name, _, rest = line.partition(":")
                if name in ("VmHWM", "VmRSS"):
                    values[name] = int(rest.split()[0])
        return values

    def cpu_s(self) -> float:
        """User + system CPU seconds the process has used so far (/proc/<pid>/stat fields 14 and 15)."""
        with open(f"/proc/{self.pid}/stat") as stat:
            fields = stat.read().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

    def stop(self, timeout: float = 15) -> int:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
        try:
            return self.process.wait(timeout)
        except subprocess.TimeoutExpired:
            self.process.kill()
            return self.process.wait(5)


def start_child(
    argv: list[str], env: dict[str, str], log_path: Path, ready_path: str, timeout: float = 30
) -> ChildProcess:
    with open(log_path, "wb") as log:
        process = subprocess.Popen(argv, env=env, cwd=ROOT, stdout=log, stderr=subprocess.STDOUT)
    child = ChildProcess(process, f"http://127.0.0.1:{env['PORT']}", log_path)
    _wait_ready(child, ready_path, timeout)
    return child


def _wait_ready(child: ChildProcess, path: str, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if child.process.poll() is not None:
            raise RuntimeError(f"{child.process.args!r} exited with {child.process.returncode}:\n{child.tail()}")
        try:
            # Any HTTP answer means the server is up; the bot's /healthz also checks its database and workers.
            status = httpx.get(f"{child.url}{path}", timeout=1, trust_env=False).status_code
            if path != "/healthz" or status == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.05)
    child.stop()
    raise RuntimeError(f"{child.process.args!r} was not ready within {timeout} s:\n{child.tail()}")


class RecordingAzure(AzureEmulator):
    """The Azure emulator, also noting when each generation call was answered and with which status,
    so throughput is measured where the quota is enforced."""

    def __init__(self, **kwargs: object) -> None:
        super().__init__(**kwargs)  # type: ignore[arg-type]
        self._answers: list[tuple[float, int]] = []
        self._answers_lock = threading.Lock()

    def handle(self, request: Request) -> Response:
        arrived = time.monotonic()
        response = super().handle(request)
        if request.method == "POST" and "/images/generations" in request.path:
            with self._answers_lock:
                self._answers.append((arrived, response.status))
        return response

    def answers(self) -> list[tuple[float, int]]:
        """(monotonic arrival time, HTTP status) of every generation call, oldest first."""
        with self._answers_lock:
            return sorted(self._answers)


@dataclass
class Stage:
    """One bot process with its own emulators and database, the unit every scenario runs on."""

    slack: SlackEmulator
    azure: RecordingAzure
    database_url: str
    workdir: Path

    def bot_env(self, port: int, **extra: str) -> dict[str, str]:
        env = {
            k: v for k, v in os.environ.items() if not k.startswith(("SLACK_", "AZURE_", "HTTP_PROXY", "HTTPS_PROXY"))
        }
        env.update(
            SLACK_BOT_TOKEN=self.slack.bot_token,
            SLACK_SIGNING_SECRET=self.slack.signing_secret,
            SLACK_API_URL=self.slack.api_url,
            AZURE_OPENAI_ENDPOINT=self.azure.url,
            AZURE_OPENAI_API_KEY=self.azure.api_key,
            AZURE_OPENAI_DEPLOYMENT=DEPLOYMENT,
            IMAGE_MODEL=MODEL,
            DATABASE_URL=self.database_url,
            HOST="127.0.0.1",
            PORT=str(port),
            LOG_LEVEL="INFO",  # what production runs with: its cost belongs in the figures
            AZURE_POLL_SECONDS="0.05",
            SHUTDOWN_GRACE_SECONDS="0",  # jobs left running at the end of a scenario do not matter
            PYTHONUNBUFFERED="1",
        )
        env.update(extra)
        return env

    def start_bot(self, name: str, **extra: str) -> ChildProcess:
        env = self.bot_env(free_port(), **extra)
        return start_child([sys.executable, "-m", "bot", "serve"], env, self.workdir / f"{name}.log", "/healthz")

    def start_naive(self, name: str) -> ChildProcess:
        env = self.bot_env(free_port())
        argv = [sys.executable, "-m", "bench.naive_app"]
        return start_child(argv, env, self.workdir / f"{name}.log", "/")

    def count_by_status(self) -> dict[str, int]:
        engine = create_database_engine(self.database_url)
        try:
            with engine.connect() as connection:
                rows = connection.execute(select(Generation.status, func.count()).group_by(Generation.status))
                return {str(status): int(count) for status, count in rows}
        finally:
            engine.dispose()


@contextmanager
def stage(
    workdir: Path, name: str, *, latency_s: float, rpm_limit: int | None = None, pad_png_to_bytes: int | None = None
) -> Iterator[Stage]:
    """Fresh emulators and a fresh migrated SQLite file (the `serve` default) for one scenario."""
    directory = workdir / name
    directory.mkdir(parents=True, exist_ok=True)
    database_url = f"sqlite:///{directory / 'imagine.sqlite3'}"
    with _MIGRATING:  # Alembic keeps its context in module globals: one migration at a time
        migrate(database_url)  # as `serve` would; done here so start-up time is not in any figure
    slack = SlackEmulator()
    azure = RecordingAzure(
        deployments={DEPLOYMENT: MODEL}, latency_s=latency_s, rpm_limit=rpm_limit, pad_png_to_bytes=pad_png_to_bytes
    )
    with slack, azure:
        for emulator in (slack, azure):
            _quiet(emulator)
        slack.add_channel(CHANNEL, name="bench", member=True)
        yield Stage(slack, azure, database_url, directory)


_MIGRATING = threading.Lock()


def _quiet(emulator: LoopbackServer) -> None:
    """Stopping a server under test resets its connections to the emulators; socketserver would print
    a traceback for each, burying the benchmark's own output. Nothing else reaches handle_error."""
    server = emulator._server
    if server is not None:
        server.handle_error = lambda request, client_address: None  # type: ignore[method-assign]
