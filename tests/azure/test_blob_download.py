"""Downloading the image Azure points at (`LegacyAzureImages._download`, dall-e-3): the URL is not ours, so it is
fetched with limits. Only that URL, without the api-key; a bounded number of redirects; an image
content type; a size cap; timeouts. Every failure is an ordinary `ImageGenerationError` that the job
queue retries or finishes, never another exception.

A tiny loopback server plays Azure (the generation call) and the blob store (the image URL); a second
one, reached by another host name, plays the foreign host a redirect leads to.
"""

from __future__ import annotations

import contextlib
import io
import json
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import httpx
import pytest
from PIL import Image
from pydantic import SecretStr

from bot.images.azure_legacy import LegacyAzureImages
from bot.images.generator import ImageGenerationError, ServiceUnavailable
from bot.images.models import Deployment
from bot.images.request import ImageRequest

KEY = "download-test-api-key-0123"
DEPLOYMENT = "dalle3"
REQUEST = ImageRequest(prompt="a red fox", size="1024x1024", quality="standard", style="vivid", n=1)
GENERATE = f"/openai/deployments/{DEPLOYMENT}/images/generations"


def png() -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (8, 8), "red").save(out, "PNG")
    return out.getvalue()


PNG = png()
Reply = tuple[int, dict[str, str], bytes | list[bytes]]  # a list is sent chunked, without Content-Length


@dataclass
class Seen:
    method: str
    path: str
    headers: dict[str, str]


@dataclass
class Server:
    host: str
    port: int = 0
    routes: dict[str, Callable[[], Reply]] = field(default_factory=dict)
    seen: list[Seen] = field(default_factory=list)

    @property
    def base(self) -> str:
        return f"http://{self.host}:{self.port}"

    def paths(self) -> list[str]:
        return [s.path for s in self.seen]


