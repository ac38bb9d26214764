"""The one table the benchmarks print, and the JSON written next to it."""

from __future__ import annotations

import json
import math
import os
import platform
import subprocess
import sys
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bench.load import LatencyStats

COLUMNS = ("figure", "load", "result", "target", "met?", "ratio to naive")


@dataclass
class Figure:
    id: str
    figure: str
    load: str
    target: str
    result: str = ""
    met: bool | None = None  # None: no target (the baselines), or not measured
    ratio: str = "—"
    data: dict[str, Any] = field(default_factory=dict)
    error: str | None = None

    def row(self) -> tuple[str, ...]:
        met = "—" if self.met is None else ("yes" if self.met else "NO")
        return (self.figure, self.load, self.result, self.target, met, self.ratio)


def ms(seconds: float) -> str:
    if math.isnan(seconds):
        return "n/a"
    return f"{seconds * 1000:.0f} ms" if seconds >= 0.0995 else f"{seconds * 1000:.1f} ms"


def latency_text(stats: LatencyStats) -> str:
    text = f"p50 {ms(stats.p50_s)} / p99 {ms(stats.p99_s)} / max {ms(stats.max_s)}"
    if not stats.failed:
        return f"{text}; all {stats.count} answered 200 in < 3 s"
    parts = [
        f"{count} {what}"
        for count, what in (
            (stats.non_200, "non-200"),
            (stats.no_answer, f"no answer in {stats.client_timeout_s:g} s"),
            (stats.over_3s, "200 after > 3 s"),
        )
        if count
    ]
    return f"{text}; {stats.failed} of {stats.count} failed ({', '.join(parts)})"


def ratio_text(ours: LatencyStats, naive: LatencyStats) -> str:
    """ours ÷ naive per percentile. The naive app's unanswered requests count at the client's timeout,
    so its figures are lower bounds and the ratios upper bounds (marked ≤)."""
    bound = "≤" if naive.no_answer else ""
    pairs = ((ours.p50_s, naive.p50_s), (ours.p99_s, naive.p99_s), (ours.max_s, naive.max_s))
    return " / ".join(f"{bound}{a / b:.3g}×" if b > 0 else "n/a" for a, b in pairs)


def render(figures: list[Figure], machine: dict[str, str]) -> str:
    rows = [COLUMNS, *(f.row() for f in figures)]
    widths = [max(len(row[i]) for row in rows) for i in range(len(COLUMNS))]
    lines = [" | ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip() for row in rows]
    lines.insert(1, "-+-".join("-" * width for width in widths))
    about = ", ".join(f"{key} {value}" for key, value in machine.items())
    return "\n".join([*lines, "", f"machine: {about}"])


def machine_info() -> dict[str, str]:
    return {
        "cores": str(os.cpu_count()),
        "cpu": _cpu_model(),
        "python": platform.python_version(),
        "os": f"{platform.system()} {platform.release()}",
        "commit": _commit(),
        "load average at start": " ".join(f"{x:.2f}" for x in os.getloadavg()),
    }


def _cpu_model() -> str:
    try:
        with open("/proc/cpuinfo") as cpuinfo:
            for line in cpuinfo:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def _commit() -> str:
    root = Path(__file__).resolve().parent.parent

    def git(*args: str) -> str:
        return subprocess.run(["git", *args], cwd=root, capture_output=True, text=True, check=False).stdout.strip()

    commit = git("rev-parse", "--short", "HEAD") or "unknown"
    # The numbers belong to the working tree they ran on, which may be ahead of the commit.
    return f"{commit}+uncommitted changes" if git("status", "--porcelain", "--untracked-files=no") else commit


def write_json(path: Path, figures: list[Figure], machine: dict[str, str], *, smoke: bool, duration_s: float) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    document = {
        "command": "python3 dev.py bench" + (" --smoke" if smoke else ""),
        "smoke": smoke,
        "finished_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "duration_s": round(duration_s, 1),
        "machine": machine,
        "argv": sys.argv[1:],
        "figures": [asdict(f) for f in figures],
    }
    path.write_text(json.dumps(document, indent=2, default=str) + "\n")
