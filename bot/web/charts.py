"""`GET /charts/<team_id>.png?exp=…&sig=…`: a workspace's 30-day usage chart, for Slack to fetch.

An App Home `image` block names its picture by URL, and Slack downloads it from Slack's servers
(docs/contracts/slack.md §13.4), so the chart has to be served over public HTTP without a
Slack signature. Instead each URL carries its own: an HMAC-SHA256 of `team_id|exp` under a key only
the bot's processes share, valid for an hour. Anyone holding a URL sees that workspace's daily totals
until it expires, and nothing else; no per-person figures are ever drawn.
"""

from __future__ import annotations

import hashlib
import hmac
import re
from collections.abc import Callable
from datetime import datetime, timedelta
from urllib.parse import parse_qs, urlencode

from pydantic import SecretStr

from bot.store.clock import utc_now
from bot.store.usage import UsageReader
from bot.usage.chart import render_chart

PATH_PREFIX = "/charts/"
LIFETIME = timedelta(hours=1)
CHART_TITLE = "/imagine: images and estimated cost per day, last 30 days"
_PATH = re.compile(r"/charts/(T[A-Z0-9]{2,40})\.png")
_EXP = re.compile(r"[0-9]{1,12}")
_SIG = re.compile(r"[0-9a-f]{64}")


def chart_signing_key(signing_secret: SecretStr) -> bytes:
    """A key every web process derives alike from Slack's signing secret, and that only these URLs use.

    Derived, not the secret itself, so a chart signature can never be replayed as anything else.
    """
    return hmac.new(signing_secret.get_secret_value().encode(), b"imagine-bot chart urls v1", hashlib.sha256).digest()


class ChartEndpoint:
    """Mints signed chart URLs (`url_for`) and answers requests for them (`answer`)."""

    def __init__(self, reader: UsageReader, signing_key: bytes, clock: Callable[[], datetime] = utc_now) -> None:
        if len(signing_key) < 16:
            raise ValueError("the chart signing key is too short")
        self._reader = reader
        self._key = signing_key
        self._clock = clock

    def _signature(self, team_id: str, exp: int) -> str:
        return hmac.new(self._key, f"{team_id}|{exp}".encode(), hashlib.sha256).hexdigest()

    def url_for(self, public_url: str, team_id: str, now: datetime) -> str:
        exp = int((now + LIFETIME).timestamp())
        query = urlencode({"exp": exp, "sig": self._signature(team_id, exp)})
        return f"{public_url.rstrip('/')}{PATH_PREFIX}{team_id}.png?{query}"

    def answer(self, path: str, query_string: str) -> tuple[int, list[tuple[str, str]], bytes]:
        """(status, headers, body) for a GET of `path?query_string`."""
        team_id = self._verified_team(path, query_string)
        if team_id is None:
            # One answer for a bad path, signature or expiry alike: nothing to learn by probing.
            return 403, [("Content-Type", "text/plain; charset=utf-8"), ("Cache-Control", "no-store")], b"forbidden\n"
        png = render_chart(self._reader.daily(team_id=team_id, now=self._clock()), title=CHART_TITLE)
        headers = [
            ("Content-Type", "image/png"),
            # Slack's image proxy and browsers may keep it briefly; no shared cache should.
            ("Cache-Control", "private, max-age=300"),
            ("X-Content-Type-Options", "nosniff"),
        ]
        return 200, headers, png

    def _verified_team(self, path: str, query_string: str) -> str | None:
        match = _PATH.fullmatch(path)
        query = parse_qs(query_string, keep_blank_values=True)
        exps, sigs = query.get("exp", []), query.get("sig", [])
        if match is None or len(exps) != 1 or len(sigs) != 1:
            return None
        exp, sig = exps[0], sigs[0]
        if not _EXP.fullmatch(exp) or not _SIG.fullmatch(sig):
            return None
        team_id = match[1]
        if not hmac.compare_digest(self._signature(team_id, int(exp)), sig):
            return None
        if int(exp) <= self._clock().timestamp():
            return None
        return team_id
