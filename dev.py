#!/usr/bin/env python3
"""Set up and run in one step: `python3 dev.py demo`, `python3 dev.py test`, `python3 dev.py check`.

On first use it creates `.venv` and installs the project with its development tools; it reinstalls
whenever `pyproject.toml` changes. Every other argument is passed through to the task.
"""

from __future__ import annotations

import hashlib
import os
import signal
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent
VENV = ROOT / ".venv"
BIN = VENV / ("Scripts" if os.name == "nt" else "bin")
PYTHON = BIN / ("python.exe" if os.name == "nt" else "python")
BOT_COMMANDS = {"serve", "web", "worker", "migrate", "report", "purge"}
USAGE = """usage: python3 dev.py TASK [ARGS...]

tasks:
  demo     try it in a browser: the real bot between Slack and Azure emulators (no credentials)
  test     run the test suite in 3 parallel workers (pytest; extra arguments go to pytest)
  check    lint, format check and strict type check (ruff, mypy)
  bench    run the benchmarks and print their table (--smoke: tiny loads, checks the harness)
  serve    run the bot: the Slack listener and a worker process (reads .env)
  web, worker, migrate, report, purge
           the other imagine-bot commands (see README.md)
"""


def ensure_environment() -> None:
    if sys.version_info < (3, 11):  # noqa: UP036 (this runs under any python3, before a venv exists)
        sys.exit(f"dev.py: Python 3.11 or newer is needed; this is {sys.version.split()[0]}.")
    if not PYTHON.exists():
        print("dev.py: creating .venv …", file=sys.stderr)
        subprocess.run([sys.executable, "-m", "venv", str(VENV)], check=True)
    digest = hashlib.sha256((ROOT / "pyproject.toml").read_bytes()).hexdigest()
    stamp = VENV / ".installed-from"
    if stamp.exists() and stamp.read_text() == digest:
        return
    print("dev.py: installing the project and its development tools into .venv …", file=sys.stderr)
    pip = [str(PYTHON), "-m", "pip", "--disable-pip-version-check", "--quiet"]
    subprocess.run([*pip, "install", "--upgrade", "pip"], check=True)
    subprocess.run([*pip, "install", "--editable", f"{ROOT}[dev]"], check=True)
    stamp.write_text(digest)


def run(*command: str, env: dict[str, str] | None = None) -> int:
    child = subprocess.Popen(command, cwd=ROOT, env=env)

    def forward(signum: int, _frame: object) -> None:
        child.send_signal(signum)

    # Ctrl-C reaches the child from the terminal, and the child stops in its own time (the bot drains its
    # jobs, the playground removes its temporary files): here a do-nothing handler, not SIG_IGN, which the
    # child would inherit. SIGTERM (a process manager, `kill`) and SIGHUP (the terminal closed) reach only
    # this process: passed on, or the playground and its bot would live on, holding their ports.
    handlers = {signal.SIGINT: lambda signum, frame: None, signal.SIGTERM: forward, signal.SIGHUP: forward}
    previous = {sig: signal.signal(sig, handler) for sig, handler in handlers.items()}
    try:
        return child.wait()
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


def main(argv: list[str]) -> int:
    if not argv or argv[0] in ("-h", "--help", "help"):
        print(USAGE)
        return 0 if argv else 2
    task, args = argv[0], argv[1:]
    if task not in BOT_COMMANDS | {"test", "check", "bench", "demo"}:
        print(f"dev.py: unknown task {task!r}\n\n{USAGE}", file=sys.stderr)
        return 2
    ensure_environment()
    python = str(PYTHON)
    if task == "test":
        # Part of the end-to-end time is spent waiting on the bot's processes, so three workers beat two
        # on two cores (measured: 3 fastest, 4 slower again); loadgroup keeps the tests that share a
        # playground on one worker. Pass `-n 0` to run in one process (e.g. with a debugger).
        parallel = [] if any(a == "-n" or a.startswith("-n") for a in args) else ["-n", "3", "--dist", "loadgroup"]
        # The tests start the bot as processes; letting Python keep its bytecode saves each a recompile.
        env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
        return run(python, "-m", "pytest", *parallel, *args, env=env)
    if task == "check":
        for step in (
            [python, "-m", "ruff", "check", "bot", "devkit", "tests", "bench", "dev.py"],
            [python, "-m", "ruff", "format", "--check", "bot", "devkit", "tests", "bench", "dev.py"],
            [python, "-m", "mypy", "bot"],
            [python, "-m", "mypy", "--strict", "devkit"],
            [python, "-m", "mypy", "bench"],
        ):
            if code := run(*step):
                return code
        return 0
    if task == "bench":
        return run(python, "-m", "bench", *args)
    if task == "demo":
        return run(python, "-m", "devkit.playground", *args)
    return run(python, "-m", "bot", task, *args)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
