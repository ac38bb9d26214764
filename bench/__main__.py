"""`python3 dev.py bench` (= `python -m bench`): every benchmark against the real bot, one table.

Each load runs the real bot (`python -m bot serve`, SQLite, 4 workers) as a child process against an
emulated Slack and Azure in this process, over loopback; the naive baseline is `bench/naive_app.py`.
The table is printed and written as JSON to bench/results/latest.json (git-ignored).

    python -m bench              # the full loads (several minutes)
    python -m bench --smoke      # tiny loads, every figure, in well under a minute (tests/test_bench_smoke.py)
"""

from __future__ import annotations

import argparse
import functools
import os
import sys
import tempfile
import threading
import time
import traceback
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path

from bench import scenarios
from bench.harness import ROOT
from bench.scenarios import AckResult
from bench.table import Figure, latency_text, machine_info, ms, ratio_text, render, write_json

DEFAULT_JSON = ROOT / "bench" / "results" / "latest.json"
DEFAULT_POSTGRES = "postgresql+psycopg://postgres@127.0.0.1:5432/test"
MIB = 1024 * 1024


@dataclass(frozen=True)
class Loads:
    burst: int = 200
    steady_rate: float = 50.0
    steady_s: float = 20.0
    overhead_jobs: int = 50
    overhead_azure_s: float = 0.5
    image_bytes: int = MIB
    rpm: int = 60
    quota_windows: int = 5  # ~51 s at the bot's pace
    queued: int = 10_000
    report_rows: int = 1_000_000
    client_timeout_s: float = 10.0  # Slack gives up at 3 s; waiting longer shows how late answers come


SMOKE = Loads(
    burst=10,
    steady_rate=10.0,
    steady_s=2.0,
    overhead_jobs=3,
    rpm=12,
    quota_windows=1,
    queued=200,
    report_rows=10_000,
    client_timeout_s=3.5,  # just past Slack's 3 s: later is a failure either way
)


def _parse(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m bench", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--smoke", action="store_true", help="tiny loads: checks the harness, measures nothing")
    parser.add_argument(
        "--json",
        type=Path,
        default=DEFAULT_JSON,
        help=f"where to write the results (default {DEFAULT_JSON.relative_to(ROOT)})",
    )
    parser.add_argument(
        "--postgres-url", default=DEFAULT_POSTGRES, help="the PostgreSQL server for the report benchmark"
    )
    parser.add_argument(
        "--no-postgres", action="store_true", help="report benchmark on SQLite only (implied by --smoke)"
    )
    return parser.parse_args(argv)


class Runner:
    """Runs each benchmark once, logs progress to stderr, and turns a crash into a failed figure."""

    def __init__(self, workdir: Path, loads: Loads) -> None:
        self.workdir = workdir
        self.loads = loads
        self.errors: list[str] = []

    def step(self, label: str, call: Callable[[], object]) -> object | None:
        print(f"bench: {label} …", file=sys.stderr, flush=True)
        began = time.perf_counter()
        try:
            result = call()
        except Exception as error:
            print(f"bench: {label} failed:\n{traceback.format_exc()}", file=sys.stderr, flush=True)
            self.errors.append(f"{label}: {type(error).__name__}: {error}")
            return None
        print(f"bench: {label} done in {time.perf_counter() - began:.1f} s", file=sys.stderr, flush=True)
        return result


def ack_figures(runner: Runner) -> list[Figure]:
    """The two ack loads, each against the bot and then the naive app, and the baseline rows."""
    loads = runner.loads
    timeout = loads.client_timeout_s
    burst_text = f"{loads.burst} signed slash commands at once"
    steady_text = f"a steady {loads.steady_rate:g} commands/s for {loads.steady_s:g} s (open loop)"

    def burst(naive: bool) -> AckResult:
        return scenarios.ack_burst(runner.workdir, loads.burst, naive=naive, timeout_s=timeout)

    def steady(naive: bool) -> AckResult:
        return scenarios.ack_steady(runner.workdir, loads.steady_rate, loads.steady_s, naive=naive, timeout_s=timeout)

    figures = []
    for case, run, load_text, target in (
        ("burst", burst, burst_text, "max < 3 s; p99 < 150 ms"),
        ("steady", steady, steady_text, "p99 < 25 ms"),
    ):
        ours = runner.step(f"ack latency, {case}, the bot", functools.partial(run, False))
        naive = runner.step(f"ack latency, {case}, the naive app", functools.partial(run, True))
        figures.append(_ack_figure(case, load_text, target, ours, naive))
        figures.append(_naive_figure(case, load_text, naive))
    return figures


