"""The floor: the least an HTTP server in Python can do per request, in its own process.

    python -m bench.floor PORT

One `asyncio.Protocol` on uvloop (the loop the bot's uvicorn runs on): read the head and the
`Content-Length` body, answer a fixed 200 JSON and close. No parsing, no signature, no database. The
same client timing it against the bot shows how much of a figure is the machine, the kernel and the
client, and how much is the bot: each ack figure is given as a multiple of the floor's.
"""

from __future__ import annotations

import asyncio
import signal
import sys
from typing import Any

_ANSWER_BODY = b'{"response_type":"ephemeral","text":"ok"}'
_ANSWER = (
    b"HTTP/1.1 200 OK\r\ncontent-type: application/json\r\nconnection: close\r\n"
    + b"content-length: "
    + str(len(_ANSWER_BODY)).encode()
    + b"\r\n\r\n"
    + _ANSWER_BODY
)


class _Floor(asyncio.Protocol):
    def __init__(self) -> None:
        self._buffer = b""
        self._need = -1
        self._transport: Any = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self._transport = transport  # uvloop's TCPTransport is no subclass of asyncio.Transport

    def data_received(self, data: bytes) -> None:
        self._buffer += data
        if self._need < 0:
            end = self._buffer.find(b"\r\n\r\n")
            if end < 0:
                return
            head = self._buffer[:end].lower()
            at = head.find(b"content-length:")
            length = int(head[at + 15 :].split(b"\r\n", 1)[0]) if at >= 0 else 0
            self._need = end + 4 + length
        if len(self._buffer) >= self._need and self._transport is not None:
            self._transport.write(_ANSWER)
            self._transport.close()
            self._transport = None


async def _serve(port: int) -> None:
    loop = asyncio.get_running_loop()
    server = await loop.create_server(_Floor, "127.0.0.1", port, backlog=2048)
    stop = loop.create_future()
    loop.add_signal_handler(signal.SIGTERM, stop.set_result, None)
    print("listening", flush=True)
    async with server:
        await stop


def main(argv: list[str]) -> int:
    try:
        import uvloop
    except ImportError:
        asyncio.run(_serve(int(argv[0])))
    else:
        uvloop.run(_serve(int(argv[0])))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
