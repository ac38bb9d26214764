"""The playground's processes: the Slack and Azure emulators here, the real bot as a child process.

The bot runs as in production (`python -m bot serve`, through `devkit.harness`), configured by its
environment only: fresh random tokens and secrets for every run, a SQLite database, its log and its
working directory in a temporary directory that is removed on exit. It runs in that directory, so a
developer's `.env` in the checkout is never read. Switching the model or the prompt reviser restarts
it with other settings; the channel and the database stay.
"""

from __future__ import annotations

import logging
import os
import secrets
import shutil
import signal
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import IO, Self

from devkit.azure import DEFAULT_DEPLOYMENTS, AzureEmulator
from devkit.harness import BotProcess, bot_environment, start_bot, wait_healthy
from devkit.playground.pacing import AzurePacer
from devkit.slack import SlackEmulator

__all__ = [
    "CHANNEL_ID",
    "CHANNEL_NAME",
    "MODELS",
    "RESPONSES_DEPLOYMENT",
    "USER_ID",
    "USER_NAME",
    "BotChoice",
    "Model",
    "Playground",
]

log = logging.getLogger(__name__)

CHANNEL_ID = "C0CHAN0001"
CHANNEL_NAME = "general"
USER_ID = "U0USER0001"
USER_NAME = "you"
RESPONSES_DEPLOYMENT = "gpt-5.4-mini"  # a chat deployment the Azure emulator serves (DEFAULT_CHAT_DEPLOYMENTS)


@dataclass(frozen=True)
class Model:
    """One entry of the model switcher: the model, the emulator's deployment of it, and its label."""

    name: str
    deployment: str
    label: str
    retired: bool = False


# The emulator names deployments after their models (devkit/azure DEFAULT_DEPLOYMENTS).
_DEPLOYMENT_OF = {model: deployment for deployment, model in DEFAULT_DEPLOYMENTS.items()}
MODELS: tuple[Model, ...] = (
    Model("gpt-image-2", _DEPLOYMENT_OF["gpt-image-2"], "gpt-image-2"),
    Model("gpt-image-1-mini", _DEPLOYMENT_OF["gpt-image-1-mini"], "gpt-image-1-mini"),
    Model("gpt-image-1.5", _DEPLOYMENT_OF["gpt-image-1.5"], "gpt-image-1.5"),
    # Azure retired dall-e-3 on 2026-02-18: its deployment answers DeploymentNotFound (retired here too),
    # so choosing it shows what people see when an operator forgets to move on.
    Model("dall-e-3", _DEPLOYMENT_OF["dall-e-3"], "dall-e-3 (retired)", retired=True),
)
_BY_NAME = {model.name: model for model in MODELS}


@dataclass(frozen=True)
class BotChoice:
    """What the page lets a person change about the bot; each change is a restart."""

    model: str = "gpt-image-2"
    revise_prompts: bool = False  # AZURE_OPENAI_RESPONSES_DEPLOYMENT: the Responses API revises prompts

    def __post_init__(self) -> None:
        if self.model not in _BY_NAME:
            raise ValueError(f"unknown model {self.model!r}; choose one of {', '.join(_BY_NAME)}")


