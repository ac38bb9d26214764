"""slack_sdk's `WebClient` with its calls sent over kept-alive connections.

slack_sdk sends every Web API call through `urllib`, on a new connection: against slack.com each call
pays a TCP and a TLS handshake (one to three round trips) before Slack sees it, and a job makes about
nine calls (placeholder, "Drawing", the three upload steps for a preview and again for the image, the
result, the clean-up). This client keeps everything of slack_sdk (building the request, its retry
handlers, parsing and validating the answer) and replaces only the step that opens the socket,
`_perform_urllib_http_request_internal`, with a shared `httpx.Client` whose connections stay open.

That method is private to slack_sdk; its contract, as slack_sdk's retry loop reads it, is kept here: a
2xx answer returns {"status", "headers", "body"}; any other status raises `urllib.error.HTTPError` with
the body (the 429 handler reads Retry-After from it); a connection that fails raises `URLError` (the
connection retry handler's type) and a timeout `TimeoutError`, as urllib would.
tests/inprocess/test_slack_web_client.py holds it to slack_sdk's own transport against the emulator.
A client with a proxy (slack_sdk reads HTTPS_PROXY) keeps slack_sdk's own transport.
"""

from __future__ import annotations

import io
import urllib.error
import urllib.request
from http.client import HTTPMessage
from typing import Any

import httpx
from slack_sdk import WebClient


class _Pool:
    """The connections, shared by every copy of the client: Bolt deep-copies the client with each lazy
    listener's request, and a copy must neither copy sockets nor open its own."""

    def __init__(self, http: httpx.Client) -> None:
        self.http = http

    def __deepcopy__(self, memo: dict[int, object]) -> _Pool:
        return self


class PooledWebClient(WebClient):
    def __init__(self, *, http: httpx.Client, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._pool = _Pool(http)

    def _perform_urllib_http_request_internal(self, url: str, req: urllib.request.Request) -> dict[str, Any]:
        if self.proxy is not None or not url.lower().startswith(("http://", "https://")):
            return super()._perform_urllib_http_request_internal(url, req)
        try:
            answer = self._pool.http.request(
                req.get_method(),
                url,
                headers={name: str(value) for name, value in req.header_items()},
                content=req.data if isinstance(req.data, bytes) else None,
                timeout=self.timeout,
            )
        except httpx.TimeoutException as error:
            raise TimeoutError(f"Slack did not answer within {self.timeout} s") from error
        except httpx.TransportError as error:
            raise urllib.error.URLError(error) from error
        headers = HTTPMessage()
        for name, value in answer.headers.multi_items():
            headers[name] = value
        if not 200 <= answer.status_code < 300:
            body_file = io.BytesIO(answer.content)
            raise urllib.error.HTTPError(url, answer.status_code, answer.reason_phrase, headers, body_file)
        charset = headers.get_content_charset() or "utf-8"
        body: str | bytes = answer.content
        if headers.get_content_type() != "application/gzip":  # admin.analytics.getFile is binary
            body = answer.content.decode(charset)
        return {"status": answer.status_code, "headers": headers, "body": body}
