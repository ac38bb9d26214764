"""bot.request.normalise: what Slack and smart-punctuation keyboards do to typed text, undone."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from bot.request import message_words, normalise
from tests.unit.request_strategies import any_text


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        # Slack markup
        pytest.param("hi <@U123|alice>", "hi @alice", id="user-with-name"),
        pytest.param("hi <@U123>", "hi @U123", id="user-id-only"),
        pytest.param("hi <@W0ABC|bob> and <@U9>", "hi @bob and @U9", id="two-users"),
        pytest.param("in <#C123|general>", "in #general", id="channel-with-name"),
        pytest.param("in <#C123|>", "in #C123", id="private-channel-empty-name"),
        pytest.param("in <#C123>", "in #C123", id="channel-id-only"),
        pytest.param("see <https://x.y/z|the site>", "see the site", id="link-with-label"),
        pytest.param("see <https://x.y/z>", "see https://x.y/z", id="bare-link"),
        pytest.param("mail <mailto:a@b.c|a@b.c>", "mail a@b.c", id="mailto"),
        pytest.param("<!here> look", "@here look", id="here"),
        pytest.param("<!channel> look", "@channel look", id="channel-broadcast"),
        pytest.param("<!everyone> look", "@everyone look", id="everyone"),
        pytest.param("<!here|here> look", "@here look", id="here-old-form"),
        pytest.param("hey <!subteam^S123|@team>", "hey @team", id="subteam"),
        pytest.param("hey <!subteam^S123>", "hey @S123", id="subteam-id-only"),
        pytest.param("on <!date^1392734382^{date_pretty}|Feb 18, 2014>", "on Feb 18, 2014", id="date"),
        pytest.param("<not markup>", "<not markup>", id="unknown-bracket-kept"),
        pytest.param("<@lowercase>", "<@lowercase>", id="not-a-user-id"),
        # the three escapes, decoded once
        pytest.param("cats &amp; dogs", "cats & dogs", id="amp"),
        pytest.param("a &lt;b&gt; c", "a <b> c", id="lt-gt"),
        pytest.param("&amp;lt;", "&lt;", id="no-double-decode"),
        pytest.param("&amp;amp;", "&amp;", id="no-double-decode-amp"),
        pytest.param("&lt;@U123&gt;", "<@U123>", id="escaped-markup-stays-text"),
        pytest.param("&quot; &#39; &nbsp;", "&quot; &#39; &nbsp;", id="other-entities-untouched"),
        pytest.param("<https://x.y/?a=1&amp;b=2|A &amp; B>", "A & B", id="escape-inside-label"),
        # smart quotes
        pytest.param("“hi” „x‟ 5″", '"hi" "x" 5"', id="double-quotes"),
        pytest.param("‘hi’ ‚x‛ 5′", "'hi' 'x' 5'", id="single-quotes"),
        # smart dashes at the start of a token before a letter are flags
        pytest.param("cat —size 1024x1024", "cat --size 1024x1024", id="em-dash-flag"),
        pytest.param("cat –size 1024x1024", "cat --size 1024x1024", id="en-dash-flag"),
        pytest.param("cat ——size x", "cat --size x", id="two-em-dashes"),
        pytest.param("cat -—size x", "cat --size x", id="hyphen-then-em-dash"),
        pytest.param("cat ‐‐n 2", "cat --n 2", id="two-unicode-hyphens"),
        pytest.param("cat \u2212n 2", "cat --n 2", id="minus-sign"),
        pytest.param("—size x cat", "--size x cat", id="at-text-start"),
        pytest.param("cat\n—style natural", "cat\n--style natural", id="after-newline"),
        # ... and prose otherwise
        pytest.param("a cat — fluffy", "a cat — fluffy", id="standalone-em-dash"),
        pytest.param("years 2010–2020", "years 2010–2020", id="mid-word-en-dash"),
        pytest.param("well—maybe", "well—maybe", id="mid-word-em-dash"),
        pytest.param("it was —5 degrees", "it was —5 degrees", id="dash-before-digit"),
        pytest.param("cat ———size", "cat ———size", id="three-dashes-is-prose"),
        pytest.param("cat --size", "cat --size", id="ascii-unchanged"),
        # trimming, inner whitespace kept
        pytest.param("  a\n\nb  c \t", "a\n\nb  c", id="trim-only-ends"),
    ],
)
def test_normalise_undoes_slack_markup_escapes_and_smart_punctuation(raw: str, expected: str) -> None:
    assert normalise(raw) == expected


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.filter_too_much])
@given(text=any_text)
def test_normalise_is_idempotent(text: str) -> None:
    once = normalise(text)
    # Decoding &lt; / &amp; can't be idempotent ("&amp;lt;" → "&lt;" → "<"), and a decoded "<…>" would
    # then read as markup; Slack never sends such text twice, so the property is over the rest.
    assume("<" not in once and "&" not in once)
    assert normalise(once) == once


@settings(max_examples=60, deadline=None)
@given(typed=st.text())
def test_slack_escaping_of_what_was_typed_is_undone(typed: str) -> None:
    # Slack escapes exactly & < > in what the user typed; normalise must give back the typed characters.
    # Expected: normalise the typed text with & and < shielded, so they are not decoded or read as markup.
    assume("\ue000" not in typed and "\ue001" not in typed)
    escaped = typed.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    shielded = typed.replace("&", "\ue000").replace("<", "\ue001")
    expected = normalise(shielded).replace("\ue000", "&").replace("\ue001", "<")
    assert normalise(escaped) == expected


@pytest.mark.parametrize(
    ("posted", "words"),
    [
        ("a *red* fox", "a red fox"),
        ("_a misty_ harbour at ~noon~ dawn", "a misty harbour at noon dawn"),
        ("the `--size` flag", "the --size flag"),
        ("snake_case_name and 2*3*4", "snake_case_name and 2*3*4"),  # not emphasis: inside words
        ("* not a list *", "* not a list *"),  # a mark next to a space is not emphasis
        ("*<@U0AB|ann>* &amp; co", "@ann & co"),
    ],
)
def test_a_posted_messages_emphasis_is_dropped_for_a_prompt(posted: str, words: str) -> None:
    assert message_words(posted) == words