class Playground:
    """The emulators, the Azure pacer and the bot, started and stopped together (a context manager).

    `pace_s` holds every image call that long (0: the emulator's own speed, for tests). `bot_settings`
    add to or override the bot's environment (e.g. WORKER_CONCURRENCY for a test).
    """

    def __init__(
        self,
        choice: BotChoice = BotChoice(),
        *,
        pace_s: float = 1.5,
        bot_settings: dict[str, str] | None = None,
        bot_timeout_s: float = 60.0,
    ) -> None:
        self._choice = choice
        self._pace_s = pace_s
        self._bot_settings = dict(bot_settings or {})
        self._bot_timeout_s = bot_timeout_s
        self.state_dir = Path(tempfile.mkdtemp(prefix="imagine-playground-"))
        self.log_path = self.state_dir / "bot.log"
        self.database_url = f"sqlite:///{self.state_dir / 'imagine.sqlite3'}"
        self._lock = threading.RLock()  # one start, stop or restart at a time
        self._slack: SlackEmulator | None = None
        self._azure: AzureEmulator | None = None
        self._pacer: AzurePacer | None = None
        self._bot: BotProcess | None = None
        self._log: IO[str] | None = None
        self._restarting: BotChoice | None = None
        self._failure: str | None = None

    # ------------------------------------------------------------------ what the page reads

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
    def choice(self) -> BotChoice:
        return self._choice

    @property
    def bot_url(self) -> str | None:
        """Where Slack sends the bot its requests; None while it is (re)starting or stopped."""
        bot = self._bot
        return bot.url if bot is not None and self._restarting is None and bot.process.poll() is None else None

    def status(self) -> tuple[str, str]:
        """("ready" | "starting" | "stopped", a sentence for the page)."""
        if self._restarting is not None:
            return "starting", f"restarting the bot with {describe(self._restarting)}…"
        bot = self._bot
        if bot is None:
            return "stopped", self._failure or "the bot is not running"
        code = bot.process.poll()
        if code is not None:
            return "stopped", f"the bot exited with code {code}; see its log"
        return "ready", f"the real bot, with {describe(self._choice)}"

    def log_tail(self, lines: int = 200) -> str:
        try:
            text = self.log_path.read_text(encoding="utf-8", errors="replace")
        except FileNotFoundError:
            return ""
        return "\n".join(text.splitlines()[-lines:])

    # ------------------------------------------------------------------ lifecycle

    def start(self) -> Self:
        try:
            with self._lock:
                self._start()
        except BaseException:
            self.stop()
            raise
        return self

    def _start(self) -> None:
        slack = SlackEmulator(
            bot_token=f"xoxb-{secrets.token_hex(12)}",
            app_token=f"xapp-1-{secrets.token_hex(12)}",
            signing_secret=secrets.token_hex(16),
        ).start()
        self._slack = slack
        slack.add_channel(CHANNEL_ID, name=CHANNEL_NAME, member=True)
        azure = AzureEmulator(api_key=secrets.token_hex(16), seed=secrets.randbelow(2**31)).start()
        self._azure = azure
        for model in MODELS:
            if model.retired:
                azure.retire(model.deployment)
        self._pacer = AzurePacer(azure, self._pace_s).start()
        self._log = self.log_path.open("a", encoding="utf-8")
        self._launch(self._choice)

    def environment_for(self, choice: BotChoice) -> dict[str, str]:
        """The bot's environment for `choice`: these emulators and their fresh secrets, a free port, the
        playground's database, and the page's person as an admin."""
        model = _BY_NAME[choice.model]
        others = ",".join(f"{m.deployment}={m.name}" for m in MODELS if m != model and not m.retired)
        env = bot_environment(
            self.slack,
            self.azure,
            database_url=self.database_url,
            IMAGE_MODEL=model.name,
            AZURE_OPENAI_DEPLOYMENT=model.deployment,
            AZURE_OPENAI_EXTRA_DEPLOYMENTS=others,
            ADMIN_USER_IDS=USER_ID,  # the page's person sees `/imagine usage` and the App Home as an admin
            WORKER_CONCURRENCY="2",
            SHUTDOWN_GRACE_SECONDS="5",  # a restart waits for running jobs; the emulator is quick
        )
        # The App Home chart is an image Slack would fetch from the bot's public URL; here the page's
        # browser fetches it straight from the bot.
        env["PUBLIC_URL"] = f"http://127.0.0.1:{env['PORT']}"
        if choice.revise_prompts:
            env["AZURE_OPENAI_RESPONSES_DEPLOYMENT"] = RESPONSES_DEPLOYMENT
        env.update(self._bot_settings)
        return env

    def _note(self, line: str) -> None:
        """A line of the playground's own in the bot's log, where a person reading it needs it."""
        if self._log is not None:
            self._log.write(f"--- playground: {line} ---\n")
            self._log.flush()

    def _launch(self, choice: BotChoice) -> None:
        """Start the bot and wait until it answers; RuntimeError (with its log) when it does not."""
        self._note(f"starting the bot with {describe(choice)}")
        started = time.monotonic()
        work_dir = self.state_dir / "bot"  # its own working directory: no .env of the checkout is read
        work_dir.mkdir(exist_ok=True)
        # Kept before it is healthy, so that a signal or a failure while it starts still stops it.
        self._bot = start_bot(self.environment_for(choice), "serve", cwd=work_dir, log_file=self._log, wait=False)
        wait_healthy(self._bot, self._bot_timeout_s)
        self._note(f"the bot answers on {self._bot.url} after {time.monotonic() - started:.1f} s")

    def _stop_bot(self) -> None:
        if self._bot is not None:
            self._note("stopping the bot (SIGINT, as Ctrl-C would)")
            started = time.monotonic()
            stop_bot(self._bot)
            self._note(
                f"the bot stopped (exit code {self._bot.process.returncode}) in {time.monotonic() - started:.1f} s"
            )
            self._bot = None

    def switch(self, *, model: str | None = None, revise_prompts: bool | None = None) -> BotChoice:
        """Restart the bot with another model or prompt reviser; returns the choice now in force."""
        wanted = BotChoice(
            self._choice.model if model is None else model,
            self._choice.revise_prompts if revise_prompts is None else revise_prompts,
        )
        with self._lock:
            if wanted == self._choice and self._bot is not None and self._bot.process.poll() is None:
                return wanted
            self._restarting = wanted
            try:
                self._stop_bot()
                self._choice = wanted
                self._launch(wanted)
                self._failure = None
            except RuntimeError as error:  # the bot did not become healthy; the page says so
                self._failure = f"the bot did not start: {str(error).splitlines()[0]}"
                log.error("%s", self._failure)
                self._stop_bot()
            finally:
                self._restarting = None
        return self._choice

    def stop(self) -> None:
        """Stop everything and remove the temporary directory; safe to call more than once."""
        with self._lock:
            self._stop_bot()
            if self._pacer is not None:
                self._pacer.stop()
                self._pacer = None
            for emulator in (self._slack, self._azure):
                if emulator is not None:
                    emulator.stop()
            self._slack = self._azure = None
            if self._log is not None:
                self._log.close()
                self._log = None
            shutil.rmtree(self.state_dir, ignore_errors=True)

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()


