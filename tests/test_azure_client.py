"""The Azure client over real HTTP against the Azure emulator: request shapes and error classification."""

from __future__ import annotations

import io
from collections.abc import Iterator

import httpx
import pytest
from PIL import Image
from pydantic import SecretStr

from bot.emulators import azure as emulated
from bot.emulators.azure import AzureEmulator
from bot.images import (
    ContentRejected,
    ImageGenerationError,
    InvalidRequest,
    Misconfigured,
    RateLimited,
    ServiceUnavailable,
)
from bot.images.azure import DEFAULT_API_VERSIONS, AzureOpenAIImages
from bot.request import Family, ImageRequest

KEY = "emulated-key-0123"
DALL_E_3 = ImageRequest(prompt="a red fox", size="1024x1792", quality="hd", style="natural", n=1)
GPT_IMAGE = ImageRequest(prompt="a red fox", size="1536x1024", quality="low", style=None, n=2)
DALL_E_2 = ImageRequest(prompt="a red fox", size="256x256", quality=None, style=None, n=3)
REQUEST_FOR = {"dall-e-3": DALL_E_3, "gpt-image-1": GPT_IMAGE, "dall-e-2": DALL_E_2}
DEPLOYMENT_FOR = {"dall-e-3": "dalle3", "gpt-image-1": "gpt-image", "dall-e-2": "dalle2"}


@pytest.fixture
def emulator() -> Iterator[AzureEmulator]:
    with AzureEmulator(api_key=KEY, deployments={v: k for k, v in DEPLOYMENT_FOR.items()}) as server:
        yield server


@pytest.fixture
def http() -> Iterator[httpx.Client]:
    with httpx.Client(trust_env=False) as client:
        yield client


def client_for(
    emulator: AzureEmulator, http: httpx.Client, model: str, *, key: str = KEY, **kwargs: object
) -> AzureOpenAIImages:
    return AzureOpenAIImages(
        endpoint=emulator.url + "/",
        api_key=SecretStr(key),
        deployment=kwargs.pop("deployment", DEPLOYMENT_FOR[model]),  # type: ignore[arg-type]
        model=model,
        http=http,
        poll_interval_s=0.01,
        sleep=lambda s: None if s < 0.05 else __import__("time").sleep(0.05),
        **kwargs,  # type: ignore[arg-type]
    )


@pytest.mark.parametrize("model", ["dall-e-3", "gpt-image-1", "dall-e-2"])
def test_each_family_returns_real_images_of_the_requested_size(
    emulator: AzureEmulator, http: httpx.Client, model: str
) -> None:
    request = REQUEST_FOR[model]

    result = client_for(emulator, http, model).generate(request)

    width, height = (int(x) for x in request.size.split("x"))
    assert len(result.images) == request.n
    for image in result.images:
        assert image.media_type == "image/png"
        assert Image.open(io.BytesIO(image.content)).size == (width, height)
    assert result.latency_ms >= 0
    assert (result.revised_prompt is not None) == (model == "dall-e-3")
    assert (result.usage is not None) == (model == "gpt-image-1")


@pytest.mark.parametrize(
    ("model", "path", "body"),
    [
        (
            "dall-e-3",
            "/openai/deployments/dalle3/images/generations",
            {
                "prompt": "a red fox",
                "n": 1,
                "size": "1024x1792",
                "quality": "hd",
                "style": "natural",
                "response_format": "url",
            },
        ),
        (
            "gpt-image-1",
            "/openai/deployments/gpt-image/images/generations",
            {"prompt": "a red fox", "n": 2, "size": "1536x1024", "quality": "low", "output_format": "png"},
        ),
        ("dall-e-2", "/openai/images/generations:submit", {"prompt": "a red fox", "n": 3, "size": "256x256"}),
    ],
)
def test_the_request_follows_the_wire_contract(
    emulator: AzureEmulator, http: httpx.Client, model: str, path: str, body: dict[str, object]
) -> None:
    client_for(emulator, http, model).generate(REQUEST_FOR[model])

    [call] = emulator.generation_calls()
    assert call.path == path
    assert call.query["api-version"] == DEFAULT_API_VERSIONS[Family.of(model)]
    assert call.headers["api-key"] == KEY
    assert call.json == body
    downloads = [r for r in emulator.recorded() if r.path.startswith("/blob/")]
    assert all("api-key" not in r.headers for r in downloads)  # the blob URL carries its own signature


