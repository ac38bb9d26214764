"""From measured results to the table's rows: what each figure says, its target, and whether it met it.

The targets are the issue's; "no worse than BENCHMARKS.md's" rows compare with the last full run
published there before the HTTP front was rewritten (commit 2a89856: 20.8 ms overhead, 105 MB peak,
456 ms and 286 ms report medians).
"""

from __future__ import annotations

from dataclasses import asdict

from bench.acks import BurstResults, BusyResult, NaiveResult, SteadyResult
from bench.pipeline import MemoryResult, OverheadResult
from bench.quota import QuotaResult
from bench.reportquery import ReportResult
from bench.table import Figure, latency_text, ms, times

BEFORE_OVERHEAD_S = 0.0208
BEFORE_PEAK_MB = 105.0
BEFORE_REPORT_S = {"sqlite": 0.456, "postgresql": 0.286}
BURST_P99_S = 0.150
BURST_FLOOR_MULTIPLE = 6.0
STEADY_P99_S = 0.010
CPU_SPREAD = 1.5
BUSY_MULTIPLE = 1.3


def burst_figures(results: BurstResults, sizes: tuple[int, ...], repeats: dict[int, int]) -> list[Figure]:
    figures = []
    small, middle, large = sizes
    for size in sizes:
        bot, floor = results.bot[size], results.floor[size]
        load = f"{size} signed commands at once, ×{repeats[size]} (median burst)"
        if size == middle:
            target = f"p99 ≤ {ms(BURST_P99_S)} and ≤ {BURST_FLOOR_MULTIPLE:g}× floor; 0 over 3 s"
        elif size == large:
            target = "0 over 3 s"
        else:
            target = "— (CPU per ack, below)"
        figure = Figure(f"ack_burst_{size}", "ack latency p50 / p99 / max", load, target)
        figure.result = latency_text(bot.typical, failures=bot.failed, of=size * repeats[size])
        figure.result += f"; worst {ms(bot.worst_s)}; CPU/ack {ms(bot.cpu_per_ack_s or 0)}"
        figure.ratio = times(bot.p99_s, floor.p99_s)
        if size == middle:
            figure.met = (
                bot.failed == 0 and bot.p99_s <= BURST_P99_S and bot.p99_s <= BURST_FLOOR_MULTIPLE * floor.p99_s
            )
        elif size == large:
            figure.met = bot.failed == 0
        figure.data = {"bot": bot.as_dict(), "floor": floor.as_dict()}
        figures.append(figure)
    low, high = results.bot[small].cpu_per_ack_s or 0.0, results.bot[large].cpu_per_ack_s or 0.0
    spread = _spread(low, high)
    # The floor pays a few fixed costs per burst too (its event loop's turns): its own spread says how much
    # of the bot's comes from any asyncio server, not from the bot's work per ack.
    floor_low, floor_high = results.floor[small].cpu_per_ack_s or 0.0, results.floor[large].cpu_per_ack_s or 0.0
    cpu = Figure(
        "cpu_per_ack",
        "web process CPU per ack",
        f"{small} vs {large} at once (schedstat ns, all bursts)",
        f"within {CPU_SPREAD:g}× of each other",
        result=(
            f"{low * 1e6:.0f} µs at {small}, {high * 1e6:.0f} µs at {large}: {spread:.2f}× "
            f"(the floor: {floor_low * 1e6:.0f} and {floor_high * 1e6:.0f} µs, {_spread(floor_low, floor_high):.2f}×)"
        ),
        met=spread <= CPU_SPREAD,
        ratio=" / ".join(
            times(results.bot[s].cpu_per_ack_s or 0, results.floor[s].cpu_per_ack_s or 0) for s in (small, large)
        ),
        data={
            "per_size": {size: results.bot[size].cpu_per_ack_s for size in sizes},
            "spread": spread,
            "floor_per_size": {size: results.floor[size].cpu_per_ack_s for size in sizes},
        },
    )
    figures.append(cpu)
    return figures


def _spread(a: float, b: float) -> float:
    return max(a, b) / min(a, b) if min(a, b) > 0 else float("inf")


