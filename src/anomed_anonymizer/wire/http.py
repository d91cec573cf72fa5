"""An HTTP client for the AnoMed peers, with errors that say what failed.

Our servers talk to a challenge (download data, upload results for scoring)
and our self-audit talks to an anonymizer (``POST /predict``): one client,
:class:`PeerClient`, does both. One :class:`requests.Session` per process is
reused for connection pooling (gunicorn forks workers, and a session must not
cross a fork). Every call has an explicit timeout and an overall deadline,
and responses are read with a size bound. The per-read timeout alone would
let a peer that drips a byte at a time (of its headers or its body) hold a
request forever: a watchdog shuts the exchange's socket down when its
deadline passes.

The errors carry two messages: the exception's own, for the operator's log,
names the URL and quotes the peer's answer; their ``public_message``, for the
client of our server, does neither.
"""

from __future__ import annotations

import contextlib
import contextvars
import json
import logging
import os
import socket
import tempfile
import threading
import time
from collections.abc import Callable, Iterable, Mapping
from typing import IO, Any, BinaryIO, Literal, TypeVar, overload

import numpy as np
import pandas as pd
import requests
import urllib3

from ..errors import UpstreamError, UpstreamUnavailableError
from .errors import PayloadError, PayloadTooLargeError
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
BytesSink = bytearray | IO[bytes]
_CHUNK = 1 << 16
SPOOL_BYTES = 32 << 20
"""Downloaded ``.npz`` bodies larger than this wait in a temporary file (in
``TMPDIR``) rather than in memory until they are decoded."""
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