def test_an_explicit_api_version_is_used(emulator: AzureEmulator, http: httpx.Client) -> None:
    client_for(emulator, http, "dall-e-3", api_version="2024-02-01").generate(DALL_E_3)
    assert emulator.generation_calls()[0].query["api-version"] == "2024-02-01"


@pytest.mark.parametrize(
    ("fault", "error_type", "code"),
    [
        (emulated.ContentPolicy(), ContentRejected, "content_rejected_prompt"),
        (emulated.ContentPolicy(revised_prompt=None), ContentRejected, "content_rejected_prompt"),
        (emulated.OutputFiltered(status=400), ContentRejected, "content_rejected_output"),
        (emulated.OutputFiltered(status=200), ContentRejected, "content_rejected_output"),
        (emulated.RateLimited(retry_after_ms=1500), RateLimited, "rate_limited"),
        (emulated.ServerError(500), ServiceUnavailable, "service_unavailable"),
        (emulated.ServerError(503), ServiceUnavailable, "service_unavailable"),
        (emulated.Malformed(), ServiceUnavailable, "malformed_response"),
    ],
)
@pytest.mark.parametrize("model", ["dall-e-3", "gpt-image-1"])
def test_sync_faults_map_to_the_error_hierarchy(
    emulator: AzureEmulator, http: httpx.Client, model: str, fault: emulated.Fault, error_type: type, code: str
) -> None:
    emulator.fail_next(fault)

    with pytest.raises(error_type) as caught:
        client_for(emulator, http, model).generate(REQUEST_FOR[model])

    assert caught.value.code == code
    assert caught.value.retryable == (error_type in (RateLimited, ServiceUnavailable))


def test_rate_limit_carries_the_services_delay(emulator: AzureEmulator, http: httpx.Client) -> None:
    emulator.fail_next(emulated.RateLimited(retry_after_ms=1500))

    with pytest.raises(RateLimited) as caught:
        client_for(emulator, http, "dall-e-3").generate(DALL_E_3)

    assert caught.value.retry_after == pytest.approx(1.5)


@pytest.mark.parametrize(
    ("fault", "error_type", "code"),
    [
        (emulated.ContentPolicy(), ContentRejected, "content_rejected_prompt"),
        (emulated.OutputFiltered(), ContentRejected, "content_rejected_output"),
        (emulated.OperationStatus("canceled"), ServiceUnavailable, "operation_canceled"),
        (emulated.OperationStatus("deleted"), ServiceUnavailable, "operation_deleted"),
        (emulated.OperationStatus("failed"), ServiceUnavailable, "operation_failed"),
        (emulated.RateLimited(), RateLimited, "rate_limited"),
    ],
)
def test_dall_e_2_operation_outcomes(
    emulator: AzureEmulator, http: httpx.Client, fault: emulated.Fault, error_type: type, code: str
) -> None:
    emulator.fail_next(fault)

    with pytest.raises(error_type) as caught:
        client_for(emulator, http, "dall-e-2").generate(DALL_E_2)

    assert caught.value.code == code


def test_dall_e_2_polls_until_done_and_honours_retry_after(http: httpx.Client) -> None:
    slept: list[float] = []
    with AzureEmulator(api_key=KEY, deployments={"dalle2": "dall-e-2"}, latency_s=0.2, poll_retry_after_s=1) as server:
        client = AzureOpenAIImages(
            endpoint=server.url,
            api_key=SecretStr(KEY),
            deployment="dalle2",
            model="dall-e-2",
            http=http,
            sleep=lambda s: (slept.append(s), __import__("time").sleep(0.1))[0],
        )
        result = client.generate(DALL_E_2)

    assert len(result.images) == 3
    assert slept
    assert all(s == 1.0 for s in slept)
    polls = [r for r in server.recorded() if r.path.startswith("/openai/operations/images/")]
    assert len(polls) == len(slept) + 1


