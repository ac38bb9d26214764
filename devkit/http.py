"""A loopback HTTP server on werkzeug, serving one emulator from a background thread."""

from __future__ import annotations

import logging
import threading
from types import TracebackType
from typing import TYPE_CHECKING, Self

from werkzeug.exceptions import ClientDisconnected
from werkzeug.serving import BaseWSGIServer, WSGIRequestHandler, make_server
from werkzeug.wrappers import Request, Response

if TYPE_CHECKING:
    from collections.abc import Iterable

    from _typeshed.wsgi import StartResponse, WSGIEnvironment

__all__ = ["LoopbackServer", "Request", "Response"]


class _QuietHandler(WSGIRequestHandler):
    # HTTP/1.1, as Slack's and Azure's servers speak (chunked streams). Unlike them, werkzeug's development
    # server closes every connection after its answer: it drains the socket after each request, which a
    # kept-alive client's next request would stall (docs/architecture.md, "Development tools").
    protocol_version = "HTTP/1.1"

    def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
        pass  # emulators record requests themselves; werkzeug's access log would drown test output


class LoopbackServer:
    """Serves `handle(request) -> Response` on 127.0.0.1 (port 0: a free one) from a daemon thread.

    Subclasses implement `handle`. `url` is known once `start()` returns. An exception in `handle` is an
    emulator bug: it becomes a 500 with the exception's name, never a hung socket. A client that hangs up
    before its body has arrived (a bot stopped mid-upload) is no bug: a 400 nobody reads, and no traceback.
    """

    def __init__(self, host: str = "127.0.0.1", port: int = 0) -> None:
        self._host = host
        self._port = port
        self._server: BaseWSGIServer | None = None
        self._thread: threading.Thread | None = None

    def handle(self, request: Request) -> Response:
        raise NotImplementedError

    def _wsgi(self, environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
        request = Request(environ)
        try:
            response = self.handle(request)
        except ClientDisconnected:
            logging.getLogger(__name__).debug("client left during %s %s", request.method, request.path)
            response = Response(status=400)
        except Exception as exc:
            logging.getLogger(__name__).exception(
                "%s failed on %s %s", type(self).__name__, request.method, request.path
            )
            response = Response(
                f'{{"error": {{"code": "EmulatorError", "message": "{type(exc).__name__}"}}}}',
                status=500,
                content_type="application/json",
            )
        return response(environ, start_response)

    @property
    def port(self) -> int:
        if self._server is None:
            raise RuntimeError(f"{type(self).__name__} is not running; call start() first")
        return int(self._server.server_port)

    @property
    def url(self) -> str:
        return f"http://{self._host}:{self.port}"

    def start(self) -> Self:
        server = make_server(self._host, self._port, self._wsgi, threaded=True, request_handler=_QuietHandler)
        server.daemon_threads = True  # type: ignore[attr-defined]  # make_server(threaded=True) mixes it in
        self._server = server
        self._thread = threading.Thread(
            target=server.serve_forever, args=(0.05,), name=type(self).__name__, daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()
