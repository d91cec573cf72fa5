"""An HTTP client for the AnoMed peers, with errors that say what failed.

Our servers talk to a challenge (download data, upload results for scoring)
and our self-audit talks to an anonymizer (``POST /predict``): one client,
:class:`PeerClient`, does both. One :class:`requests.Session` per process is
reused for connection pooling (gunicorn forks workers, and a session must not
cross a fork). Every call has an explicit timeout and an overall deadline,
and responses are read with a size bound.

The errors carry two messages: the exception's own, for the operator's log,
names the URL and quotes the peer's answer; their ``public_message``, for the
client of our server, does neither.
"""

from __future__ import annotations

import json
import logging
import os
import time
from collections.abc import Callable, Iterable, Iterator, Mapping
from typing import Any, TypeVar

import numpy as np
import pandas as pd
import requests
import urllib3

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
_CHUNK = 1 << 16
DEFAULT_MAX_RESPONSE_BYTES = 1 << 30
DEADLINE_FACTOR = 6
"""By default an exchange may take this many times the larger timeout."""


class PeerError(UpstreamError):
    """Talking to a peer failed.

    Parameters
    ----------
    message : str
        What failed, for the operator's log (names the URL).
    url : str
        The URL that was requested.
    title : str | None, optional
        A short title for the JSON error body; by default the class's.
    public : str | None, optional
        What failed, for the client of our server: no URL, nothing the peer
        wrote; by default the class's generic sentence.
    """

    public_message = "talking to a peer failed"

    def __init__(
        self,
        message: str,
        url: str,
        *,
        title: str | None = None,
        public: str | None = None,
    ) -> None:
        super().__init__(message, title=title, public=public)
        self.url = url


class PeerUnavailableError(PeerError, UpstreamUnavailableError):
    """The peer could not be reached, or did not answer in time."""

    title = "Peer unavailable"
    public_message = "a peer is unreachable or did not answer in time"


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

    def __init__(
        self,
        message: str,
        url: str,
        status: int,
        body_excerpt: str,
        *,
        public: str | None = None,
    ) -> None:
        super().__init__(
            message, url, public=public or f"a peer answered with status {status}"
        )
        self.status = status
        self.body_excerpt = body_excerpt


