"""What one Slack channel shows one user, built from the Slack emulator's records.

Pure: no HTTP and no emulator calls here, so every rule below is testable on plain values.

* Text is Slack mrkdwn, rendered minimally but safely to HTML: every character that came from the
  bot or the user is HTML-escaped; only the markup Slack itself interprets becomes tags.
* Block Kit is rendered generically (section, context, image, actions, divider, header, and a plain
  fallback for anything else), so a button the bot adds later is clickable without a change here.
* Ephemeral messages come from three places: the slash command's ack (which the emulator does not
  record, so the playground hands its `CommandRecord`s in), `chat.postEphemeral`, and `response_url`
  posts. `replace_original` / `delete_original` are applied the way Slack applies them:
  - a slash command's `response_url` targets the latest message it produced (the ack first), so
    "Imagining…" turns into the progress and then the outcome;
  - an interaction's `response_url` always targets the message whose button was clicked;
  - anything else is a new message, ephemeral unless `response_type` is `in_channel`.
  A replaced message keeps its place and its visibility; only its text and blocks change.
"""

from __future__ import annotations

import html
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote

from bot.emulators.slack import Message, ResponsePost, UploadedFile

SLACKBOT = "USLACKBOT"

# The shortcodes the bot's replies use, plus common ones; an unknown shortcode stays as typed.
_EMOJI = {
    "+1": "👍",
    "arrows_counterclockwise": "🔄",
    "art": "🎨",
    "bar_chart": "📊",
    "bulb": "💡",
    "camera": "📷",
    "chart_with_upwards_trend": "📈",
    "clock1": "🕐",
    "envelope": "✉️",
    "eyes": "👀",
    "frame_with_picture": "🖼️",
    "gear": "⚙️",
    "heart": "❤️",
    "hourglass": "⌛",
    "hourglass_flowing_sand": "⏳",
    "information_source": "ℹ️",
    "lock": "🔒",
    "mag": "🔍",
    "money_with_wings": "💸",
    "no_entry": "⛔",
    "no_entry_sign": "🚫",
    "paintbrush": "🖌️",
    "pencil2": "✏️",
    "repeat": "🔁",
    "robot_face": "🤖",
    "rocket": "🚀",
    "sparkles": "✨",
    "speech_balloon": "💬",
    "star": "⭐",
    "tada": "🎉",
    "thumbsup": "👍",
    "warning": "⚠️",
    "wastebasket": "🗑️",
    "wave": "👋",
    "white_check_mark": "✅",
    "x": "❌",
    "zap": "⚡",
}


@dataclass(frozen=True)
class Directory:
    """Names for ids, as the Slack client shows them."""

    users: Mapping[str, str]
    channels: Mapping[str, str]
    bots: frozenset[str] = frozenset()

    def user(self, user_id: str) -> str:
        return self.users.get(user_id, user_id)

    def channel(self, channel_id: str) -> str:
        return self.channels.get(channel_id, channel_id.lower())


# --- mrkdwn -------------------------------------------------------------------------------------

_FENCE = re.compile(r"```(.*?)```", re.DOTALL)
# Inline code first, so nothing inside it is read as markup; then Slack's <…> tokens.
_TOKEN = re.compile(r"`([^`\n]+)`|<([^<>\n]+)>")
_BOLD = re.compile(r"(?<![\w*])\*(?=\S)([^*\n]+?)(?<=\S)\*(?![\w*])")
_ITALIC = re.compile(r"(?<![\w_])_(?=\S)([^_\n]+?)(?<=\S)_(?![\w_])")
_STRIKE = re.compile(r"(?<![\w~])~(?=\S)([^~\n]+?)(?<=\S)~(?![\w~])")
_SHORTCODE = re.compile(r":([a-z0-9_+-]+):")
_PLACEHOLDER = re.compile(r"\x00(\d+)\x00")
_SAFE_SCHEMES = ("http://", "https://", "mailto:")


def unescape(text: str) -> str:
    """Slack's three escapes back to characters (the only entities Slack text contains)."""
    return text.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")