@contextmanager
def serve(host: str) -> Iterator[Server]:
    server = Server(host)

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, format: str, *args: object) -> None:  # keep test output quiet
            pass

        def _answer(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            if length:
                self.rfile.read(length)
            path = self.path.split("?")[0]
            server.seen.append(Seen(self.command, path, {k.lower(): v for k, v in self.headers.items()}))
            route = server.routes.get(path)
            status, headers, body = route() if route else (404, {"Content-Type": "text/plain"}, b"no such blob")
            # The client may stop reading (a refused content type or size): what these tests want.
            with contextlib.suppress(BrokenPipeError, ConnectionResetError):
                self._send(status, headers, body)

        def _send(self, status: int, headers: dict[str, str], body: bytes | list[bytes]) -> None:
            self.send_response(status)
            for name, value in headers.items():
                self.send_header(name, value)
            if isinstance(body, list):
                self.send_header("Transfer-Encoding", "chunked")
                self.end_headers()
                for chunk in body:
                    self.wfile.write(f"{len(chunk):x}\r\n".encode() + chunk + b"\r\n")
                self.wfile.write(b"0\r\n\r\n")
            else:
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

        do_GET = do_POST = _answer

    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.port = httpd.server_address[1]
    thread = threading.Thread(target=httpd.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True)
    thread.start()
    try:
        yield server
    finally:
        httpd.shutdown()
        httpd.server_close()


@pytest.fixture
def azure() -> Iterator[Server]:
    with serve("127.0.0.1") as server:
        yield server


@pytest.fixture
def foreign() -> Iterator[Server]:
    # Another host name for the same loopback interface: a different origin, as a CDN would be.
    with serve("localhost") as server:
        yield server


def returns_url(azure: Server, url: str) -> None:
    """Azure answers the generation call with this image URL (dall-e-3's shape, §1)."""
    body = json.dumps({"created": 1, "data": [{"url": url, "revised_prompt": "a red fox, painted"}]}).encode()
    azure.routes[GENERATE] = lambda: (200, {"Content-Type": "application/json"}, body)


def redirect(to: str, status: int = 302) -> Callable[[], Reply]:
    return lambda: (status, {"Location": to}, b"")


def image(content_type: str = "image/png", body: bytes | list[bytes] = PNG) -> Callable[[], Reply]:
    return lambda: (200, {"Content-Type": content_type}, body)


def client(azure: Server, http: httpx.Client, **kwargs: object) -> LegacyAzureImages:
    return LegacyAzureImages(
        endpoint=azure.base,
        api_key=SecretStr(KEY),
        deployment=Deployment(DEPLOYMENT, "dall-e-3"),
        http=http,
        **kwargs,  # type: ignore[arg-type]
    )


@pytest.fixture
def http() -> Iterator[httpx.Client]:
    with httpx.Client(trust_env=False) as c:
        yield c


def generate_error(azure: Server, http: httpx.Client, **kwargs: object) -> ImageGenerationError:
    with pytest.raises(ImageGenerationError) as caught:
        client(azure, http, **kwargs).generate(REQUEST)
    return caught.value


def test_the_image_is_fetched_from_exactly_the_url_azure_returned_without_the_key(
    azure: Server, http: httpx.Client
) -> None:
    returns_url(azure, f"{azure.base}/blob/img.png?sv=2024&sig=abc")
    azure.routes["/blob/img.png"] = image()

    result = client(azure, http).generate(REQUEST)

    assert result.images[0].content == PNG
    generation, download = azure.seen
    assert generation.headers["api-key"] == KEY  # the call to Azure is authenticated…
    assert (download.method, download.path) == ("GET", "/blob/img.png")
    assert "api-key" not in download.headers
    assert "authorization" not in download.headers


def test_a_redirect_to_another_host_is_followed_without_the_key(
    azure: Server, foreign: Server, http: httpx.Client
) -> None:
    returns_url(azure, f"{azure.base}/blob/moved.png")
    azure.routes["/blob/moved.png"] = redirect(f"{foreign.base}/cdn/img.png", 307)
    foreign.routes["/cdn/img.png"] = image()

    result = client(azure, http).generate(REQUEST)

    assert result.images[0].content == PNG
    [fetched] = foreign.seen
    assert "api-key" not in fetched.headers
    assert "authorization" not in fetched.headers
    assert fetched.headers["host"] == f"localhost:{foreign.port}"


def test_three_redirects_are_followed(azure: Server, foreign: Server, http: httpx.Client) -> None:
    returns_url(azure, f"{azure.base}/r1")
    azure.routes["/r1"] = redirect(f"{foreign.base}/r2")
    foreign.routes["/r2"] = redirect(f"{azure.base}/r3", 301)
    azure.routes["/r3"] = redirect("/blob/img.png", 308)  # relative, resolved against /r3
    azure.routes["/blob/img.png"] = image()

    assert client(azure, http).generate(REQUEST).images[0].content == PNG


def test_a_longer_redirect_chain_is_a_retryable_error_and_stops_at_the_limit(
    azure: Server, foreign: Server, http: httpx.Client
) -> None:
    returns_url(azure, f"{azure.base}/r1")
    azure.routes["/r1"] = redirect(f"{foreign.base}/r2")
    foreign.routes["/r2"] = redirect(f"{azure.base}/r3")
    azure.routes["/r3"] = redirect(f"{foreign.base}/r4")
    foreign.routes["/r4"] = redirect(f"{azure.base}/blob/img.png")
    azure.routes["/blob/img.png"] = image()

    error = generate_error(azure, http)

    assert isinstance(error, ServiceUnavailable)
    assert error.retryable
    assert error.code == "image_download_failed"
    assert "/blob/img.png" not in azure.paths()  # the fifth hop was never made
    assert not any("api-key" in s.headers for s in foreign.seen)


def test_a_redirect_loop_ends(azure: Server, http: httpx.Client) -> None:
    returns_url(azure, f"{azure.base}/loop")
    azure.routes["/loop"] = redirect("/loop")

    error = generate_error(azure, http)

    assert error.retryable
    assert azure.paths().count("/loop") == 4  # the URL itself and three redirects


@pytest.mark.parametrize(
    "reply",
    [
        pytest.param(image("text/html", b"<html><body>Sign in to continue</body></html>"), id="an HTML page"),
        pytest.param(image("application/json", b'{"error": "nope"}'), id="JSON"),
        pytest.param(image("", PNG), id="no content type"),
        pytest.param(image("image", PNG), id="a bare 'image'"),
        pytest.param(lambda: (200, {}, PNG), id="no header at all"),
        pytest.param(lambda: (302, {}, b""), id="a redirect without Location"),
        pytest.param(lambda: (500, {"Content-Type": "image/png"}, b""), id="a server error"),
    ],
)
def test_anything_but_an_image_is_an_ordinary_error(
    azure: Server, http: httpx.Client, reply: Callable[[], Reply]
) -> None:
    returns_url(azure, f"{azure.base}/blob/img.png")
    azure.routes["/blob/img.png"] = reply

    error = generate_error(azure, http)

    assert isinstance(error, ServiceUnavailable)
    assert error.code == "image_download_failed"
    assert "Sign in" not in error.detail  # the body is not read into messages


@pytest.mark.parametrize(
    "location",
    ["file:///etc/passwd", "ftp://example.invalid/img.png", "gopher://x", "http://[bad", "http://a:99999/x"],
)
def test_a_redirect_to_an_odd_url_is_an_ordinary_error(azure: Server, http: httpx.Client, location: str) -> None:
    returns_url(azure, f"{azure.base}/blob/img.png")
    azure.routes["/blob/img.png"] = redirect(location)

    error = generate_error(azure, http)

    assert isinstance(error, ServiceUnavailable)


@pytest.mark.parametrize("url", ["file:///etc/passwd", "not a url", "", "javascript:alert(1)"])
def test_an_odd_url_from_azure_is_an_ordinary_error(azure: Server, http: httpx.Client, url: str) -> None:
    returns_url(azure, url)

    assert isinstance(generate_error(azure, http), ServiceUnavailable)


def test_the_size_cap_holds_without_a_content_length(azure: Server, http: httpx.Client) -> None:
    # Chunked: nothing announces the size, so the cap has to be counted while reading.
    returns_url(azure, f"{azure.base}/blob/big.png")
    azure.routes["/blob/big.png"] = image(body=[PNG] + [b"\0" * 65536] * 40)

    error = generate_error(azure, http, max_image_bytes=1024 * 1024)

    assert isinstance(error, ServiceUnavailable)
    assert error.code == "image_too_large"


def test_the_size_cap_refuses_an_announced_size_before_reading(azure: Server, http: httpx.Client) -> None:
    returns_url(azure, f"{azure.base}/blob/big.png")
    azure.routes["/blob/big.png"] = image(body=PNG + b"\0" * 4096)

    error = generate_error(azure, http, max_image_bytes=2048)

    assert isinstance(error, ServiceUnavailable)
    assert error.code == "image_too_large"


def test_the_download_has_timeouts_and_a_timeout_is_retryable() -> None:
    seen: list[dict[str, float | None]] = []

    def handler(request: httpx.Request) -> httpx.Response:
        if request.url.path == GENERATE:
            body = {"data": [{"url": "https://blob.example/img.png", "revised_prompt": "x"}]}
            return httpx.Response(200, json=body)
        seen.append(request.extensions["timeout"])
        raise httpx.ReadTimeout("the blob store stopped sending", request=request)

    with httpx.Client(transport=httpx.MockTransport(handler)) as http:
        images = LegacyAzureImages(
            endpoint="https://azure.example",
            api_key=SecretStr(KEY),
            deployment=Deployment(DEPLOYMENT, "dall-e-3"),
            http=http,
        )
        with pytest.raises(ServiceUnavailable) as caught:
            images.generate(REQUEST)

    assert caught.value.code == "timeout"
    assert caught.value.retryable
    [timeouts] = seen
    assert all(isinstance(value, int | float) and 0 < value <= 60 for value in timeouts.values()), timeouts


def test_a_download_that_trickles_bytes_has_an_overall_deadline(azure: Server, http: httpx.Client) -> None:
    returns_url(azure, f"{azure.base}/blob/slow.png")
    azure.routes["/blob/slow.png"] = image(body=[PNG[i : i + 8] for i in range(0, len(PNG), 8)])
    now = [0.0]

    def clock() -> float:
        now[0] += 30.0  # every look at the clock, half a minute has passed: each chunk arrives "slowly"
        return now[0]

    error = generate_error(azure, http, clock=clock)

    assert isinstance(error, ServiceUnavailable)
    assert error.code == "timeout"
    assert error.retryable
