"""Logging set-up: one format, the job id on every line about a job, and secrets redacted."""

from __future__ import annotations

import contextlib
import contextvars
import json
import logging
import sys
from collections.abc import Iterable, Iterator
from datetime import UTC, datetime

_current_job: contextvars.ContextVar[int | None] = contextvars.ContextVar("job_id", default=None)


@contextlib.contextmanager
def job_context(job_id: int) -> Iterator[None]:
    """Everything logged inside (by any module, on this thread) carries `job=<id>`."""
    token = _current_job.set(job_id)
    try:
        yield
    finally:
        _current_job.reset(token)


class JobIdFilter(logging.Filter):
    """Adds `job` (the job id, or -) to every record, for the formats and for tests."""

    def filter(self, record: logging.LogRecord) -> bool:
        job = _current_job.get()
        record.job = "-" if job is None else str(job)
        return True


class _RedactSecrets(logging.Filter):
    """Last line of defence: no secret value survives into a log line, whoever logged it."""

    def __init__(self, secrets: Iterable[str]) -> None:
        super().__init__()
        self._secrets = [s for s in secrets if len(s) >= 6]

    def filter(self, record: logging.LogRecord) -> bool:
        if not self._secrets:
            return True
        message = record.getMessage()
        redacted = message
        for secret in self._secrets:
            redacted = redacted.replace(secret, "[redacted]")
        if redacted != message:
            record.msg, record.args = redacted, None
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            for secret in self._secrets:
                record.exc_text = record.exc_text.replace(secret, "[redacted]")
        return True


class _BoltClientNotice(logging.Filter):
    """Bolt warns that the token "will be unused" whenever a WebClient is passed and SLACK_BOT_TOKEN is set
    — always, here: the client carries that very token. The line would only alarm operators."""

    def filter(self, record: logging.LogRecord) -> bool:
        return not str(record.msg).startswith("As you gave `client` as well")


class _JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        entry = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "job": getattr(record, "job", "-"),
            "message": record.getMessage(),
        }
        if record.exc_text or record.exc_info:
            entry["exception"] = record.exc_text or self.formatException(record.exc_info)  # type: ignore[arg-type]
        return json.dumps(entry, ensure_ascii=False)


def configure_logging(level: str = "INFO", *, json_lines: bool = False, secrets: Iterable[str] = ()) -> None:
    handler = logging.StreamHandler(sys.stderr)
    handler.addFilter(JobIdFilter())
    handler.addFilter(_RedactSecrets(secrets))
    handler.setFormatter(
        _JsonFormatter()
        if json_lines
        else logging.Formatter("%(asctime)s %(levelname)-7s %(name)s job=%(job)s: %(message)s")
    )
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    # httpx logs every URL at INFO, including blob URLs whose query is a bearer signature.
    for name in ("httpx", "httpcore", "httpx2", "httpcore2", "openai"):
        logging.getLogger(name).setLevel(logging.WARNING)
    logging.getLogger("slack_bolt.App").addFilter(_BoltClientNotice())
    # uvicorn says it started and stopped; our own lines say where it listens and why it stops.
    logging.getLogger("uvicorn.error").setLevel(logging.WARNING)
    # Alembic announces its plugins and each step at INFO; a migration's outcome is logged by us.
    logging.getLogger("alembic").setLevel(logging.WARNING)
