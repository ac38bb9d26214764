"""Latency figures from a load's outcomes, as Slack would judge them."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import Any

# A slash command must be answered within 3,000 ms or the user sees a timeout (Slack's docs, "Implementing
# slash commands", and docs.slack.dev/tools/bolt-python/concepts/acknowledge: "only 3 seconds").
SLACK_ACK_DEADLINE_S = 3.0


def percentile(sorted_values: Sequence[float], fraction: float) -> float:
    """Nearest-rank percentile: a value that was actually observed (p99 of 200 is the 198th)."""
    if not sorted_values:
        return math.nan
    rank = max(1, math.ceil(fraction * len(sorted_values)))
    return sorted_values[rank - 1]


@dataclass(frozen=True)
class LatencyStats:
    count: int
    p50_s: float
    p99_s: float
    max_s: float
    non_200: int  # answered with another status
    no_answer: int  # nothing within the client's timeout, or the connection was refused or reset
    over_3s: int  # a 200, but later than Slack waits
    client_timeout_s: float

    @property
    def failed(self) -> int:
        """Requests the user would see fail in Slack."""
        return self.non_200 + self.no_answer + self.over_3s

    @classmethod
    def of(cls, outcomes: Sequence[tuple[float, float, int | None]], client_timeout_s: float) -> LatencyStats:
        # An unanswered request counts at the time the client gave up: a lower bound, flagged by
        # `no_answer`, so the percentiles never look better than what happened.
        latencies = sorted(latency for _, latency, _ in outcomes)
        return cls(
            count=len(outcomes),
            p50_s=percentile(latencies, 0.50),
            p99_s=percentile(latencies, 0.99),
            max_s=latencies[-1] if latencies else math.nan,
            non_200=sum(status is not None and status != 200 for _, _, status in outcomes),
            no_answer=sum(status is None for _, _, status in outcomes),
            over_3s=sum(status == 200 and latency > SLACK_ACK_DEADLINE_S for _, latency, status in outcomes),
            client_timeout_s=client_timeout_s,
        )

    def as_dict(self) -> dict[str, Any]:
        return {**asdict(self), "failed": self.failed}


def median(values: Sequence[float]) -> float:
    """The middle value (the lower middle of an even count: a value that was observed)."""
    ordered = sorted(values)
    return ordered[(len(ordered) - 1) // 2] if ordered else math.nan
