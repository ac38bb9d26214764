"""bot/logs.py: every line carries its job id, and no secret survives into a line, whoever logs it."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator

import pytest

from bot.logs import configure_logging, job_context

SECRET = "xoxb-very-secret-token"


@pytest.fixture(autouse=True)
def _restore_root_logger() -> Iterator[None]:
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    yield
    root.handlers[:] = handlers
    root.setLevel(level)


def test_a_secret_is_redacted_from_messages_arguments_and_tracebacks(capsys: pytest.CaptureFixture[str]) -> None:
    configure_logging("DEBUG", secrets=[SECRET, "short"])
    log = logging.getLogger("some.library")
    log.info("calling with token %s", SECRET)
    try:
        raise RuntimeError(f"the server said no to {SECRET}")
    except RuntimeError:
        log.exception("failed")
    err = capsys.readouterr().err
    assert SECRET not in err
    assert err.count("[redacted]") == 2 and "the server said no to [redacted]" in err


def test_lines_name_their_job_as_text_and_as_json(capsys: pytest.CaptureFixture[str]) -> None:
    configure_logging("INFO")
    with job_context(42):
        logging.getLogger("bot.worker.runner").info("drawing")
    logging.getLogger("bot.processes").info("listening")
    assert [line.split(": ", 1)[0].rsplit(" ", 1)[1] for line in capsys.readouterr().err.splitlines()] == [
        "job=42",
        "job=-",
    ]
    configure_logging("INFO", json_lines=True, secrets=[SECRET])
    with job_context(7):
        logging.getLogger("bot.worker.runner").warning("retrying with %s", SECRET)
    [entry] = [json.loads(line) for line in capsys.readouterr().err.splitlines()]
    assert (entry["job"], entry["level"], entry["message"]) == ("7", "WARNING", "retrying with [redacted]")
