"""The answers of the GPT image models' Images API: an `ImagesResponse` body, or a server-sent event stream.

Section numbers refer to docs/contracts/azure-openai-images.md.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any, Final, Literal

from devkit.azure.faults import Fault, Malformed, OutputFiltered, PromptFiltered, StreamBreaks
from devkit.azure.models import output_tokens, text_tokens
from devkit.azure.params import ImageParams
from devkit.azure.wire import json_response
from devkit.http import Response
from devkit.pictures import draw, pad_png

__all__ = ["ImageJob", "break_connection", "broken_base64", "images_answer", "stream_answer", "usage_of"]

TASK_FILTERED: Final = "Your task failed as a result of our safety system."  # §7.2
OUTPUT_FILTERED: Final = "Generated image was filtered as a result of our safety system."  # §7.2
_STREAM_FAILED: Final = "The server had an error while processing your request. Sorry about that!"


@dataclass(frozen=True)
class ImageJob:
    """Everything needed to draw and describe the images of one GPT image call."""

    kind: Literal["generate", "edit"]
    params: ImageParams
    width: int
    height: int
    seeds: tuple[int, ...]  # one per image (§10: from the prompt, the emulator's seed, the call and the index)
    source: bytes | None = None  # an edit's input picture(s), side by side
    note: str | None = None
    image_tokens_in: int = 0
    pad_to: int | None = None

    @property
    def size_label(self) -> str:
        return f"{self.width}x{self.height}"

    def picture(self, index: int, *, roughness: float = 0.0, note: str | None = None) -> bytes:
        png = draw(
            self.params.prompt,
            self.width,
            self.height,
            fmt=self.params.output_format,
            seed=self.seeds[index],
            transparent=self.params.background == "transparent",
            roughness=roughness,
            source=self.source,
            note=note if note is not None else self.note,
        )
        return png if roughness else pad_png(png, self.pad_to)


def usage_of(job: ImageJob, *, details: bool = True) -> dict[str, Any]:
    """§2.5: text tokens from the prompt, image tokens from the inputs, output tokens from the table, times n."""
    text_in = text_tokens(job.params.prompt)
    out = output_tokens(job.params.quality, job.width, job.height) * job.params.n
    usage: dict[str, Any] = {
        "input_tokens": text_in + job.image_tokens_in,
        "input_tokens_details": {"image_tokens": job.image_tokens_in, "text_tokens": text_in},
        "output_tokens": out,
        "total_tokens": text_in + job.image_tokens_in + out,
    }
    if details:  # ImagesResponse has output details; the stream's completed event does not (§4.2)
        usage["output_tokens_details"] = {"image_tokens": out, "text_tokens": 0}
    return usage


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def broken_base64(data: bytes) -> str:
    """§7.7: base64 with junk in the middle and one character short, so strict and lenient decoders both fail."""
    text = _b64(data)
    return text[: len(text) // 2] + "!!!" + text[len(text) // 2 : -1]


def images_answer(job: ImageJob, created: int, fault: Fault | None) -> Response:
    """§2.4: the `ImagesResponse`; or a filtered (§7.2) or malformed (§7.7) 200."""
    if isinstance(fault, PromptFiltered):
        return json_response(200, {"created": created, "error": {"code": "contentFilter", "message": TASK_FILTERED}})
    if isinstance(fault, OutputFiltered):
        return json_response(200, {"created": created, "error": {"code": fault.code, "message": OUTPUT_FILTERED}})
    pictures = [job.picture(i) for i in range(job.params.n)]
    encode = broken_base64 if fault == Malformed("bad_base64") else _b64
    body: dict[str, Any] = {
        "created": created,
        "background": job.params.background,
        "data": [{"b64_json": encode(p)} for p in pictures],
        "output_format": job.params.output_format,
        "quality": job.params.quality,
        "size": job.size_label,
        "usage": usage_of(job),
    }
    if fault == Malformed("no_data"):
        del body["data"]
    if isinstance(fault, StreamBreaks):
        return break_connection(json.dumps(body).encode())
    if fault == Malformed("not_json"):
        return Response(json.dumps(body)[:160], status=200, content_type="application/json")
    return json_response(200, body)


def break_connection(full_body: bytes) -> Response:
    """§7.7: promises the whole body, sends half of it and closes the connection."""

    def half() -> Iterator[bytes]:
        yield full_body[: len(full_body) // 2]

    headers = {"Content-Length": str(len(full_body)), "Connection": "close"}
    return Response(half(), status=200, headers=headers, content_type="application/json")


def _event(name: str, data: dict[str, Any] | str) -> bytes:
    payload = data if isinstance(data, str) else json.dumps(data)
    return f"event: {name}\ndata: {payload}\n\n".encode()


def _error_event(code: str, message: str, type_: str) -> bytes:
    # §4.3: the openai SDK raises APIError for any event whose data has an `error`.
    return _event("error", {"type": "error", "error": {"code": code, "message": message, "param": None, "type": type_}})


def stream_answer(job: ImageJob, created: int, fault: Fault | None, hold: Callable[[], None]) -> Response:
    """§4: partial images, then the completed event; `hold` runs between them (a gate's hold point).

    The pictures are drawn as the stream goes, so a client sees the first partial image before the last
    one is ready, as it would from Azure.
    """
    prefix = "image_generation" if job.kind == "generate" else "image_edit"
    settings = {
        "background": job.params.background,
        "created_at": created,
        "output_format": job.params.output_format,
        "quality": job.params.quality,
        "size": job.size_label,
    }
    total = job.params.partial_images

    def events() -> Iterator[bytes]:
        if isinstance(fault, PromptFiltered):
            yield _error_event("contentFilter", TASK_FILTERED, "invalid_request_error")
            return
        sent = total if not isinstance(fault, StreamBreaks) or fault.after_partials is None else fault.after_partials
        for index in range(min(total, sent)):
            # §4.4: each partial is rougher than the next; the last is the closest to the final picture.
            roughness = (total - index) / (total + 1)
            picture = job.picture(0, roughness=roughness, note=f"partial {index + 1} of {total}")
            partial = {"type": f"{prefix}.partial_image", "b64_json": _b64(picture), "partial_image_index": index}
            yield _event(f"{prefix}.partial_image", partial | settings)
        hold()
        if isinstance(fault, StreamBreaks):
            if fault.kind == "error_event":
                yield _error_event("server_error", _STREAM_FAILED, "server_error")
            return
        if isinstance(fault, OutputFiltered):
            yield _error_event(fault.code, OUTPUT_FILTERED, "image_generation_user_error")
            return
        final = job.picture(0)
        completed: dict[str, Any] = {"type": f"{prefix}.completed", "b64_json": _b64(final)}
        completed |= settings | {"usage": usage_of(job, details=False)}
        if fault == Malformed("no_data"):
            del completed["b64_json"]
        elif fault == Malformed("bad_base64"):
            completed["b64_json"] = broken_base64(final)
        elif fault == Malformed("not_json"):
            yield _event(f"{prefix}.completed", json.dumps(completed)[:160])
            return
        yield _event(f"{prefix}.completed", completed)

    return Response(events(), status=200, mimetype="text/event-stream", headers={"Cache-Control": "no-cache"})
