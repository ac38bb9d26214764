"""bot/images/azure.py and azure_legacy.py against the Azure emulator: what the bot sends, what it makes
of each answer, and how every refusal is classified (and so whether it is retried)."""

from __future__ import annotations

import base64
import time
from collections.abc import Iterator

import httpx
import httpx2
import pytest
from pydantic import SecretStr

from bot.images.azure import AzureImages, openai_client
from bot.images.azure_legacy import LegacyAzureImages
from bot.images.generator import (
    ContentRejected,
    DeploymentNotFound,
    ImageResult,
    InvalidRequest,
    Misconfigured,
    PartialImage,
    RateLimited,
    ServiceUnavailable,
)
from bot.images.models import Deployment
from bot.images.request import ImageRequest, InputImage, sniff_image_type
from devkit.azure import (
    AzureEmulator,
    ContentPolicy,
    DeploymentGone,
    Malformed,
    OutputFiltered,
    PromptFiltered,
    ServerError,
    StreamBreaks,
)
from devkit.azure import RateLimited as AzureRateLimited
from tests.harness import png


@pytest.fixture(scope="module")
def _azure() -> Iterator[AzureEmulator]:
    with AzureEmulator() as emulator:
        yield emulator


@pytest.fixture
def azure(_azure: AzureEmulator) -> AzureEmulator:
    _azure.reset()
    return _azure


@pytest.fixture(scope="module")  # one connection pool and SSL context for the module
def http() -> Iterator[httpx2.Client]:
    with httpx2.Client(trust_env=False) as client:
        yield client


def images(azure: AzureEmulator, http: httpx2.Client, model: str = "gpt-image-2", **kwargs: object) -> AzureImages:
    client = openai_client(azure.url, SecretStr(azure.api_key), http, 30)
    return AzureImages(client, Deployment(model, model), **kwargs)  # type: ignore[arg-type]


def request(**changes: object) -> ImageRequest:
    return ImageRequest(**{"prompt": "a lighthouse at dusk", "size": "1536x864", "quality": "low", **changes})  # type: ignore[arg-type]


def test_a_generation_goes_to_the_v1_path_with_only_options_the_model_has(
    azure: AzureEmulator, http: httpx2.Client
) -> None:
    result = images(azure, http).generate(request())
    [call] = azure.calls()
    assert call.path == "/openai/v1/images/generations"
    assert call.deployment == "gpt-image-2"
    assert call.headers["api-key"] == "***"
    assert call.body is not None
    assert {k: call.body[k] for k in ("model", "size", "quality", "n", "output_format")} == {
        "model": "gpt-image-2", "size": "1536x864", "quality": "low", "n": 1, "output_format": "png"}  # fmt: skip
    assert "style" not in call.body and "response_format" not in call.body
    assert len(result.images) == 1 and result.images[0].media_type == "image/png"
    assert result.revised_prompt is None
    assert result.usage is not None and result.usage.output_tokens > 0


def test_previews_stream_then_the_final_image(azure: AzureEmulator, http: httpx2.Client) -> None:
    seen: list[PartialImage] = []
    result = images(azure, http).generate(request(), on_partial=seen.append)
    [call] = azure.calls()
    assert call.stream and call.body is not None and call.body["partial_images"] == 2
    assert [p.index for p in seen] == [0, 1]
    assert all(sniff_image_type(p.image.content) == "image/png" for p in seen)
    assert result.images[0].content not in {p.image.content for p in seen}
    assert result.usage is not None


def test_a_stream_gives_way_before_each_piece_it_reads(azure: AzureEmulator, http: httpx2.Client) -> None:
    """While the front is rushed the worker stops reading Azure's stream (bot/jobs/rush.py): a wait before
    each chunk, the first before any preview; a call without a stream reads its answer at once."""
    previews_at_each_wait: list[int] = []
    seen: list[PartialImage] = []
    streaming = images(azure, http, give_way=lambda: previews_at_each_wait.append(len(seen)))
    streaming.generate(request(), on_partial=seen.append)
    # Waits between the previews too, not only before the answer: the stream pauses wherever it is.
    assert previews_at_each_wait[0] == 0 and {1, 2} <= set(previews_at_each_wait)
    assert previews_at_each_wait == sorted(previews_at_each_wait)
    waits = len(previews_at_each_wait)
    streaming.generate(request(n=2))
    assert len(previews_at_each_wait) == waits


