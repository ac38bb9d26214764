"""bot.jobs.retry: when to try a failed job again, as pure arithmetic."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.jobs.retry import RetryPolicy

POLICY = RetryPolicy(max_attempts=5, base_delay_s=2.0, max_delay_s=120.0, max_hint_s=900.0)


def test_the_defaults() -> None:
    assert RetryPolicy() == POLICY


@pytest.mark.parametrize(
    ("attempt", "retry_after", "fraction", "expected"),
    [
        pytest.param(1, None, 0.0, 2.0, id="first-backoff-no-jitter"),
        pytest.param(2, None, 0.0, 4.0, id="doubles"),
        pytest.param(4, None, 0.0, 16.0, id="fourth"),
        pytest.param(0, None, 0.0, 2.0, id="attempt-zero-is-the-base"),
        pytest.param(1, None, 1.0, 1.5, id="jitter-takes-up-to-a-quarter"),
        pytest.param(1, 6.0, 0.0, 6.0, id="service-hint-wins"),
        pytest.param(1, 6.0, 1.0, 6.6, id="hint-plus-up-to-ten-percent"),
        pytest.param(3, 0.0, 0.5, 0.0, id="zero-hint"),
        pytest.param(3, -5.0, 0.5, 0.0, id="negative-hint-is-now"),
        pytest.param(1, 900.0, 0.0, 900.0, id="longest-hint-obeyed"),
        pytest.param(5, None, 0.0, None, id="out-of-attempts"),
        pytest.param(5, 1.0, 0.0, None, id="out-of-attempts-even-with-hint"),
        pytest.param(1, 3600.0, 0.0, None, id="hint-too-long-fails-now"),
    ],
)
def test_delay_table(attempt: int, retry_after: float | None, fraction: float, expected: float | None) -> None:
    delay = POLICY.delay(attempt, retry_after, random_fraction=lambda: fraction)
    assert delay == (pytest.approx(expected) if expected is not None else None)


def test_backoff_is_capped() -> None:
    policy = RetryPolicy(max_attempts=50, base_delay_s=2.0, max_delay_s=120.0)
    assert policy.delay(30, None, random_fraction=lambda: 0.0) == 120.0


@settings(max_examples=60, deadline=None)
@given(
    attempt=st.integers(min_value=0, max_value=100),
    hint=st.none() | st.floats(min_value=0, max_value=10_000, allow_nan=False),
    fraction=st.floats(min_value=0, max_value=1, exclude_max=True),
)
def test_delay_is_bounded_and_never_negative(attempt: int, hint: float | None, fraction: float) -> None:
    delay = POLICY.delay(attempt, hint, random_fraction=lambda: fraction)
    if attempt >= POLICY.max_attempts or (hint is not None and hint > POLICY.max_hint_s):
        assert delay is None
        return
    assert delay is not None
    assert delay >= 0
    if hint is None:
        assert POLICY.base_delay_s * 0.75 <= delay <= POLICY.max_delay_s
    else:
        assert hint <= delay <= hint * 1.1 + 1e-9