def _plain(text: str) -> str:
    """Slack text without markup → safe HTML, emoji shortcodes replaced."""
    escaped = html.escape(unescape(text), quote=True)
    return _SHORTCODE.sub(lambda m: _EMOJI.get(m[1], m[0]), escaped)


def _token(inner: str, directory: Directory) -> str:
    """One `<…>` token: a mention, a channel, a special command, a date, or a link."""
    target, _, label = inner.partition("|")
    if target.startswith("@"):
        name = directory.users.get(target[1:]) or unescape(label) or target[1:]
        return f'<span class="mention">@{html.escape(name)}</span>'
    if target.startswith("#"):
        name = directory.channels.get(target[1:]) or unescape(label) or target[1:]
        return f'<span class="mention">#{html.escape(name)}</span>'
    if target.startswith("!"):
        word = target[1:].split("^", 1)[0]
        if word in ("here", "channel", "everyone"):
            return f'<span class="mention">@{word}</span>'
        if word == "subteam":
            return f'<span class="mention">{html.escape(unescape(label) or "@group")}</span>'
        # <!date^…|fallback> and friends: the fallback is what a client that cannot format shows.
        return html.escape(unescape(label) or target)
    url = unescape(target)
    shown = html.escape(unescape(label) or url)
    if url.lower().startswith(_SAFE_SCHEMES):
        return f'<a href="{html.escape(url, quote=True)}" target="_blank" rel="noopener noreferrer">{shown}</a>'
    return shown


def _inline(line: str, directory: Directory) -> str:
    pieces: list[str] = []

    def hold(rendered: str) -> str:
        pieces.append(rendered)
        return f"\x00{len(pieces) - 1}\x00"

    parts: list[str] = []
    last = 0
    for match in _TOKEN.finditer(line):
        parts.append(_plain(line[last : match.start()]))
        if match[1] is not None:
            parts.append(hold(f"<code>{html.escape(unescape(match[1]))}</code>"))
        else:
            parts.append(hold(_token(match[2], directory)))
        last = match.end()
    parts.append(_plain(line[last:]))
    text = "".join(parts)
    # Formatting may span a held token (`*<@U1>*`), so it runs with the placeholders in place.
    text = _BOLD.sub(r"<b>\1</b>", text)
    text = _ITALIC.sub(r"<i>\1</i>", text)
    text = _STRIKE.sub(r"<s>\1</s>", text)
    return _PLACEHOLDER.sub(lambda m: pieces[int(m[1])], text)


def _quoted(line: str) -> str | None:
    # The bot writes "> " literally; text that went through escaping arrives as "&gt; ".
    for marker in (">", "&gt;"):
        if line.startswith(marker):
            return line[len(marker) :].removeprefix(" ")
    return None


def _lines(text: str, directory: Directory) -> str:
    out: list[str] = []
    quote_lines: list[str] = []
    plain_lines: list[str] = []

    def flush_plain() -> None:
        if plain_lines:
            out.append("<br>".join(plain_lines))
            plain_lines.clear()

    def flush_quote() -> None:
        if quote_lines:
            out.append("<blockquote>" + "<br>".join(quote_lines) + "</blockquote>")
            quote_lines.clear()

    for line in text.split("\n"):
        quoted = _quoted(line)
        if quoted is not None:
            flush_plain()
            quote_lines.append(_inline(quoted, directory))
        else:
            flush_quote()
            plain_lines.append(_inline(line, directory))
    flush_plain()
    flush_quote()
    return "".join(out)


def mrkdwn(text: str, directory: Directory) -> str:
    """Slack mrkdwn → HTML: *bold*, _italic_, ~strike~, `code`, ```pre```, > quotes, mentions, links."""
    out: list[str] = []
    last = 0
    for match in _FENCE.finditer(text):
        before = text[last : match.start()].strip("\n")
        if before:
            out.append(_lines(before, directory))
        out.append(f"<pre>{html.escape(unescape(match[1].strip(chr(10))))}</pre>")
        last = match.end()
    rest = text[last:].strip("\n")
    if rest:
        out.append(_lines(rest, directory))
    return "".join(out)