def _ack_figure(case: str, load_text: str, target: str, ours: object, naive: object) -> Figure:
    figure = Figure(f"ack_{case}", "ack latency p50 / p99 / max", load_text, target)
    if not isinstance(ours, AckResult):
        return _failed(figure)
    stats = ours.stats
    figure.result = latency_text(stats)
    if case == "burst":
        figure.met = stats.failed == 0 and stats.max_s < 3.0 and stats.p99_s < 0.150
    else:
        figure.met = stats.failed == 0 and stats.p99_s < 0.025
    figure.data = ours.as_dict()
    if isinstance(naive, AckResult):
        figure.ratio = ratio_text(stats, naive.stats)
    return figure


def _naive_figure(case: str, load_text: str, naive: object) -> Figure:
    figure = Figure(f"naive_{case}", "naive baseline: ack latency", load_text, "— (the baseline)")
    if not isinstance(naive, AckResult):
        return _failed(figure)
    figure.result = latency_text(naive.stats)
    figure.ratio = "1×"
    figure.data = naive.as_dict()
    return figure


def overhead_figure(runner: Runner) -> Figure:
    loads = runner.loads
    figure = Figure(
        "overhead",
        "bot overhead per image (end-to-end − Azure)",
        f"{loads.overhead_jobs} jobs one after another (no queueing), {loads.image_bytes / MIB:g} MiB PNGs, "
        f"Azure {loads.overhead_azure_s:g} s",
        "median < 100 ms",
    )
    result = runner.step(
        "overhead per image",
        lambda: scenarios.overhead(
            runner.workdir, loads.overhead_jobs, azure_latency_s=loads.overhead_azure_s, image_bytes=loads.image_bytes
        ),
    )
    if not isinstance(result, scenarios.OverheadResult):
        return _failed(figure)
    figure.result = f"median {ms(result.median_s)} (p90 {ms(result.p90_s)}, max {ms(result.max_s)})"
    figure.met = result.median_s < 0.100
    figure.data = asdict(result)
    return figure


def run_throughput(runner: Runner) -> object | None:
    loads = runner.loads
    return runner.step(
        "throughput vs quota (with and without AZURE_RPM_LIMIT)",
        lambda: scenarios.throughput_pair(runner.workdir, loads.rpm, loads.quota_windows),
    )


def throughput_figures(runner: Runner, pair: object | None) -> list[Figure]:
    loads = runner.loads
    rpm, burst = loads.rpm, 3 * loads.rpm
    limited = Figure(
        "throughput",
        "throughput vs quota",
        f"Azure allows R={rpm}/min; burst of {burst} jobs; AZURE_RPM_LIMIT={rpm}; "
        f"rate over {loads.quota_windows} quota windows",
        "≥ 90 % of R, 0 failed",
    )
    unlimited = Figure(
        "throughput_unlimited",
        "throughput vs quota, no shared limit",
        "the same, without AZURE_RPM_LIMIT (429s and retries)",
        "— (shows what 429s cost)",
    )
    if not isinstance(pair, tuple):
        return [_failed(limited), _failed(unlimited)]
    for figure, result in zip((limited, unlimited), pair, strict=True):
        figure.result = _throughput_text(result)
        figure.data = {**asdict(result), "failed_jobs": result.failed_jobs, "ratio": result.ratio}
    ratio = pair[0].ratio
    limited.met = ratio is not None and ratio >= 0.90 and pair[0].failed_jobs == 0
    return [limited, unlimited]


def _throughput_text(result: scenarios.ThroughputResult) -> str:
    if result.per_minute is not None and result.ratio is not None:
        rate = f"{result.per_minute:.1f}/min = {result.ratio:.0%} of R"
    else:
        rate = f"too few successes for a rate ({result.successes})"
    jobs = result.jobs_by_status
    return (
        f"{rate}; {result.failed_jobs} failed, {jobs.get('succeeded', 0)} delivered; "
        f"{result.rate_limited} 429s in {result.calls} Azure calls"
    )


