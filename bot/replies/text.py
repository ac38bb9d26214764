"""Escaping and the small pieces every reply is built from."""

from __future__ import annotations

import re
from datetime import datetime
from decimal import Decimal
from typing import Any

Message = dict[str, Any]

# Slack's message text allows far more, but a 30,000-character prompt would bury the image; the full
# prompt stays in the usage row.
MAX_ECHO_CHARS = 2500
_BROADCAST = re.compile(r"@(channel|here|everyone)\b", re.IGNORECASE)
# Slack ids as Slack sends them. Only such an id is put inside <@…> or <#…>: anything else is escaped,
# so even a forged id cannot close the mention and open a broadcast or a link.
_SLACK_ID = re.compile(r"[A-Z0-9]{2,40}")
# A prompt may contain a URL; a preview of it in the channel would be the bot vouching for it.
NO_UNFURL: dict[str, Any] = {"unfurl_links": False, "unfurl_media": False}


def escape(text: str) -> str:
    """Make user or model text inert in mrkdwn: Slack's three escapes, and no bare broadcast words."""
    text = text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    # A word joiner after "@" keeps "@channel" readable but stops any client from treating it as one.
    return _BROADCAST.sub("@\u2060\\1", text)


def plain(text: str) -> str:
    """Text for plain_text fields (modal labels, alt text): no mrkdwn, but still no broadcast words."""
    return _BROADCAST.sub("@\u2060\\1", text)


def echo(text: str, limit: int = MAX_ECHO_CHARS) -> str:
    if len(text) > limit:
        text = text[:limit].rstrip() + " …"
    return escape(text)


def quote(text: str, limit: int = MAX_ECHO_CHARS) -> str:
    return "\n".join(f"> {line}" if line else ">" for line in echo(text, limit).splitlines() or [""])


def user(user_id: str) -> str:
    return f"<@{user_id}>" if _SLACK_ID.fullmatch(user_id) else escape(user_id)


def channel(channel_id: str) -> str:
    return f"<#{channel_id}>" if _SLACK_ID.fullmatch(channel_id) else escape(channel_id)


def link(url: str, label: str) -> str:
    """A link the bot itself made (a Slack permalink): only https, label escaped."""
    return (
        f"<{url}|{escape(label)}>"
        if url.startswith("https://") and "|" not in url and ">" not in url
        else escape(label)
    )


def local_time(at: datetime, fallback_format: str = "%H:%M:%S UTC", token: str = "{time_secs}") -> str:
    """A time every reader sees in their own time zone."""
    return f"<!date^{int(at.timestamp())}^{token}|{at:{fallback_format}}>"


def ordinal(n: int) -> str:
    suffix = "th" if 10 <= n % 100 <= 20 else {1: "st", 2: "nd", 3: "rd"}.get(n % 10, "th")
    return f"{n}{suffix}"


def money(value: Decimal) -> str:
    return f"${value:,.2f}"


def or_list(items: list[str] | tuple[str, ...]) -> str:
    return items[0] if len(items) == 1 else ", ".join(items[:-1]) + " or " + items[-1]


def section(text: str) -> dict[str, Any]:
    return {"type": "section", "text": {"type": "mrkdwn", "text": text[:3000]}}


def context(text: str) -> dict[str, Any]:
    return {"type": "context", "elements": [{"type": "mrkdwn", "text": text[:3000]}]}


def ephemeral(text: str, *, replace: bool = True) -> Message:
    """A private message for the requester through a response_url.

    `replace=False` for a button's response_url, which belongs to a shared message: add, never replace.
    """
    return {"response_type": "ephemeral", "replace_original": replace, "text": text, **NO_UNFURL}
