"""Midjourney parameters people bring along: recognised so they are refused with advice (in
`bot.replies`), never folded into the prompt, where Azure would draw the words."""

from __future__ import annotations

from collections.abc import Mapping

# Each group's first name is the one the help shows and the key of its advice in bot.replies.
MIDJOURNEY_FLAGS: tuple[tuple[str, ...], ...] = (
    ("no",),
    ("seed",),
    ("chaos", "c"),
    ("stylize", "s"),
    ("v", "version"),
    ("niji",),
    ("q",),
    ("tile",),
    ("weird", "w"),
    ("stop",),
    ("iw",),
    ("sref", "sw"),
    ("cref", "oref", "ow", "cw"),
    ("repeat", "r"),
    ("fast", "relax", "turbo"),
)
CANONICAL: Mapping[str, str] = {name: names[0] for names in MIDJOURNEY_FLAGS for name in names}
