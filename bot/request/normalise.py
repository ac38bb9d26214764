"""Undo what Slack and smart-punctuation keyboards do to typed text, before it is parsed.

Slack sends a command's text with `<@U…|name>`-style markup and `&amp;`, `&lt;`, `&gt;` escaped;
macOS and iOS turn `--size` into `—size` and straight quotes into curly ones.
docs/contracts/slack.md (command text) says what Slack sends.
"""

from __future__ import annotations

import re

# `[^<>]*`: Slack escapes a typed "<" or ">" as &lt; / &gt;, so a raw bracket pair is always markup.
_MARKUP = re.compile(r"<([^<>]*)>")
_USER = re.compile(r"@([UWB][A-Z0-9]+)(?:\|(.*))?", re.DOTALL)
_CHANNEL = re.compile(r"#([CGD][A-Z0-9]+)(?:\|(.*))?", re.DOTALL)
_SPECIAL = re.compile(r"!(here|channel|everyone)(?:\|.*)?", re.DOTALL)
_SUBTEAM = re.compile(r"!subteam\^([A-Z0-9]+)(?:\|(.*))?", re.DOTALL)
_DATE = re.compile(r"!date\^[^|]*\|(.*)", re.DOTALL)
_LINK = re.compile(r"([A-Za-z][A-Za-z0-9+.\-]*:[^|\s]+)(?:\|(.*))?", re.DOTALL)

# One pass over the text, so "&amp;lt;" becomes "&lt;" and is not decoded again.
_ESCAPE = re.compile(r"&(lt|gt|amp);")
_UNESCAPED = {"lt": "<", "gt": ">", "amp": "&"}

_QUOTES = str.maketrans(dict.fromkeys("“”„‟″", '"') | dict.fromkeys("‘’‚‛′", "'"))

# Smart Dashes (macOS) / Smart Punctuation (iOS) turn "--size" into "—size" before Slack sees it.
# Only at the start of a token and right before a letter: "a cat — fluffy" and "2010–2020" are prose.
_DASH = "\u2010-\u2015\u2212"
_SMART_FLAG = re.compile(rf"(?<!\S)(?:[{_DASH}]{{1,2}}|-[{_DASH}])(?=[^\W\d_])")


def _unmarkup(match: re.Match[str]) -> str:
    body = match[1]
    if m := _USER.fullmatch(body):
        return "@" + (m[2] or m[1])
    if m := _CHANNEL.fullmatch(body):
        return "#" + (m[2] or m[1])
    if m := _SPECIAL.fullmatch(body):
        return "@" + m[1]
    if m := _SUBTEAM.fullmatch(body):
        label = m[2] or m[1]
        return label if label.startswith("@") else "@" + label
    if m := _DATE.fullmatch(body):
        return m[1]
    if m := _LINK.fullmatch(body):
        return m[2] or m[1]
    return match[0]  # not Slack markup: leave it alone


def normalise(text: str) -> str:
    """Slack markup → plain text, the three HTML escapes decoded, smart quotes/dashes undone, trimmed."""
    # Each step is skipped when its characters are absent: most commands are plain text, and this runs
    # in the ack path of every one.
    if "<" in text:
        text = _MARKUP.sub(_unmarkup, text)  # before unescaping, or a decoded "&lt;" would look like markup
    if "&" in text:
        text = _ESCAPE.sub(lambda m: _UNESCAPED[m[1]], text)
    if not text.isascii():
        text = text.translate(_QUOTES)
        text = _SMART_FLAG.sub("--", text)
    return text.strip()


# *bold*, _italic_, ~strike~ and `code` around words, as a person formats a message (not a command).
_EMPHASIS = re.compile(r"(?<![\w*_~`])([*_~`])(?=\S)(.+?)(?<=\S)\1(?![\w*_~`])", re.DOTALL)


def message_words(text: str) -> str:
    """A posted message's words for a prompt: as `normalise`, and the mrkdwn emphasis marks dropped too."""
    return _EMPHASIS.sub(lambda m: m[2], normalise(text))
