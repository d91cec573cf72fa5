"""An HTTP client for the AnoMed peers, with errors that say what failed.

Our servers talk to a challenge (download data, upload results for scoring)
and our self-audit talks to an anonymizer (``POST /predict``): one client,
:class:`PeerClient`, does both. One :class:`requests.Session` per process is
reused for connection pooling (gunicorn forks workers, and a session must not
cross a fork). Every call has an explicit timeout, and responses are read with
a size bound.
"""

from __future__ import annotations

import json
import logging
import os
import time
from collections.abc import Callable, Iterable, Mapping
from typing import Any, TypeVar

import numpy as np
import pandas as pd
import requests

from ..errors import UpstreamError, UpstreamUnavailableError
from .errors import PayloadError
from .multipart import encode_multipart
from .npz import decode_named_arrays, encode_named_arrays
from .parquet import decode_table, encode_table

__all__ = [
    "ChallengeClient",
    "ChallengeError",
    "ChallengeProtocolError",
    "ChallengeRejectedError",
    "ChallengeUnavailableError",
    "PeerClient",
    "PeerError",
    "PeerProtocolError",
    "PeerRejectedError",
    "PeerUnavailableError",
]

_logger = logging.getLogger(__name__)

_BODY_EXCERPT = 300
_T = TypeVar("_T")
DEFAULT_MAX_RESPONSE_BYTES = 1 << 30


class PeerError(UpstreamError):
    """Talking to a peer failed.

    Parameters
    ----------
    message : str
        What failed.
    url : str
        The URL that was requested.
    title : str | None, optional
        A short title for the JSON error body; by default the class's.
    """

    def __init__(self, message: str, url: str, *, title: str | None = None) -> None:
        super().__init__(message, title=title)
        self.url = url


class PeerUnavailableError(PeerError, UpstreamUnavailableError):
    """The peer could not be reached, or did not answer in time."""

    title = "Peer unavailable"


class PeerRejectedError(PeerError):
    """The peer answered with an unexpected HTTP status.

    Parameters
    ----------
    message : str
        What failed.
    url : str
        The URL that was requested.
    status : int
        The status the peer answered with.
    body_excerpt : str
        The first bytes of its body, decoded leniently.
    """

    title = "Peer rejected the request"

    def __init__(self, message: str, url: str, status: int, body_excerpt: str) -> None:
        super().__init__(message, url)
        self.status = status
        self.body_excerpt = body_excerpt


class PeerProtocolError(PeerError):
    """The peer answered, but its payload is not what the protocol says (or
    holds data the receiving model rejects)."""

    title = "Bad peer payload"


# The names from when the client only talked to challenges.
ChallengeError = PeerError
ChallengeUnavailableError = PeerUnavailableError
ChallengeRejectedError = PeerRejectedError
ChallengeProtocolError = PeerProtocolError


