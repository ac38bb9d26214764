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

from bench.stats import LatencyStats

COLUMNS = ("figure", "load", "result", "target", "met?", "× floor", "load avg")


@dataclass
class Figure:
    id: str
    figure: str
    load: str
    target: str
    result: str = ""
    met: bool | None = None  # None: no target (the floor and the baselines), or not measured
    ratio: str = "—"  # the figure as a multiple of the floor's
    load_average: str = ""  # the machine's 1-minute load average when the figure's run began
    data: dict[str, Any] = field(default_factory=dict)
    error: str | None = None

    def row(self) -> tuple[str, ...]:
        met = "—" if self.met is None else ("yes" if self.met else "NO")
        return (self.figure, self.load, self.result, self.target, met, self.ratio, self.load_average)

    def failed(self, why: str = "the benchmark raised; see the log on stderr") -> Figure:
        self.result = "error (see stderr)"
        self.met = False
        self.error = why
        return self


def ms(seconds: float) -> str:
    if math.isnan(seconds):
        return "n/a"
    return f"{seconds * 1000:.0f} ms" if seconds >= 0.0995 else f"{seconds * 1000:.1f} ms"


def latency_text(stats: LatencyStats, *, failures: int | None = None, of: int | None = None) -> str:
    text = f"p50 {ms(stats.p50_s)} / p99 {ms(stats.p99_s)} / max {ms(stats.max_s)}"
    failed = stats.failed if failures is None else failures
    count = stats.count if of is None else of
    if not failed:
        return f"{text}; all {count} answered 200 in < 3 s"
    parts = [
        f"{n} {what}"
        for n, what in (
            (stats.non_200, "non-200"),
            (stats.no_answer, f"no answer in {stats.client_timeout_s:g} s"),
            (stats.over_3s, "200 after > 3 s"),
        )
        if n
    ]
    detail = f" ({', '.join(parts)})" if failures is None else ""
    return f"{text}; {failed} of {count} failed{detail}"


def times(value: float, floor: float) -> str:
    return f"{value / floor:.2g}×" if floor > 0 and not math.isnan(value) else "n/a"


def render(figures: list[Figure], machine: dict[str, str]) -> str:
    rows = [COLUMNS, *(f.row() for f in figures)]
    widths = [max(len(row[i]) for row in rows) for i in range(len(COLUMNS))]
    lines = [" | ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip() for row in rows]
    lines.insert(1, "-+-".join("-" * width for width in widths))
    about = ", ".join(f"{key} {value}" for key, value in machine.items())
    return "\n".join([*lines, "", f"machine: {about}"])


def load_average() -> str:
    return " ".join(f"{x:.2f}" for x in os.getloadavg())


def machine_info() -> dict[str, str]:
    return {
        "cores": str(os.cpu_count()),
        "cpu": _cpu_model(),
        "memory": _memory(),
        "python": platform.python_version(),
        "os": f"{platform.system()} {platform.release()}",
        "commit": _commit(),
        "load average at start": load_average(),
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


def _memory() -> str:
    try:
        with open("/proc/meminfo") as meminfo:
            kib = int(meminfo.readline().split()[1])
        return f"{kib / 1024 / 1024:.0f} GiB"
    except (OSError, ValueError, IndexError):
        return "unknown"


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