def memory_figure(runner: Runner) -> Figure:
    loads = runner.loads
    figure = Figure(
        "memory",
        "memory: peak RSS of the bot",
        f"{loads.queued:,} queued jobs (signed commands) behind a stalled Azure",
        "peak RSS < 200 MB",
    )
    result = runner.step("memory with a full queue", lambda: scenarios.memory(runner.workdir, loads.queued))
    if not isinstance(result, scenarios.MemoryResult):
        return _failed(figure)
    acks = result.fill_acks
    figure.result = (
        f"peak {result.peak_rss_mb:.0f} MB (at start {result.start_rss_mb:.0f} MB); "
        f"queued in {result.fill_s:.0f} s, ack p99 {ms(acks['p99_s'])}"
    )
    figure.met = result.peak_rss_mb < 200
    figure.data = asdict(result)
    return figure


def report_figures(runner: Runner, postgres_url: str | None) -> list[Figure]:
    rows = runner.loads.report_rows
    backends: list[tuple[str, str, str | None]] = [("sqlite", "SQLite", None)]
    if postgres_url:
        backends.append(("postgresql", "PostgreSQL", postgres_url))
    figures = []
    for key, name, url in backends:
        figure = Figure(
            f"report_{key}",
            "report query (bench/report.py)",
            f"{rows:,} usage rows, {name}, every grouping",
            "< 1 s (median of the slowest grouping)",
        )
        result = runner.step(f"report query, {name}", functools.partial(scenarios.report, rows, url))
        if isinstance(result, scenarios.ReportResult):
            figure.result = (
                f"slowest grouping '{result.slowest}': median {ms(result.slowest_median_s)} "
                f"(max {ms(result.slowest_max_s)})"
            )
            figure.met = result.slowest_median_s < 1.0
            figure.data = asdict(result)
        else:
            _failed(figure)
        figures.append(figure)
    return figures


ORDER = (
    "ack_burst",
    "ack_steady",
    "overhead",
    "throughput",
    "throughput_unlimited",
    "memory",
    "report_sqlite",
    "report_postgresql",
    "naive_burst",
    "naive_steady",
)


def run_all(runner: Runner, postgres_url: str | None, *, smoke: bool) -> list[Figure]:
    """Every benchmark, one after another: on two shared cores, anything alongside would be in the numbers.

    The exception is a smoke run, which checks the harness and not the numbers: its throughput pair,
    which is mostly waiting for 10-second quota windows, runs alongside the rest to keep it short.
    """
    pair: list[object | None] = []
    background = threading.Thread(target=lambda: pair.append(run_throughput(runner)))
    if smoke:
        background.start()
    figures = [*ack_figures(runner), overhead_figure(runner)]
    if not smoke:
        background.start()
    background.join()
    figures += [*throughput_figures(runner, pair[0]), memory_figure(runner), *report_figures(runner, postgres_url)]
    return sorted(figures, key=lambda f: ORDER.index(f.id))


def _failed(figure: Figure) -> Figure:
    figure.result = "error (see stderr)"
    figure.met = False
    figure.error = "the benchmark raised; see the log on stderr"
    return figure


def main(argv: list[str] | None = None) -> int:
    args = _parse(sys.argv[1:] if argv is None else argv)
    loads = SMOKE if args.smoke else Loads()
    postgres_url = None if args.smoke or args.no_postgres else args.postgres_url
    machine = machine_info()
    began = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="imagine-bench-") as workdir:
        runner = Runner(Path(workdir), loads)
        figures = run_all(runner, postgres_url, smoke=args.smoke)
    duration = time.perf_counter() - began
    # Other tenants' load is the biggest noise on a shared machine: say how busy it was.
    machine["load average at end"] = " ".join(f"{x:.2f}" for x in os.getloadavg())
    write_json(args.json, figures, machine, smoke=args.smoke, duration_s=duration)
    print(render(figures, machine))
    print(f"\n{'smoke run' if args.smoke else 'full run'} in {duration:.0f} s; JSON: {args.json}")
    for error in runner.errors:
        print(f"error: {error}", file=sys.stderr)
    return 1 if runner.errors else 0


if __name__ == "__main__":
    sys.exit(main())
