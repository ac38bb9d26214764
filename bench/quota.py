"""Throughput against Azure's requests-per-minute quota, measured where the quota is enforced: in the
emulated Azure, which refuses a call when its sliding 10-second window already holds R // 6 calls
(docs/contracts/azure-openai-images.md §8), as Azure does.

- the rate: a burst of 3R jobs at R = 60, with AZURE_RPM_LIMIT=R (the bot's GCRA pacing, bot/jobs/pacing.py),
  measured over the first windows; and the same without the limit, to show what 429s cost;
- the drain: a burst of 3R jobs at a small R, run until every job is done, with no 429 allowed.
"""

from __future__ import annotations

import threading
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from bench.client import run_load
from bench.stage import DEPLOYMENT, Stage, stage
from bench.stats import LatencyStats

QUOTA_WINDOW_S = 10.0
THROUGHPUT_AZURE_LATENCY_S = 1.0
# Enough workers to keep the quota busy (a job holds its worker for Azure's latency plus its uploads),
# as a deployment sized for its quota would run: what is measured is the pacing, not the pool.
WORKERS = {"WORKER_CONCURRENCY": "8"}


@dataclass(frozen=True)
class QuotaResult:
    rpm: int
    limited: bool  # the bot ran with AZURE_RPM_LIMIT=rpm
    burst: int
    per_minute: float | None  # successful calls per minute over the measured span
    measured_s: float | None
    successes: int
    calls: int  # generation calls Azure received, 429s included
    rate_limited: int  # 429s
    jobs_by_status: dict[str, int]  # when the run stopped; jobs still queued were not reached yet
    drained_s: float | None = None  # for a drain: from the burst to the last job's end

    @property
    def failed_jobs(self) -> int:
        return self.jobs_by_status.get("failed", 0)

    @property
    def ratio(self) -> float | None:
        return None if self.per_minute is None else self.per_minute / self.rpm

    def as_dict(self) -> dict[str, Any]:
        return {**asdict(self), "failed_jobs": self.failed_jobs, "ratio": self.ratio}


def steady_rate(success_times: list[float], calls_per_window: int, windows: int) -> tuple[float, float] | None:
    """(calls per minute, seconds measured): k·p calls from the first success to the (k·p+1)-th. Counting
    the calls in a fixed span instead would round to whole batches and read anything from 80 % to 120 %."""
    needed = windows * calls_per_window
    if len(success_times) <= needed:
        return None
    span = success_times[needed] - success_times[0]
    return needed / span * 60, span


def _generation_calls(stage_: Stage) -> list[tuple[float, int]]:
    """(arrival on the emulator's clock, HTTP status) of every image-generation call, oldest first."""
    return sorted((r.at, r.status) for r in stage_.azure.calls("generate"))


def _queue(workdir: Path, stage_: Stage, url: str, count: int) -> None:
    """`count` jobs, three to a channel: a burst from many channels, so the bot's per-channel Slack pacing
    (1 post a second, several posts a job) is not what limits the rate measured here."""
    channels = stage_.channels(max(1, count // 3))
    requests = stage_.commands(url, count, channels=channels)
    run, _ = run_load(workdir, url, requests, mode="closed", concurrency=50, timeout_s=10)
    acks = LatencyStats.of(run.outcomes, 10)
    if acks.failed:
        raise RuntimeError(f"{acks.failed} of the {count} commands were not accepted")


def _finished(by_status: dict[str, int]) -> bool:
    return not by_status.get("queued") and not by_status.get("running")


def throughput(workdir: Path, rpm: int, windows: int, *, limited: bool) -> QuotaResult:
    """A burst of 3R jobs, measured for `windows` quota windows (draining 3R at R a minute always takes
    three minutes, so the run stops once the rate is known, or once no job is left to try)."""
    name = f"throughput-{'limited' if limited else 'unlimited'}"
    per_window, burst = max(1, rpm // 6), 3 * rpm
    with stage(workdir, name, latency_s=THROUGHPUT_AZURE_LATENCY_S, rpm={DEPLOYMENT: rpm}) as stage_:
        bot = stage_.start_bot(name, **WORKERS, **({"AZURE_RPM_LIMIT": str(rpm)} if limited else {}))
        _queue(workdir, stage_, bot.url, burst)
        deadline = time.monotonic() + windows * QUOTA_WINDOW_S * 1.5 + 20
        while time.monotonic() < deadline:
            if sum(status == 200 for _, status in _generation_calls(stage_)) > windows * per_window:
                break
            if _finished(stage_.jobs_by_status()):
                break
            time.sleep(0.5)  # polling the emulator and the database from outside
        bot.stop()
        answers = _generation_calls(stage_)
        by_status = stage_.jobs_by_status()
    _check_all_queued(by_status, burst)
    successes = [at for at, status in answers if status == 200]
    rate = steady_rate(successes, per_window, windows)
    return QuotaResult(
        rpm=rpm,
        limited=limited,
        burst=burst,
        per_minute=rate[0] if rate else None,
        measured_s=rate[1] if rate else None,
        successes=len(successes),
        calls=len(answers),
        rate_limited=sum(status == 429 for _, status in answers),
        jobs_by_status=by_status,
    )


def drain(workdir: Path, rpm: int, timeout_s: float, *, burst: int) -> QuotaResult:
    """A burst (3R in the full run) at R a minute with AZURE_RPM_LIMIT=R, until every job has ended."""
    with stage(workdir, "drain", latency_s=THROUGHPUT_AZURE_LATENCY_S, rpm={DEPLOYMENT: rpm}) as stage_:
        bot = stage_.start_bot("drain", **WORKERS, AZURE_RPM_LIMIT=str(rpm))
        began = time.monotonic()
        _queue(workdir, stage_, bot.url, burst)
        deadline = began + timeout_s
        while not _finished(by_status := stage_.jobs_by_status()):
            if time.monotonic() > deadline:
                raise RuntimeError(f"the {burst} jobs were not drained in {timeout_s:.0f} s: {by_status}")
            time.sleep(1.0)
        drained = time.monotonic() - began
        bot.stop()
        answers = _generation_calls(stage_)
    _check_all_queued(by_status, burst)
    successes = [at for at, status in answers if status == 200]
    span = successes[-1] - successes[0] if len(successes) > 1 else None
    return QuotaResult(
        rpm=rpm,
        limited=True,
        burst=burst,
        per_minute=(len(successes) - 1) / span * 60 if span else None,
        measured_s=span,
        successes=len(successes),
        calls=len(answers),
        rate_limited=sum(status == 429 for _, status in answers),
        jobs_by_status=by_status,
        drained_s=drained,
    )


def _check_all_queued(by_status: dict[str, int], commands: int) -> None:
    # A 200 is not proof of a job: the ack may be a refusal (a limit, a duplicate) in ephemeral text.
    if sum(by_status.values()) != commands:
        raise RuntimeError(f"{commands} commands made {sum(by_status.values())} jobs: {by_status}")


def throughput_pair(workdir: Path, rpm: int, windows: int) -> tuple[QuotaResult, QuotaResult]:
    """With and without AZURE_RPM_LIMIT, side by side: each mostly waits on its quota windows."""
    results: dict[bool, QuotaResult] = {}
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
