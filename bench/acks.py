"""The ack loads: bursts of signed `/imagine` commands at 10, 200 and 1,000 at once, a steady rate, and
the 200-burst again while the workers deliver 1 MiB images flat out; each against the bot and the floor
(bench/floor.py) with the same client (bench/client.py), and the first two against the naive app.

Every burst is repeated (`Loads.repeats`), bot and floor taking turns so that a change in the machine's
other load falls on both; a figure's latencies are the median burst's, its failures the sum over all.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bench.client import LoadRun, run_load
from bench.stage import MIB, Server, Stage, cpu_ns, stage
from bench.stats import LatencyStats, median

# Azure's latency while acks are measured: real image models take 10-60 s; 2 s keeps every worker (and
# in the naive app every executor thread) busy while the commands arrive.
ACK_LOAD_AZURE_LATENCY_S = 2.0
WARM_UP_COMMANDS = 5
PAUSE_BETWEEN_BURSTS_S = 1.0
BUSY_CHANNELS = 100  # the answers' aftermath (workers announcing the new jobs) settles


@dataclass(frozen=True)
class BurstSeries:
    """Repeated bursts of `size` at one server: per-burst stats, and the web process's CPU per ack."""

    size: int
    bursts: list[LatencyStats]
    cpu_per_ack_s: float | None  # None for servers not measured (the naive app)
    client: dict[str, float] = field(default_factory=dict)

    @property
    def typical(self) -> LatencyStats:
        """The median burst by p99 (the lower middle of an even count)."""
        ordered = sorted(self.bursts, key=lambda s: s.p99_s)
        return ordered[(len(ordered) - 1) // 2]

    @property
    def p99_s(self) -> float:
        return self.typical.p99_s

    @property
    def worst_s(self) -> float:
        return max(s.max_s for s in self.bursts)

    @property
    def failed(self) -> int:
        return sum(s.failed for s in self.bursts)

    @property
    def over_3s(self) -> int:
        return sum(s.over_3s + s.no_answer for s in self.bursts)

    def as_dict(self) -> dict[str, Any]:
        return {
            "size": self.size,
            "bursts": [s.as_dict() for s in self.bursts],
            "typical": self.typical.as_dict(),
            "p99_per_burst_s": [s.p99_s for s in self.bursts],
            "worst_s": self.worst_s,
            "failed": self.failed,
            "cpu_per_ack_s": self.cpu_per_ack_s,
            "client": self.client,
        }


def _burst(workdir: Path, stage_: Stage, server: Server, size: int, timeout_s: float) -> tuple[LoadRun, int]:
    requests = stage_.commands(server.url, size)
    run, samples = run_load(
        workdir, server.url, requests, mode="burst", timeout_s=timeout_s, around=lambda: cpu_ns(server.pid)
    )
    before, after = samples
    assert isinstance(before, int)
    assert isinstance(after, int)
    return run, after - before


def _warm_up(workdir: Path, stage_: Stage, server: Server) -> None:
    """A few commands first, as a running bot has seen: imports and caches are warm, workers busy."""
    run_load(
        workdir, server.url, stage_.commands(server.url, WARM_UP_COMMANDS), mode="closed", concurrency=1, timeout_s=10
    )


def _series(
    workdir: Path, stage_: Stage, servers: dict[str, Server], size: int, repeats: int, timeout_s: float
) -> dict[str, BurstSeries]:
    """`repeats` bursts of `size` at each server, taking turns."""
    stats: dict[str, list[LatencyStats]] = {name: [] for name in servers}
    cpu: dict[str, int] = dict.fromkeys(servers, 0)
    client: dict[str, list[LoadRun]] = {name: [] for name in servers}
    for _ in range(repeats):
        for name, server in servers.items():
            run, used = _burst(workdir, stage_, server, size, timeout_s)
            stats[name].append(LatencyStats.of(run.outcomes, timeout_s))
            cpu[name] += used
            client[name].append(run)
            time.sleep(PAUSE_BETWEEN_BURSTS_S)
    return {
        name: BurstSeries(size, stats[name], cpu[name] / 1e9 / (size * repeats), _client_summary(client[name]))
        for name in servers
    }


def _client_summary(runs: list[LoadRun]) -> dict[str, float]:
    return {
        "connect_spread_s_max": max(r.connect_spread_s for r in runs),
        "client_cpu_s_median": median([r.client_cpu_s for r in runs]),
        "schedule_lag_s_max": max(r.schedule_lag_s for r in runs),
    }


@dataclass(frozen=True)
class BurstResults:
    bot: dict[int, BurstSeries]
    floor: dict[int, BurstSeries]
    loop: str


def bursts(workdir: Path, sizes: tuple[int, ...], repeats: dict[int, int], timeout_s: float) -> BurstResults:
    """The bot (`serve`, workers busy on a 2 s Azure) and the floor, burst for burst."""
    with stage(workdir, "bursts", latency_s=ACK_LOAD_AZURE_LATENCY_S) as stage_:
        bot = stage_.start_bot("bot")
        floor = stage_.start_floor()
        _warm_up(workdir, stage_, bot)
        _warm_up(workdir, stage_, floor)
        results = {
            size: _series(workdir, stage_, {"bot": bot, "floor": floor}, size, repeats[size], timeout_s)
            for size in sizes
        }
        probe, _ = run_load(workdir, floor.url, stage_.commands(floor.url, 1), mode="burst", timeout_s=timeout_s)
    return BurstResults(
        bot={size: series["bot"] for size, series in results.items()},
        floor={size: series["floor"] for size, series in results.items()},
        loop=probe.loop,
    )


@dataclass(frozen=True)
class SteadyResult:
    stats: LatencyStats
    schedule_lag_s: float
    cpu_per_ack_s: float | None

    def as_dict(self) -> dict[str, Any]:
        return {**self.stats.as_dict(), "schedule_lag_s": self.schedule_lag_s, "cpu_per_ack_s": self.cpu_per_ack_s}


def _steady(
    workdir: Path, stage_: Stage, server: Server, rate: float, seconds: float, timeout_s: float
) -> SteadyResult:
    requests = stage_.commands(server.url, round(rate * seconds))
    run, samples = run_load(
        workdir,
        server.url,
        requests,
        mode="steady",
        rate_per_s=rate,
        timeout_s=timeout_s,
        around=lambda: cpu_ns(server.pid),
    )
    before, after = samples
    assert isinstance(before, int)
    assert isinstance(after, int)
    return SteadyResult(
        LatencyStats.of(run.outcomes, timeout_s), run.schedule_lag_s, (after - before) / 1e9 / len(requests)
    )


def steady(workdir: Path, rate: float, seconds: float, timeout_s: float) -> dict[str, SteadyResult]:
    """Open loop: command i leaves at t0 + i/rate whatever happened to the others; bot, then floor."""
    with stage(workdir, "steady", latency_s=ACK_LOAD_AZURE_LATENCY_S) as stage_:
        bot = stage_.start_bot("bot")
        floor = stage_.start_floor()
        _warm_up(workdir, stage_, bot)
        return {
            name: _steady(workdir, stage_, server, rate, seconds, timeout_s)
            for name, server in (("bot", bot), ("floor", floor))
        }


@dataclass(frozen=True)
class BusyResult:
    """The 200-burst while the workers deliver 1 MiB images as fast as the emulated Azure answers."""

    busy: BurstSeries
    deliveries_per_s: float  # images shared in Slack during the bursts: proof the workers were busy
    backlog: int
    worker_cpu_share: float  # the worker process's CPU seconds per wall second during the bursts

    def as_dict(self) -> dict[str, Any]:
        return {
            **self.busy.as_dict(),
            "deliveries_per_s": self.deliveries_per_s,
            "backlog": self.backlog,
            "worker_cpu_share": self.worker_cpu_share,
        }


def busy_bursts(workdir: Path, size: int, repeats: int, backlog: int, timeout_s: float) -> BusyResult:
    with stage(workdir, "busy", image_bytes=MIB) as stage_:
        bot = stage_.start_bot("bot")
        _warm_up(workdir, stage_, bot)
        # A backlog the workers cannot finish during the bursts, spread over enough channels that the
        # bot's per-channel pacing never holds a worker back: Azure's answers are the only limit.
        backlog_requests = stage_.commands(bot.url, backlog, channels=stage_.channels(BUSY_CHANNELS))
        run_load(workdir, bot.url, backlog_requests, mode="closed", concurrency=16, timeout_s=timeout_s)
        _wait(lambda: stage_.deliveries() >= WARM_UP_COMMANDS + 5, timeout_s=60)
        worker = bot.worker_pid()
        delivered, worker_cpu, began = stage_.deliveries(), cpu_ns(worker) if worker else 0, time.perf_counter()
        series = _series(workdir, stage_, {"bot": bot}, size, repeats, timeout_s)["bot"]
        elapsed = time.perf_counter() - began
        rate = (stage_.deliveries() - delivered) / elapsed
        share = ((cpu_ns(worker) - worker_cpu) / 1e9 / elapsed) if worker else 0.0
    return BusyResult(series, rate, backlog, share)


def _wait(condition: Callable[[], bool], timeout_s: float) -> None:
    deadline = time.monotonic() + timeout_s
    while not condition():
        if time.monotonic() > deadline:
            raise RuntimeError("timed out waiting for the workers")
        time.sleep(0.2)  # polling the emulator's recordings from the outside


@dataclass(frozen=True)
class NaiveResult:
    burst: LatencyStats
    steady: LatencyStats


def naive(workdir: Path, size: int, rate: float, seconds: float, timeout_s: float) -> NaiveResult:
    """bench/naive_app.py under the 200-burst and the steady rate (one process each, fresh)."""
    with stage(workdir, "naive-burst", latency_s=ACK_LOAD_AZURE_LATENCY_S) as stage_:
        app = stage_.start_naive("naive")
        run, _ = run_load(workdir, app.url, stage_.commands(app.url, size), mode="burst", timeout_s=timeout_s)
        burst = LatencyStats.of(run.outcomes, timeout_s)
    with stage(workdir, "naive-steady", latency_s=ACK_LOAD_AZURE_LATENCY_S) as stage_:
        app = stage_.start_naive("naive")
        requests = stage_.commands(app.url, round(rate * seconds))
        run, _ = run_load(workdir, app.url, requests, mode="steady", rate_per_s=rate, timeout_s=timeout_s)
        steady_stats = LatencyStats.of(run.outcomes, timeout_s)
    return NaiveResult(burst, steady_stats)
