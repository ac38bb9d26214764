"""Server-sent events read from raw bytes, for Azure's streamed images (docs/contracts/azure-openai-images.md
§4.4): each event carries a whole image as base64, about 1.4 MB of JSON on one `data:` line.

The `openai` SDK's own decoder splits lines with a regular expression over every byte and copies each
line twice; on this project's 2-core machine it spent 10 ms per 1.4 MB event, about 30 ms of CPU per
streamed image (3 events) and 10 ms between Azure's last byte and the image's upload (BENCHMARKS.md).
This finds line ends with `bytes.find` (memchr) and copies an event's data once, to the same result:
tests/unit/test_sse.py holds it to the SDK's decoder on arbitrary chunkings and line endings.
Format: https://html.spec.whatwg.org/multipage/server-sent-events.html#event-stream-interpretation
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Event:
    type: str  # the `event:` field; "message" when the server sent none
    data: bytes  # the `data:` lines joined with "\n"


def events(chunks: Iterable[bytes]) -> Iterator[Event]:
    """The events in a stream of byte chunks cut anywhere, as they complete."""
    kind = ""
    data: list[bytes] = []
    for line in _lines(chunks):
        if not line:  # a blank line ends an event; one with no data is dropped (the spec's step)
            if data:
                yield Event(kind or "message", b"\n".join(data))
            kind, data = "", []
            continue
        colon = line.find(b":")
        if colon < 0:
            name, value = line, b""  # a field name alone: its value is empty
        else:
            # One copy of a 1.4 MB value, not two (partition, then dropping the space).
            name = line[:colon]
            value = line[colon + 2 :] if line[colon + 1 : colon + 2] == b" " else line[colon + 1 :]
        if name == b"data":
            data.append(value)
        elif name == b"event":
            kind = value.decode("utf-8", "replace")
        # "id", "retry", comments (an empty name) and unknown fields: nothing the images API uses.


def _lines(chunks: Iterable[bytes]) -> Iterator[bytes]:
    """Lines ended by LF, CRLF or CR, without their ends; a line cut across chunks is joined once."""
    pieces: list[bytes] = []  # the start of an unfinished line
    held_cr = False  # the last chunk ended in CR: a LF opening the next one belongs to it
    for chunk in chunks:
        if not chunk:
            continue
        if held_cr and chunk[:1] == b"\n":
            chunk = chunk[1:]
        held_cr = chunk[-1:] == b"\r"
        if b"\r" in chunk:  # rare (Azure ends lines with LF): normalise, then split on LF alone
            chunk = chunk.replace(b"\r\n", b"\n").replace(b"\r", b"\n")
        start = 0
        while (end := chunk.find(b"\n", start)) >= 0:
            if pieces:
                pieces.append(chunk[start:end])
                yield b"".join(pieces)
                pieces.clear()
            else:
                yield chunk[start:end]
            start = end + 1
        if start < len(chunk):
            pieces.append(chunk[start:] if start else chunk)
    if pieces:
        yield b"".join(pieces)