class _Spool(tempfile.SpooledTemporaryFile):
    """A spooled temporary file that says it is readable and seekable:
    Python 3.10's lacks the methods (3.11 added them), and zipfile asks."""

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True


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
        *,
        only: Iterable[str] | None = None,
    ) -> dict[str, np.ndarray]:
        """GET ``url`` and decode its ``.npz`` body.

        A body larger than :data:`SPOOL_BYTES` is written to a temporary
        file (in ``TMPDIR``) as it arrives and decoded from there, member by
        member, straight into the arrays: the process holds the arrays, not
        the body and the arrays (a 1 GB training set costs 1 GB, not 2 or 3).

        Parameters
        ----------
        url : str
            Serves the ``.npz``.
        required : Iterable[str], optional
            Names that must be present.
        params : Mapping[str, Any] | None, optional
            Query parameters.
        only : Iterable[str] | None, optional
            Decode just these names (the others are never inflated).

        Raises
        ------
        PeerUnavailableError, PeerRejectedError, PeerProtocolError
            If the request fails, the status is not 200, or the body is not
            the expected ``.npz``.
        """
        with self._request(
            "GET", url, 200, self.download_timeout, params=params, spool=True
        ) as body:
            return self._arrays(url, "sent", body, required, only)

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
            adapter = _WatchedAdapter()
            self._session.mount("http://", adapter)
            self._session.mount("https://", adapter)
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
        self,
        url: str,
        verb: str,
        body: bytes | BinaryIO,
        required: Iterable[str],
        only: Iterable[str] | None = None,
    ) -> dict[str, np.ndarray]:
        return self._decoded(
            url,
            f"{verb} an unusable .npz payload",
            f"{verb} data that is not a usable .npz archive",
            lambda: decode_named_arrays(
                body,
                required=required,
                only=only,
                max_decompressed_bytes=self.max_response_bytes,
            ),
        )

    def _decoded(
        self, url: str, failure: str, public: str, decode: Callable[[], _T]
    ) -> _T:
        try:
            return decode()
        except PayloadTooLargeError as exc:
            raise PeerProtocolError(
                f"{url} {failure}: {exc}",
                url,
                public=f"{self.peer} sent data of {exc.size} bytes once "
                f"decompressed, over the limit of {exc.limit} bytes",
            ) from exc
        except PayloadError as exc:
            raise PeerProtocolError(
                f"{url} {failure}: {exc}", url, public=f"{self.peer} {public}"
            ) from exc

    def _json(self, url: str, body: bytes) -> Any:
        """The peer's JSON answer; its ``NaN`` and ``Infinity`` (not JSON, but
        Python's json writes them) become ``None``, so that what we forward
        is valid JSON."""
        try:
            return json.loads(body, parse_constant=_non_finite)
        except RecursionError as exc:
            raise PeerProtocolError(
                f"{url} answered 201 with JSON nested too deeply to read",
                url,
                public=f"{self.peer} answered 201 with JSON nested too deeply",
            ) from exc
        except ValueError as exc:
            raise PeerProtocolError(
                f"{url} answered 201 without JSON: {_excerpt(body)!r}",
                url,
                public=f"{self.peer} answered 201 without JSON",
            ) from exc

    @overload
    def _request(
        self,
        method: str,
        url: str,
        expected: int,
        timeout: float,
        *,
        spool: Literal[False] = False,
        **kwargs: Any,
    ) -> bytes: ...

    @overload
    def _request(
        self,
        method: str,
        url: str,
        expected: int,
        timeout: float,
        *,
        spool: Literal[True],
        **kwargs: Any,
    ) -> BinaryIO: ...

    def _request(
        self,
        method: str,
        url: str,
        expected: int,
        timeout: float,
        *,
        spool: bool = False,
        **kwargs: Any,
    ) -> bytes | BinaryIO:
        """Send one request; return its (size-bounded) body if the status is
        ``expected``, else raise the matching :class:`PeerError`. With
        ``spool``, the body is a file (a temporary one once it passes
        :data:`SPOOL_BYTES`), positioned at its start; the caller closes it."""
        started = time.perf_counter()
        watch = _Watch(self.deadline)
        # Closed below on failure, else by the caller.
        sink: BytesSink = _Spool(SPOOL_BYTES) if spool else bytearray()
        try:
            try:
                with (
                    watch,
                    # Never follow a redirect: a 302 would fit on another
                    # server's data, a 307 re-post predictions elsewhere.
                    self.session.request(
                        method,
                        url,
                        timeout=timeout,
                        stream=True,
                        allow_redirects=False,
                        **kwargs,
                    ) as response,
                ):
                    received = self._read_bounded(response, url, sink)
                    status = response.status_code
                    location = response.headers.get("Location")
            except requests.RequestException as exc:
                if watch.expired:
                    raise self._too_slow(url, watch) from exc
                raise self._unavailable(url, timeout, exc) from exc
            if watch.expired:  # the body ended where the watchdog cut it
                raise self._too_slow(url, watch)
            if 300 <= status < 400:
                raise PeerRejectedError(
                    f"{url} answered {status}, a redirect to {location!r}: "
                    "redirects are never followed",
                    url,
                    status=status,
                    body_excerpt=_excerpt(_head(sink)),
                    public=f"{self.peer} answered with a redirect ({status}), "
                    "which is never followed",
                )
            if status != expected:
                raise _rejected(url, status, _head(sink), expected, self.peer)
        except BaseException:
            if not isinstance(sink, bytearray):
                sink.close()
            raise
        sent = len(kwargs.get("data") or b"")
        _logger.info(
            "%s %s (%d bytes) -> %d (%d bytes) in %.3f s",
            method,
            url,
            sent,
            status,
            received,
            time.perf_counter() - started,
        )
        if isinstance(sink, bytearray):
            # bytes() copies once; the chunks were never held twice over.
            return bytes(sink)
        sink.seek(0)
        return sink  # type: ignore[return-value]

    def _too_slow(self, url: str, watch: _Watch) -> PeerUnavailableError:
        return PeerUnavailableError(
            f"{url} had not finished answering when the deadline of "
            f"{self.deadline} s passed ({watch.received} bytes of its body read)",
            url,
            public=f"{self.peer} did not finish answering within {self.deadline} s",
        )

    def _unavailable(
        self, url: str, timeout: float, exc: requests.RequestException
    ) -> PeerUnavailableError:
        if isinstance(exc, requests.Timeout):
            return PeerUnavailableError(
                f"{url} did not answer within {timeout} s",
                url,
                public=f"{self.peer} did not answer within {timeout} s",
            )
        return PeerUnavailableError(
            f"{url} is unreachable: {_reason(exc)}",
            url,
            public=f"{self.peer} is unreachable",
        )

    def _read_bounded(
        self, response: requests.Response, url: str, sink: BytesSink
    ) -> int:
        """Read the body in chunks into ``sink``, refusing it as soon as it
        passes the size limit, whatever ``Content-Length`` says; return its
        size."""
        limit = self.max_response_bytes
        too_large = f"{self.peer} sent more than the limit of {limit} bytes"
        declared = response.headers.get("Content-Length")
        if declared is not None and declared.isdigit() and int(declared) > limit:
            raise PeerProtocolError(
                f"{url} sent {declared} bytes, more than the limit of {limit}",
                url,
                public=too_large,
            )
        received = 0
        watch = _current_watch.get()
        for chunk in response.iter_content(chunk_size=_CHUNK):
            received += len(chunk)
            if watch is not None:
                watch.received = received
            if received > limit:
                raise PeerProtocolError(
                    f"{url} sent more than the limit of {limit} bytes",
                    url,
                    public=too_large,
                )
            if isinstance(sink, bytearray):
                sink += chunk
            else:
                sink.write(chunk)
        return received


