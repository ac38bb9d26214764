"""bot/images/sse.py reads what the `openai` SDK's own decoder reads, however the bytes are cut."""

from __future__ import annotations

import itertools

from hypothesis import given
from hypothesis import strategies as st
from openai._streaming import SSEDecoder  # the SDK's decoder: the reference this reader replaces

from bot.images import sse

# Field values without line ends; the data of an image event is one long base64 line.
_values = st.text(st.characters(blacklist_characters="\r\n", blacklist_categories=("Cs",)), max_size=40)
_fields = st.one_of(
    st.tuples(st.just("data"), _values),
    st.tuples(st.just("event"), _values),
    st.tuples(st.just("id"), st.text("abc123", max_size=5)),
    st.tuples(st.just(""), _values),  # a comment line
)


@st.composite
def _streams(draw: st.DrawFn) -> tuple[bytes, list[int]]:
    """A stream of events (each with at least one data line), any line ending, cut into any chunks."""
    end = draw(st.sampled_from(["\n", "\r\n", "\r"]))
    text = ""
    for _ in range(draw(st.integers(1, 4))):
        lines = [*draw(st.lists(_fields, max_size=4)), ("data", draw(_values))]
        lines = draw(st.permutations(lines))
        space = draw(st.sampled_from(["", " "]))
        text += "".join(f"{name}:{space}{value}{end}" for name, value in lines) + end
    body = text.encode()
    cuts = sorted(draw(st.lists(st.integers(0, len(body)), max_size=8)))
    return body, cuts


def _chunks(body: bytes, cuts: list[int]) -> list[bytes]:
    edges = [0, *cuts, len(body)]
    return [body[a:b] for a, b in itertools.pairwise(edges)]


def _by_sdk(chunks: list[bytes]) -> list[tuple[str, str]]:
    return [(event.event or "message", event.data) for event in SSEDecoder().iter_bytes(iter(chunks))]


@given(_streams())
def test_reads_what_the_sdk_reads(stream: tuple[bytes, list[int]]) -> None:
    chunks = _chunks(*stream)
    ours = [(event.type, event.data.decode()) for event in sse.events(chunks)]
    assert ours == _by_sdk(chunks)


def test_an_image_event_cut_across_chunks_comes_whole() -> None:
    payload = b'{"type":"image_generation.completed","b64_json":"' + b"QUJD" * 300_000 + b'"}'
    body = b"event: image_generation.completed\ndata: " + payload + b"\n\n"
    chunks = [body[i : i + 65536] for i in range(0, len(body), 65536)]
    assert list(sse.events(chunks)) == [sse.Event("image_generation.completed", payload)]


def test_crlf_split_between_chunks_is_one_line_end() -> None:
    chunks = [b"data: a\r", b"\ndata: b\r", b"\n\r", b"\n"]
    assert list(sse.events(chunks)) == [sse.Event("message", b"a\nb")]


def test_an_unfinished_event_at_the_end_is_dropped() -> None:
    assert list(sse.events([b"data: whole\n\n", b"data: cut off"])) == [sse.Event("message", b"whole")]


def test_a_field_name_alone_and_empty_data_follow_the_spec() -> None:
    # "data" with no colon is a data line with an empty value; an event with no data line is dropped.
    assert list(sse.events([b"data\n\nevent: nothing\n\n"])) == [sse.Event("message", b"")]
