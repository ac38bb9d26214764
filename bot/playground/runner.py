"""`imagine-bot demo`: the whole product on loopback, with no Slack app and no Azure resource.

One process runs the Slack emulator, the Azure emulator (all three model families at once) and the
playground's web page; the bot itself runs as it does in production, as a child process
(`python -m bot serve`) configured through its environment only. So the demo exercises the real
signature check, parser, queue, workers, Azure client, Slack upload and usage rows; the only
difference from a deployment is where the two URLs point.

Fresh random tokens and secrets are made for every run: nothing here is a credential anywhere. The
SQLite database, the bot's log and its working directory live in a temporary directory that is
removed on exit (the working directory matters: the bot reads `.env` from it, and a developer's
real `.env` must not leak real credentials or settings into the demo).
"""

from __future__ import annotations

import logging
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import webbrowser
from collections.abc import Callable
from pathlib import Path
from socketserver import ThreadingMixIn
from types import FrameType, TracebackType
from typing import IO, Any, Self
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server

import httpx
from sqlalchemy import Engine

from bot.emulators.azure import DEFAULT_DEPLOYMENTS, AzureEmulator
from bot.emulators.environment import bot_environment
from bot.emulators.slack import SlackEmulator
from bot.playground.server import CHANNEL_ID, CHANNEL_NAME, PlaygroundApp

log = logging.getLogger(__name__)

# The page offers the families in this order; the Azure emulator serves one deployment of each.
DEPLOYMENT_FOR_MODEL = {model: deployment for deployment, model in DEFAULT_DEPLOYMENTS.items()}
MODELS = ("dall-e-3", "gpt-image-1", "dall-e-2")
HEALTH_TIMEOUT_S = 60.0

# Every variable the bot reads as a setting is set here or removed, so the demo never picks up a
# deployment's values; proxies go too, because slack_sdk would send loopback traffic through them.


class PlaygroundError(Exception):
    """The playground could not start; the message says why in one line."""


class _ThreadingWSGIServer(ThreadingMixIn, WSGIServer):
    daemon_threads = True  # a long-polling page must not keep the process alive at exit