def floor_figures(results: BurstResults, sizes: tuple[int, ...], repeats: dict[int, int]) -> list[Figure]:
    figures = []
    for size in sizes:
        floor = results.floor[size]
        figure = Figure(
            f"floor_burst_{size}",
            "floor: trivial asyncio server",
            f"{size} at once, ×{repeats[size]} (median burst)",
            "— (the floor)",
            ratio="1×",
        )
        figure.result = latency_text(floor.typical, failures=floor.failed, of=size * repeats[size])
        figure.result += f"; CPU/ack {ms(floor.cpu_per_ack_s or 0)}"
        figure.data = floor.as_dict() | {"loop": results.loop}
        figures.append(figure)
    return figures


def steady_figures(results: dict[str, SteadyResult], rate: float, seconds: float) -> list[Figure]:
    bot, floor = results["bot"], results["floor"]
    load = f"a steady {rate:g} commands/s for {seconds:g} s (open loop)"
    ours = Figure("ack_steady", "ack latency p50 / p99 / max", load, f"p99 ≤ {ms(STEADY_P99_S)}")
    ours.result = latency_text(bot.stats) + f"; CPU/ack {ms(bot.cpu_per_ack_s or 0)}"
    ours.met = bot.stats.failed == 0 and bot.stats.p99_s <= STEADY_P99_S
    ours.ratio = times(bot.stats.p99_s, floor.stats.p99_s)
    ours.data = {"bot": bot.as_dict(), "floor": floor.as_dict()}
    base = Figure("floor_steady", "floor: trivial asyncio server", load, "— (the floor)", ratio="1×")
    base.result = latency_text(floor.stats)
    base.data = floor.as_dict()
    return [ours, base]


def busy_figure(busy: BusyResult, quiet: BurstResults, size: int, repeats: int) -> Figure:
    figure = Figure(
        "ack_busy",
        "ack latency while delivering",
        f"{size} at once ×{repeats}, workers delivering 1 MiB images flat out (backlog {busy.backlog})",
        f"p99 ≤ {BUSY_MULTIPLE:g}× the quiet burst's; 0 over 3 s",
    )
    series, calm = busy.busy, quiet.bot[size]
    multiple = series.p99_s / calm.p99_s if calm.p99_s > 0 else float("inf")
    figure.result = (
        latency_text(series.typical, failures=series.failed, of=size * repeats)
        + f"; {multiple:.2f}× quiet; {busy.deliveries_per_s:.1f} images/s delivered meanwhile"
    )
    figure.met = series.failed == 0 and multiple <= BUSY_MULTIPLE
    figure.ratio = times(series.p99_s, quiet.floor[size].p99_s)
    figure.data = busy.as_dict() | {"quiet_p99_s": calm.p99_s, "multiple_of_quiet": multiple}
    return figure


def naive_figures(
    naive: NaiveResult, floor: BurstResults, steady: dict[str, SteadyResult], size: int, rate: float, seconds: float
) -> list[Figure]:
    burst = Figure("naive_burst", "naive baseline: ack latency", f"{size} at once", "— (the baseline)")
    burst.result = latency_text(naive.burst)
    burst.ratio = times(naive.burst.p99_s, floor.floor[size].p99_s)
    burst.data = naive.burst.as_dict()
    flat = Figure(
        "naive_steady", "naive baseline: ack latency", f"a steady {rate:g}/s for {seconds:g} s", "— (the baseline)"
    )
    flat.result = latency_text(naive.steady)
    flat.ratio = times(naive.steady.p99_s, steady["floor"].stats.p99_s)
    flat.data = naive.steady.as_dict()
    return [burst, flat]


def overhead_figure(result: OverheadResult, naive: OverheadResult | None) -> Figure:
    """The bot's time per image; beside it the naive app's on the same machine in the same run, since the
    target is a figure from another machine (bench/figures.py's docstring)."""
    text = _overhead_text(result)
    if naive is not None:
        text += f"; {result.median_s / naive.median_s:.2f}× the naive app's {ms(naive.median_s)} in this run"
    return Figure(
        "overhead",
        "bot overhead per image (end-to-end − Azure)",
        _overhead_load(result),
        f"median ≤ {ms(BEFORE_OVERHEAD_S)} (BENCHMARKS.md before)",
        result=text,
        met=result.median_s <= BEFORE_OVERHEAD_S,
        data=asdict(result) | ({"naive": asdict(naive)} if naive is not None else {}),
    )