# --- Block Kit ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Context:
    directory: Directory
    files: Mapping[str, UploadedFile]
    message_id: str


def file_url(uploaded: UploadedFile) -> str:
    """Where the page loads a file from: the emulator's `/files/{id}/{name}` route, same path."""
    return f"/files/{quote(uploaded.id)}/{quote(uploaded.filename)}"


def _text_object(obj: Any, directory: Directory) -> str:
    if not isinstance(obj, dict):
        return ""
    text = str(obj.get("text") or "")
    if obj.get("type") == "mrkdwn":
        return mrkdwn(text, directory)
    # plain_text is not mrkdwn, but Slack still turns :shortcodes: into emoji when `emoji` is on.
    return _plain(_slack_escape(text)).replace("\n", "<br>")


def _image_src(element: dict[str, Any], ctx: _Context) -> str | None:
    if isinstance(element.get("image_url"), str):
        return str(element["image_url"])
    slack_file = element.get("slack_file")
    if isinstance(slack_file, dict):
        found = ctx.files.get(str(slack_file.get("id") or ""))
        if found is not None:
            return file_url(found)
        if isinstance(slack_file.get("url"), str):
            return str(slack_file["url"])
    return None


def _img(element: dict[str, Any], ctx: _Context, css: str) -> str:
    src = _image_src(element, ctx)
    alt = html.escape(str(element.get("alt_text") or ""), quote=True)
    if src is None:
        return f'<span class="{css} missing">[image: {alt}]</span>'
    return f'<img class="{css}" src="{html.escape(src, quote=True)}" alt="{alt}" title="{alt}" loading="lazy">'


def _element(element: Any, block_id: str, ctx: _Context) -> str:
    if not isinstance(element, dict):
        return ""
    kind = element.get("type")
    if kind == "button":
        label = _text_object(element.get("text"), ctx.directory)
        style = element.get("style") if element.get("style") in ("primary", "danger") else "default"
        if isinstance(element.get("url"), str) and str(element["url"]).lower().startswith(_SAFE_SCHEMES):
            href = html.escape(str(element["url"]), quote=True)
            return f'<a class="bk-button {style}" href="{href}" target="_blank" rel="noopener noreferrer">{label}</a>'
        data = {
            "message-id": ctx.message_id,
            "action-id": str(element.get("action_id") or ""),
            "block-id": block_id,
            "value": str(element.get("value") or ""),
        }
        confirm = element.get("confirm")
        if isinstance(confirm, dict):
            # Slack asks before sending such a click; the page does the same with the dialog's words.
            parts = [confirm.get("title"), confirm.get("text")]
            data["confirm"] = "\n\n".join(
                unescape(str(p.get("text") or "")) for p in parts if isinstance(p, dict) and p.get("text")
            )
        attributes = " ".join(f'data-{k}="{html.escape(v, quote=True)}"' for k, v in data.items())
        return f'<button type="button" class="bk-button {style}" {attributes}>{label}</button>'
    if kind == "image":
        return _img(element, ctx, "bk-context-image")
    if kind in ("mrkdwn", "plain_text"):
        return f"<span>{_text_object(element, ctx.directory)}</span>"
    # Selects, date pickers and the like: shown, but the playground cannot operate them.
    return f'<span class="bk-unsupported">[{html.escape(str(kind))}]</span>'


def _list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else []


