"""Block Kit to HTML, for messages, the App Home and modals (docs/contracts/slack-client.md §3).

Rendered generically: section, context, image, actions, carousel of cards, header, divider, rich_text,
input (in modals), and a visible placeholder for anything else, so a block the bot adds later shows up
rather than vanishing. Buttons carry what a click needs (`data-action-id`, `data-value`) and the
page posts it back; images from Slack files load through the page's own file route.
"""

from __future__ import annotations

import html
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from devkit.playground.mrkdwn import Directory, mrkdwn, plain_text

__all__ = ["Renderer", "button_actions"]

_SAFE_SCHEMES = ("http://", "https://")


def _dict(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else []


def _attr(value: str) -> str:
    return html.escape(value, quote=True)


@dataclass(frozen=True)
class Renderer:
    """Renders blocks with names from `directory` and Slack files through `file_src` (None: not viewable)."""

    directory: Directory
    file_src: Callable[[dict[str, Any]], str | None]  # a slack_file object → the page's URL for its bytes

    # ------------------------------------------------------------------ text

    def text(self, obj: Any) -> str:
        """A text object: mrkdwn or plain_text."""
        obj = _dict(obj)
        text = str(obj.get("text") or "")
        return mrkdwn(text, self.directory) if obj.get("type") == "mrkdwn" else plain_text(text)

    # ------------------------------------------------------------------ elements

    def image(self, element: dict[str, Any], css: str) -> str:
        """An image block or element: `image_url` as given (http/https), `slack_file` through the page."""
        alt = _attr(str(element.get("alt_text") or ""))
        url = element.get("image_url")
        src = url if isinstance(url, str) and url.startswith(_SAFE_SCHEMES) else None
        if src is None and isinstance(element.get("slack_file"), dict):
            src = self.file_src(element["slack_file"])
        if src is None:
            return f'<span class="{css} missing" title="{alt}">🖼 image unavailable</span>'
        return f'<img class="{css} zoomable" src="{_attr(src)}" alt="{alt}" title="{alt}">'

    def button(self, element: dict[str, Any]) -> str:
        label = self.text(element.get("text"))
        style = element.get("style") if element.get("style") in ("primary", "danger") else "default"
        url = element.get("url")
        if isinstance(url, str) and url.startswith(_SAFE_SCHEMES):
            href = _attr(url)
            return f'<a class="bk-button {style}" href="{href}" target="_blank" rel="noopener noreferrer">{label}</a>'
        data = {"action-id": str(element.get("action_id") or ""), "value": str(element.get("value") or "")}
        confirm = _dict(element.get("confirm"))
        if confirm:
            # Slack asks before sending such a click; the page shows the same words in its dialog.
            data["confirm-title"] = str(_dict(confirm.get("title")).get("text") or "Are you sure?")
            data["confirm-text"] = str(_dict(confirm.get("text")).get("text") or "")
            data["confirm-yes"] = str(_dict(confirm.get("confirm")).get("text") or "Yes")
            data["confirm-no"] = str(_dict(confirm.get("deny")).get("text") or "Cancel")
        attributes = " ".join(f'data-{key}="{_attr(value)}"' for key, value in data.items())
        return f'<button type="button" class="bk-button {style}" {attributes}>{label}</button>'

    def element(self, element: Any) -> str:
        element = _dict(element)
        kind = element.get("type")
        if kind == "button":
            return self.button(element)
        if kind == "image":
            return self.image(element, "bk-context-image")
        if kind in ("mrkdwn", "plain_text"):
            return f"<span>{self.text(element)}</span>"
        # Selects, date pickers, overflow menus outside a modal: shown, not operable here.
        return f'<span class="bk-unsupported">[{_attr(str(kind))}]</span>'

    # ------------------------------------------------------------------ blocks

    def blocks(self, blocks: Sequence[Any] | None, *, errors: dict[str, str] | None = None) -> str:
        return "".join(self.block(block, errors or {}) for block in blocks or [])

    def block(self, block: Any, errors: dict[str, str]) -> str:
        block = _dict(block)
        kind = block.get("type")
        renderers: dict[str, Callable[[dict[str, Any]], str]] = {
            "section": self._section,
            "context": self._context,
            "image": self._image_block,
            "actions": self._actions,
            "carousel": self._carousel,
            "header": lambda b: f'<div class="bk-header">{self.text(b.get("text"))}</div>',
            "divider": lambda b: '<hr class="bk-divider">',
            "rich_text": lambda b: f'<div class="bk-text">{html.escape(_rich_text(b))}</div>',
        }
        if kind == "input":
            return self._input(block, errors.get(str(block.get("block_id") or "")))
        render = renderers.get(str(kind))
        if render is None:
            return f'<div class="bk-unsupported">[{_attr(str(kind))} block]</div>'
        return render(block)

    def _section(self, block: dict[str, Any]) -> str:
        parts = []
        if block.get("text"):
            parts.append(f'<div class="bk-text">{self.text(block["text"])}</div>')
        fields = _list(block.get("fields"))
        if fields:
            cells = "".join(f'<div class="bk-field">{self.text(f)}</div>' for f in fields)
            parts.append(f'<div class="bk-fields">{cells}</div>')
        accessory = _dict(block.get("accessory"))
        side = ""
        if accessory:
            inner = (
                self.image(accessory, "bk-accessory-image")
                if accessory.get("type") == "image"
                else self.element(accessory)
            )
            side = f'<div class="bk-accessory">{inner}</div>'
        return f'<div class="bk-section"><div class="bk-main">{"".join(parts)}</div>{side}</div>'

    def _context(self, block: dict[str, Any]) -> str:
        return f'<div class="bk-context">{"".join(self.element(e) for e in _list(block.get("elements")))}</div>'

    def _image_block(self, block: dict[str, Any]) -> str:
        title = f'<div class="bk-image-title">{self.text(block["title"])}</div>' if block.get("title") else ""
        return f'<div class="bk-image">{title}{self.image(block, "bk-image-img")}</div>'

    def _actions(self, block: dict[str, Any]) -> str:
        return f'<div class="bk-actions">{"".join(self.element(e) for e in _list(block.get("elements")))}</div>'

    def _carousel(self, block: dict[str, Any]) -> str:
        """A horizontally scrolling row of cards: hero image, title, subtitle, body, buttons.

        docs/contracts/slack-client.md §3.2.
        """
        cards = []
        for card in _list(block.get("elements")):
            card = _dict(card)
            parts = []
            if card.get("hero_image"):
                parts.append(self.image(_dict(card["hero_image"]), "bk-card-hero"))
            for name in ("title", "subtitle", "body"):
                if card.get(name):
                    parts.append(f'<div class="bk-card-{name}">{self.text(card[name])}</div>')
            buttons = "".join(self.element(e) for e in _list(card.get("actions")))
            if buttons:
                parts.append(f'<div class="bk-card-actions">{buttons}</div>')
            cards.append(f'<div class="bk-card">{"".join(parts)}</div>')
        return f'<div class="bk-carousel">{"".join(cards)}</div>'

    def _input(self, block: dict[str, Any], error: str | None) -> str:
        """An input block of a modal: its label, the element, a hint, and the bot's error for it."""
        block_id = str(block.get("block_id") or "")
        element = _dict(block.get("element"))
        label = f'<label class="bk-label">{self.text(block.get("label"))}</label>'
        field_html = _field(block_id, element, required=not block.get("optional"))
        hint = f'<div class="bk-hint">{self.text(block["hint"])}</div>' if block.get("hint") else ""
        problem = f'<div class="bk-error" role="alert">{plain_text(error)}</div>' if error else ""
        css = "bk-input has-error" if error else "bk-input"
        return f'<div class="{css}" data-block-id="{_attr(block_id)}">{label}{field_html}{problem}{hint}</div>'


def _field(block_id: str, element: dict[str, Any], *, required: bool) -> str:
    kind = element.get("type")
    action_id = _attr(str(element.get("action_id") or ""))
    common = f'data-block-id="{_attr(block_id)}" data-action-id="{action_id}" data-type="{_attr(str(kind))}"'
    if required:
        common += ' data-required="yes"'
    placeholder = _attr(str(_dict(element.get("placeholder")).get("text") or ""))
    if kind == "plain_text_input":
        initial = html.escape(str(element.get("initial_value") or ""))
        limit = element.get("max_length")
        maxlength = f' maxlength="{int(limit)}"' if isinstance(limit, int) else ""
        if element.get("multiline"):
            attributes = f'{common} placeholder="{placeholder}"{maxlength}'
            return f'<textarea class="bk-field-input" rows="3" {attributes}>{initial}</textarea>'
        return (
            f'<input class="bk-field-input" type="text" {common} placeholder="{placeholder}" '
            f'value="{_attr(str(element.get("initial_value") or ""))}"{maxlength}>'
        )
    if kind == "static_select":
        initial = str(_dict(element.get("initial_option")).get("value") or "")
        options = ['<option value="">Select an item</option>'] if not initial else []
        for option in _list(element.get("options")):
            option = _dict(option)
            value = str(option.get("value") or "")
            selected = " selected" if value == initial else ""
            text = html.escape(str(_dict(option.get("text")).get("text") or value))
            options.append(f'<option value="{_attr(value)}"{selected}>{text}</option>')
        return f'<select class="bk-field-input" {common}>{"".join(options)}</select>'
    return f'<div class="bk-unsupported">[{_attr(str(kind))} input: not supported by the playground]</div>'


def _rich_text(node: Any) -> str:
    if isinstance(node, dict):
        if node.get("type") == "text":
            return str(node.get("text") or "")
        return "".join(_rich_text(child) for child in node.get("elements") or [])
    return ""


def button_actions(blocks: Sequence[Any] | None) -> list[dict[str, str]]:
    """Every clickable button of a message, cards included: action_id, value and label (tests read these)."""
    found: list[dict[str, str]] = []

    def visit(elements: Sequence[Any]) -> None:
        for element in elements:
            element = _dict(element)
            if element.get("type") == "button" and not element.get("url"):
                label = str(_dict(element.get("text")).get("text") or "")
                found.append(
                    {
                        "action_id": str(element.get("action_id") or ""),
                        "value": str(element.get("value") or ""),
                        "label": label,
                    }
                )

    for block in blocks or []:
        block = _dict(block)
        visit([*_list(block.get("elements")), block.get("accessory")] if block.get("type") != "carousel" else [])
        for card in _list(block.get("elements")) if block.get("type") == "carousel" else []:
            visit(_list(_dict(card).get("actions")))
    return found
