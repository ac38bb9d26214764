"""devkit.http.LoopbackServer: what every emulator's transport does with a handler that fails."""

from __future__ import annotations

import logging
import socket
from collections.abc import Iterator

import httpx
import pytest

from devkit.http import LoopbackServer, Request, Response


class _Echo(LoopbackServer):
    def handle(self, request: Request) -> Response:
        if request.path == "/broken":
            raise KeyError("a bug")
        return Response(request.get_data())


@pytest.fixture
def echo() -> Iterator[_Echo]:
    server = _Echo().start()
    yield server
    server.stop()


def test_a_client_that_hangs_up_mid_body_is_no_error(echo: _Echo, caplog: pytest.LogCaptureFixture) -> None:
    """A bot stopped during an upload leaves the body short: nothing to answer and no traceback (the
    benchmarks stop bots mid-delivery, and a traceback there buried their table)."""
    caplog.set_level(logging.DEBUG, logger="devkit.http")
    with socket.create_connection(("127.0.0.1", echo.port)) as connection:
        connection.sendall(b"POST /api/files.delete HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\n" + b"x" * 10)
        connection.shutdown(socket.SHUT_WR)
        connection.settimeout(10)
        answer = b"".join(iter(lambda: connection.recv(4096), b""))  # written after the log line
    assert answer.startswith(b"HTTP/1.1 400 ")
    assert [r.levelno for r in caplog.records if r.name == "devkit.http"] == [logging.DEBUG]
    assert "client left during POST /api/files.delete" in caplog.text
    assert httpx.post(f"{echo.url}/next", content=b"still here").content == b"still here"


def test_a_handler_bug_is_a_500_naming_the_exception(echo: _Echo, caplog: pytest.LogCaptureFixture) -> None:
    answer = httpx.post(f"{echo.url}/broken", content=b"{}")
    assert answer.status_code == 500
    assert answer.json() == {"error": {"code": "EmulatorError", "message": "KeyError"}}
    assert "_Echo failed on POST /broken" in caplog.text
