"""bot.worker.outcomes: what a person reads for each error that is not retried."""

from __future__ import annotations

import pytest

from bot.images.generator import (
    ContentRejected,
    DeploymentNotFound,
    ImageGenerationError,
    InvalidRequest,
    Misconfigured,
    ServiceUnavailable,
)
from bot.replies.results import Failure
from bot.worker.outcomes import failure_of


@pytest.mark.parametrize(
    ("error", "failure"),
    [
        (ContentRejected("prompt", "blocked"), Failure.PROMPT_REFUSED),
        (ContentRejected("output", "filtered"), Failure.OUTPUT_FILTERED),
        (DeploymentNotFound("gpt-image-2", "404"), Failure.DEPLOYMENT_MISSING),
        (Misconfigured("azure_auth", "401"), Failure.MISCONFIGURED),
        (ServiceUnavailable("azure_unavailable", "503"), Failure.UNAVAILABLE),  # retryable, out of attempts
        (InvalidRequest("invalid_size", "400"), Failure.INVALID),
    ],
)
def test_each_final_error_reads_as_its_own_failure(error: ImageGenerationError, failure: Failure) -> None:
    assert failure_of(error) is failure