def test_a_failing_preview_never_costs_the_final_image(azure: AzureEmulator, http: httpx2.Client) -> None:
    def broken(_: PartialImage) -> None:
        raise RuntimeError("Slack refused the preview")

    assert len(images(azure, http).generate(request(), on_partial=broken).images) == 1


def test_several_images_are_one_call_without_a_stream(azure: AzureEmulator, http: httpx2.Client) -> None:
    result = images(azure, http).generate(request(n=3), on_partial=lambda _: None)
    [call] = azure.calls()
    assert not call.stream
    assert len(result.images) == 3 and len({i.content for i in result.images}) == 3


def test_with_a_chat_deployment_the_responses_api_returns_the_revised_prompt(
    azure: AzureEmulator, http: httpx2.Client
) -> None:
    result = images(azure, http, responses_deployment="gpt-5.4-mini").generate(request())
    [call] = azure.calls()
    assert call.path == "/openai/v1/responses"
    assert call.headers["x-ms-oai-image-generation-deployment"] == "gpt-image-2"
    assert call.body is not None and call.body["model"] == "gpt-5.4-mini"
    assert call.body["tool_choice"] == {"type": "image_generation"}
    [tool] = call.body["tools"]
    assert (tool["type"], tool["size"], tool["quality"]) == ("image_generation", "1536x864", "low")
    assert result.revised_prompt and result.revised_prompt != "a lighthouse at dusk"
    assert result.usage is not None
    assert result.usage.chat_model == "gpt-5.4-mini" and result.usage.chat_input_tokens > 0
    assert result.usage.output_tokens > 0


def test_raw_skips_the_rewrite(azure: AzureEmulator, http: httpx2.Client) -> None:
    result = images(azure, http, responses_deployment="gpt-5.4-mini").generate(request(raw=True))
    assert [c.path for c in azure.calls()] == ["/openai/v1/images/generations"]
    assert result.revised_prompt is None


def test_an_edit_sends_the_pictures_it_starts_from(azure: AzureEmulator, http: httpx2.Client) -> None:
    first, second = png(640, 640, (250, 0, 0)), png(800, 600, (0, 0, 250))
    pictures = [InputImage(first, "image/png", "a.png"), InputImage(second, "image/png", "b.png")]
    result = images(azure, http).edit(request(prompt="blend them"), pictures)
    [call] = azure.calls("edit")
    assert call.path == "/openai/v1/images/edits"
    assert call.images == (first, second)
    assert call.body is not None and "input_fidelity" not in call.body  # gpt-image-2 takes none
    assert result.usage is not None and result.usage.image_input_tokens > 0


def test_an_edit_on_gpt_image_15_keeps_faces_with_high_input_fidelity(
    azure: AzureEmulator, http: httpx2.Client
) -> None:
    images(azure, http, "gpt-image-1.5").edit(request(size="1024x1024"), [InputImage(png(), "image/png")])
    [call] = azure.calls("edit")
    assert call.body is not None and call.body["input_fidelity"] == "high"


