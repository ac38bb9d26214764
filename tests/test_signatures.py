"""Slack's request signing (slack-platform.md §1.2): the official test vector, and every way to get it wrong.

The vector checks the three implementations the bot relies on: slack_sdk's verifier (which Bolt
uses), the guard in front of Bolt (`bot.http_guard`), and the emulator that signs the test traffic.
The table then sends each kind of bad signature to the real bot: all are 401 and none creates a row.
"""

from __future__ import annotations

import time
from collections.abc import Callable

import httpx
import pytest
from slack_sdk.signature import Clock, SignatureVerifier
from sqlalchemy import Engine

from bot.emulators.slack import SlackEmulator, signature
from bot.http_guard import signature_is_valid
from tests.conftest import BotFactory
from tests.test_end_to_end import rows

# Slack's documented example (docs.slack.dev "Verifying requests from Slack"; python-slack-sdk's tests).
VECTOR_SECRET = "8f742231b10e8888abcd99yyyzzz85a5"
VECTOR_TIMESTAMP = "1531420618"
VECTOR_BODY = (
    "token=xyzz0WbapA4vBCDEFasx0q6G&team_id=T1DC2JH3J&team_domain=testteamnow&channel_id=G8PSS9T3V"
    "&channel_name=foobar&user_id=U2CERLKJA&user_name=roadrunner&command=%2Fwebhook-collect&text="
    "&response_url=https%3A%2F%2Fhooks.slack.com%2Fcommands%2FT1DC2JH3J%2F397700885554%2F96rGlfmibIGlgcZRskXaIFfN"
    "&trigger_id=398738663015.47445629121.803a0bc887a14d10d2c447fce8b6703c"
)
VECTOR_SIGNATURE = "v0=a2114d57b48eac39b9ad189dd8316235a7b4a8d21a10bd27519666489c69b503"


class FrozenClock(Clock):
    def __init__(self, now: float) -> None:
        self._now = now

    def now(self) -> float:
        return self._now


def test_the_official_vector_verifies_with_slack_sdk() -> None:
    verifier = SignatureVerifier(VECTOR_SECRET, clock=FrozenClock(int(VECTOR_TIMESTAMP) + 10))

    assert verifier.generate_signature(timestamp=VECTOR_TIMESTAMP, body=VECTOR_BODY) == VECTOR_SIGNATURE
    assert verifier.is_valid(VECTOR_BODY, VECTOR_TIMESTAMP, VECTOR_SIGNATURE)
    assert not verifier.is_valid(VECTOR_BODY + "x", VECTOR_TIMESTAMP, VECTOR_SIGNATURE)
    # The same request six minutes later is a replay.
    late = SignatureVerifier(VECTOR_SECRET, clock=FrozenClock(int(VECTOR_TIMESTAMP) + 360))
    assert not late.is_valid(VECTOR_BODY, VECTOR_TIMESTAMP, VECTOR_SIGNATURE)


def test_the_official_vector_matches_the_emulators_signature() -> None:
    assert signature(VECTOR_SECRET, VECTOR_TIMESTAMP, VECTOR_BODY.encode()) == VECTOR_SIGNATURE


