"""What users read: escaping, and the texts that explain each outcome."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bot import replies
from bot.images import ContentRejected, ImageResult, Misconfigured, RateLimited, ServiceUnavailable
from bot.request import ImageRequest

REQUEST = ImageRequest(prompt="a fox", size="1024x1024", quality="standard", style="vivid", n=1)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("<!channel> hi", "&lt;!channel&gt; hi"),
        ("<@U123> & <#C1|x>", "&lt;@U123&gt; &amp; &lt;#C1|x&gt;"),
        ("<https://evil.example|click>", "&lt;https://evil.example|click&gt;"),
        ("@channel and @Here and @everyone", "@\u2060channel and @\u2060Here and @\u2060everyone"),
        ("email@channels.example", "email@channels.example"),
        ("&amp;", "&amp;amp;"),
    ],
)
def test_escape(text: str, expected: str) -> None:
    assert replies.escape(text) == expected


@given(st.text())
def test_escaped_text_can_never_form_slack_markup(text: str) -> None:
    escaped = replies.escape(text)
    assert "<" not in escaped
    assert ">" not in escaped
    for word in ("@channel", "@here", "@everyone"):
        assert word not in escaped.lower()


def test_image_comment_credits_the_requester_and_escapes_model_text() -> None:
    result = ImageResult(images=(), revised_prompt="A fox <!here> in snow", usage=None, latency_ms=10)
    request = ImageRequest(prompt="a fox <@U999>", size="1024x1024", quality="hd", style="natural", n=1)

    comment = replies.image_comment("U1", request, "dall-e-3", result)

    assert comment.startswith("<@U1> imagined:")
    assert "<!here>" not in comment
    assert "<@U999>" not in comment
    assert "&lt;!here&gt;" in comment
    assert "hd" in comment
    assert "natural" in comment


def test_image_comment_says_plainly_when_there_is_no_revised_prompt() -> None:
    result = ImageResult(images=(), revised_prompt=None, usage=None, latency_ms=10)
    assert "does not revise prompts" in replies.image_comment("U1", REQUEST, "gpt-image-1", result)


@pytest.mark.parametrize(
    ("error", "phrase"),
    [
        (
            ContentRejected("prompt", "HTTP 400 content_policy_violation: INTERNAL-DETAIL"),
            "content policy blocked your prompt",
        ),
        (ContentRejected("output", "INTERNAL-DETAIL"), "content policy blocked the generated image"),
        (Misconfigured("azure_auth_failed", "HTTP 401 INTERNAL-DETAIL"), "configuration problem"),
        (ServiceUnavailable("service_unavailable", "HTTP 503 INTERNAL-DETAIL"), "unavailable for all 5 attempts"),
        (RateLimited("HTTP 429 INTERNAL-DETAIL", 2.0), "unavailable for all 5 attempts"),
    ],
)
def test_failures_are_explained_without_internal_detail(error: Exception, phrase: str) -> None:
    message = replies.failed(error, job_id=7, attempts=5)  # type: ignore[arg-type]
    assert phrase in message["text"]
    assert "INTERNAL-DETAIL" not in message["text"]
    assert "HTTP" not in message["text"]
    assert "(job 7)" in message["text"]
    assert message["replace_original"] is True


def test_very_long_prompts_are_shortened_in_echoes() -> None:
    request = ImageRequest(prompt="word " * 2000, size="1024x1024", quality="low", style=None, n=1)
    assert len(replies.queued(request, "gpt-image-1", [1])) < 3000