@pytest.mark.parametrize(
    ("fault", "error", "code"),
    [
        pytest.param(ContentPolicy(), ContentRejected, "content_rejected_prompt", id="policy-400"),
        pytest.param(PromptFiltered(), ContentRejected, "content_rejected_prompt", id="prompt-filtered-200"),
        pytest.param(OutputFiltered(), ContentRejected, "content_rejected_output", id="output-filtered-200"),
        pytest.param(DeploymentGone(), DeploymentNotFound, "azure_deployment_not_found", id="deployment-gone"),
        pytest.param(AzureRateLimited(retry_after_s=7), RateLimited, "rate_limited", id="429"),
        pytest.param(ServerError(status=503), ServiceUnavailable, "service_unavailable", id="503"),
        pytest.param(Malformed(kind="not_json"), ServiceUnavailable, "malformed_response", id="not-json"),
        pytest.param(Malformed(kind="bad_base64"), ServiceUnavailable, "malformed_response", id="bad-b64"),
    ],
)
def test_refusals_are_classified(
    azure: AzureEmulator, http: httpx2.Client, fault: object, error: type[Exception], code: str
) -> None:
    azure.fail_next(fault)  # type: ignore[arg-type]
    with pytest.raises(error) as raised:
        images(azure, http).generate(request())
    assert getattr(raised.value, "code", None) == code
    if isinstance(raised.value, RateLimited):
        assert raised.value.retry_after == pytest.approx(7, abs=0.01)


def test_refused_prompt_and_filtered_output_are_told_apart_in_a_stream(
    azure: AzureEmulator, http: httpx2.Client
) -> None:
    azure.fail_next(OutputFiltered())
    with pytest.raises(ContentRejected) as output:
        images(azure, http).generate(request(), on_partial=lambda _: None)
    azure.fail_next(PromptFiltered())
    with pytest.raises(ContentRejected) as prompt:
        images(azure, http).generate(request(), on_partial=lambda _: None)
    assert (output.value.stage, prompt.value.stage) == ("output", "prompt")


def test_a_stream_that_breaks_is_retryable(azure: AzureEmulator, http: httpx2.Client) -> None:
    azure.fail_next(StreamBreaks())
    with pytest.raises(ServiceUnavailable) as broken:
        images(azure, http).generate(request(), on_partial=lambda _: None)
    assert broken.value.retryable


def _streamed(*pieces: bytes | Exception) -> httpx2.Client:
    """A client whose every call is answered 200 with an event stream of `pieces`; an exception among them
    is raised at that point of the read, as a stalled or dropped connection would."""

    def body() -> Iterator[bytes]:
        for piece in pieces:
            if isinstance(piece, Exception):
                raise piece
            yield piece

    def answer(request: httpx2.Request) -> httpx2.Response:
        return httpx2.Response(200, headers={"content-type": "text/event-stream"}, content=body())

    return httpx2.Client(transport=httpx2.MockTransport(answer))


_PARTIAL = b'event: image_generation.partial_image\ndata: {"type": "image_generation.partial_image", '
_PARTIAL += b'"partial_image_index": 0, "b64_json": "' + base64.b64encode(png(8, 8)) + b'"}\n\n'


@pytest.mark.parametrize(
    ("failure", "code"),
    [
        (httpx2.ReadTimeout("stalled"), "timeout"),
        (httpx2.RemoteProtocolError("peer closed connection"), "connection_error"),
    ],
    ids=["stalled", "dropped"],
)
def test_a_stream_that_stalls_or_drops_after_a_preview_is_retryable(failure: Exception, code: str) -> None:
    previews: list[PartialImage] = []
    with _streamed(_PARTIAL, failure) as http:
        gpt_image_2 = AzureImages(
            openai_client("http://azure.test", SecretStr("k"), http, 30), Deployment("gpt-image-2", "gpt-image-2")
        )
        with pytest.raises(ServiceUnavailable) as broken:
            gpt_image_2.generate(request(), on_partial=previews.append)
    assert (broken.value.code, broken.value.retryable, len(previews)) == (code, True, 1)