class _QuietHandler(WSGIRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:
        pass  # one line per poll would bury the one line the demo prints


def free_port(host: str = "127.0.0.1") -> int:
    with socket.socket() as s:
        s.bind((host, 0))
        return int(s.getsockname()[1])


class BotProcess:
    """The real bot as a child process; restartable with another model, its output in a log file."""

    def __init__(self, env: dict[str, str], *, cwd: Path, log_path: Path) -> None:
        self._env = env
        self._cwd = cwd
        self.log_path = log_path
        self._process: subprocess.Popen[bytes] | None = None
        self._log: IO[bytes] | None = None
        self.url: str | None = None
        self.model: str | None = None
        self.ready = False

    def start(self, model: str) -> None:
        self.model, self.ready = model, False
        self._log = self.log_path.open("ab")
        self._log.write(f"--- playground: starting the bot with {model} ---\n".encode())
        self._log.flush()
        for _ in range(3):
            # A port found free can be taken by someone else before the bot binds it; then try another.
            if self._launch(model, free_port()):
                self.ready = True
                return
        raise PlaygroundError("the bot found no free port on 127.0.0.1 in three tries")

    def _launch(self, model: str, port: int) -> bool:
        """Start the bot on `port` and wait until it is healthy; False if the port was taken meanwhile."""
        env = dict(self._env)
        # The chosen family is the default; the emulator's other deployments stay reachable with --model.
        extra = ",".join(f"{d}={m}" for m, d in DEPLOYMENT_FOR_MODEL.items() if m != model)
        env.update(
            IMAGE_MODEL=model,
            AZURE_OPENAI_DEPLOYMENT=DEPLOYMENT_FOR_MODEL[model],
            AZURE_OPENAI_EXTRA_DEPLOYMENTS=extra,
            PORT=str(port),
        )
        assert self._log is not None
        start = self.log_path.stat().st_size
        # A session of its own: Ctrl-C in the terminal reaches the playground only, which then stops
        # the bot in order instead of both racing to shut down.
        self._process = subprocess.Popen(
            [sys.executable, "-m", "bot", "serve"],
            env=env,
            cwd=self._cwd,
            stdin=subprocess.DEVNULL,
            stdout=self._log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        self.url = f"http://127.0.0.1:{port}"
        try:
            self._wait_healthy()
        except PlaygroundError:
            if self._process.poll() is not None and "Address already in use" in self._output_since(start):
                return False
            raise
        return True

    def _output_since(self, offset: int) -> str:
        with self.log_path.open("rb") as f:
            f.seek(offset)
            return f.read().decode("utf-8", "replace")

    def _wait_healthy(self) -> None:
        assert self._process is not None
        deadline = time.monotonic() + HEALTH_TIMEOUT_S
        with httpx.Client(trust_env=False, timeout=1) as client:
            while time.monotonic() < deadline:
                if self._process.poll() is not None:
                    raise PlaygroundError(
                        f"the bot exited with code {self._process.returncode} while starting:\n{self.tail(15)}"
                    )
                try:
                    if client.get(f"{self.url}/healthz").status_code == 200:
                        return
                except httpx.HTTPError:
                    pass
                time.sleep(0.1)
        self.stop()
        raise PlaygroundError(f"the bot did not become healthy in {HEALTH_TIMEOUT_S:.0f} s:\n{self.tail(15)}")

    def running(self) -> bool:
        return self._process is not None and self._process.poll() is None

    def returncode(self) -> int | None:
        return None if self._process is None else self._process.poll()

    def stop(self, timeout: float = 15.0) -> None:
        process, self._process = self._process, None
        self.ready, self.url = False, None
        if process is not None and process.poll() is None:
            process.send_signal(signal.SIGTERM)  # the bot drains its workers, then exits
            try:
                process.wait(timeout)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(5)
        if self._log is not None:
            self._log.close()
            self._log = None

    def tail(self, lines: int) -> str:
        try:
            with self.log_path.open("rb") as f:
                f.seek(0, os.SEEK_END)
                f.seek(max(0, f.tell() - 256 * 1024))
                text = f.read().decode("utf-8", "replace")
        except FileNotFoundError:
            return ""
        return "\n".join(text.splitlines()[-lines:])


class Playground:
    """Emulators, the bot and the page, started and stopped together. Usable as a context manager."""

    def __init__(
        self,
        *,
        model: str = "dall-e-3",
        host: str = "127.0.0.1",
        port: int = 8080,
        azure_latency_s: float = 0.8,
        state_dir: Path | None = None,
    ) -> None:
        if model not in MODELS:
            raise PlaygroundError(f"unknown model {model!r}; choose one of {', '.join(MODELS)}")
        self._initial_model = model
        self._host = host
        self._port = port
        self._azure_latency_s = azure_latency_s
        self._own_dir = state_dir is None
        self.state_dir = state_dir or Path(tempfile.mkdtemp(prefix="imagine-playground-"))
        self.database_url = f"sqlite:///{self.state_dir / 'playground.sqlite3'}"
        self._switch_lock = threading.Lock()
        self._switching_to: str | None = None
        self._engine: Engine | None = None
        self._server: _ThreadingWSGIServer | None = None
        self._thread: threading.Thread | None = None
        self._slack: SlackEmulator | None = None
        self._azure: AzureEmulator | None = None
        self._bot: BotProcess | None = None
        self.app: PlaygroundApp | None = None

    # --- what the page's app needs (server.Backend) ---------------------------------------------

    @property
    def slack(self) -> SlackEmulator:
        if self._slack is None:
            raise RuntimeError("the playground is not running")
        return self._slack

    @property
    def azure(self) -> AzureEmulator:
        if self._azure is None:
            raise RuntimeError("the playground is not running")
        return self._azure

    @property
    def bot_url(self) -> str | None:
        bot = self._bot
        return bot.url if bot is not None and bot.ready and bot.running() else None

    @property
    def model(self) -> str:
        return (self._bot.model if self._bot is not None else None) or self._initial_model

    @property
    def models(self) -> tuple[str, ...]:
        return MODELS

    def bot_status(self) -> tuple[str, str]:
        if self._switching_to is not None:
            return "starting", f"restarting the bot with {self._switching_to}…"
        bot = self._bot
        if bot is None or (not bot.running() and bot.returncode() is None):
            return "stopped", "the bot is not running"
        if not bot.running():
            return "stopped", f"the bot exited with code {bot.returncode()}; see its log"
        if not bot.ready:
            return "starting", f"starting the bot with {bot.model}…"
        return "ready", f"the real bot, with {bot.model} on the Azure emulator"

    def switch_model(self, model: str) -> None:
        """Restart the bot with another IMAGE_MODEL and deployment; the database and channel stay."""
        if model not in MODELS:
            raise PlaygroundError(f"unknown model {model!r}")
        with self._switch_lock:
            bot = self._bot
            if bot is None:
                raise RuntimeError("the playground is not running")
            self._switching_to = model
            try:
                bot.stop()
                bot.start(model)
            finally:
                self._switching_to = None

    def engine(self) -> Engine:
        if self._engine is None:
            from bot.database import create_database_engine

            self._engine = create_database_engine(self.database_url)
        return self._engine

    def log_tail(self, lines: int) -> str:
        return self._bot.tail(lines) if self._bot is not None else ""

    @property
    def log_path(self) -> Path:
        return self.state_dir / "bot.log"

    # --- lifecycle ------------------------------------------------------------------------------

    @property
    def url(self) -> str:
        if self._server is None:
            raise RuntimeError("the playground is not running")
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}/"

    def start(self) -> Self:
        try:
            self._start()
        except BaseException:
            self.stop()
            raise
        return self

    def _start(self) -> None:
        # Bind the page's port first: a busy port is the likeliest problem and the cheapest to report.
        self._server = self._bind()
        self.state_dir.mkdir(parents=True, exist_ok=True)
        slack = SlackEmulator(
            bot_token=f"xoxb-playground-{secrets.token_hex(12)}",
            app_token=f"xapp-1-playground-{secrets.token_hex(12)}",
            signing_secret=secrets.token_hex(16),
        ).start()
        self._slack = slack
        slack.add_channel(CHANNEL_ID, name=CHANNEL_NAME, member=True)
        azure = AzureEmulator(
            api_key=secrets.token_hex(16), deployments=DEFAULT_DEPLOYMENTS, latency_s=self._azure_latency_s
        ).start()
        self._azure = azure
        self._bot = BotProcess(self._bot_environment(slack, azure), cwd=self.state_dir, log_path=self.log_path)
        self._bot.start(self._initial_model)
        self.app = PlaygroundApp(self)
        self._server.set_app(self.app)
        self._thread = threading.Thread(target=self._server.serve_forever, args=(0.2,), name="playground", daemon=True)
        self._thread.start()

    def _bind(self) -> _ThreadingWSGIServer:
        try:
            server = make_server(
                self._host, self._port, _unavailable, server_class=_ThreadingWSGIServer, handler_class=_QuietHandler
            )
        except OSError as error:
            raise PlaygroundError(
                f"cannot listen on {self._host}:{self._port} ({error.strerror or error}); try another --port"
            ) from None
        assert isinstance(server, _ThreadingWSGIServer)
        return server

    def _bot_environment(self, slack: SlackEmulator, azure: AzureEmulator) -> dict[str, str]:
        return bot_environment(
            slack,
            azure,
            database_url=self.database_url,
            LOG_LEVEL="INFO",
            WORKER_CONCURRENCY="2",
            QUEUE_POLL_SECONDS="0.2",
            AZURE_POLL_SECONDS="0.3",
            # A model switch waits for running jobs; a few seconds is plenty for the emulator.
            SHUTDOWN_GRACE_SECONDS="5",
        )

    def stop(self) -> None:
        if self._server is not None:
            if self._thread is not None:
                self._server.shutdown()
                self._thread.join(5)
            self._server.server_close()
            self._server, self._thread = None, None
        if self._bot is not None:
            self._bot.stop()
        for emulator in (self._slack, self._azure):
            if emulator is not None:
                emulator.stop()
        if self._engine is not None:
            self._engine.dispose()
            self._engine = None
        if self._own_dir:
            shutil.rmtree(self.state_dir, ignore_errors=True)

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()


def _unavailable(environ: Any, start_response: Any) -> list[bytes]:
    start_response("503 Service Unavailable", [("Content-Type", "text/plain")])
    return [b"the playground is starting"]


def run_demo(
    *,
    port: int = 8080,
    model: str = "dall-e-3",
    host: str = "127.0.0.1",
    open_browser: bool = False,
    announce: Callable[[str], None] = lambda line: None,
) -> None:
    """Run the playground until Ctrl-C or SIGTERM; `announce` gets the one line with the page's URL."""
    stop = threading.Event()
    serving = False

    def on_signal(signum: int, _frame: FrameType | None) -> None:
        if not serving:
            raise KeyboardInterrupt  # still starting: unwind, and Playground.start() cleans up
        stop.set()

    previous = {sig: signal.signal(sig, on_signal) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        with Playground(model=model, host=host, port=port) as playground:
            serving = True
            announce(
                f"Playground ready: open {playground.url}  "
                f"(emulated Slack and Azure, the real bot with {playground.model}; Ctrl-C stops it)"
            )
            if open_browser:
                threading.Thread(target=webbrowser.open, args=(playground.url,), daemon=True).start()
            while not stop.wait(0.5):
                pass
    except KeyboardInterrupt:
        pass
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
