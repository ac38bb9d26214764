"""The blob storage behind DALL-E's image URLs: SAS-signed, time-limited, deletable (contract §9.3).

Section numbers refer to docs/contracts/azure-openai-images.md.
"""

from __future__ import annotations

import base64
import hmac
import secrets
import threading
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Final
from urllib.parse import urlencode

from devkit.http import Request, Response
from devkit.pictures import draw, pad_png

__all__ = ["BLOB_PREFIX", "BlobStore"]

BLOB_PREFIX: Final = "/blob/"
_AUTH_FAILED: Final = (
    "Server failed to authenticate the request. Make sure the value of Authorization header is formed "
    "correctly including the signature."
)


@dataclass
class _Blob:
    prompt: str
    width: int
    height: int
    seed: int
    sig: str
    expires_wall: float  # the `se=` the URL shows
    expires_at: float  # on the emulator's clock
    expired: bool = False
    deleted: bool = False


def _iso_utc(epoch_s: float) -> str:
    return datetime.fromtimestamp(epoch_s, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _http_date(epoch_s: float) -> str:
    return datetime.fromtimestamp(epoch_s, UTC).strftime("%a, %d %b %Y %H:%M:%S GMT")


class BlobStore:
    """Issues image URLs on the emulator's own port and serves them; images are drawn again on each GET."""

    def __init__(self, clock: Callable[[], float], ttl_s: float, pad_to: int | None) -> None:
        self._clock = clock
        self._ttl_s = ttl_s
        self._pad_to = pad_to
        self._key = secrets.token_bytes(16)
        self._lock = threading.Lock()
        self._blobs: dict[str, _Blob] = {}

    def issue(
        self, base_url: str, prompt: str, size: tuple[int, int], seed: int, index: int, created: float
    ) -> tuple[str, str]:
        """§9.3: a SAS-style URL whose `se=` is `created` + the TTL; returns its path and the absolute URL."""
        path = f"{BLOB_PREFIX}images/{uuid.uuid4()}/generated_{index:02d}.png"
        sig = base64.urlsafe_b64encode(hmac.digest(self._key, path.encode(), "sha256")).decode().rstrip("=")
        expiry = created + self._ttl_s
        blob = _Blob(prompt, size[0], size[1], seed, sig, expiry, self._clock() + self._ttl_s)
        with self._lock:
            self._blobs[path] = blob
        query = urlencode({"se": _iso_utc(expiry), "sig": sig, "sp": "r", "sr": "b", "sv": "2020-10-02"})
        return path, f"{base_url}{path}?{query}"

    def expire_all(self) -> None:
        with self._lock:
            for blob in self._blobs.values():
                blob.expired = True

    def delete(self, paths: list[str]) -> None:
        with self._lock:
            for path in paths:
                if path in self._blobs:
                    self._blobs[path].deleted = True

    def serve(self, request: Request) -> Response:
        """§9.3: 200 with the PNG; 404 BlobNotFound; 403 AuthenticationFailed for a bad signature or expiry."""
        with self._lock:
            blob = self._blobs.get(request.path)
            gone = blob is None or blob.deleted
            expired = blob is not None and (blob.expired or self._clock() >= blob.expires_at)
        if blob is None or gone:
            return _blob_error(404, "BlobNotFound", "The specified blob does not exist.")
        if not hmac.compare_digest(request.args.get("sig", "").encode(), blob.sig.encode()):
            return _blob_error(403, "AuthenticationFailed", _AUTH_FAILED, "Signature did not match.")
        if expired:
            now = datetime.now(UTC).timestamp()
            return _blob_error(
                403,
                "AuthenticationFailed",
                _AUTH_FAILED,
                f"Signed expiry time [{_http_date(blob.expires_wall)}] must be after signed start time and has "
                f"to be after the current time [{_http_date(now)}]",
            )
        png = pad_png(draw(blob.prompt, blob.width, blob.height, seed=blob.seed), self._pad_to)
        return Response(png, status=200, headers={"x-ms-blob-type": "BlockBlob"}, content_type="image/png")


def _blob_error(status: int, code: str, message: str, detail: str | None = None) -> Response:
    # §9.3: Azure Blob Storage's XML error envelope; the message ends with RequestId and Time lines.
    stamp = datetime.now(UTC).isoformat(timespec="microseconds")
    text = f"{message}\nRequestId:{uuid.uuid4()}\nTime:{stamp}"
    xml = f'<?xml version="1.0" encoding="utf-8"?><Error><Code>{code}</Code><Message>{text}</Message>'
    if detail is not None:
        xml += f"<AuthenticationErrorDetail>{detail}</AuthenticationErrorDetail>"
    xml += "</Error>"
    return Response(xml.encode(), status=status, headers={"x-ms-error-code": code}, content_type="application/xml")
