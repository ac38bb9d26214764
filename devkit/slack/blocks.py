"""Block Kit validation as Slack's servers do it, and the rule for showing a Slack file in a message.

The shapes and limits come from slack_sdk's own models (`Block.parse`, then `to_dict()`, which runs
every validator, nested ones included); on top of them come the rules Slack enforces that the models do
not (docs/contracts/slack.md §4.4–4.5): at most 50 blocks, an image needs `alt_text` and exactly one of
`image_url` / `slack_file`, a carousel holds only cards, and a `slack_file` must be visible where it is
shown. Failures answer Slack's `invalid_blocks` body: `errors` with json-pointers, mirrored in
`response_metadata.messages`.
"""

from __future__ import annotations

import re
from typing import Any

from slack_sdk.errors import SlackObjectFormationError
from slack_sdk.models.blocks import Block

from devkit.slack.records import UploadedFile
from devkit.slack.workspace import Workspace

__all__ = ["MAX_BLOCKS", "BlockRules", "InvalidBlocks", "known_block_types"]

MAX_BLOCKS = 50  # docs/contracts/slack.md §4.4
FILE_ID = re.compile(r"^F[A-Z0-9]{8,}$")  # docs/contracts/slack.md §4.5
_MISSING_ARGUMENT = re.compile(r"missing \d+ required keyword-only arguments?: (.+)$")


class InvalidBlocks(Exception):
    """`invalid_blocks` (errors: json-pointer messages) or `invalid_blocks_format` (no list at all)."""

    def __init__(self, code: str, errors: list[str]) -> None:
        super().__init__(code)
        self.code = code
        self.errors = errors

    def body(self) -> dict[str, Any]:
        if not self.errors:
            return {"ok": False, "error": self.code}
        return {
            "ok": False,
            "error": self.code,
            "errors": list(self.errors),
            "response_metadata": {"messages": [f"[ERROR] {e}" for e in self.errors]},
        }


def known_block_types() -> frozenset[str]:
    """Every block type slack_sdk models (it logs and skips the others, which Slack refuses)."""
    found: set[str] = set()
    pending: list[type[Block]] = [Block]
    while pending:
        cls = pending.pop()
        pending.extend(cls.__subclasses__())
        block_type = getattr(cls, "type", None)
        if isinstance(block_type, str):
            found.add(block_type)
    return frozenset(found)


_KNOWN_TYPES = known_block_types()


class BlockRules:
    """Validates `blocks` arguments against one workspace's files."""

    def __init__(self, ws: Workspace) -> None:
        self._ws = ws

    def check(self, blocks: Any, *, channel_id: str | None, root: str = "/blocks") -> list[dict[str, Any]] | None:
        """The blocks if Slack would take them in `channel_id` (None: a view, or a response_url with no
        known channel); raises InvalidBlocks otherwise. Hold the workspace lock."""
        if blocks is None:
            return None
        if not isinstance(blocks, list):
            raise InvalidBlocks("invalid_blocks_format", [])
        errors: list[str] = []
        if len(blocks) > MAX_BLOCKS:
            errors.append(f"no more than {MAX_BLOCKS} items allowed [json-pointer:{root}]")
        for index, block in enumerate(blocks):
            pointer = f"{root}/{index}"
            errors.extend(self._model_errors(block, pointer))
            errors.extend(self._slack_errors(block, pointer, channel_id))
        if errors:
            raise InvalidBlocks("invalid_blocks", errors)
        return blocks

    # ------------------------------------------------------------------ slack_sdk's models

    def _model_errors(self, block: Any, pointer: str) -> list[str]:
        if not isinstance(block, dict) or not isinstance(block.get("type"), str):
            return [f"missing required field: type [json-pointer:{pointer}]"]
        if block["type"] not in _KNOWN_TYPES:
            return [f"unsupported type: {block['type']} [json-pointer:{pointer}/type]"]
        try:
            parsed = Block.parse(dict(block))
            if parsed is not None:
                parsed.to_dict()  # runs every JsonValidator, nested objects' included
        except TypeError as exc:
            missing = _MISSING_ARGUMENT.search(str(exc))
            if missing:
                names = re.findall(r"'(\w+)'", missing.group(1))
                return [f"missing required field: {name} [json-pointer:{pointer}]" for name in names]
            return [f"invalid block: {exc} [json-pointer:{pointer}]"]
        except (SlackObjectFormationError, AttributeError, ValueError, KeyError) as exc:
            return [f"{exc} [json-pointer:{pointer}]"]
        return []

    # ------------------------------------------------------------------ Slack's own rules

    def _slack_errors(self, node: Any, pointer: str, channel_id: str | None) -> list[str]:
        """Walks a block's JSON: image rules on every image, the file rule on every slack_file."""
        errors: list[str] = []
        if isinstance(node, list):
            for index, item in enumerate(node):
                errors.extend(self._slack_errors(item, f"{pointer}/{index}", channel_id))
            return errors
        if not isinstance(node, dict):
            return errors
        if node.get("type") == "image":
            errors.extend(self._image_errors(node, pointer))
        if node.get("type") == "carousel":
            for index, card in enumerate(node.get("elements") or []):
                if not isinstance(card, dict) or card.get("type") != "card":
                    errors.append(f"must be a card [json-pointer:{pointer}/elements/{index}]")
        if "slack_file" in node and not self.file_visible(node["slack_file"], channel_id):
            # Slack's wording, python-slack-sdk#1658 (docs/contracts/slack.md §4.5).
            errors.append(f"invalid slack file [json-pointer:{pointer}/slack_file]")
        for key, value in node.items():
            if key != "slack_file" and isinstance(value, dict | list):
                errors.extend(self._slack_errors(value, f"{pointer}/{key}", channel_id))
        return errors

    @staticmethod
    def _image_errors(image: dict[str, Any], pointer: str) -> list[str]:
        errors: list[str] = []
        if ("image_url" in image) == ("slack_file" in image):
            errors.append(f"must provide exactly one of image_url or slack_file [json-pointer:{pointer}]")
        if not isinstance(image.get("alt_text"), str) or not image["alt_text"]:
            errors.append(f"must provide alt_text [json-pointer:{pointer}/alt_text]")
        url = image.get("image_url")
        if "image_url" in image and not (isinstance(url, str) and url.startswith(("http://", "https://"))):
            errors.append(f"invalid url [json-pointer:{pointer}/image_url]")
        return errors

    def file_visible(self, slack_file: Any, channel_id: str | None) -> bool:
        """The file-access rule (§4.5): the file exists and is live, was shared in `channel_id` (in the
        channel or any thread of it) and that share is `file_ready_after_s` old. With no channel (views),
        a ready share anywhere will do."""
        if not isinstance(slack_file, dict) or ("id" in slack_file) == ("url" in slack_file):
            return False
        uploaded: UploadedFile | None
        if "id" in slack_file:
            file_id = slack_file["id"]
            if not isinstance(file_id, str) or not FILE_ID.match(file_id):
                return False
            uploaded = self._ws.files.get(file_id)
        else:
            url = slack_file["url"]
            uploaded = self._ws.file_by_url(url) if isinstance(url, str) else None
        if uploaded is None or uploaded.deleted or not uploaded.completed:
            return False
        ready = self._ws.ready_shares(uploaded)
        return any(share.channel == channel_id for share in ready) if channel_id else bool(ready)
