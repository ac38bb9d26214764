"""`python3 dev.py bench` (= `python -m bench`): every benchmark against the real bot, one table.

Each load runs the real bot (`python -m bot serve`: the uvicorn front and the group-commit writer in one
process, the workers in a child; SQLite; LOG_LEVEL=INFO) through devkit/harness.py, against the Slack
and Azure emulators (devkit/) in this process, over loopback. The client (bench/client.py) and the floor
(bench/floor.py) are processes of their own. The table goes to stdout, progress to stderr, and the same
figures with their raw numbers to bench/results/latest.json (git-ignored).

    python -m bench              # the full loads (14 minutes at load average 7 on two cores; BENCHMARKS.md)
    python -m bench --smoke      # tiny loads, every figure, 3-4 minutes: checks the harness, not the numbers

Exit status: 0 when every benchmark ran (met targets or not), 1 when one of them broke.
"""

from __future__ import annotations

import argparse
import functools
import sys
import tempfile
import threading
import time
import traceback
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TypeVar

from bench import acks, figures, pipeline, quota, reportquery
from bench.stage import ROOT
from bench.table import Figure, load_average, machine_info, render, write_json

T = TypeVar("T")
DEFAULT_JSON = ROOT / "bench" / "results" / "latest.json"
DEFAULT_POSTGRES = "postgresql+psycopg://postgres@127.0.0.1:5432/test"


@dataclass(frozen=True)
class Loads:
    sizes: tuple[int, int, int] = (10, 200, 1000)
    repeats: dict[int, int] = field(default_factory=lambda: {10: 10, 200: 5, 1000: 3})
    steady_rate: float = 50.0
    steady_s: float = 20.0
    busy_backlog: int = 300
    overhead_jobs: int = 20  # each takes Azure's 0.5 s plus the bot's paced posts, about 4 s
    overhead_azure_s: float = 0.5
    rpm: int = 60
    quota_windows: int = 5
    drain_rpm: int = 6
    drain_burst: int | None = None  # None: 3R, the whole point; the smoke run drains two jobs
    queued: int = 10_000
    report_rows: int = 1_000_000
    client_timeout_s: float = 10.0  # Slack gives up at 3 s; waiting longer shows how late answers come


SMOKE = Loads(
    sizes=(10, 20, 50),
    repeats={10: 2, 20: 2, 50: 2},
    steady_rate=10.0,
    steady_s=2.0,
    busy_backlog=20,
    overhead_jobs=3,
    rpm=12,
    quota_windows=1,
    drain_burst=2,
    queued=200,
    report_rows=10_000,
    client_timeout_s=3.5,
)


class Runner:
    """Runs each benchmark once, logs progress to stderr, and turns a crash into a failed figure."""

    def __init__(self, workdir: Path, loads: Loads) -> None:
        self.workdir = workdir
        self.loads = loads
        self.errors: list[str] = []
        self.load_averages: dict[str, str] = {}

    def step(self, label: str, call: Callable[[], T]) -> T | None:
        self.load_averages[label] = load_average().split()[0]
        print(f"bench: {label} … (load average {load_average()})", file=sys.stderr, flush=True)
        began = time.perf_counter()
        try:
            result = call()
        except Exception as error:
            print(f"bench: {label} failed:\n{traceback.format_exc()}", file=sys.stderr, flush=True)
            self.errors.append(f"{label}: {type(error).__name__}: {error}")
            return None
        print(f"bench: {label} done in {time.perf_counter() - began:.1f} s", file=sys.stderr, flush=True)
        return result

    def figures(self, label: str, make: Callable[[], list[Figure]], ids: list[str]) -> list[Figure]:
        """The step's figures, stamped with its load average; placeholders marked failed when it broke."""
        try:
            made = make()
        except Exception:
            print(f"bench: {label}: no figures:\n{traceback.format_exc()}", file=sys.stderr, flush=True)
            made = [Figure(id_, id_, "", "").failed() for id_ in ids]
        for figure in made:
            figure.load_average = self.load_averages.get(label, "")
        return made


