"""`bench/report.py` (seeds N usage rows through the real migrations, times every grouping of the real
report query) as its own process, so its numbers are exactly the ones it prints when run by hand."""

from __future__ import annotations

import re
import subprocess
import sys
import time
from dataclasses import dataclass

from bench.stage import ROOT

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
    argv = [sys.executable, str(ROOT / "bench" / "report.py"), "--rows", str(rows)]
    if database_url is not None:
        argv += ["--database-url", database_url]
    began = time.perf_counter()
    finished = subprocess.run(argv, cwd=ROOT, capture_output=True, text=True, timeout=900, check=False)
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
