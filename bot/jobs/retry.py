"""When to try a failed job again: pure arithmetic, no clocks or I/O."""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    max_attempts: int = 5
    base_delay_s: float = 2.0
    max_delay_s: float = 120.0
    # The service's own hint is obeyed, but a hint this long means "not soon": fail instead of queueing.
    max_hint_s: float = 900.0

    def delay(
        self,
        attempt: int,
        retry_after_s: float | None,
        *,
        random_fraction: Callable[[], float] = random.random,
    ) -> float | None:
        """Seconds to wait before attempt `attempt + 1`, or None when the job should fail now.

        `attempt` counts the attempts made so far (1 after the first failure). The service's
        `retry-after` wins when given (plus up to 10 % so a burst of jobs does not return in lockstep);
        otherwise capped exponential backoff with jitter: base·2^(attempt-1), at most max_delay, minus up
        to a quarter (the OpenAI SDK's shape).
        """
        if attempt >= self.max_attempts:
            return None
        if retry_after_s is not None:
            if retry_after_s > self.max_hint_s:
                return None
            return float(max(0.0, retry_after_s) * (1 + 0.1 * random_fraction()))
        exponential = min(self.max_delay_s, self.base_delay_s * 2 ** max(0, attempt - 1))
        return float(exponential * (1 - 0.25 * random_fraction()))
