"""One function per measured load. Each starts what it needs on fresh emulators and a fresh database,
measures, stops it, and returns plain numbers; `bench.__main__` turns them into the table."""

from __future__ import annotations

import math
import re
import socket
import statistics
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from bench import harness, load
from bench.harness import CHANNEL, ChildProcess, Stage
from bench.load import LatencyStats
from bot.emulators.slack import Message

PROMPT = "a badger wearing a tuxedo, watercolour"
# Azure's latency while acks are measured: real DALL-E 3 takes 10-20 s; 2 s is enough to keep every
# worker (and, in the naive app, every executor thread) busy while the commands arrive.
ACK_LOAD_AZURE_LATENCY_S = 2.0
WARM_UP_COMMANDS = 3


@dataclass(frozen=True)
class AckResult:
    stats: LatencyStats
    schedule_lag_s: float = 0.0  # open loop only: how far the client's sends fell behind schedule

    def as_dict(self) -> dict[str, Any]:
        return {**asdict(self.stats), "failed": self.stats.failed, "schedule_lag_s": self.schedule_lag_s}


def _server(stage: Stage, naive: bool, name: str) -> ChildProcess:
    return stage.start_naive(name) if naive else stage.start_bot(name)


def _warm_up(stage: Stage, server: ChildProcess) -> None:
    """A few commands first, as a running bot has seen: imports and caches are warm, workers busy."""
    requests = load.signed_commands(stage.slack, server.url, WARM_UP_COMMANDS, prompt=PROMPT, channel_id=CHANNEL)
    load.closed_loop(server.url, requests, concurrency=1)


def ack_burst(workdir: Path, count: int, *, naive: bool, timeout_s: float = load.CLIENT_TIMEOUT_S) -> AckResult:
    name = f"burst-{'naive' if naive else 'bot'}"
    with harness.stage(workdir, name, latency_s=ACK_LOAD_AZURE_LATENCY_S) as stage:
        server = _server(stage, naive, name)
        try:
            _warm_up(stage, server)
            requests = load.signed_commands(stage.slack, server.url, count, prompt=PROMPT, channel_id=CHANNEL)
            return AckResult(LatencyStats.of(load.fire_together(server.url, requests, timeout_s), timeout_s))
        finally:
            server.stop()


def ack_steady(
    workdir: Path, rate_per_s: float, duration_s: float, *, naive: bool, timeout_s: float = load.CLIENT_TIMEOUT_S
) -> AckResult:
    name = f"steady-{'naive' if naive else 'bot'}"
    with harness.stage(workdir, name, latency_s=ACK_LOAD_AZURE_LATENCY_S) as stage:
        server = _server(stage, naive, name)
        try:
            _warm_up(stage, server)
            count = round(rate_per_s * duration_s)
            requests = load.signed_commands(stage.slack, server.url, count, prompt=PROMPT, channel_id=CHANNEL)
            outcomes, lag = load.open_loop(server.url, requests, rate_per_s, timeout_s)
            return AckResult(LatencyStats.of(outcomes, timeout_s), lag)
        finally:
            server.stop()


# ---------------------------------------------------------------------------------------- overhead


def _send_one(bot_url: str, request: bytes) -> load.Outcome:
    """A single command, synchronously: no event loop to start inside the timed span."""
    host, port = load.address(bot_url)
    started = time.perf_counter()
    with socket.create_connection((host, port), timeout=load.CLIENT_TIMEOUT_S) as connection:
        connection.sendall(request)
        answer = b""
        while chunk := connection.recv(65536):
            answer += chunk
    return load.Outcome(time.perf_counter() - started, int(answer.split(b" ", 2)[1]))


def _one_image(stage: Stage, bot_url: str) -> tuple[float, int]:
    """(seconds from the command leaving to the file's message existing in Slack, file size)."""
    delivered_before = len([m for m in stage.slack.messages(CHANNEL) if m.files])
    request = load.signed_commands(stage.slack, bot_url, 1, prompt=PROMPT, channel_id=CHANNEL)[0]
    sent_at = time.time()  # wall clock, because the emulator stamps the message's ts with it
    if _send_one(bot_url, request).status != 200:
        raise RuntimeError("the bot refused a command")

    def delivered() -> list[Message] | None:
        with_files = [m for m in stage.slack.messages(CHANNEL) if m.files]
        return with_files[delivered_before:] or None

    message = stage.slack.wait_for(delivered, timeout=60)[0]
    # The message's ts is the instant files.completeUploadExternal shared the file, so how often this
    # thread polls does not enter the figure.
    return float(message.ts) - sent_at, message.files[0].length