def _block(block: Any, index: int, ctx: _Context) -> str:
    if not isinstance(block, dict):
        return ""
    kind = block.get("type")
    block_id = str(block.get("block_id") or f"b{index}")
    directory = ctx.directory
    if kind == "section":
        parts = []
        if block.get("text"):
            parts.append(f'<div class="bk-text">{_text_object(block["text"], directory)}</div>')
        fields = block.get("fields")
        if isinstance(fields, list) and fields:
            cells = "".join(f'<div class="bk-field">{_text_object(f, directory)}</div>' for f in fields)
            parts.append(f'<div class="bk-fields">{cells}</div>')
        accessory = block.get("accessory")
        side = ""
        if isinstance(accessory, dict):
            inner = (
                _img(accessory, ctx, "bk-accessory-image")
                if accessory.get("type") == "image"
                else _element(accessory, block_id, ctx)
            )
            side = f'<div class="bk-accessory">{inner}</div>'
        return f'<div class="bk-section"><div class="bk-main">{"".join(parts)}</div>{side}</div>'
    if kind == "context":
        elements = _list(block.get("elements"))
        return f'<div class="bk-context">{"".join(_element(e, block_id, ctx) for e in elements)}</div>'
    if kind == "image":
        title = (
            f'<div class="bk-image-title">{_text_object(block["title"], directory)}</div>' if block.get("title") else ""
        )
        return f'<div class="bk-image">{title}{_img(block, ctx, "bk-image-img")}</div>'
    if kind == "actions":
        elements = _list(block.get("elements"))
        return f'<div class="bk-actions">{"".join(_element(e, block_id, ctx) for e in elements)}</div>'
    if kind == "divider":
        return '<hr class="bk-divider">'
    if kind == "header":
        return f'<div class="bk-header">{_text_object(block.get("text"), directory)}</div>'
    if kind == "rich_text":
        return f'<div class="bk-text">{html.escape(_rich_text(block))}</div>'
    return f'<div class="bk-unsupported">[{html.escape(str(kind))} block]</div>'


def _rich_text(node: Any) -> str:
    if isinstance(node, dict):
        if node.get("type") == "text":
            return str(node.get("text") or "")
        return "".join(_rich_text(child) for child in node.get("elements") or [])
    return ""


def _is_image(uploaded: UploadedFile) -> bool:
    return uploaded.filename.lower().endswith((".png", ".jpg", ".jpeg", ".gif", ".webp"))


def _file(uploaded: UploadedFile) -> str:
    title = html.escape(uploaded.title or uploaded.filename)
    url = html.escape(file_url(uploaded), quote=True)
    if _is_image(uploaded):
        alt = html.escape(uploaded.alt_txt or uploaded.title or uploaded.filename, quote=True)
        return (
            f'<figure class="file"><figcaption>{title}</figcaption>'
            f'<a href="{url}" target="_blank" rel="noopener"><img class="file-image" src="{url}" alt="{alt}"></a>'
            "</figure>"
        )
    return f'<a class="file-chip" href="{url}" target="_blank" rel="noopener">📎 {title}</a>'


def message_html(
    text: str,
    blocks: Sequence[Any] | None,
    files: Sequence[UploadedFile],
    *,
    directory: Directory,
    known_files: Mapping[str, UploadedFile],
    message_id: str,
) -> str:
    """A message's body as Slack shows it: blocks if there are any (text is then only the
    notification fallback), else the text; then the attached files."""
    ctx = _Context(directory, known_files, message_id)
    if blocks:
        body = "".join(_block(block, index, ctx) for index, block in enumerate(blocks))
    else:
        body = f'<div class="bk-text">{mrkdwn(text, directory)}</div>' if text else ""
    return body + "".join(_file(f) for f in files)


# --- the channel --------------------------------------------------------------------------------


@dataclass(frozen=True)
class CommandRecord:
    """A slash command the user sent, and what came back in the HTTP response (the ack)."""

    ts: str  # when it was sent, in Slack's ts format; the ack's place in the channel
    text: str  # as typed, e.g. "/imagine a lighthouse"
    response_url: str
    ack: dict[str, Any] | None  # the ack's message payload; None for an empty ack
    slackbot: str | None = None  # Slack's own note instead, e.g. when the app did not answer in time


@dataclass
class _Item:
    id: str
    ts: str
    user: str
    ephemeral: bool
    text: str
    blocks: list[Any] | None
    files: list[UploadedFile] = field(default_factory=list)
    edited: bool = False
    deleted: bool = False
    thread_ts: str | None = None  # set on a thread reply: its parent's ts