class PeerClient:
    """Fetches data from and posts results to a peer (challenge or anonymizer).

    Parameters
    ----------
    download_timeout : float, optional
        Seconds to wait for a download (connect and each read), by default 10.
    upload_timeout : float, optional
        Seconds to wait for an upload to be answered, by default 10.
    max_response_bytes : int, optional
        The largest response body (and decompressed payload) accepted.
    """

    def __init__(
        self,
        download_timeout: float = 10.0,
        upload_timeout: float = 10.0,
        max_response_bytes: int = DEFAULT_MAX_RESPONSE_BYTES,
    ) -> None:
        self.download_timeout = download_timeout
        self.upload_timeout = upload_timeout
        self.max_response_bytes = max_response_bytes
        self._session: requests.Session | None = None
        self._session_pid: int | None = None

    # -- data downloads ---------------------------------------------------------

    def fetch_named_arrays(
        self,
        url: str,
        required: Iterable[str] = (),
        params: Mapping[str, Any] | None = None,
    ) -> dict[str, np.ndarray]:
        """GET ``url`` and decode its ``.npz`` body.

        Raises
        ------
        PeerUnavailableError, PeerRejectedError, PeerProtocolError
            If the request fails, the status is not 200, or the body is not
            the expected ``.npz``.
        """
        return self._arrays(url, "sent", self._get(url, params), required)

    def fetch_table(
        self, url: str, params: Mapping[str, Any] | None = None
    ) -> pd.DataFrame:
        """GET ``url`` and decode its Parquet body (see :meth:`fetch_named_arrays`)."""
        body = self._get(url, params)
        return _decoded(
            url,
            "sent an unusable Parquet payload",
            lambda: decode_table(body, max_decompressed_bytes=self.max_response_bytes),
        )

    # -- evaluation uploads ----------------------------------------------------

    def post_named_arrays(
        self,
        url: str,
        arrays: Mapping[str, np.ndarray],
        params: Mapping[str, Any] | None = None,
    ) -> Any:
        """POST arrays as ``.npz`` and return the JSON of a 201 answer."""
        return _json(url, self._post_arrays(url, arrays, params))

    def exchange_named_arrays(
        self,
        url: str,
        arrays: Mapping[str, np.ndarray],
        required: Iterable[str] = (),
        params: Mapping[str, Any] | None = None,
    ) -> dict[str, np.ndarray]:
        """POST arrays as ``.npz`` and decode the ``.npz`` of a 201 answer
        (what an attack does with an anonymizer's ``/predict``)."""
        body = self._post_arrays(url, arrays, params)
        return self._arrays(url, "answered with", body, required)

    def post_table_and_scheme(
        self,
        url: str,
        table: pd.DataFrame | bytes,
        scheme: str,
        params: Mapping[str, Any] | None = None,
    ) -> Any:
        """POST a table and its scheme as multipart and return the 201 JSON.

        ``table`` may be a DataFrame or its Parquet file (sent as it is).
        """
        parquet = table if isinstance(table, bytes) else encode_table(table)
        body, content_type = encode_multipart(
            {"anon_data": parquet, "anon_scheme": scheme}
        )
        return _json(url, self._post(url, body, content_type, params))

    # -- plumbing ---------------------------------------------------------------

    @property
    def session(self) -> requests.Session:
        """The session of this process (a new one after a fork)."""
        pid = os.getpid()
        if self._session is None or self._session_pid != pid:
            self._session = requests.Session()
            self._session_pid = pid
        return self._session

    def _get(self, url: str, params: Mapping[str, Any] | None) -> bytes:
        return self._request("GET", url, 200, self.download_timeout, params=params)

    def _post(
        self,
        url: str,
        data: bytes,
        content_type: str,
        params: Mapping[str, Any] | None,
    ) -> bytes:
        return self._request(
            "POST",
            url,
            201,
            self.upload_timeout,
            data=data,
            headers={"Content-Type": content_type},
            params=params,
        )

    def _post_arrays(
        self,
        url: str,
        arrays: Mapping[str, np.ndarray],
        params: Mapping[str, Any] | None,
    ) -> bytes:
        data = encode_named_arrays(arrays)
        return self._post(url, data, "application/octet-stream", params)

    def _arrays(
        self, url: str, verb: str, body: bytes, required: Iterable[str]
    ) -> dict[str, np.ndarray]:
        return _decoded(
            url,
            f"{verb} an unusable .npz payload",
            lambda: decode_named_arrays(
                body, required=required, max_decompressed_bytes=self.max_response_bytes
            ),
        )

    def _request(
        self, method: str, url: str, expected: int, timeout: float, **kwargs: Any
    ) -> bytes:
        """Send one request; return its (size-bounded) body if the status is
        ``expected``, else raise the matching :class:`PeerError`."""
        started = time.perf_counter()
        try:
            with self.session.request(
                method, url, timeout=timeout, stream=True, **kwargs
            ) as response:
                body = self._read_bounded(response, url)
                status = response.status_code
        except requests.Timeout as exc:
            raise PeerUnavailableError(
                f"{url} did not answer within {timeout} s", url
            ) from exc
        except requests.RequestException as exc:
            raise PeerUnavailableError(
                f"{url} is unreachable: {_reason(exc)}", url
            ) from exc
        if status != expected:
            raise _rejected(url, status, body, expected=expected)
        sent = len(kwargs.get("data") or b"")
        _logger.info(
            "%s %s (%d bytes) -> %d (%d bytes) in %.3f s",
            method,
            url,
            sent,
            status,
            len(body),
            time.perf_counter() - started,
        )
        return body

    def _read_bounded(self, response: requests.Response, url: str) -> bytes:
        declared = response.headers.get("Content-Length")
        if (
            declared is not None
            and declared.isdigit()
            and int(declared) > self.max_response_bytes
        ):
            raise PeerProtocolError(
                f"{url} sent {declared} bytes, more than the "
                f"limit of {self.max_response_bytes}",
                url,
            )
        chunks = []
        received = 0
        for chunk in response.iter_content(chunk_size=1 << 16):
            received += len(chunk)
            if received > self.max_response_bytes:
                raise PeerProtocolError(
                    f"{url} sent more than the limit of "
                    f"{self.max_response_bytes} bytes",
                    url,
                )
            chunks.append(chunk)
        return b"".join(chunks)


def _decoded(url: str, failure: str, decode: Callable[[], _T]) -> _T:
    try:
        return decode()
    except PayloadError as exc:
        raise PeerProtocolError(f"{url} {failure}: {exc}", url) from exc


def _json(url: str, body: bytes) -> Any:
    try:
        return json.loads(body)
    except ValueError as exc:
        raise PeerProtocolError(
            f"{url} answered 201 without JSON: {_excerpt(body)!r}", url
        ) from exc


def _excerpt(body: bytes) -> str:
    return body[:_BODY_EXCERPT].decode("utf-8", errors="replace")


def _rejected(url: str, status: int, body: bytes, expected: int) -> PeerRejectedError:
    excerpt = _excerpt(body)
    return PeerRejectedError(
        f"{url} answered {status} (expected {expected}): {excerpt!r}",
        url,
        status=status,
        body_excerpt=excerpt,
    )


def _reason(exc: requests.RequestException) -> str:
    # requests nests the socket error several levels deep; its innermost cause
    # ("Connection refused") is what an operator needs to read.
    cause: BaseException = exc
    while cause.__cause__ is not None or cause.__context__ is not None:
        cause = cause.__cause__ or cause.__context__  # type: ignore[assignment]
    return f"{type(cause).__name__}: {cause}"


ChallengeClient = PeerClient
"""The name from when the client only talked to challenges."""