class PeerProtocolError(PeerError):
    """The peer answered, but its payload is not what the protocol says (or
    holds data the receiving model rejects)."""

    title = "Bad peer payload"
    public_message = "a peer sent a payload that cannot be used"


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
        The largest response body (and decompressed payload) accepted, by
        default 1 GiB. Bodies are read in chunks and refused as soon as they
        pass it, whatever ``Content-Length`` says.
    deadline : float | None, optional
        Seconds a whole exchange (connect, send, every read) may take,
        however steadily the peer drips bytes. By default six times the
        larger timeout (60 s for the default timeouts).
    peer : str, optional
        How the errors' public messages name the peer, by default "the peer"
        (our servers say "the challenge").
    """

    def __init__(
        self,
        download_timeout: float = 10.0,
        upload_timeout: float = 10.0,
        max_response_bytes: int = DEFAULT_MAX_RESPONSE_BYTES,
        *,
        deadline: float | None = None,
        peer: str = "the peer",
    ) -> None:
        self.download_timeout = download_timeout
        self.upload_timeout = upload_timeout
        self.max_response_bytes = max_response_bytes
        self.deadline = (
            deadline
            if deadline is not None
            else DEADLINE_FACTOR * max(download_timeout, upload_timeout)
        )
        self.peer = peer
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
        return self._decoded(
            url,
            "sent an unusable Parquet payload",
            "sent data that is not a usable Parquet table",
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
        return self._json(url, self._post_arrays(url, arrays, params))

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
        return self._json(url, self._post(url, body, content_type, params))

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
        return self._decoded(
            url,
            f"{verb} an unusable .npz payload",
            f"{verb} data that is not a usable .npz archive",
            lambda: decode_named_arrays(
                body, required=required, max_decompressed_bytes=self.max_response_bytes
            ),
        )

    def _decoded(
        self, url: str, failure: str, public: str, decode: Callable[[], _T]
    ) -> _T:
        try:
            return decode()
        except PayloadError as exc:
            raise PeerProtocolError(
                f"{url} {failure}: {exc}", url, public=f"{self.peer} {public}"
            ) from exc

    def _json(self, url: str, body: bytes) -> Any:
        try:
            return json.loads(body)
        except ValueError as exc:
            raise PeerProtocolError(
                f"{url} answered 201 without JSON: {_excerpt(body)!r}",
                url,
                public=f"{self.peer} answered 201 without JSON",
            ) from exc

    def _request(
        self, method: str, url: str, expected: int, timeout: float, **kwargs: Any
    ) -> bytes:
        """Send one request; return its (size-bounded) body if the status is
        ``expected``, else raise the matching :class:`PeerError`."""
        started = time.perf_counter()
        deadline = time.monotonic() + self.deadline
        try:
            with self.session.request(
                method, url, timeout=timeout, stream=True, **kwargs
            ) as response:
                body = self._read_bounded(response, url, deadline)
                status = response.status_code
        except requests.Timeout as exc:
            raise PeerUnavailableError(
                f"{url} did not answer within {timeout} s",
                url,
                public=f"{self.peer} did not answer within {timeout} s",
            ) from exc
        except requests.RequestException as exc:
            raise PeerUnavailableError(
                f"{url} is unreachable: {_reason(exc)}",
                url,
                public=f"{self.peer} is unreachable",
            ) from exc
        if status != expected:
            raise _rejected(url, status, body, expected, self.peer)
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

    def _read_bounded(
        self, response: requests.Response, url: str, deadline: float
    ) -> bytes:
        """Read the body in chunks, refusing it once it passes the size limit
        or the exchange passes its deadline (the per-read timeout alone lets
        a peer that drips a byte at a time hold a request forever)."""
        limit = self.max_response_bytes
        too_large = f"{self.peer} sent more than the limit of {limit} bytes"
        declared = response.headers.get("Content-Length")
        if declared is not None and declared.isdigit() and int(declared) > limit:
            raise PeerProtocolError(
                f"{url} sent {declared} bytes, more than the limit of {limit}",
                url,
                public=too_large,
            )
        body = bytearray()
        for chunk in _chunks_as_they_arrive(response):
            body += chunk
            if len(body) > limit:
                raise PeerProtocolError(
                    f"{url} sent more than the limit of {limit} bytes",
                    url,
                    public=too_large,
                )
            if time.monotonic() > deadline:
                raise PeerUnavailableError(
                    f"{url} had sent {len(body)} bytes when the deadline of "
                    f"{self.deadline} s passed",
                    url,
                    public=f"{self.peer} did not finish answering within "
                    f"{self.deadline} s",
                )
        # bytes() copies once; the chunks were never held twice over.
        return bytes(body)


def _chunks_as_they_arrive(response: requests.Response) -> Iterator[bytes]:
    """The body in pieces as the network delivers them: each read returns as
    soon as any data is there (``iter_content`` waits for a whole chunk, so a
    drip of one byte per second would never reach a deadline check)."""
    raw = response.raw
    read1 = getattr(raw, "read1", None)
    if read1 is None:  # urllib3 < 2
        yield from response.iter_content(chunk_size=_CHUNK)
        return
    try:
        while chunk := read1(_CHUNK, decode_content=True):
            yield chunk
    except urllib3.exceptions.ReadTimeoutError as exc:
        raise requests.exceptions.ReadTimeout(exc) from exc
    except urllib3.exceptions.HTTPError as exc:
        raise requests.exceptions.ConnectionError(exc) from exc


def _excerpt(body: bytes) -> str:
    return body[:_BODY_EXCERPT].decode("utf-8", errors="replace")


def _rejected(
    url: str, status: int, body: bytes, expected: int, peer: str
) -> PeerRejectedError:
    excerpt = _excerpt(body)
    return PeerRejectedError(
        f"{url} answered {status} (expected {expected}): {excerpt!r}",
        url,
        status=status,
        body_excerpt=excerpt,
        public=f"{peer} answered with status {status}",
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
