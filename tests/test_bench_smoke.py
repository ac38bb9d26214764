"""The benchmark harness still runs end to end: `python -m bench --smoke` on tiny loads.

Benchmarks are not tests and their numbers are not checked here (two shared cores are too noisy to
assert on); what is checked is that every figure is produced, printed and written as JSON.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
FIGURES = {
    "ack_burst": "ack latency p50 / p99 / max",
    "ack_steady": "ack latency p50 / p99 / max",
    "overhead": "bot overhead per image",
    "throughput": "throughput vs quota",
    "throughput_unlimited": "throughput vs quota, no shared limit",
    "memory": "memory: peak RSS",
    "report_sqlite": "report query",
    "naive_burst": "naive baseline",
    "naive_steady": "naive baseline",
}

pytestmark = pytest.mark.e2e


@pytest.mark.timeout(180)
def test_the_smoke_run_produces_every_figure(tmp_path: Path) -> None:
    results = tmp_path / "latest.json"
    finished = subprocess.run(
        [sys.executable, "-m", "bench", "--smoke", "--json", str(results)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=170,
    )
    assert finished.returncode == 0, finished.stderr[-4000:]

    document = json.loads(results.read_text())
    assert document["smoke"] is True
    assert {"cores", "python", "commit"} <= document["machine"].keys()
    figures = {figure["id"]: figure for figure in document["figures"]}
    assert figures.keys() == FIGURES.keys()
    for key, title in FIGURES.items():
        figure = figures[key]
        assert figure["figure"].startswith(title)
        assert figure["error"] is None, (key, figure)
        assert figure["result"], (key, figure)
        assert figure["data"], (key, figure)
        assert figure["result"] in finished.stdout  # the printed table has the same rows as the JSON

    # Ratios to the naive app exist exactly where the issue asks for them: the two ack loads.
    assert figures["ack_burst"]["ratio"].endswith("×")
    assert figures["ack_steady"]["ratio"].endswith("×")
    assert figures["overhead"]["ratio"] == "—"
    # The figures measure what they claim: every command acked, the quota respected, images really 1 MiB.
    assert figures["ack_burst"]["data"]["count"] == 10
    assert figures["ack_steady"]["data"]["count"] == 20
    assert figures["overhead"]["data"]["image_bytes"] == 1024 * 1024
    assert figures["throughput"]["data"]["rate_limited"] == 0
    assert figures["memory"]["data"]["fill_acks"]["failed"] == 0
    for line in ("figure", "machine:"):
        assert line in finished.stdout