@pytest.mark.parametrize(
    ("body", "timestamp", "sig", "now", "valid"),
    [
        pytest.param(VECTOR_BODY, VECTOR_TIMESTAMP, VECTOR_SIGNATURE, 0, True, id="the vector"),
        pytest.param(VECTOR_BODY, VECTOR_TIMESTAMP, VECTOR_SIGNATURE, 300, True, id="5 minutes old"),
        pytest.param(VECTOR_BODY, VECTOR_TIMESTAMP, VECTOR_SIGNATURE, 301, False, id="just over 5 minutes old"),
        pytest.param(VECTOR_BODY, VECTOR_TIMESTAMP, VECTOR_SIGNATURE, -301, False, id="from the future"),
        pytest.param(VECTOR_BODY + "&x=1", VECTOR_TIMESTAMP, VECTOR_SIGNATURE, 0, False, id="tampered body"),
        pytest.param(VECTOR_BODY, VECTOR_TIMESTAMP, VECTOR_SIGNATURE.upper(), 0, False, id="case changed"),
        pytest.param(VECTOR_BODY, VECTOR_TIMESTAMP, VECTOR_SIGNATURE[3:], 0, False, id="no v0= prefix"),
        pytest.param(VECTOR_BODY, None, VECTOR_SIGNATURE, 0, False, id="no timestamp"),
        pytest.param(VECTOR_BODY, VECTOR_TIMESTAMP, None, 0, False, id="no signature"),
        pytest.param(VECTOR_BODY, "1531420618.0", VECTOR_SIGNATURE, 0, False, id="fractional timestamp"),
        pytest.param(VECTOR_BODY, "abc", VECTOR_SIGNATURE, 0, False, id="non-numeric timestamp"),
        pytest.param(VECTOR_BODY, "١٥٣١٤٢٠٦١٨", VECTOR_SIGNATURE, 0, False, id="non-ASCII digits"),
        pytest.param(VECTOR_BODY, VECTOR_TIMESTAMP, "v0=é" + "0" * 63, 0, False, id="non-ASCII signature"),
    ],
)
def test_the_guards_verifier_agrees_with_the_vector(
    body: str, timestamp: str | None, sig: str | None, now: int, valid: bool
) -> None:
    at = int(VECTOR_TIMESTAMP) + now
    assert signature_is_valid(VECTOR_SECRET, timestamp, sig, body.encode(), now=at) is valid


# --- the real bot refuses every bad signature, and nothing is queued --------------------------------

COMMAND = b"command=%2Fimagine&text=a+fox&user_id=U0USER0001&channel_id=C0CHAN0001&team_id=T1&trigger_id=9.9.9"
FORM = {"Content-Type": "application/x-www-form-urlencoded"}


def _signed(secret: str, body: bytes, *, offset: int = 0) -> dict[str, str]:
    stamp = str(int(time.time()) + offset)
    return {"X-Slack-Request-Timestamp": stamp, "X-Slack-Signature": signature(secret, stamp, body)}


Case = Callable[[SlackEmulator], tuple[bytes, dict[str, str]]]

REFUSALS: dict[str, Case] = {
    "no signature": lambda slack: (COMMAND, {}),
    "wrong secret": lambda slack: (COMMAND, _signed("not-the-signing-secret", COMMAND)),
    "6 minutes old": lambda slack: (COMMAND, _signed(slack.signing_secret, COMMAND, offset=-360)),
    "6 minutes ahead": lambda slack: (COMMAND, _signed(slack.signing_secret, COMMAND, offset=360)),
    "body tampered after signing": lambda slack: (
        COMMAND.replace(b"a+fox", b"a+wolf"),
        _signed(slack.signing_secret, COMMAND),
    ),
    "no timestamp header": lambda slack: (
        COMMAND,
        {"X-Slack-Signature": _signed(slack.signing_secret, COMMAND)["X-Slack-Signature"]},
    ),
    "non-numeric timestamp": lambda slack: (
        COMMAND,
        {"X-Slack-Request-Timestamp": "now", "X-Slack-Signature": signature(slack.signing_secret, "now", COMMAND)},
    ),
    "signature of an empty body": lambda slack: (COMMAND, _signed(slack.signing_secret, b"")),
}


@pytest.mark.e2e
def test_every_bad_signature_is_401_and_queues_nothing(
    run_bot: BotFactory, slack: SlackEmulator, engine: Engine
) -> None:
    bot = run_bot("dall-e-3")

    answers = {}
    for name, case in REFUSALS.items():
        body, headers = case(slack)
        reply = httpx.post(f"{bot.url}/slack/events", content=body, headers={**FORM, **headers}, trust_env=False)
        answers[name] = (reply.status_code, reply.text)

    assert answers == dict.fromkeys(REFUSALS, (401, '{"error": "invalid request"}'))
    assert rows(engine) == []
    # The control: the same body, correctly signed, is queued; so the refusals above were the signature's.
    accepted = httpx.post(
        f"{bot.url}/slack/events", content=COMMAND, headers={**FORM, **_signed(slack.signing_secret, COMMAND)}
    )
    assert accepted.status_code == 200
    assert len(rows(engine)) == 1