@dataclass(frozen=True)
class ViewMessage:
    """One line of the channel as the page shows it; `id` is what a button click refers back to."""

    id: str
    ts: str
    user_id: str
    user_name: str
    bot: bool
    ephemeral: bool
    edited: bool
    html: str
    text: str
    blocks: tuple[Any, ...] | None
    images: tuple[str, ...]  # URLs of attached images
    file_ids: tuple[str, ...]
    thread_ts: str | None = None
    replies: tuple[ViewMessage, ...] = ()  # a thread under this message, oldest first

    def as_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "ts": self.ts,
            "user": {"id": self.user_id, "name": self.user_name, "bot": self.bot},
            "ephemeral": self.ephemeral,
            "edited": self.edited,
            "html": self.html,
            "images": list(self.images),
            "buttons": buttons(self.blocks or ()),
            "replies": [reply.as_json() for reply in self.replies],
        }


def buttons(blocks: Iterable[Any]) -> list[dict[str, str]]:
    """The clickable buttons of a message, as the page's HTML carries them (tests read these)."""
    found = []
    for index, block in enumerate(blocks):
        if not isinstance(block, dict):
            continue
        block_id = str(block.get("block_id") or f"b{index}")
        for element in [*_list(block.get("elements")), block.get("accessory")]:
            if isinstance(element, dict) and element.get("type") == "button" and not element.get("url"):
                text = element.get("text")
                found.append(
                    {
                        "action_id": str(element.get("action_id") or ""),
                        "block_id": block_id,
                        "value": str(element.get("value") or ""),
                        "label": str(text.get("text") or "") if isinstance(text, dict) else "",
                    }
                )
    return found


def _ts(seconds: float) -> str:
    return f"{seconds:.6f}"


def _content(body: Mapping[str, Any]) -> tuple[str, list[Any] | None]:
    blocks = body.get("blocks")
    return str(body.get("text") or ""), list(blocks) if isinstance(blocks, list) and blocks else None


def _has_content(body: Mapping[str, Any]) -> bool:
    return bool(body.get("text") or body.get("blocks") or body.get("attachments"))


def _slack_escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


class _Channel:
    """The items of one channel, replayed from the records in time order."""

    def __init__(self, user_id: str, bot_user_id: str) -> None:
        self.user_id = user_id
        self.bot_user_id = bot_user_id
        self.items: dict[str, _Item] = {}
        self._by_ts: dict[str, str] = {}  # message ts (channel or ephemeral) -> item id
        self._latest_of_url: dict[str, str] = {}  # a slash command's response_url -> newest message it made

    def add(
        self,
        prefix: str,
        ts: float | str,
        user: str,
        *,
        ephemeral: bool,
        text: str,
        blocks: list[Any] | None,
        files: list[UploadedFile] | None = None,
        edited: bool = False,
        thread_ts: str | None = None,
    ) -> _Item:
        stamp = ts if isinstance(ts, str) else _ts(ts)
        while stamp in self._by_ts:  # two messages in one microsecond still need distinct ts
            stamp = _ts(float(stamp) + 1e-6)
        item = _Item(
            f"{prefix}{stamp}", stamp, user, ephemeral, text, blocks, list(files or []), edited, thread_ts=thread_ts
        )
        self.items[item.id] = item
        self._by_ts[stamp] = item.id
        return item

    def command(self, command: CommandRecord) -> None:
        if command.slackbot is not None:
            self.add("a", command.ts, SLACKBOT, ephemeral=True, text=command.slackbot, blocks=None)
            return
        if command.ack is None or not _has_content(command.ack):
            return
        text, blocks = _content(command.ack)
        ephemeral = command.ack.get("response_type") != "in_channel"
        if not ephemeral:
            # Slack then shows the user's command line to everyone, followed by the answer.
            self.add("c", command.ts, self.user_id, ephemeral=False, text=_slack_escape(command.text), blocks=None)
        item = self.add("a", command.ts, self.bot_user_id, ephemeral=ephemeral, text=text, blocks=blocks)
        self._latest_of_url[command.response_url] = item.id

    def response(self, post: ResponsePost) -> None:
        body = post.body
        # An interaction's URL carries the message it came from; a slash command's does not.
        target_id = self._by_ts.get(post.message_ts) if post.message_ts else self._latest_of_url.get(post.url)
        target = self.items.get(target_id) if target_id else None
        if target is not None and target.deleted:
            target = None
        if body.get("delete_original") and target is not None:
            target.deleted = True
            target = None
        if not _has_content(body):
            return
        text, blocks = _content(body)
        if body.get("replace_original") is True and target is not None:
            target.text, target.blocks = text, blocks
            target.edited = target.edited or not target.ephemeral
            return
        ephemeral = body.get("response_type") != "in_channel"
        item = self.add("r", post.at, self.bot_user_id, ephemeral=ephemeral, text=text, blocks=blocks)
        if not post.message_ts:
            self._latest_of_url[post.url] = item.id


