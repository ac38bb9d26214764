"""Slack mrkdwn to safe HTML, the way a Slack client shows a message's text.

Every character that came from the bot or a person is HTML-escaped; only the markup Slack itself
interprets becomes tags (docs/contracts/slack-client.md §2): *bold*, _italic_, ~strike~, `code`,
```pre```, > quotes, <@U…> and <#C…> mentions, <!here>-style words, <!date^…|fallback> as its
fallback text, and links (http, https and mailto only). Links to this workspace's messages point at
the message in the page instead of at slack.com.
"""

from __future__ import annotations

import html
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

__all__ = ["Directory", "mrkdwn", "plain_text", "unescape"]

# The shortcodes the bot's replies use, and a few common ones; an unknown shortcode stays as typed.
_EMOJI = {
    "+1": "👍",
    "art": "🎨",
    "bar_chart": "📊",
    "chart_with_upwards_trend": "📈",
    "envelope": "✉️",
    "hourglass": "⌛",
    "hourglass_flowing_sand": "⏳",
    "inbox_tray": "📥",
    "information_source": "ℹ️",
    "lock": "🔒",
    "no_entry": "⛔",
    "no_entry_sign": "🚫",
    "paintbrush": "🖌️",
    "pencil2": "✏️",
    "repeat": "🔁",
    "robot_face": "🤖",
    "see_no_evil": "🙈",
    "sparkles": "✨",
    "tada": "🎉",
    "thumbsup": "👍",
    "warning": "⚠️",
    "wastebasket": "🗑️",
    "wave": "👋",
    "white_check_mark": "✅",
    "x": "❌",
}

# Slack draws emoji as pictures of its own, so they look the same everywhere; so does the page, for the
# shortcodes the bot uses (static/emoji/), and falls back to the character for the others.
_EMOJI_IMAGES = frozenset(p.stem for p in (Path(__file__).resolve().parent / "static" / "emoji").glob("*.svg"))

_FENCE = re.compile(r"```(.*?)```", re.DOTALL)
# Inline code first, so nothing inside it is read as markup; then Slack's <…> tokens.
_TOKEN = re.compile(r"`([^`\n]+)`|<([^<>\n]+)>")
_BOLD = re.compile(r"(?<![\w*])\*(?=\S)([^*\n]+?)(?<=\S)\*(?![\w*])")
_ITALIC = re.compile(r"(?<![\w_])_(?=\S)([^_\n]+?)(?<=\S)_(?![\w_])")
_STRIKE = re.compile(r"(?<![\w~])~(?=\S)([^~\n]+?)(?<=\S)~(?![\w~])")
_SHORTCODE = re.compile(r":([a-z0-9_+-]+):")
_PLACEHOLDER = re.compile(r"\x00(\d+)\x00")
_SAFE_SCHEMES = ("http://", "https://", "mailto:")


@dataclass(frozen=True)
class Directory:
    """Names for ids as the client shows them, and how a permalink of this workspace becomes a page link."""

    users: Mapping[str, str] = field(default_factory=dict)
    channels: Mapping[str, str] = field(default_factory=dict)
    team_domain: str = ""
    message_link: Callable[[str, str], str] | None = None  # (channel, ts) -> href inside the page

    def user(self, user_id: str) -> str:
        return self.users.get(user_id, user_id)

    def channel(self, channel_id: str) -> str:
        return self.channels.get(channel_id, channel_id.lower())

    def local_href(self, url: str) -> str | None:
        """`https://<domain>.slack.com/archives/<C>/p<ts digits>` → the page's link to that message."""
        if not self.team_domain or self.message_link is None:
            return None
        pattern = rf"https://{re.escape(self.team_domain)}\.slack\.com/archives/([A-Z0-9]+)/p(\d+)(\d{{6}})(?:\?.*)?"
        match = re.fullmatch(pattern, url)
        return self.message_link(match[1], f"{match[2]}.{match[3]}") if match else None


def unescape(text: str) -> str:
    """Slack's three escapes back to characters (the only entities Slack text contains, §2.1)."""
    return text.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")


def _emoji(match: re.Match[str]) -> str:
    name = match[1]
    if name in _EMOJI_IMAGES:
        alt = _EMOJI.get(name, match[0])
        return f'<img class="emoji" src="/static/emoji/{name}.svg" alt="{alt}" title=":{name}:">'
    return _EMOJI.get(name, match[0])


def _with_emoji(text: str, hold: Callable[[str], str] = lambda rendered: rendered) -> str:
    return _SHORTCODE.sub(lambda m: hold(_emoji(m)), html.escape(text, quote=True))


def plain_text(text: str) -> str:
    """A plain_text object's text → HTML: no markup, shortcodes as emoji (Slack's `emoji: true` default)."""
    return _with_emoji(text).replace("\n", "<br>")


def _token(inner: str, directory: Directory) -> str:
    """One `<…>` token: a mention, a channel, a special word, a date, or a link.

    docs/contracts/slack-client.md §2.2.
    """
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
        # <!date^…|fallback>: a client that does not format dates shows the fallback
        # (docs/contracts/slack-client.md §2.3).
        return f'<span class="date">{html.escape(unescape(label) or target)}</span>'
    url = unescape(target)
    shown = html.escape(unescape(label) or url)
    local = directory.local_href(url)
    if local is not None:
        return f'<a class="message-link" href="{html.escape(local, quote=True)}">{shown}</a>'
    if url.lower().startswith(_SAFE_SCHEMES):
        return f'<a href="{html.escape(url, quote=True)}" target="_blank" rel="noopener noreferrer">{shown}</a>'
    return shown


def _inline(line: str, directory: Directory) -> str:
    held: list[str] = []

    def hold(rendered: str) -> str:
        held.append(rendered)
        return f"\x00{len(held) - 1}\x00"

    parts: list[str] = []
    last = 0
    for match in _TOKEN.finditer(line):
        parts.append(_with_emoji(unescape(line[last : match.start()]), hold))
        if match[1] is not None:
            parts.append(hold(f"<code>{html.escape(unescape(match[1]))}</code>"))
        else:
            parts.append(hold(_token(match[2], directory)))
        last = match.end()
    parts.append(_with_emoji(unescape(line[last:]), hold))
    text = "".join(parts)
    # Formatting may span a held token (`*<@U1>*`), so it runs with the placeholders in place.
    text = _BOLD.sub(r"<b>\1</b>", text)
    text = _ITALIC.sub(r"<i>\1</i>", text)
    text = _STRIKE.sub(r"<s>\1</s>", text)
    return _PLACEHOLDER.sub(lambda m: held[int(m[1])], text)


def _quoted(line: str) -> str | None:
    # The bot writes "> " literally; text that went through Slack's escaping arrives as "&gt; ".
    for marker in (">", "&gt;"):
        if line.startswith(marker):
            return line[len(marker) :].removeprefix(" ")
    return None


def _lines(text: str, directory: Directory) -> str:
    out: list[str] = []
    quoted: list[str] = []
    plain: list[str] = []

    def flush(lines: list[str], before: str, after: str) -> None:
        if lines:
            out.append(before + "<br>".join(lines) + after)
            lines.clear()

    for line in text.split("\n"):
        inner = _quoted(line)
        if inner is not None:
            flush(plain, "", "")
            quoted.append(_inline(inner, directory))
        else:
            flush(quoted, "<blockquote>", "</blockquote>")
            plain.append(_inline(line, directory))
    flush(plain, "", "")
    flush(quoted, "<blockquote>", "</blockquote>")
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
