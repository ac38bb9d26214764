"""Signed `/imagine` slash commands fired at a server the way Slack does, timed from the client side.

The client is a few lines of asyncio on raw sockets rather than httpx: one event loop can hold a
thousand requests open, fire 200 within a couple of milliseconds, and keep an open-loop schedule,
and it adds almost nothing of its own to the latencies it reports. Every request is a new
connection with `Connection: close`, as each Slack delivery is.
"""

from __future__ import annotations

import asyncio
import math
import time
from collections.abc import Sequence
from dataclasses import dataclass
from urllib.parse import urlencode, urlsplit

from bot.emulators.slack import SlackEmulator

# Slack shows "operation_timeout" when the answer takes longer than this (slack-platform.md §1.3).
SLACK_ACK_DEADLINE_S = 3.0
# The client waits longer than Slack would, to see how late the answer comes; later counts as a timeout.
CLIENT_TIMEOUT_S = 10.0


@dataclass(frozen=True)
class Outcome:
    latency_s: float  # until the whole answer arrived, or until the client gave up
    status: int | None  # None: no answer within CLIENT_TIMEOUT_S, or the connection failed

    @property
    def ok(self) -> bool:
        """What Slack would accept: a 200 within its 3-second deadline."""
        return self.status == 200 and self.latency_s <= SLACK_ACK_DEADLINE_S


@dataclass(frozen=True)
class LatencyStats:
    count: int
    p50_s: float
    p99_s: float
    max_s: float
    non_200: int  # answered with another status (Bolt's 404 "unhandled request" after 3 s, 5xx, …)
    no_answer: int  # nothing within CLIENT_TIMEOUT_S, or the connection was refused or reset
    over_3s: int  # answered, but later than Slack waits
    client_timeout_s: float

    @property
    def failed(self) -> int:
        """Requests the user would see fail in Slack."""
        return self.non_200 + self.no_answer + self.over_3s

    @classmethod
    def of(cls, outcomes: Sequence[Outcome], client_timeout_s: float = CLIENT_TIMEOUT_S) -> LatencyStats:
        # A request without an answer counts at the time the client gave up: a lower bound, flagged
        # by `no_answer`, so the percentiles never look better than what happened.
        latencies = sorted(o.latency_s for o in outcomes)
        return cls(
            count=len(outcomes),
            p50_s=percentile(latencies, 0.50),
            p99_s=percentile(latencies, 0.99),
            max_s=latencies[-1] if latencies else math.nan,
            non_200=sum(o.status is not None and o.status != 200 for o in outcomes),
            no_answer=sum(o.status is None for o in outcomes),
            over_3s=sum(o.status == 200 and o.latency_s > SLACK_ACK_DEADLINE_S for o in outcomes),
            client_timeout_s=client_timeout_s,
        )


def percentile(sorted_values: Sequence[float], fraction: float) -> float:
    """Nearest-rank percentile: a value that was actually observed (p99 of 200 is the 198th)."""
    if not sorted_values:
        return math.nan
    rank = max(1, math.ceil(fraction * len(sorted_values)))
    return sorted_values[rank - 1]


def signed_commands(slack: SlackEmulator, bot_url: str, count: int, *, prompt: str, channel_id: str) -> list[bytes]:
    """`count` complete HTTP requests, each a distinct signed `/imagine` (own trigger_id and response_url).

    Built before the clock starts, so signing costs nothing during a load. Bolt accepts a signature
    for five minutes, far longer than any load here.
    """
    split = urlsplit(bot_url)
    requests = []
    for index in range(count):
        fields = {
            "token": slack.verification_token,
            "team_id": slack.team_id,
            "team_domain": slack.team_domain,
            "channel_id": channel_id,
            "channel_name": "bench",
            "user_id": f"U0BENCH{index % 1000:04d}",
            "user_name": f"bench{index % 1000}",
            "command": "/imagine",
            "text": prompt,  # one prompt: the emulator draws it once, so Azure costs this process nothing
            "api_app_id": slack.api_app_id,
            "is_enterprise_install": "false",
            "response_url": slack.new_response_url(channel_id=channel_id, user_id=f"U0BENCH{index % 1000:04d}"),
            "trigger_id": f"{time.time_ns()}.{index}.bench",
        }
        body = urlencode(fields).encode()
        headers = {
            "Host": split.netloc,
            "Content-Type": "application/x-www-form-urlencoded",
            "Content-Length": str(len(body)),
            "User-Agent": "Slackbot 1.0 (+https://api.slack.com/robots)",
            "Connection": "close",
            **slack.sign(body),
        }
        head = "".join(f"{name}: {value}\r\n" for name, value in headers.items())
        requests.append(f"POST /slack/events HTTP/1.1\r\n{head}\r\n".encode() + body)
    return requests


async def _send(host: str, port: int, request: bytes, timeout: float) -> Outcome:
    started = time.perf_counter()
    writer = None
    try:
        async with asyncio.timeout(timeout):
            reader, writer = await asyncio.open_connection(host, port)
            writer.write(request)
            await writer.drain()
            answer = await reader.read()  # to EOF: `Connection: close`
        status = int(answer.split(b" ", 2)[1]) if answer.startswith(b"HTTP/") else None
        return Outcome(time.perf_counter() - started, status)
    except (TimeoutError, OSError, ValueError, IndexError):
        return Outcome(time.perf_counter() - started, None)
    finally:
        if writer is not None:
            writer.close()


def address(bot_url: str) -> tuple[str, int]:
    split = urlsplit(bot_url)
    return split.hostname or "127.0.0.1", split.port or 80


def fire_together(bot_url: str, requests: Sequence[bytes], timeout: float = CLIENT_TIMEOUT_S) -> list[Outcome]:
    """All requests at once: every connection is opened in the same turn of the event loop."""
    host, port = address(bot_url)

    async def main() -> list[Outcome]:
        return list(await asyncio.gather(*(_send(host, port, r, timeout) for r in requests)))

    return asyncio.run(main())


def open_loop(
    bot_url: str, requests: Sequence[bytes], rate_per_s: float, timeout: float = CLIENT_TIMEOUT_S
) -> tuple[list[Outcome], float]:
    """Request i leaves at start + i / rate whatever happened to the others (no coordinated omission).

    Returns the outcomes and the largest delay of a send behind its schedule, which says whether the
    client itself kept up.
    """
    host, port = address(bot_url)

    async def main() -> tuple[list[Outcome], float]:
        loop = asyncio.get_running_loop()
        start = loop.time() + 0.05
        tasks = []
        worst_lag = 0.0
        for index, request in enumerate(requests):
            due = start + index / rate_per_s
            await asyncio.sleep(max(0.0, due - loop.time()))
            worst_lag = max(worst_lag, loop.time() - due)
            tasks.append(asyncio.create_task(_send(host, port, request, timeout)))
        return list(await asyncio.gather(*tasks)), worst_lag

    return asyncio.run(main())


def closed_loop(
    bot_url: str, requests: Sequence[bytes], concurrency: int, timeout: float = CLIENT_TIMEOUT_S
) -> list[Outcome]:
    """At most `concurrency` requests in flight: as fast as the server takes them (used to fill queues)."""
    host, port = address(bot_url)

    async def main() -> list[Outcome]:
        limit = asyncio.Semaphore(concurrency)

        async def one(request: bytes) -> Outcome:
            async with limit:
                return await _send(host, port, request, timeout)

        return list(await asyncio.gather(*(one(r) for r in requests)))

    return asyncio.run(main())