def test_dall_e_2_gives_up_at_its_deadline(http: httpx.Client) -> None:
    now = [0.0]

    def sleep(seconds: float) -> None:
        now[0] += seconds

    with AzureEmulator(api_key=KEY, deployments={"dalle2": "dall-e-2"}, latency_s=60) as server:
        client = AzureOpenAIImages(
            endpoint=server.url,
            api_key=SecretStr(KEY),
            deployment="dalle2",
            model="dall-e-2",
            http=http,
            timeout_s=5,
            poll_interval_s=2,
            sleep=sleep,
            clock=lambda: now[0],
        )
        with pytest.raises(ServiceUnavailable) as caught:
            client.generate(DALL_E_2)
    assert caught.value.code == "timeout"
    assert now[0] == 4.0  # two polls' waits fit in five seconds; a third would not


@pytest.mark.parametrize(
    ("kwargs", "code"),
    [
        ({"key": "wrong-key"}, "azure_auth_failed"),
        ({"deployment": "no-such-deployment"}, "azure_deployment_not_found"),
        ({"api_version": "2019-01-01"}, "azure_not_found"),
    ],
)
def test_configuration_errors_are_final(
    emulator: AzureEmulator, http: httpx.Client, kwargs: dict[str, str], code: str
) -> None:
    with pytest.raises(Misconfigured) as caught:
        client_for(emulator, http, "dall-e-3", **kwargs).generate(DALL_E_3)  # type: ignore[arg-type]

    assert caught.value.code == code
    assert not caught.value.retryable
    assert "wrong-key" not in str(caught.value)


def test_an_invalid_request_is_final(emulator: AzureEmulator, http: httpx.Client) -> None:
    bad = ImageRequest(prompt="a fox", size="512x512", quality="hd", style="vivid", n=1)
    with pytest.raises(InvalidRequest):
        client_for(emulator, http, "dall-e-3").generate(bad)


def test_slow_responses_time_out_as_retryable(emulator: AzureEmulator, http: httpx.Client) -> None:
    emulator.fail_next(emulated.Slow(3.0))
    with pytest.raises(ServiceUnavailable) as caught:
        client_for(emulator, http, "gpt-image-1", timeout_s=0.5).generate(GPT_IMAGE)
    assert caught.value.code == "timeout"


def test_connection_errors_are_retryable(http: httpx.Client) -> None:
    client = AzureOpenAIImages(
        endpoint="http://127.0.0.1:9", api_key=SecretStr(KEY), deployment="d", model="dall-e-3", http=http
    )
    with pytest.raises(ServiceUnavailable) as caught:
        client.generate(DALL_E_3)
    assert caught.value.code == "connection_error"


def test_an_expired_image_url_is_retryable(emulator: AzureEmulator, http: httpx.Client) -> None:
    with (
        AzureEmulator(api_key=KEY, deployments={"dalle3": "dall-e-3"}, image_ttl_s=0) as server,
        pytest.raises(ServiceUnavailable) as caught,
    ):
        client_for(server, http, "dall-e-3").generate(DALL_E_3)
    assert caught.value.code == "image_expired"


def test_oversized_images_are_refused(emulator: AzureEmulator, http: httpx.Client) -> None:
    with pytest.raises(ServiceUnavailable) as caught:
        client_for(emulator, http, "dall-e-3", max_image_bytes=1000).generate(DALL_E_3)
    assert caught.value.code == "image_too_large"


def test_every_error_is_an_image_generation_error() -> None:
    for error_type in (ContentRejected, Misconfigured, InvalidRequest, RateLimited, ServiceUnavailable):
        assert issubclass(error_type, ImageGenerationError)
