"""The server end of an RFC 6455 WebSocket, just enough for an emulator: text, ping/pong and close.

The HTTP handshake happens elsewhere (`accept_key` computes its answer); `ServerConnection` then
reads masked client frames from the handler's buffered `rfile` and writes unmasked frames to the socket.
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import hashlib
import socket
import struct
import threading
from io import BufferedIOBase

_GUID = b"258EAFA5-E914-47DA-95CA-C5AB0DC85B11"  # RFC 6455 §1.3

CONTINUATION, TEXT, BINARY, CLOSE, PING, PONG = 0x0, 0x1, 0x2, 0x8, 0x9, 0xA
_CONTROL = frozenset({CLOSE, PING, PONG})
_DATA = frozenset({CONTINUATION, TEXT, BINARY})

NORMAL_CLOSURE, GOING_AWAY, PROTOCOL_ERROR = 1000, 1001, 1002
INVALID_DATA, MESSAGE_TOO_BIG = 1007, 1009
MAX_MESSAGE_BYTES = 1024 * 1024


def valid_key(key: str | None) -> bool:
    """§4.2.1: Sec-WebSocket-Key is the base64 of 16 bytes."""
    try:
        return key is not None and len(base64.b64decode(key, validate=True)) == 16
    except (binascii.Error, ValueError):
        return False


def accept_key(key: str) -> str:
    """§4.2.2: the Sec-WebSocket-Accept answer to a Sec-WebSocket-Key."""
    return base64.b64encode(hashlib.sha1(key.strip().encode("ascii") + _GUID).digest()).decode("ascii")


def encode_frame(opcode: int, payload: bytes = b"", *, mask: bytes | None = None) -> bytes:
    """One final frame. Servers send unmasked frames; clients pass a 4-byte `mask` (§5.3)."""
    head = bytes([0x80 | opcode])
    mask_bit = 0x80 if mask is not None else 0
    length = len(payload)
    if length < 126:
        head += bytes([mask_bit | length])
    elif length < 1 << 16:
        head += bytes([mask_bit | 126]) + struct.pack("!H", length)
    else:
        head += bytes([mask_bit | 127]) + struct.pack("!Q", length)
    if mask is None:
        return head + payload
    return head + mask + _unmask(payload, mask)


def _unmask(data: bytes, mask: bytes) -> bytes:
    # XOR with the key repeated to the data's length, done on big integers rather than byte by byte.
    key = (mask * (len(data) // 4 + 1))[: len(data)]
    return (int.from_bytes(data, "big") ^ int.from_bytes(key, "big")).to_bytes(len(data), "big")


class _ProtocolError(Exception):
    def __init__(self, code: int, reason: str) -> None:
        super().__init__(reason)
        self.code = code
        self.reason = reason


class ServerConnection:
    """An accepted WebSocket. `receive()` runs in one thread; `send_text` and `close` may run in any."""

    def __init__(self, sock: socket.socket, rfile: BufferedIOBase) -> None:
        self._sock = sock
        self._rfile = rfile
        self._send_lock = threading.Lock()
        self._close_sent = False

    @property
    def closed(self) -> bool:
        return self._close_sent

    def send_text(self, text: str) -> None:
        """Send one text message; raises ConnectionError once the connection is closing or gone."""
        self._send(TEXT, text.encode("utf-8"))

    def close(self, code: int = NORMAL_CLOSURE, reason: str = "") -> None:
        """Start the closing handshake (§7.1.2); `receive()` returns None once the peer answers or leaves."""
        try:
            self._send(CLOSE, struct.pack("!H", code) + reason.encode("utf-8")[:123], closing=True)
        except (ConnectionError, OSError):
            self.abort()

    def abort(self) -> None:
        """Drop the TCP connection, which also wakes a `receive()` blocked in another thread."""
        self._close_sent = True
        with contextlib.suppress(OSError):  # already gone
            self._sock.shutdown(socket.SHUT_RDWR)

    def receive(self) -> str | None:
        """The next text message, answering pings on the way; None once the connection is closed.

        Binary messages are read and dropped: nothing this emulates sends them.
        """
        try:
            while True:
                opcode, payload = self._read_message()
                if opcode == TEXT:
                    try:
                        return payload.decode("utf-8")
                    except UnicodeDecodeError:
                        raise _ProtocolError(INVALID_DATA, "text message is not UTF-8") from None
                if opcode == CLOSE:
                    return None
        except _ProtocolError as error:
            self.close(error.code, error.reason)
            return None
        except (ConnectionError, OSError, ValueError):  # EOF, reset, or the file closed under us
            self.abort()
            return None

    def _send(self, opcode: int, payload: bytes, *, closing: bool = False) -> None:
        with self._send_lock:
            if self._close_sent:
                raise ConnectionError("the WebSocket is closing")
            self._close_sent = closing
            self._sock.sendall(encode_frame(opcode, payload))

    def _read_message(self) -> tuple[int, bytes]:
        """A complete data message (fragments joined) or a CLOSE; control frames in between are handled."""
        opcode: int | None = None
        parts: list[bytes] = []
        size = 0
        while True:
            fin, frame_opcode, payload = self._read_frame()
            if frame_opcode == PING:
                with contextlib.suppress(OSError):  # we are closing; the peer's pings no longer matter
                    self._send(PONG, payload)
                continue
            if frame_opcode == PONG:
                continue
            if frame_opcode == CLOSE:
                self._answer_close(payload)
                return CLOSE, payload
            if (frame_opcode == CONTINUATION) != (opcode is not None):
                raise _ProtocolError(PROTOCOL_ERROR, "unexpected continuation frame")
            opcode = frame_opcode if opcode is None else opcode
            size += len(payload)
            if size > MAX_MESSAGE_BYTES:
                raise _ProtocolError(MESSAGE_TOO_BIG, "message too big")
            parts.append(payload)
            if fin:
                return opcode, b"".join(parts)

    def _answer_close(self, payload: bytes) -> None:
        # §5.5.1: echo the status code; if we started the close, the peer's frame completes it.
        if self._close_sent:
            return
        code = payload[:2] if len(payload) >= 2 else b""
        with contextlib.suppress(OSError):
            self._send(CLOSE, code, closing=True)

    def _read_frame(self) -> tuple[bool, int, bytes]:
        first, second = self._read_exactly(2)
        fin, opcode, length = bool(first & 0x80), first & 0x0F, second & 0x7F
        if first & 0x70:
            raise _ProtocolError(PROTOCOL_ERROR, "reserved bits set without an extension")
        if opcode not in _CONTROL | _DATA:
            raise _ProtocolError(PROTOCOL_ERROR, f"unknown opcode {opcode}")
        if not second & 0x80:
            raise _ProtocolError(PROTOCOL_ERROR, "client frames must be masked")  # §5.1
        if opcode in _CONTROL and (length > 125 or not fin):
            raise _ProtocolError(PROTOCOL_ERROR, "control frames must be short and unfragmented")  # §5.5
        if length == 126:
            (length,) = struct.unpack("!H", self._read_exactly(2))
        elif length == 127:
            (length,) = struct.unpack("!Q", self._read_exactly(8))
        if length > MAX_MESSAGE_BYTES:
            raise _ProtocolError(MESSAGE_TOO_BIG, "frame too big")
        mask = self._read_exactly(4)
        return fin, opcode, _unmask(self._read_exactly(length), mask)

    def _read_exactly(self, count: int) -> bytes:
        data = self._rfile.read(count) if count else b""
        if len(data) != count:
            raise ConnectionError("the peer closed the connection")
        return data