@dataclass(frozen=True)
class OverheadResult:
    jobs: int
    azure_latency_s: float
    image_bytes: int
    median_s: float
    p90_s: float
    max_s: float
    end_to_end_median_s: float


def overhead(workdir: Path, jobs: int, *, azure_latency_s: float, image_bytes: int) -> OverheadResult:
    """End-to-end minus Azure's latency, one job at a time: nothing queues, so no queue wait is in it."""
    with harness.stage(workdir, "overhead", latency_s=azure_latency_s, pad_png_to_bytes=image_bytes) as stage:
        bot = stage.start_bot("overhead")
        try:
            _one_image(stage, bot.url)  # warm-up: imports, connection pools, the emulator's drawing cache
            samples = [_one_image(stage, bot.url) for _ in range(jobs)]
        finally:
            bot.stop()
    if any(size < image_bytes for _, size in samples):
        raise RuntimeError(f"uploads smaller than {image_bytes} bytes: {sorted({s for _, s in samples})}")
    end_to_end = sorted(e for e, _ in samples)
    extra = [e - azure_latency_s for e in end_to_end]
    return OverheadResult(
        jobs=jobs,
        azure_latency_s=azure_latency_s,
        image_bytes=image_bytes,
        median_s=statistics.median(extra),
        p90_s=load.percentile(extra, 0.90),
        max_s=extra[-1],
        end_to_end_median_s=statistics.median(end_to_end),
    )


# -------------------------------------------------------------------------------------- throughput

# Both Azure (the emulator, after shared/reference/azure-images-api.md §4.3) and the bot's shared limit
# count an RPM quota as rpm // 6 calls per sliding 10-second window.
QUOTA_WINDOW_S = 10.0
THROUGHPUT_AZURE_LATENCY_S = 1.0


@dataclass(frozen=True)
class ThroughputResult:
    rpm: int
    limited: bool  # the bot ran with AZURE_RPM_LIMIT=rpm
    burst: int
    windows: int
    per_minute: float  # achieved over the steady part (see steady_rate)
    successes: int
    calls: int  # generation calls Azure received, 429s included
    rate_limited: int  # 429s
    failed_jobs: int
    jobs_by_status: dict[str, int]
    measured_s: float

    @property
    def ratio(self) -> float:
        return self.per_minute / self.rpm


def steady_rate(success_times: list[float], calls_per_window: int, windows: int) -> tuple[float, float]:
    """(calls per minute, seconds measured) from the first success to the first of the batch after
    `windows` full windows: k·p calls took exactly that long. Counting calls in a fixed span instead
    would round to whole batches (a window's p calls arrive together) and could read 100 % or 120 %."""
    needed = windows * calls_per_window
    if len(success_times) <= needed:
        span = success_times[-1] - success_times[0] if len(success_times) > 1 else math.inf
        return (len(success_times) - 1) / span * 60 if span > 0 else 0.0, span
    span = success_times[needed] - success_times[0]
    return needed / span * 60, span