def build_channel(
    *,
    channel_id: str,
    user_id: str,
    bot_user_id: str,
    messages: Iterable[Message],
    ephemerals: Iterable[Message],
    commands: Iterable[CommandRecord],
    responses: Iterable[ResponsePost],
    files: Mapping[str, UploadedFile],
    directory: Directory,
) -> list[ViewMessage]:
    """The channel `channel_id` as `user_id` sees it, oldest first; thread replies under their parent."""
    channel = _Channel(user_id, bot_user_id)
    for m in messages:
        if m.channel == channel_id and not m.deleted:
            thread_ts = m.thread_ts if m.thread_ts and m.thread_ts != m.ts else None
            channel.add(
                "m",
                m.ts,
                m.user,
                ephemeral=False,
                text=m.text,
                blocks=m.blocks,
                files=m.files,
                edited=m.edited,
                thread_ts=thread_ts,
            )
    for m in ephemerals:
        if m.channel == channel_id and m.ephemeral_user == user_id:
            channel.add("e", m.ts, m.user, ephemeral=True, text=m.text, blocks=m.blocks)

    # At equal times a command sorts first: its ack always precedes what its URL posts later.
    events: list[tuple[float, int, CommandRecord | ResponsePost]] = [(float(c.ts), 0, c) for c in commands]
    events += [(r.at, 1, r) for r in responses if r.channel_id in (None, channel_id)]
    for _, _, event in sorted(events, key=lambda e: (e[0], e[1])):
        if isinstance(event, CommandRecord):
            channel.command(event)
        else:
            channel.response(event)

    def show(item: _Item, replies: tuple[ViewMessage, ...] = ()) -> ViewMessage:
        live = [f for f in item.files if not f.deleted]
        return ViewMessage(
            id=item.id,
            ts=item.ts,
            user_id=item.user,
            user_name=directory.user(item.user),
            bot=item.user in directory.bots,
            ephemeral=item.ephemeral,
            edited=item.edited,
            html=message_html(item.text, item.blocks, live, directory=directory, known_files=files, message_id=item.id),
            text=item.text,
            blocks=tuple(item.blocks) if item.blocks else None,
            images=tuple(file_url(f) for f in live if _is_image(f)),
            file_ids=tuple(f.id for f in live),
            thread_ts=item.thread_ts,
            replies=replies,
        )

    shown = sorted((i for i in channel.items.values() if not i.deleted), key=lambda i: float(i.ts))
    top_level = {i.ts for i in shown if i.thread_ts is None}
    threads: dict[str, list[ViewMessage]] = {}
    for item in shown:
        # A reply whose parent is gone is shown in the channel rather than lost.
        if item.thread_ts is not None and item.thread_ts in top_level:
            threads.setdefault(item.thread_ts, []).append(show(item))
    return [
        show(item, tuple(threads.get(item.ts, ())))
        for item in shown
        if item.thread_ts is None or item.thread_ts not in top_level
    ]