def run_all(runner: Runner, postgres_url: str | None) -> list[Figure]:
    """The ack loads one after another on a machine otherwise left alone; then the quota and memory
    figures, which mostly wait, beside the 3-minute drain; then the report queries alone."""
    loads, work, timeout = runner.loads, runner.workdir, runner.loads.client_timeout_s
    out: list[Figure] = []

    burst = runner.step("bursts, bot and floor", lambda: acks.bursts(work, loads.sizes, loads.repeats, timeout))
    steady = runner.step(
        "steady rate, bot and floor", lambda: acks.steady(work, loads.steady_rate, loads.steady_s, timeout)
    )
    middle, repeats = loads.sizes[1], loads.repeats[loads.sizes[1]]
    busy = runner.step(
        "burst while delivering", lambda: acks.busy_bursts(work, middle, repeats, loads.busy_backlog, timeout)
    )
    overhead = runner.step(
        "overhead per image",
        lambda: pipeline.overhead(work, loads.overhead_jobs, azure_latency_s=loads.overhead_azure_s),
    )
    naive = runner.step("naive baseline", lambda: acks.naive(work, middle, loads.steady_rate, loads.steady_s, timeout))
    naive_overhead = runner.step(
        "naive baseline, overhead per image",
        lambda: pipeline.overhead(work, loads.overhead_jobs, azure_latency_s=loads.overhead_azure_s, naive=True),
    )

    drained: list[quota.QuotaResult | None] = []
    drain_burst = loads.drain_burst or 3 * loads.drain_rpm
    background = threading.Thread(
        target=lambda: drained.append(
            runner.step("quota drain", lambda: quota.drain(work, loads.drain_rpm, 600, burst=drain_burst))
        ),
        name="drain",
    )
    background.start()
    pair = runner.step("throughput vs quota", lambda: quota.throughput_pair(work, loads.rpm, loads.quota_windows))
    memory = runner.step("memory with a full queue", lambda: pipeline.memory(work, loads.queued, timeout))
    background.join()
    # Alone: a report is one query on one core, and the drain's bot beside it cost a third more time.
    backends: list[str | None] = [None] if postgres_url is None else [None, postgres_url]
    reports = [
        runner.step(f"report query, {url or 'SQLite'}", functools.partial(reportquery.report, loads.report_rows, url))
        for url in backends
    ]

    sizes = loads.sizes
    out += runner.figures(
        "bursts, bot and floor",
        lambda: figures.burst_figures(_need(burst), sizes, loads.repeats),
        [f"ack_burst_{s}" for s in sizes] + ["cpu_per_ack"],
    )
    out += runner.figures(
        "steady rate, bot and floor",
        lambda: figures.steady_figures(_need(steady), loads.steady_rate, loads.steady_s),
        ["ack_steady", "floor_steady"],
    )
    out += runner.figures(
        "burst while delivering",
        lambda: [figures.busy_figure(_need(busy), _need(burst), middle, repeats)],
        ["ack_busy"],
    )
    out += runner.figures(
        "overhead per image",
        lambda: [figures.overhead_figure(_need(overhead), naive_overhead)],
        ["overhead"],
    )
    out += runner.figures(
        "throughput vs quota",
        lambda: figures.quota_figures(*_need(pair), loads.quota_windows),
        ["throughput", "throughput_unlimited"],
    )
    out += runner.figures(
        "quota drain", lambda: [figures.drain_figure(_need(drained[0] if drained else None))], ["drain"]
    )
    out += runner.figures("memory with a full queue", lambda: [figures.memory_figure(_need(memory))], ["memory"])
    for url, result in zip(backends, reports, strict=True):
        out += runner.figures(
            f"report query, {url or 'SQLite'}",
            functools.partial(_report_figures, result),
            ["report_" + ("postgresql" if url else "sqlite")],
        )
    out += runner.figures(
        "bursts, bot and floor",
        lambda: figures.floor_figures(_need(burst), sizes, loads.repeats),
        [f"floor_burst_{s}" for s in sizes],
    )
    out += runner.figures(
        "naive baseline",
        lambda: figures.naive_figures(
            _need(naive), _need(burst), _need(steady), middle, loads.steady_rate, loads.steady_s
        ),
        ["naive_burst", "naive_steady"],
    )
    out += runner.figures(
        "naive baseline, overhead per image",
        lambda: [figures.naive_overhead_figure(_need(naive_overhead))],
        ["naive_overhead"],
    )
    return out


def _report_figures(result: reportquery.ReportResult | None) -> list[Figure]:
    return [figures.report_figure(_need(result))]


def _need(value: T | None) -> T:
    if value is None:
        raise RuntimeError("the benchmark this figure needs did not finish")
    return value


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
    parser.add_argument("--postgres-url", default=DEFAULT_POSTGRES, help="the PostgreSQL server for the report")
    parser.add_argument("--no-postgres", action="store_true", help="report benchmark on SQLite only (as --smoke)")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = _parse(sys.argv[1:] if argv is None else argv)
    loads = SMOKE if args.smoke else Loads()
    postgres_url = None if args.smoke or args.no_postgres else args.postgres_url
    machine = machine_info()
    began = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="imagine-bench-") as workdir:
        runner = Runner(Path(workdir), loads)
        table = run_all(runner, postgres_url)
    duration = time.perf_counter() - began
    machine["load average at end"] = load_average()
    write_json(args.json, table, machine, smoke=args.smoke, duration_s=duration)
    print(render(table, machine))
    print(f"\n{'smoke run' if args.smoke else 'full run'} in {duration:.0f} s; JSON: {args.json}")
    for error in runner.errors:
        print(f"error: {error}", file=sys.stderr)
    broken = runner.errors or any(f.error for f in table)
    return 1 if broken else 0


if __name__ == "__main__":
    sys.exit(main())
