"""The modals: "Imagine this" on a message's text, Edit on a result, "Imagine from this image" on
someone's pictures. Their fields are turned back into `/imagine` text, so one parser checks all of them,
and a refusal is shown next to the field it is about."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from bot.replies.text import plain

IMAGINE_THIS = "imagine_this"  # message shortcut: the message's text as the prompt
FROM_IMAGE = "imagine_from_image"  # message shortcut: the message's pictures as the start
IMAGINE_MODAL = "imagine_modal"
EDIT_MODAL = "imagine_edit_modal"
FROM_IMAGE_MODAL = "imagine_from_image_modal"
PROMPT_BLOCK, SIZE_BLOCK, QUALITY_BLOCK, MODEL_BLOCK = "prompt", "size", "quality", "model"
FIELD_OF_OPTION = {"size": SIZE_BLOCK, "ar": SIZE_BLOCK, "quality": QUALITY_BLOCK, "model": MODEL_BLOCK}


def _input(block_id: str, label: str, *, initial: str = "", multiline: bool = False, optional: bool = False,
           placeholder: str | None = None, max_length: int = 3000) -> dict[str, Any]:  # fmt: skip
    element: dict[str, Any] = {"type": "plain_text_input", "action_id": "value", "multiline": multiline,
                               "max_length": max_length}  # fmt: skip
    if initial:
        element["initial_value"] = plain(initial)[:max_length]
    if placeholder:
        element["placeholder"] = {"type": "plain_text", "text": placeholder[:150]}
    block: dict[str, Any] = {
        "type": "input",
        "block_id": block_id,
        "label": {"type": "plain_text", "text": label},
        "element": element,
    }
    if optional:
        block["optional"] = True
    return block


def _select(block_id: str, label: str, values: Sequence[str], *, initial: str | None = None) -> dict[str, Any]:
    options = [{"text": {"type": "plain_text", "text": v}, "value": v} for v in values]
    element: dict[str, Any] = {"type": "static_select", "action_id": "value", "options": options}
    if initial is not None:
        element["initial_option"] = next(o for o in options if o["value"] == initial)
    block: dict[str, Any] = {
        "type": "input",
        "block_id": block_id,
        "label": {"type": "plain_text", "text": label},
        "element": element,
    }
    if initial is None:
        block["optional"] = True
    return block


def _modal(callback_id: str, title: str, submit: str, blocks: list[dict[str, Any]], metadata: str) -> dict[str, Any]:
    return {
        "type": "modal",
        "callback_id": callback_id,
        "private_metadata": metadata,
        "title": {"type": "plain_text", "text": title},
        "submit": {"type": "plain_text", "text": submit},
        "close": {"type": "plain_text", "text": "Cancel"},
        "blocks": blocks,
    }


def imagine_this(text: str, channel_id: str, *, qualities: Sequence[str], models: Sequence[str], default: str,
                 size_hint: str) -> dict[str, Any]:  # fmt: skip
    """The message's text as the prompt, and the options a person most often changes."""
    blocks = [_input(PROMPT_BLOCK, "Describe the image", initial=text, multiline=True)]
    blocks.append(_input(SIZE_BLOCK, "Size", optional=True, placeholder=size_hint, max_length=20))
    if qualities:
        blocks.append(_select(QUALITY_BLOCK, "Quality", qualities))
    if len(models) > 1:
        blocks.append(_select(MODEL_BLOCK, "Model", models, initial=default))
    return _modal(IMAGINE_MODAL, "Imagine this", "Imagine", blocks, channel_id)


@dataclass(frozen=True, slots=True)
class EditTarget:
    """What an Edit modal (or a mention) is about: one image of one job, and where to answer."""

    job_id: int
    image: int
    channel_id: str
    thread_ts: str | None

    def encode(self) -> str:
        return json.dumps([self.job_id, self.image, self.channel_id, self.thread_ts])

    @classmethod
    def decode(cls, text: str) -> EditTarget | None:
        try:
            job_id, image, channel_id, thread_ts = json.loads(text)
            return cls(int(job_id), int(image), str(channel_id), str(thread_ts) if thread_ts else None)
        except (ValueError, TypeError):
            return None


def edit(target: EditTarget, *, size: str, size_hint: str) -> dict[str, Any]:
    blocks = [
        _input(PROMPT_BLOCK, "What should change?", multiline=True, placeholder="e.g. make the sky pink"),
        _input(SIZE_BLOCK, "New size (optional)", optional=True, placeholder=f"{size} now; {size_hint}", max_length=20),
    ]
    return _modal(EDIT_MODAL, "Edit this image", "Edit", blocks, target.encode())


@dataclass(frozen=True, slots=True)
class SourcePictures:
    """The pictures "Imagine from this image" starts from, and the message they are in."""

    channel_id: str
    message_ts: str
    file_ids: tuple[str, ...]

    def encode(self) -> str:
        return json.dumps([self.channel_id, self.message_ts, list(self.file_ids)])

    @classmethod
    def decode(cls, text: str) -> SourcePictures | None:
        try:
            channel_id, ts, files = json.loads(text)
            return cls(str(channel_id), str(ts), tuple(str(f) for f in files))
        except (ValueError, TypeError):
            return None


def from_image(source: SourcePictures, *, size_hint: str, count: int) -> dict[str, Any]:
    what = "this picture" if count == 1 else f"these {count} pictures"
    blocks = [
        _input(PROMPT_BLOCK, f"What should I make from {what}?", multiline=True,
               placeholder="e.g. turn it into a watercolour poster; blend them into one scene"),
        _input(SIZE_BLOCK, "Size (optional)", optional=True, placeholder=size_hint, max_length=20),
    ]  # fmt: skip
    return _modal(FROM_IMAGE_MODAL, "Imagine from image", "Imagine", blocks, source.encode())


def submitted_values(view: Mapping[str, Any]) -> dict[str, str]:
    """Each block's value as typed or picked."""
    found: dict[str, str] = {}
    for block_id, fields in ((view.get("state") or {}).get("values") or {}).items():
        element = (fields or {}).get("value") or {}
        option = element.get("selected_option") or {}
        value = option.get("value") or element.get("value")
        if isinstance(value, str) and value.strip():
            found[str(block_id)] = value.strip()
    return found


def field_errors(block_id: str, text: str) -> dict[str, Any]:
    return {"response_action": "errors", "errors": {block_id: text[:150]}}
