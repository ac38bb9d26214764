"""One function per measured load. Each starts what it needs on fresh emulators and a fresh database,
measures, stops it, and returns plain numbers; `bench.__main__` turns them into the table."""

from __future__ import annotations

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
from typing import Any, TypeVar

from bench import harness, load
from bench.harness import CHANNEL, ChildProcess, Stage
from bench.load import LatencyStats
from bot.emulators.slack import Message

T = TypeVar("T")

PROMPT = "a badger wearing a tuxedo, watercolour"
# Azure's latency while acks are measured: real DALL-E 3 takes 10-20 s; 2 s is enough to keep every
# worker (and, in the naive app, every executor thread) busy while the commands arrive.
ACK_LOAD_AZURE_LATENCY_S = 2.0
WARM_UP_COMMANDS = 3


@dataclass(frozen=True)
class AckResult:
    stats: LatencyStats
    # CPU seconds the server process used during the load: next to the wall time, it tells whether
    # latency came from work (CPU-bound) or from waiting (locks, a starved pool).
    server_cpu_s: float
    load_wall_s: float
    schedule_lag_s: float = 0.0  # open loop only: how far the client's sends fell behind schedule

    def as_dict(self) -> dict[str, Any]:
        return {
            **asdict(self.stats),
            "failed": self.stats.failed,
            "server_cpu_s": self.server_cpu_s,
            "load_wall_s": self.load_wall_s,
            "schedule_lag_s": self.schedule_lag_s,
        }


def _server(stage: Stage, naive: bool, name: str) -> ChildProcess:
    return stage.start_naive(name) if naive else stage.start_bot(name)


def _warm_up(stage: Stage, server: ChildProcess) -> None:
    """A few commands first, as a running bot has seen: imports and caches are warm, workers busy."""
    requests = load.signed_commands(stage.slack, server.url, WARM_UP_COMMANDS, prompt=PROMPT, channel_id=CHANNEL)
    load.closed_loop(server.url, requests, concurrency=1)


def _under_load(server: ChildProcess, call: Callable[[], T]) -> tuple[T, float, float]:
    """`call()`'s result, and the server's CPU seconds and the wall seconds it took."""
    cpu_before, began = server.cpu_s(), time.perf_counter()
    result = call()
    return result, server.cpu_s() - cpu_before, time.perf_counter() - began


def ack_burst(workdir: Path, count: int, *, naive: bool, timeout_s: float = load.CLIENT_TIMEOUT_S) -> AckResult:
    name = f"burst-{'naive' if naive else 'bot'}"
    with harness.stage(workdir, name, latency_s=ACK_LOAD_AZURE_LATENCY_S) as stage:
        server = _server(stage, naive, name)
        try:
            _warm_up(stage, server)
            requests = load.signed_commands(stage.slack, server.url, count, prompt=PROMPT, channel_id=CHANNEL)
            outcomes, cpu_s, wall_s = _under_load(server, lambda: load.fire_together(server.url, requests, timeout_s))
            return AckResult(LatencyStats.of(outcomes, timeout_s), cpu_s, wall_s)
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
            (outcomes, lag), cpu_s, wall_s = _under_load(
                server, lambda: load.open_loop(server.url, requests, rate_per_s, timeout_s)
            )
            return AckResult(LatencyStats.of(outcomes, timeout_s), cpu_s, wall_s, lag)
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
    per_minute: float | None  # over the steady part (see steady_rate); None if too few calls succeeded
    measured_s: float | None
    successes: int
    calls: int  # generation calls Azure received, 429s included
    rate_limited: int  # 429s
    jobs_by_status: dict[str, int]  # when the run stopped; jobs still queued were simply not reached

    @property
    def failed_jobs(self) -> int:
        return self.jobs_by_status.get("failed", 0)

    @property
    def ratio(self) -> float | None:
        return None if self.per_minute is None else self.per_minute / self.rpm


def steady_rate(success_times: list[float], calls_per_window: int, windows: int) -> tuple[float, float] | None:
    """(calls per minute, seconds measured): k·p calls, from the first success to the first call of the
    batch after k windows of p. Counting the calls in a fixed span instead would round to whole batches
    (a window's p calls go out together) and read anything from 80 % to 120 % of the quota."""
    needed = windows * calls_per_window
    if len(success_times) <= needed:
        return None
    span = success_times[needed] - success_times[0]
    return needed / span * 60, span


def throughput(workdir: Path, rpm: int, windows: int, *, limited: bool) -> ThroughputResult:
    """A burst of 3R jobs against an Azure allowing R calls a minute, measured for `windows` windows.

    Draining 3R jobs at R a minute always takes three minutes whatever R is, so the run stops once the
    steady rate is known (or once no job is left to try); the rest of the burst stays queued, which is
    what the queue is for.
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
            _wait_for_calls(stage, windows * per_window + 1, timeout_s=windows * QUOTA_WINDOW_S * 1.5 + 20)
        finally:
            bot.stop()
        answers = stage.azure.answers()
        by_status = stage.count_by_status()
    _check_all_queued(by_status, burst)
    successes = [at for at, status in answers if status == 200]
    rate = steady_rate(successes, per_window, windows)
    return ThroughputResult(
        rpm=rpm,
        limited=limited,
        burst=burst,
        windows=windows,
        per_minute=rate[0] if rate else None,
        measured_s=rate[1] if rate else None,
        successes=len(successes),
        calls=len(answers),
        rate_limited=sum(status == 429 for _, status in answers),
        jobs_by_status=by_status,
    )


def _check_all_queued(by_status: dict[str, int], commands: int) -> None:
    # A 200 is not proof of a job: the ack may be a refusal (a quota, a duplicate) in ephemeral text.
    if sum(by_status.values()) != commands:
        raise RuntimeError(f"{commands} commands made {sum(by_status.values())} jobs: {by_status}")


def _wait_for_calls(stage: Stage, successes: int, timeout_s: float) -> None:
    """Until Azure has answered `successes` calls with 200, or every job has finished one way or another."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if sum(status == 200 for _, status in stage.azure.answers()) >= successes:
            return
        by_status = stage.count_by_status()
        if not by_status.get("queued") and not by_status.get("running"):
            return
        time.sleep(0.5)


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
    peak_rss_mb: float  # VmHWM, in 10^6 bytes like the target
    start_rss_mb: float
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
    _check_all_queued(by_status, queued)
    return MemoryResult(
        queued=queued,
        peak_rss_mb=peak * 1024 / 1e6,
        start_rss_mb=start * 1024 / 1e6,
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