# -- the deadline of an exchange ---------------------------------------------------


class _Watch:
    """Shuts the socket of one exchange down when its deadline passes, so
    that a read blocked on a dripping peer returns (in any phase: connect,
    send, status line, headers, body)."""

    _RECHECK_SECONDS = 0.05

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds
        self.expired = False
        self.received = 0
        self._socket: socket.socket | None = None
        self._lock = threading.Lock()
        self._timer: threading.Timer | None = None
        self._token: contextvars.Token | None = None
        self._done = False

    def __enter__(self) -> _Watch:
        self._token = _current_watch.set(self)
        self._arm(self.seconds)
        return self

    def __exit__(self, *exc_info: object) -> None:
        with self._lock:
            self._done = True
            if self._timer is not None:
                self._timer.cancel()
        if self._token is not None:
            _current_watch.reset(self._token)

    def watch(self, sock: socket.socket) -> None:
        """Called with the socket of the exchange once it is connected (the
        connection may let go of it while the response is read)."""
        with self._lock:
            self._socket = sock

    def _arm(self, seconds: float) -> None:
        timer = threading.Timer(seconds, self._expire)
        timer.daemon = True
        self._timer = timer
        timer.start()

    def _expire(self) -> None:
        with self._lock:
            if self._done:
                return
            self.expired = True
            sock = self._socket
            if sock is None:  # still connecting: look again shortly
                self._arm(self._RECHECK_SECONDS)
                return
        with contextlib.suppress(OSError):
            sock.shutdown(socket.SHUT_RDWR)


_current_watch: contextvars.ContextVar[_Watch | None] = contextvars.ContextVar(
    "anomed_peer_watch", default=None
)


def _watch_socket(sock: socket.socket | None) -> None:
    watch = _current_watch.get()
    if watch is not None and sock is not None:
        watch.watch(sock)


class _WatchedConnection:
    """Hands its socket to the exchange's :class:`_Watch` once connected."""

    def connect(self) -> None:
        super().connect()  # type: ignore[misc]
        _watch_socket(self.sock)  # type: ignore[attr-defined]


class _WatchedHTTPConnection(_WatchedConnection, urllib3.connection.HTTPConnection):
    pass


class _WatchedHTTPSConnection(_WatchedConnection, urllib3.connection.HTTPSConnection):
    pass


class _WatchedPool:
    """Hands the socket of a reused connection to the exchange's watch."""

    def _get_conn(self, timeout: float | None = None) -> Any:
        connection = super()._get_conn(timeout)  # type: ignore[misc]
        _watch_socket(connection.sock)
        return connection


class _WatchedHTTPPool(_WatchedPool, urllib3.HTTPConnectionPool):
    ConnectionCls = _WatchedHTTPConnection


class _WatchedHTTPSPool(_WatchedPool, urllib3.HTTPSConnectionPool):
    ConnectionCls = _WatchedHTTPSConnection


_WATCHED_POOLS = {"http": _WatchedHTTPPool, "https": _WatchedHTTPSPool}


class _WatchedAdapter(requests.adapters.HTTPAdapter):
    """requests' adapter, with pools whose connections a :class:`_Watch` can
    shut down."""

    def init_poolmanager(self, *args: Any, **kwargs: Any) -> None:
        super().init_poolmanager(*args, **kwargs)
        self.poolmanager.pool_classes_by_scheme = _WATCHED_POOLS

    def proxy_manager_for(self, proxy: str, **proxy_kwargs: Any) -> Any:
        manager = super().proxy_manager_for(proxy, **proxy_kwargs)
        manager.pool_classes_by_scheme = _WATCHED_POOLS
        return manager


def _head(sink: BytesSink) -> bytes:
    """The first bytes of a received body, for an error message."""
    if isinstance(sink, bytearray):
        return bytes(sink[:_BODY_EXCERPT])
    sink.seek(0)
    return sink.read(_BODY_EXCERPT)


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


def _non_finite(name: str) -> None:
    _logger.info("a peer's JSON answer holds %s, forwarded as null", name)


def _reason(exc: requests.RequestException) -> str:
    # requests nests the socket error several levels deep; its innermost cause
    # ("Connection refused") is what an operator needs to read.
    cause: BaseException = exc
    while cause.__cause__ is not None or cause.__context__ is not None:
        cause = cause.__cause__ or cause.__context__  # type: ignore[assignment]
    return f"{type(cause).__name__}: {cause}"


ChallengeClient = PeerClient
"""The name from when the client only talked to challenges."""