def naive_overhead_figure(result: OverheadResult) -> Figure:
    return Figure(
        "naive_overhead",
        "naive baseline: overhead per image",
        _overhead_load(result),
        "— (the baseline)",
        result=_overhead_text(result),
        data=asdict(result),
    )


def _overhead_text(result: OverheadResult) -> str:
    return f"median {ms(result.median_s)} (p90 {ms(result.p90_s)}, max {ms(result.max_s)})"


def _overhead_load(result: OverheadResult) -> str:
    return f"{result.jobs} jobs one after another, 1 MiB PNGs, Azure {result.azure_latency_s:g} s"


def memory_figure(result: MemoryResult) -> Figure:
    acks = result.fill_acks
    return Figure(
        "memory",
        "memory: peak RSS of the bot (web + worker)",
        f"{result.queued:,} queued jobs behind a stalled Azure",
        f"≤ {BEFORE_PEAK_MB:g} MB (BENCHMARKS.md before: one process)",
        result=(
            f"{result.total_peak_mb:.0f} MB = web {result.web_peak_mb:.0f} (start {result.web_start_mb:.0f}) + "
            f"worker {result.worker_peak_mb:.0f} (start {result.worker_start_mb:.0f}); "
            f"PSS {result.total_pss_mb:.0f} MB (shared pages once); "
            f"queued in {result.fill_s:.0f} s, ack p99 {ms(float(acks['p99_s']))}"
        ),
        met=result.total_peak_mb <= BEFORE_PEAK_MB,
        data=result.as_dict(),
    )


def report_figure(result: ReportResult) -> Figure:
    name = {"sqlite": "SQLite", "postgresql": "PostgreSQL"}[result.backend]
    before = BEFORE_REPORT_S[result.backend]
    return Figure(
        f"report_{result.backend}",
        "report query (bench/report.py)",
        f"{result.rows:,} usage rows, {name}, every grouping",
        f"slowest median ≤ {ms(before)} (BENCHMARKS.md before)",
        result=f"slowest grouping '{result.slowest}': median {ms(result.slowest_median_s)} "
        f"(max {ms(result.slowest_max_s)})",
        met=result.slowest_median_s <= before,
        data=asdict(result),
    )


def quota_figures(limited: QuotaResult, unlimited: QuotaResult, windows: int) -> list[Figure]:
    paced = Figure(
        "throughput",
        "throughput vs quota",
        f"Azure allows R={limited.rpm}/min (sliding 10 s window); burst of {limited.burst}; "
        f"AZURE_RPM_LIMIT={limited.rpm}; {windows} windows",
        "≥ 90 % of R; 0 failed; 0 429s",
        result=_quota_text(limited),
        met=(limited.ratio or 0) >= 0.90 and limited.failed_jobs == 0 and limited.rate_limited == 0,
        data=limited.as_dict(),
    )
    free = Figure(
        "throughput_unlimited",
        "throughput vs quota, no AZURE_RPM_LIMIT",
        "the same without the bot's pacing (429s and retries)",
        "— (shows what 429s cost)",
        result=_quota_text(unlimited),
        data=unlimited.as_dict(),
    )
    return [paced, free]


def drain_figure(result: QuotaResult) -> Figure:
    jobs = result.jobs_by_status
    return Figure(
        "drain",
        "quota: the whole burst drains",
        f"R={result.rpm}/min, burst of {result.burst}, AZURE_RPM_LIMIT={result.rpm}, until every job ends",
        "all delivered; 0 failed; 0 429s",
        result=f"{jobs.get('succeeded', 0)} of {result.burst} delivered in {result.drained_s or 0:.0f} s; "
        f"{_quota_text(result)}",
        met=jobs.get("succeeded", 0) == result.burst and result.rate_limited == 0,
        data=result.as_dict(),
    )


def _quota_text(result: QuotaResult) -> str:
    if result.per_minute is not None and result.ratio is not None:
        rate = f"{result.per_minute:.1f}/min = {result.ratio:.0%} of R"
    else:
        rate = f"too few successes for a rate ({result.successes})"
    jobs = result.jobs_by_status
    return (
        f"{rate}; {result.failed_jobs} failed, {jobs.get('succeeded', 0)} delivered; "
        f"{result.rate_limited} 429s in {result.calls} Azure calls"
    )
