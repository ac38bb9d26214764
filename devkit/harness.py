"""The real bot as a child process (`python -m bot …`) wired to the emulators: the one harness the
end-to-end tests, the benchmarks and the playground start the bot with."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Protocol

import httpx

ROOT = Path(__file__).resolve().parent.parent
_PROXY_VARIABLES = ("http_proxy", "https_proxy", "all_proxy", "no_proxy")


class _Slack(Protocol):
    @property
    def bot_token(self) -> str: ...
    @property
    def signing_secret(self) -> str: ...
    @property
    def api_url(self) -> str: ...


class _Azure(Protocol):
    @property
    def url(self) -> str: ...
    @property
    def api_key(self) -> str: ...


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def bot_environment(slack: _Slack, azure: _Azure, *, database_url: str, **settings: str) -> dict[str, str]:
    """Environment variables for `python -m bot …` wired to these emulators; `settings` add or override.

    Every bot setting the parent process has is dropped first: a developer's real tokens (or a
    SLACK_APP_TOKEN that would switch on Socket Mode) must never leak into a test or the playground.
    Proxies are dropped too: the emulators are on loopback. The child runs outside the checkout's
    directory as well (`start_bot`), so a `.env` there is not read either.
    """
    from bot.settings import Settings

    names = {name.upper() for name in Settings.model_fields}
    env = {
        key: value
        for key, value in os.environ.items()
        if key.upper() not in names and key.lower() not in _PROXY_VARIABLES and key != "PYTHONPATH"
    }
    # The checkout this code runs from comes first, so the child runs the same bot even uninstalled.
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(ROOT), os.environ.get("PYTHONPATH")) if p)
    env.update(
        SLACK_BOT_TOKEN=slack.bot_token,
        SLACK_SIGNING_SECRET=slack.signing_secret,
        SLACK_API_URL=slack.api_url,
        AZURE_OPENAI_ENDPOINT=azure.url,
        AZURE_OPENAI_API_KEY=azure.api_key,
        AZURE_OPENAI_DEPLOYMENT="gpt-image-2",
        DATABASE_URL=database_url,
        HOST="127.0.0.1",
        PORT=str(free_port()),
        PYTHONUNBUFFERED="1",
        LOG_LEVEL="INFO",
    )
    env.update(settings)
    return env


@dataclass
class BotProcess:
    """The real bot running as a child process; its output is collected (from a pipe, or a file)."""

    process: subprocess.Popen[str]
    url: str
    output: list[str] = field(default_factory=list)

    @property
    def logs(self) -> str:
        return "".join(self.output)

    def stop(self, sig: int = signal.SIGTERM, timeout: float = 30) -> int:
        if self.process.poll() is None:
            self.process.send_signal(sig)
        try:
            return self.process.wait(timeout)
        except subprocess.TimeoutExpired:
            self.process.kill()
            return self.process.wait(5)


def start_bot(
    env: dict[str, str],
    command: str = "serve",
    *,
    cwd: Path | None = None,
    wait: bool = True,
    log_file: IO[str] | None = None,
    timeout: float = 30,
) -> BotProcess:
    """Start `python -m bot <command>`; with `wait`, return once its /healthz answers 200.

    Output goes to `log_file` when given (a benchmark's child should cost the parent nothing),
    otherwise it is collected from a pipe into `BotProcess.output`.
    """
    process = subprocess.Popen(
        [sys.executable, "-m", "bot", *command.split()],
        env=env,
        cwd=cwd or tempfile.mkdtemp(prefix="imagine-bot-"),
        stdout=log_file if log_file is not None else subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    bot = BotProcess(process, f"http://127.0.0.1:{env['PORT']}")
    if log_file is None:

        def pump() -> None:
            assert process.stdout is not None
            with process.stdout as stream:  # closed when the bot's output ends
                for line in stream:
                    bot.output.append(line)

        threading.Thread(target=pump, daemon=True).start()
    if wait:
        wait_healthy(bot, timeout)
    return bot


def wait_healthy(bot: BotProcess, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    with httpx.Client(trust_env=False, timeout=1) as client:
        while time.monotonic() < deadline:
            if bot.process.poll() is not None:
                bot.process.wait()
                raise RuntimeError(f"the bot exited with {bot.process.returncode}:\n{bot.logs}")
            try:
                if client.get(f"{bot.url}/healthz").status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.05)  # polling a starting process: there is nothing to wait on but the port
    raise RuntimeError(f"the bot did not become healthy in {timeout} s:\n{bot.logs}")
