"""`python -m devkit.playground` as a person runs it: the URL on stdout at once even through a pipe (issue 17),
the page answering, and SIGTERM or Ctrl-C stopping everything, the bot and its temporary directory included."""

from __future__ import annotations

import os
import queue
import signal
import subprocess
import sys
import threading
from pathlib import Path

import httpx
import pytest

from devkit.harness import ROOT, free_port

pytestmark = pytest.mark.e2e

STARTUP_S = 120.0  # the bot's start; generous for a busy machine


def _lines(process: subprocess.Popen[str]) -> tuple[queue.Queue[str], threading.Thread]:
    """Every line the process writes to stdout, as it comes (a reader thread, so a test can time out);
    the thread ends when the process closes its stdout."""
    found: queue.Queue[str] = queue.Queue()

    def read() -> None:
        assert process.stdout is not None
        for line in process.stdout:
            found.put(line)

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    return found, reader


def _descendants(pid: int) -> list[int]:
    """The processes below `pid` (Linux /proc); [] where there is no /proc."""
    parents: dict[int, int] = {}
    for entry in os.listdir("/proc") if os.path.isdir("/proc") else []:
        try:
            with open(f"/proc/{entry}/stat", encoding="ascii", errors="replace") as stat:
                parents[int(entry)] = int(stat.read().rsplit(")", 1)[1].split()[1])
        except (OSError, ValueError, IndexError):
            continue
    found, frontier = [], [pid]
    while frontier:
        children = [child for child, parent in parents.items() if parent in frontier]
        found += children
        frontier = children
    return found


def _alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii", errors="replace") as stat:
            return stat.read().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


def test_the_url_comes_through_a_pipe_at_once_and_ctrl_c_stops_everything(tmp_path: Path) -> None:
    # Ctrl-C, not SIGTERM: the same handler, and it also reaches the bot (the whole process group).
    env = {**os.environ, "TMPDIR": str(tmp_path), "PYTHONPATH": str(ROOT)}
    port = free_port()
    cli = subprocess.Popen(
        [sys.executable, "-m", "devkit.playground", "--port", str(port), "--pace", "0"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,  # its own process group, as a terminal gives it, for Ctrl-C
    )
    try:
        lines, reader = _lines(cli)
        seen = [lines.get(timeout=STARTUP_S)]
        while not seen[-1].startswith("Playground ready: open "):
            seen.append(lines.get(timeout=STARTUP_S))
        assert seen[0].startswith("Starting the Slack and Azure emulators")
        url = seen[-1].removeprefix("Playground ready: open ").strip()
        assert url == f"http://127.0.0.1:{port}/"
        page = httpx.get(url, trust_env=False, timeout=10)
        assert page.status_code == 200
        assert "imagine-bot playground" in page.text
        bots = _descendants(cli.pid)
        assert bots, "the bot runs as a child process"
        os.killpg(cli.pid, signal.SIGINT)  # Ctrl-C in a terminal: SIGINT to the foreground process group
        assert cli.wait(timeout=60) == 0
        reader.join(10)
        rest = []
        while not lines.empty():
            rest.append(lines.get())
        assert any(line.startswith("Stopping the playground") for line in rest), rest
        assert not [pid for pid in bots if _alive(pid)], "the bot and its worker stop with the playground"
        assert not list(tmp_path.glob("imagine-playground-*")), "the temporary directory is removed"
    finally:
        if cli.poll() is None:
            os.killpg(cli.pid, signal.SIGKILL)
            cli.wait()
        assert cli.stdout is not None
        cli.stdout.close()
