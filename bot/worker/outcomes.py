"""What a finished drawing or a failure means, as values: the row's outcome, the failure a person reads,
whether the prompt was revised. Pure: the runner (bot/worker/runner.py) acts on these."""

from __future__ import annotations

import hashlib
from dataclasses import fields, replace
from decimal import Decimal

from bot.images.generator import ContentRejected, DeploymentNotFound, ImageGenerationError, ImageResult, Misconfigured
from bot.images.pricing import PriceTable
from bot.jobs.queue import Outcome
from bot.replies import results
from bot.slack.gateway import FileProblem
from bot.store.spec import Job, Status

SOURCE_FAILURES = {
    FileProblem.GONE: results.Failure.SOURCE_GONE,
    FileProblem.TOO_LARGE: results.Failure.SOURCE_TOO_LARGE,
    FileProblem.NOT_IMAGE: results.Failure.SOURCE_NOT_IMAGE,
    FileProblem.UNREADABLE: results.Failure.SOURCE_UNREADABLE,
}


def failure_of(error: ImageGenerationError) -> results.Failure:
    """The failure a person reads for an error that will not be retried."""
    if isinstance(error, ContentRejected):
        return results.Failure.PROMPT_REFUSED if error.stage == "prompt" else results.Failure.OUTPUT_FILTERED
    if isinstance(error, DeploymentNotFound):
        return results.Failure.DEPLOYMENT_MISSING
    if isinstance(error, Misconfigured):
        return results.Failure.MISCONFIGURED
    return results.Failure.UNAVAILABLE if error.retryable else results.Failure.INVALID


def revision_of(job: Job, revised: str | None, *, revises: bool) -> results.Revision:
    """What the result says about the prompt: revised, or why it was not (`revises`: the deployment's
    prompts go through the Responses API, which rewrites one image's prompt at a time)."""
    if revised:
        return results.Revision.REVISED
    if job.origin.kind.edits:
        return results.Revision.EDIT
    if job.request.raw:
        return results.Revision.RAW
    if revises and job.request.n > 1:
        return results.Revision.SEVERAL
    return results.Revision.NOT_REVISED


# What the drawing cost and took: recorded with the files (`JobQueue.record_files`), kept when a later
# attempt only shows them. Every outcome field but the status, the errors and the prompts.
_NOT_DRAWN = ("status", "error_code", "error_detail", "revised_prompt", "hashed_prompt", "hashed_revised_prompt")
_DRAWN = tuple(f.name for f in fields(Outcome) if f.name not in _NOT_DRAWN)


def succeeded(job: Job, result: ImageResult | None, prices: PriceTable, revised: str | None = None) -> Outcome:
    """The row of a delivered job: tokens, latency and cost when this worker drew it."""
    if result is None:  # shared by an earlier attempt: the figures it recorded with the files stay
        return Outcome(Status.SUCCEEDED, revised_prompt=revised, **{name: getattr(job, name) for name in _DRAWN})
    usage = result.usage
    cost = prices.cost(job.spec.model, job.request.size, job.request.quality, len(result.images), usage)
    return Outcome(
        Status.SUCCEEDED,
        revised_prompt=result.revised_prompt,
        azure_latency_ms=result.latency_ms,
        text_input_tokens=usage.text_input_tokens if usage else None,
        image_input_tokens=usage.image_input_tokens if usage else None,
        output_tokens=usage.output_tokens if usage else None,
        chat_model=usage.chat_model if usage else None,
        chat_input_tokens=usage.chat_input_tokens if usage and usage.chat_model else None,
        chat_output_tokens=usage.chat_output_tokens if usage and usage.chat_model else None,
        estimated_cost_usd=cost,
    )


def failed(status: Status, code: str, detail: str) -> Outcome:
    return Outcome(status, code, detail, estimated_cost_usd=Decimal(0))  # nothing delivered, nothing charged


def hashed(outcome: Outcome, prompt: str) -> Outcome:
    """STORE_PROMPTS=hash: the prompts were needed until now; from here on only their fingerprints."""
    revised = outcome.revised_prompt
    return replace(
        outcome, hashed_prompt=fingerprint(prompt), hashed_revised_prompt=fingerprint(revised) if revised else None
    )


def fingerprint(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()