def throughput(workdir: Path, rpm: int, windows: int, *, limited: bool) -> ThroughputResult:
    """A burst of 3R jobs against an Azure allowing R calls a minute, measured for `windows` windows.

    Draining 3R jobs at R a minute always takes three minutes whatever R is, so the run stops once the
    steady rate is known; the rest of the burst stays queued, which is what the queue is for.
    """
    name = f"throughput-{'limited' if limited else 'unlimited'}"
    per_window = max(1, rpm // 6)
    burst = 3 * rpm
    with harness.stage(workdir, name, latency_s=THROUGHPUT_AZURE_LATENCY_S, rpm_limit=rpm) as stage:
        extra = {"AZURE_RPM_LIMIT": str(rpm)} if limited else {}
        bot = stage.start_bot(name, **extra)
        try:
            requests = load.signed_commands(stage.slack, bot.url, burst, prompt=PROMPT, channel_id=CHANNEL)
            acks = LatencyStats.of(load.closed_loop(bot.url, requests, concurrency=50))
            if acks.failed:
                raise RuntimeError(f"{acks.failed} of the {burst} commands were not accepted")
            deadline = time.monotonic() + windows * QUOTA_WINDOW_S * 1.5 + 20
            while time.monotonic() < deadline:
                if len([1 for _, status in stage.azure.answers() if status == 200]) > windows * per_window:
                    break
                time.sleep(0.2)
        finally:
            bot.stop()
        answers = stage.azure.answers()
        by_status = stage.count_by_status()
    successes = [at for at, status in answers if status == 200]
    per_minute, span = steady_rate(successes, per_window, windows)
    return ThroughputResult(
        rpm=rpm,
        limited=limited,
        burst=burst,
        windows=windows,
        per_minute=per_minute,
        successes=len(successes),
        calls=len(answers),
        rate_limited=sum(status == 429 for _, status in answers),
        failed_jobs=by_status.get("failed", 0),
        jobs_by_status=by_status,
        measured_s=span,
    )


def throughput_pair(workdir: Path, rpm: int, windows: int) -> tuple[ThroughputResult, ThroughputResult]:
    """With and without AZURE_RPM_LIMIT, side by side: each run mostly waits on its quota (about one
    busy second in ten), so running both at once costs neither its figure and halves the wall time."""
    results: dict[bool, ThroughputResult] = {}
    errors: list[BaseException] = []

    def run(limited: bool) -> None:
        try:
            results[limited] = throughput(workdir, rpm, windows, limited=limited)
        except BaseException as error:  # re-raised in the calling thread
            errors.append(error)

    threads = [threading.Thread(target=run, args=(limited,)) for limited in (True, False)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    if errors:
        raise errors[0]
    return results[True], results[False]


# ------------------------------------------------------------------------------------------ memory

# Slow enough that no worker finishes during the fill: every job stays queued or running.
MEMORY_AZURE_LATENCY_S = 120.0


@dataclass(frozen=True)
class MemoryResult:
    queued: int
    peak_rss_mib: float
    start_rss_mib: float
    fill_s: float
    fill_acks: dict[str, Any]
    jobs_by_status: dict[str, int]


def memory(workdir: Path, queued: int) -> MemoryResult:
    """Peak resident memory of the bot while `queued` signed commands pile up behind a stalled Azure."""
    with harness.stage(workdir, "memory", latency_s=MEMORY_AZURE_LATENCY_S) as stage:
        bot = stage.start_bot("memory")
        try:
            start = bot.memory_kib()["VmHWM"]
            requests = load.signed_commands(stage.slack, bot.url, queued, prompt=PROMPT, channel_id=CHANNEL)
            began = time.perf_counter()
            acks = LatencyStats.of(load.closed_loop(bot.url, requests, concurrency=16))
            fill_s = time.perf_counter() - began
            time.sleep(1.0)  # a few queue polls with the full backlog
            peak = bot.memory_kib()["VmHWM"]
        finally:
            bot.stop()
        by_status = stage.count_by_status()
    if acks.failed:
        raise RuntimeError(f"{acks.failed} of the {queued} commands were not accepted")
    return MemoryResult(
        queued=queued,
        peak_rss_mib=peak / 1024,
        start_rss_mib=start / 1024,
        fill_s=fill_s,
        fill_acks={**asdict(acks), "failed": acks.failed},
        jobs_by_status=by_status,
    )


# ------------------------------------------------------------------------------------------ report

_REPORT_LINE = re.compile(
    r"^(?P<label>\S.*?)\s+(?P<rows>[\d,]+)\s+(?P<groups>\d+)\s+(?P<median>[\d.]+)\s+(?P<max>[\d.]+)$"
)


@dataclass(frozen=True)
class ReportResult:
    backend: str
    rows: int
    groupings: dict[str, dict[str, float]]  # label -> {"median_s", "max_s"}
    slowest: str
    slowest_median_s: float
    slowest_max_s: float
    wall_s: float


def report(rows: int, database_url: str | None) -> ReportResult:
    """bench/report.py (seeds `rows` usage rows, times every grouping), run as its own process so that
    its numbers are exactly the ones it prints when run by hand."""
    argv = [sys.executable, str(harness.ROOT / "bench" / "report.py"), "--rows", str(rows)]
    if database_url is not None:
        argv += ["--database-url", database_url]
    began = time.perf_counter()
    finished = subprocess.run(argv, cwd=harness.ROOT, capture_output=True, text=True, timeout=900)
    wall = time.perf_counter() - began
    if finished.returncode != 0:
        raise RuntimeError(f"bench/report.py exited with {finished.returncode}: {finished.stderr[-2000:]}")
    groupings = {
        m["label"]: {"median_s": float(m["median"]), "max_s": float(m["max"])}
        for line in finished.stdout.splitlines()
        if (m := _REPORT_LINE.match(line.strip()))
    }
    if not groupings:
        raise RuntimeError(f"no timings found in bench/report.py's output:\n{finished.stdout[-2000:]}")
    slowest = max(groupings, key=lambda label: groupings[label]["median_s"])
    return ReportResult(
        backend="postgresql" if database_url else "sqlite",
        rows=rows,
        groupings=groupings,
        slowest=slowest,
        slowest_median_s=groupings[slowest]["median_s"],
        slowest_max_s=groupings[slowest]["max_s"],
        wall_s=wall,
    )


def timed(call: Callable[[], Any]) -> tuple[Any, float]:
    began = time.perf_counter()
    result = call()
    return result, time.perf_counter() - began