def test_an_error_event_and_done_end_a_stream_as_the_sdk_would() -> None:
    refusal = b'{"error": {"code": "moderation_blocked", "message": "Generated image was filtered"}}'
    error = b"event: error\ndata: " + refusal + b"\n\n"
    with _streamed(_PARTIAL, error) as http:
        client = openai_client("http://azure.test", SecretStr("k"), http, 30)
        with pytest.raises(ContentRejected) as refused:
            AzureImages(client, Deployment("gpt-image-2", "gpt-image-2")).generate(request(), on_partial=lambda _: None)
    assert refused.value.stage == "output"
    with _streamed(_PARTIAL, b"data: [DONE]\n\n") as http:
        client = openai_client("http://azure.test", SecretStr("k"), http, 30)
        with pytest.raises(ServiceUnavailable) as ended:
            AzureImages(client, Deployment("gpt-image-2", "gpt-image-2")).generate(request(), on_partial=lambda _: None)
    assert ended.value.code == "stream_ended"


def test_a_retired_deployment_costs_one_call(azure: AzureEmulator, http: httpx2.Client) -> None:
    azure.retire("gpt-image-1.5")
    with pytest.raises(DeploymentNotFound) as missing:
        images(azure, http, "gpt-image-1.5").generate(request(size="1024x1024"))
    assert missing.value.deployment == "gpt-image-1.5"
    assert not missing.value.retryable
    assert len(azure.calls()) == 1


def test_a_wrong_key_is_misconfiguration(azure: AzureEmulator, http: httpx2.Client) -> None:
    client = openai_client(azure.url, SecretStr("wrong-key"), http, 30)
    with pytest.raises(Misconfigured) as refused:
        AzureImages(client, Deployment("gpt-image-2", "gpt-image-2")).generate(request())
    assert refused.value.code == "azure_auth_failed"


def test_an_invalid_size_azure_refuses_is_invalid_not_retried(azure: AzureEmulator, http: httpx2.Client) -> None:
    with pytest.raises(InvalidRequest) as refused:
        images(azure, http, "gpt-image-1-mini").generate(request(size="1536x864"))
    assert not refused.value.retryable


def test_a_connection_that_cannot_be_made_is_retryable(http: httpx2.Client) -> None:
    client = openai_client("http://127.0.0.1:9", SecretStr("k"), http, 30)
    with pytest.raises(ServiceUnavailable) as down:
        AzureImages(client, Deployment("gpt-image-2", "gpt-image-2")).generate(request())
    assert down.value.code == "connection_error"


# --- the retired models, for resources that still serve them -------------------------------------------


@pytest.fixture(scope="module")
def legacy_http() -> Iterator[httpx.Client]:
    with httpx.Client(trust_env=False) as client:
        yield client


def legacy(azure: AzureEmulator, http: httpx.Client, name: str, model: str) -> LegacyAzureImages:
    return LegacyAzureImages(
        endpoint=azure.url,
        api_key=SecretStr(azure.api_key),
        deployment=Deployment(name, model),
        http=http,
        poll_interval_s=0.001,
        sleep=lambda _: None,
        clock=time.monotonic,
    )


def test_dall_e_3_returns_its_revised_prompt(azure: AzureEmulator, legacy_http: httpx.Client) -> None:
    result: ImageResult = legacy(azure, legacy_http, "dalle3", "dall-e-3").generate(
        ImageRequest("a fox", "1792x1024", "hd", style="natural")
    )
    assert result.revised_prompt and result.images[0].content.startswith(b"\x89PNG")
    [call] = azure.calls()
    assert call.path == "/openai/deployments/dalle3/images/generations"


def test_dall_e_2_is_submitted_and_polled(azure: AzureEmulator, legacy_http: httpx.Client) -> None:
    result = legacy(azure, legacy_http, "dalle2", "dall-e-2").generate(ImageRequest("a fox", "512x512", None, n=2))
    assert len(result.images) == 2
    assert [c.operation for c in azure.recorded() if c.operation in ("submit", "poll")][:2] == ["submit", "poll"]


def test_legacy_models_cannot_edit(azure: AzureEmulator, legacy_http: httpx.Client) -> None:
    with pytest.raises(InvalidRequest):
        legacy(azure, legacy_http, "dalle3", "dall-e-3").edit(ImageRequest("x", "1024x1024"), [])
