"""The baseline: `/imagine` as most Bolt tutorials write it, to measure the bot's design against.

Bolt's defaults throughout: `process_before_response=False`, the default 5-thread listener executor
(shared by the ack function and the lazy listener), and `app.start()`, Bolt's built-in development
server. The lazy listener calls Azure and uploads the image, so under load the executor fills with
generations and acks wait behind them (slack-platform.md §4.2). The one deviation from a tutorial is
pointing the clients at the emulators.

    python -m bench.naive_app   # reads the same environment variables as the bot
"""

from __future__ import annotations

import base64
import os
from typing import Any

import httpx
from slack_bolt import Ack, App
from slack_sdk import WebClient

API_VERSION = "2025-04-01-preview"


def build_app() -> App:
    client = WebClient(token=os.environ["SLACK_BOT_TOKEN"], base_url=os.environ["SLACK_API_URL"])
    app = App(client=client, signing_secret=os.environ["SLACK_SIGNING_SECRET"])
    endpoint = os.environ["AZURE_OPENAI_ENDPOINT"].rstrip("/")
    deployment = os.environ["AZURE_OPENAI_DEPLOYMENT"]
    api_key = os.environ["AZURE_OPENAI_API_KEY"]

    def acknowledge(ack: Ack, command: dict[str, Any]) -> None:
        ack(f"Generating “{command['text']}”…")

    def generate(command: dict[str, Any], client: WebClient) -> None:
        answer = httpx.post(
            f"{endpoint}/openai/deployments/{deployment}/images/generations",
            params={"api-version": API_VERSION},
            headers={"api-key": api_key},
            json={"prompt": command["text"], "size": "1024x1024", "n": 1},
            timeout=120,
        )
        answer.raise_for_status()
        picture = answer.json()["data"][0]
        # GPT image models answer with base64; DALL-E 3 with a URL to fetch.
        image = base64.b64decode(picture["b64_json"]) if "b64_json" in picture else httpx.get(picture["url"]).content
        client.files_upload_v2(
            channel=command["channel_id"],
            content=image,
            filename="image.png",
            initial_comment=f"<@{command['user_id']}>: {command['text']}",
        )

    app.command("/imagine")(ack=acknowledge, lazy=[generate])
    return app


if __name__ == "__main__":
    build_app().start(port=int(os.environ["PORT"]))