def stop_bot(bot: BotProcess, timeout: float = 30.0) -> None:
    """Stop `python -m bot serve` and its worker child, gracefully, as Ctrl-C in a terminal would.

    SIGINT rather than SIGTERM: bots before bot/processes.py's fix let uvicorn raise SIGTERM again under its
    default handler, so `serve` died before its `finally` stopped the worker, which lived on as an orphan;
    SIGINT unwound through those blocks (as a KeyboardInterrupt). Either signal is graceful now. Any child
    still alive afterwards is stopped by its pid, all the same.
    """
    children = _children(bot.process.pid)
    bot.stop(signal.SIGINT, timeout)
    deadline = time.monotonic() + timeout
    for sig in (signal.SIGTERM, signal.SIGKILL):
        alive = [pid for pid in children if _alive(pid)]
        for pid in alive:
            os.kill(pid, sig)
        while alive and time.monotonic() < deadline:
            time.sleep(0.1)  # not our child: nothing to wait on but its /proc entry
            alive = [pid for pid in alive if _alive(pid)]
        if not alive:
            return
        log.warning("the bot's worker %s did not stop on %s", alive, sig.name)


def _children(pid: int) -> list[int]:
    """The pids whose parent is `pid` (Linux /proc; elsewhere none are known)."""
    try:
        entries = os.listdir("/proc")
    except OSError:
        return []
    found = []
    for entry in entries:
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/stat", encoding="ascii", errors="replace") as stat:
                    fields = stat.read().rsplit(")", 1)[1].split()
            except (OSError, IndexError):
                continue
            if fields[1:2] == [str(pid)]:
                found.append(int(entry))
    return found


def _alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii", errors="replace") as stat:
            return stat.read().rsplit(")", 1)[1].split()[0] != "Z"
    except (OSError, IndexError):
        return False


def describe(choice: BotChoice) -> str:
    model = _BY_NAME[choice.model]
    return model.label + (f", prompts revised by {RESPONSES_DEPLOYMENT}" if choice.revise_prompts else "")
