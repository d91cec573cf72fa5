"""Serving a WSGI app from an event loop: requests are read completely, with
a deadline and a size bound, before the app runs.

A threaded WSGI server hands a connection to a thread as soon as it becomes
readable, and the thread then blocks reading the rest: two clients that send
half a request line and then nothing occupy two threads for good, and with
one thread per worker (models need not be thread-safe) the server stops
answering. Here uvicorn's event loop reads every request; idle, slow and
malformed connections cost a socket, never a thread:

- the request line and headers must arrive within ``request_timeout`` (else
  the connection is closed), and anything that is not HTTP/1.1 (a TLS
  ClientHello on the plain port, garbage) gets a JSON 400;
- a request target over 8 KiB gets a JSON 414, headers over 64 KiB a 431;
- the body must arrive within ``request_timeout`` too (else 408) and stay
  within ``max_body_bytes`` (else 413, refused from ``Content-Length`` before
  reading, or as soon as a chunked body passes the bound);
- only then does the WSGI app run, with the body in memory and a
  ``Content-Length`` (chunked bodies arrive de-chunked).

The app runs on a thread, so that the loop keeps reading other requests and
answering gunicorn's heartbeat meanwhile; except where that costs more than
it buys: a request to one of the ``inline_paths`` (``/predict``: it computes,
and never waits on the network) whose last :data:`INLINE_AFTER_QUICK_RUNS`
requests each took under :data:`INLINE_MAX_SECONDS`, with a small body,
while no other request runs, runs on the loop itself (handing it to a thread
and back cost a small ``/predict`` a fifth of its time). A slow run sends its
path's next requests back to the thread. Requests other than the dedicated
and static ones run on ``threads`` request threads, or the one heavy-body
thread (below); the templates' resources call the model for one request at
a time whatever thread they run on. (So the one slow request a quick path may still
have, such as the first ``/predict`` after a refit, which loads the new
model, holds the loop while it runs: other connections wait that long,
gunicorn's heartbeat has ``timeout`` seconds.)

The body is held once: it is gathered into one buffer as it arrives (no list
of chunks joined at the end), and the app's input stream lets go of it once
the app has read it to the end, so an app that decodes the body and drops it
does not keep both; what the request freed is returned to the system before
its answer leaves (:mod:`.memory`).

Requests to the ``dedicated_paths`` (``/fit`` and ``/evaluate``: they train,
or wait on the challenge) run on threads of their own, so a worker keeps
answering ``/predict`` while it trains or waits; they are never queued: a
dedicated request that finds every dedicated thread busy is answered 503 at
once (a second ``/fit`` meets the app's own lock on a thread of its own and
gets the app's 503; it never waits for the first to end and fits again).

Requests to the ``concurrent_paths`` (``/``: a static answer) always run on
the loop, also while other requests run on threads: a health check is
answered at once whatever the worker is busy with.

What decides "a small body" for the loop is what it inflates to: an ``.npz``
body whose directory declares more than :data:`INLINE_MAX_BODY_BYTES`
inflated (or that is not a plain small archive) runs on a thread, however
few bytes it has (a 258 KB body inflates to 265 MB); such heavy requests
queue on a thread of their own, so a small request never waits behind their
decoding. The model is still called for one request at a time: the
templates' resources hold a lock around it (a small ``/predict`` waits for a
heavy one's prediction, not for its decoding or validation).
"""

from __future__ import annotations

import asyncio
import io
import json
import logging
import math
import sys
import time
from collections.abc import Awaitable, Callable, Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any, BinaryIO, TypeVar

from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol
from uvicorn_worker import UvicornWorker

from ..web.errors import error_body
from ..wire import BodyHandover, ChunkedBody, small_inflated_size
from . import memory

__all__ = [
    "BufferingBridge",
    "HardenedHttpToolsProtocol",
    "make_worker_class",
]

_logger = logging.getLogger(__name__)

Scope = dict[str, Any]
Receive = Callable[[], Any]
Send = Callable[[dict[str, Any]], Any]
WSGIApp = Callable[..., Iterable[bytes]]
_T = TypeVar("_T")

#: Longest request target (path and query) and largest headers accepted.
MAX_TARGET_BYTES = 8192
MAX_HEADER_BYTES = 65536
TRIM_AFTER_SECONDS = 0.05
"""A request that ran this long has free heap pages returned before its answer,
whatever its size (one that inflates a small body may have left some)."""
INLINE_MAX_SECONDS = 0.005
"""A route's requests run on the event loop while each takes less than this."""
INLINE_AFTER_QUICK_RUNS = 3
"""How many quick requests in a row a route needs before it runs on the loop."""
INLINE_MAX_BODY_BYTES = 256 * 1024
"""Larger bodies, and bodies that declare more inflated, always run on a thread."""
DEDICATED_THREADS = 4
"""Threads for the dedicated paths; a dedicated request beyond them gets 503."""
_MAX_TRACKED_ROUTES = 256
CHUNKED_BODY_BYTES = memory.MMAP_THRESHOLD_BYTES
"""Bodies this large or larger are kept in pieces of at least this size (each
mapped by malloc on its own: see :data:`memory.MMAP_THRESHOLD_BYTES`)."""
_SKIPPED_HEADERS = {b"content-length", b"transfer-encoding", b"content-type"}


class _BodyTooLargeError(Exception):
    pass


class _ClientGoneError(Exception):
    pass


def _json_answer(
    status: int, title: str, description: str, *, close: bool = True
) -> tuple[bytes, list]:
    body = json.dumps(error_body(title, description)).encode()
    headers = [
        (b"content-type", b"application/json"),
        (b"content-length", str(len(body)).encode()),
    ]
    if close:
        headers.append((b"connection", b"close"))
    return body, headers


class BufferingBridge:
    """An ASGI app that buffers each request and runs a WSGI app on threads.

    Parameters
    ----------
    wsgi_app : Callable
        The WSGI application (e.g. a ``falcon.App``).
    max_body_bytes : int
        Largest request body; 413 above.
    request_timeout : float
        Seconds the body may take to arrive once the headers have; 408 after.
    threads : int, optional
        Threads running the app (1: the app need not be thread-safe).
    dedicated_paths : Iterable[str], optional
        Paths whose requests run on threads of their own (long fits, waits
        on the challenge), never queued (503 when all are busy).
    inline_paths : Iterable[str], optional
        Paths whose requests may run on the event loop once they have been
        quick (see the module's docstring): only paths whose requests
        compute and never wait on the network.
    concurrent_paths : Iterable[str], optional
        Paths whose requests always run on the loop, beside anything else:
        only static, thread-safe answers.
    dedicated_threads : int, optional
        Threads for the dedicated paths.
    """

    def __init__(
        self,
        wsgi_app: WSGIApp,
        *,
        max_body_bytes: int,
        request_timeout: float,
        threads: int = 1,
        dedicated_paths: Iterable[str] = ("/fit", "/evaluate"),
        inline_paths: Iterable[str] = ("/predict",),
        concurrent_paths: Iterable[str] = ("/",),
        dedicated_threads: int = DEDICATED_THREADS,
    ) -> None:
        self.wsgi_app = wsgi_app
        self.max_body_bytes = max_body_bytes
        self.request_timeout = request_timeout
        self._executor = ThreadPoolExecutor(threads, thread_name_prefix="request")
        self._heavy = ThreadPoolExecutor(1, thread_name_prefix="heavy")
        self._dedicated_paths = frozenset(dedicated_paths)
        self._inline_paths = frozenset(inline_paths) - self._dedicated_paths
        self._concurrent_paths = frozenset(concurrent_paths) - self._dedicated_paths
        self._dedicated_threads = dedicated_threads
        self._dedicated = ThreadPoolExecutor(
            dedicated_threads, thread_name_prefix="dedicated"
        )
        self._running = 0  # requests on self._executor's threads
        self._dedicated_running = 0  # requests on self._dedicated's threads
        self._quick_runs: dict[str, int] = {}  # by path: quick requests in a row

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            await self._lifespan(receive, send)
            return
        if scope["type"] != "http":  # websockets: not served
            return
        refusal = self._refusal_of_head(scope)
        if refusal is not None:
            await self._refuse(send, *refusal)
            return
        body = await self._body_or_refusal(receive, send)
        if body is None:
            return
        large = len(body) >= memory.MMAP_THRESHOLD_BYTES
        heavy = not isinstance(body, bytes) or (
            _inflated_size(body) > INLINE_MAX_BODY_BYTES
        )
        inline = self._runs_inline(scope["path"], heavy)
        environ = _environ(scope, body)
        del body  # the environ's stream holds it until the app has read it
        started = time.perf_counter()
        if inline:
            status, headers, chunks, seconds = self._run_app(environ)
        else:
            status, headers, chunks, seconds = await self._run_on_thread(
                scope["path"], environ, heavy
            )
        self._note_duration(scope["path"], seconds)
        del environ  # nothing of the request outlives its answer
        answer = chunks[0] if len(chunks) == 1 else b"".join(chunks)
        del chunks
        if (
            large
            or len(answer) >= memory.MMAP_THRESHOLD_BYTES
            or time.perf_counter() - started >= TRIM_AFTER_SECONDS
        ):
            # What the request freed, before its answer leaves. A small, quick
            # request's blocks went back already: glibc unmaps blocks of
            # MMAP_THRESHOLD_BYTES and more when they are freed, and trims
            # the top of its heap; malloc_trim's walk of the heaps would
            # cost a small /predict a tenth of its time. A long request (a
            # small body that inflates to a large array) may have left heap
            # pages behind, and the walk is nothing beside its time.
            memory.release()
        await send(
            {"type": "http.response.start", "status": status, "headers": headers}
        )
        await send({"type": "http.response.body", "body": answer})

    def _runs_inline(self, path: str, heavy: bool) -> bool:
        """Whether this request runs on the loop: a static path always; else
        it may, its route has been quick, its body is small also once
        inflated, and no other request is running (the model may be in use
        on a thread)."""
        if path in self._concurrent_paths:
            return True
        return (
            path in self._inline_paths
            and self._quick_runs.get(path, 0) >= INLINE_AFTER_QUICK_RUNS
            and self._running == 0
            and self._dedicated_running == 0
            and not heavy
        )

    async def _run_on_thread(
        self, path: str, environ: dict[str, Any], heavy: bool = False
    ) -> tuple[int, list, list[bytes], float]:
        loop = asyncio.get_running_loop()
        if path not in self._dedicated_paths:
            # Heavy bodies (large, or declaring a large inflated size) queue
            # on a lane of their own: a small request never waits behind
            # one's decoding (the model itself is called for one request at
            # a time: the templates' resources hold a lock around it).
            executor = self._heavy if heavy else self._executor
            self._running += 1
            try:
                return await loop.run_in_executor(executor, self._run_app, environ)
            finally:
                self._running -= 1
        if self._dedicated_running >= self._dedicated_threads:
            # Never queued: a queued /fit would fit again once the first ends.
            body, headers = _json_answer(
                503,
                "Busy",
                f"{self._dedicated_running} requests to "
                f"{', '.join(sorted(self._dedicated_paths))} are running in this "
                "worker already; try again when they are done",
                close=False,
            )
            _logger.warning("refused %s: every dedicated thread is busy", path)
            return 503, [*headers, (b"retry-after", b"5")], [body], 0.0
        self._dedicated_running += 1
        try:
            return await loop.run_in_executor(self._dedicated, self._run_app, environ)
        finally:
            self._dedicated_running -= 1

    def _note_duration(self, path: str, seconds: float) -> None:
        if seconds >= INLINE_MAX_SECONDS:
            self._quick_runs.pop(path, None)
            return
        if path not in self._quick_runs and len(self._quick_runs) >= (
            _MAX_TRACKED_ROUTES
        ):
            self._quick_runs.clear()  # paths come from clients: bounded
        self._quick_runs[path] = self._quick_runs.get(path, 0) + 1

    def _refusal_of_head(self, scope: Scope) -> tuple[int, str, str] | None:
        """Status, title and description of a refusal of a declared body over
        the bound (the protocol refuses targets and headers over theirs)."""
        declared = _content_length(scope["headers"])
        if declared is not None and declared > self.max_body_bytes:
            return (
                413,
                "Payload too large",
                f"the body has {declared} bytes, more than the limit of "
                f"{self.max_body_bytes}",
            )
        return None

    async def _body_or_refusal(self, receive: Receive, send: Send) -> bytes | None:
        """The whole body, read within the deadline and the bound; ``None``
        when it was refused (answered 413 or 408) or the client left."""
        try:
            return await _within(
                _read_body(receive, self.max_body_bytes), self.request_timeout
            )
        except _BodyTooLargeError:
            await self._refuse(
                send,
                413,
                "Payload too large",
                f"the body has more than the limit of {self.max_body_bytes} bytes",
            )
        except asyncio.TimeoutError:
            await self._refuse(
                send,
                408,
                "Request timeout",
                f"the request body did not arrive within {self.request_timeout} s",
            )
        except _ClientGoneError:
            pass
        return None

    def _run_app(self, environ: dict[str, Any]) -> tuple[int, list, list[bytes], float]:
        """Status, headers and body chunks of the app's answer, and the
        seconds it took."""
        started = time.perf_counter()
        status, headers, chunks = self._call_app(environ)
        return status, headers, chunks, time.perf_counter() - started

    def _call_app(self, environ: dict[str, Any]) -> tuple[int, list, list[bytes]]:
        started: list[Any] = []

        def start_response(status: str, headers: list, exc_info: Any = None):
            started[:] = [status, headers]
            return lambda data: chunks.append(data)

        chunks: list[bytes] = []
        try:
            result = self.wsgi_app(environ, start_response)
            try:
                chunks.extend(result)
            finally:
                close = getattr(result, "close", None)
                if close is not None:
                    close()
        except Exception:
            _logger.exception(
                "the app failed on %s %s",
                environ["REQUEST_METHOD"],
                environ["PATH_INFO"],
            )
            body, headers = _json_answer(
                500,
                "Internal server error",
                f"{environ['REQUEST_METHOD']} {environ['PATH_INFO']} failed "
                "unexpectedly; the server log has the traceback",
            )
            return 500, headers, [body]
        status, headers = started
        return (
            int(status.split(" ", 1)[0]),
            [(k.lower().encode("latin-1"), v.encode("latin-1")) for k, v in headers],
            chunks,
        )

    @staticmethod
    async def _refuse(send: Send, status: int, title: str, description: str) -> None:
        _logger.warning("refused a request: %d %s", status, description)
        memory.release()  # what a refused body took
        body, headers = _json_answer(status, title, description)
        await send(
            {"type": "http.response.start", "status": status, "headers": headers}
        )
        await send({"type": "http.response.body", "body": body})

    @staticmethod
    async def _lifespan(receive: Receive, send: Send) -> None:
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                await send({"type": "lifespan.shutdown.complete"})
                return


def _inflated_size(body: bytes) -> float:
    """What a body may become once decoded: a zip archive (an ``.npz``) what
    its directory declares (infinite where it is not of the plainest small
    kind), anything else its own size."""
    if not body.startswith(b"PK"):
        return len(body)
    declared = small_inflated_size(body)
    return math.inf if declared is None else max(declared, len(body))


async def _within(awaitable: Awaitable[_T], seconds: float) -> _T:
    """``awaitable``'s result, or ``asyncio.TimeoutError`` after ``seconds``
    (``asyncio.timeout`` where there is one: unlike ``wait_for`` it makes no
    task, which a small request would notice)."""
    timeout = getattr(asyncio, "timeout", None)
    if timeout is None:  # Python 3.10
        return await asyncio.wait_for(awaitable, seconds)
    async with timeout(seconds):
        return await awaitable


def _content_length(headers: list[tuple[bytes, bytes]]) -> int | None:
    for name, value in headers:
        if name == b"content-length":
            try:
                return int(value)
            except ValueError:
                return None
    return None


async def _read_body(receive: Receive, limit: int) -> bytes | ChunkedBody:
    """The whole body: one bytes object below ``CHUNKED_BODY_BYTES``, else
    pieces of at least that size, so that a decoder can free them as it reads
    (see :class:`~anomed_anonymizer.wire.ChunkedBody`)."""
    # Each piece is joined from the messages that make it up once it reaches
    # CHUNKED_BODY_BYTES: allocated at once at its full size, malloc maps it
    # on its own, so a freed piece leaves the process at once (a buffer grown
    # by writes may stay in the heap, and the body's pages with it).
    parts: list[bytes] = []
    chunks: list[bytes] = []
    size = pending = 0
    try:
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                raise _ClientGoneError
            chunk = message.get("body", b"")
            if chunk:
                size += len(chunk)
                if size > limit:
                    raise _BodyTooLargeError
                parts.append(chunk)
                pending += len(chunk)
                if pending >= CHUNKED_BODY_BYTES:
                    chunks.append(b"".join(parts))
                    parts, pending = [], 0
            if not message.get("more_body", False):
                break
        rest = parts[0] if len(parts) == 1 else b"".join(parts)
        if not chunks:
            return rest
        if rest:
            chunks.append(rest)
        return ChunkedBody(chunks)
    finally:
        # A refused or abandoned body is freed now, not when the collector
        # breaks the cycle of the exception, its traceback and wait_for's task.
        parts = chunks = []


class _InputStream(BodyHandover):
    """``wsgi.input`` over a buffered body, which it lets go of once the app
    has read it to the end (read whole, a body of one piece is handed over
    uncopied). An app that can decode from a file takes the body with
    :meth:`take_file` instead, and the stream is then empty."""

    def __init__(self, body: bytes | ChunkedBody) -> None:
        self._length = len(body)
        self._stream: BinaryIO | None = (
            body if isinstance(body, ChunkedBody) else io.BytesIO(body)
        )

    def take_file(self) -> BinaryIO:
        """The unread body as a seekable file, which the stream lets go of: a
        :class:`~anomed_anonymizer.wire.ChunkedBody` for a large body."""
        stream, self._stream = self._stream, None
        return stream if stream is not None else io.BytesIO()

    def read(self, size: int | None = -1) -> bytes:
        return self._take(lambda stream: stream.read(size))

    def readline(self, size: int | None = -1) -> bytes:
        return self._take(lambda stream: stream.readline(size))

    def readlines(self, hint: int = -1) -> list[bytes]:
        return self._take(lambda stream: stream.readlines(hint), [])

    def __iter__(self) -> Iterator[bytes]:
        return iter(self.readline, b"")

    def _take(self, read: Callable[[BinaryIO], Any], empty: Any = b"") -> Any:
        stream = self._stream
        if stream is None:
            return empty
        data = read(stream)
        if stream.tell() >= self._length:
            self._stream = None
        return data


def _environ(scope: Scope, body: bytes | ChunkedBody) -> dict[str, Any]:
    """The PEP 3333 environ of a buffered ASGI request."""
    server = scope.get("server") or ("localhost", 80)
    client = scope.get("client")
    environ: dict[str, Any] = {
        "REQUEST_METHOD": scope["method"],
        "SCRIPT_NAME": scope.get("root_path", "").encode().decode("latin-1"),
        "PATH_INFO": scope["path"].encode().decode("latin-1"),
        "QUERY_STRING": scope["query_string"].decode("latin-1"),
        "SERVER_NAME": str(server[0]),
        "SERVER_PORT": str(server[1] or 0),
        "SERVER_PROTOCOL": f"HTTP/{scope['http_version']}",
        "CONTENT_LENGTH": str(len(body)),
        "wsgi.version": (1, 0),
        "wsgi.url_scheme": scope.get("scheme", "http"),
        "wsgi.input": _InputStream(body),
        "wsgi.input_terminated": True,
        "wsgi.errors": sys.stderr,
        "wsgi.multithread": True,
        "wsgi.multiprocess": True,
        "wsgi.run_once": False,
    }
    if client is not None:
        environ["REMOTE_ADDR"], environ["REMOTE_PORT"] = client[0], str(client[1])
    for name, value in scope["headers"]:
        if name in _SKIPPED_HEADERS:
            if name == b"content-type":
                environ["CONTENT_TYPE"] = value.decode("latin-1")
            continue
        key = "HTTP_" + name.decode("latin-1").upper().replace("-", "_")
        text = value.decode("latin-1")
        environ[key] = f"{environ[key]},{text}" if key in environ else text
    return environ


class _CoalescingTransport:
    """A transport that holds a response's status line and headers until its
    body is written, so that an answer leaves in one ``send`` rather than
    two: one system call, and one hand-off of the GIL between the event loop
    and the thread running the app, fewer per request (a small ``/predict``
    spent a fifth of its time in those two sends). Informational answers
    (``100 Continue``) leave at once; ``close`` sends what is held first."""

    def __init__(self, transport: asyncio.Transport) -> None:
        self._transport = transport
        self._held: bytes | None = None

    def write(self, data: bytes) -> None:
        if self._held is not None:
            data, self._held = self._held + data, None
        elif data.startswith(b"HTTP/1.1 ") and not data.startswith(b"HTTP/1.1 1"):
            self._held = bytes(data)
            return
        self._transport.write(data)

    def flush(self) -> None:
        """Send what is held."""
        if self._held is not None:
            held, self._held = self._held, None
            self._transport.write(held)

    def close(self) -> None:
        self.flush()
        self._transport.close()

    def write_eof(self) -> None:
        self.flush()
        self._transport.write_eof()

    def __getattr__(self, name: str) -> Any:
        return getattr(self._transport, name)


class _HeadRefusedError(Exception):
    pass


MAX_HEAD_BUFFER_BYTES = MAX_TARGET_BYTES + MAX_HEADER_BYTES + 4096
"""How much of an unfinished request line and headers is held before 431."""
REFUSAL_LINGER_SECONDS = 5.0
"""How long a refused connection reads and drops what the client still sends."""


class HardenedHttpToolsProtocol(HttpToolsProtocol):
    """uvicorn's HTTP/1.1 protocol on httptools (llhttp, the parser of
    Node.js), with a deadline for the request line and headers, bounds on
    them, and JSON bodies on its refusals.

    - The request line and headers must arrive within ``header_timeout``
      seconds of the connection being opened or of the previous answer (else
      the connection is closed).
    - A request target over :data:`MAX_TARGET_BYTES` gets a 414 as soon as
      it is that long, headers over :data:`MAX_HEADER_BYTES` a 431, and so
      does a head still unfinished after :data:`MAX_HEAD_BUFFER_BYTES`
      (counted from the read after the one it began in: at most one read
      more is held).
    - What llhttp cannot parse (garbage, TLS sent to the plain port) gets a
      400; all three with a JSON body.

    An answer's status line and headers leave with its body, in one write
    (:class:`_CoalescingTransport`).

    **What of uvicorn this relies on** (``pyproject.toml`` pins the range CI
    tests, both ends; on an upgrade, check each line):

    - the public hook: ``Config(http=<protocol class>)``, reached through
      ``UvicornWorker.CONFIG_KWARGS`` (uvicorn-worker) in
      :func:`make_worker_class`;
    - llhttp's callbacks on ``HttpToolsProtocol`` (``on_message_begin``,
      ``on_url``, ``on_header``, ``on_headers_complete``) and asyncio's
      (``connection_made``, ``data_received``, ``connection_lost``), each
      extended with ``super()`` first; ``on_response_complete``, which
      uvicorn calls when an answer is sent;
    - ``self.transport``, replaced after ``super().connection_made`` by the
      coalescing wrapper (uvicorn writes through the attribute only);
      the wrapper tells a head from a body by uvicorn writing each answer's
      head (``b"HTTP/1.1 "``) in one ``write`` and its body in others;
    - ``self.url``: the request target accumulated so far, in ``on_url``;
    - ``self.cycle`` and ``self.cycle.response_complete``, and
      ``self.pipeline`` (queued requests): whether a request is in progress,
      for the head deadline;
    - ``send_400_response(msg)``: what uvicorn calls on a parser error,
      including the ``HttpParserCallbackError`` a callback of ours raises to
      refuse a head (:meth:`_refuse_head`);
    - ``self.loop`` and ``self.logger``.
    """

    header_timeout: float = 30.0

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        self._header_timer: asyncio.TimerHandle | None = None
        self._reading_head = False
        self._head_bytes = self._header_bytes = 0
        self._refusal: tuple[int, str, str] | None = None
        self._lingering = False
        super().connection_made(transport)
        self.transport = _CoalescingTransport(transport)  # type: ignore[assignment]
        self._arm_header_timer()

    def data_received(self, data: bytes) -> None:
        if self._lingering:
            return  # refused: what the client still sends is dropped
        head_continues = self._reading_head
        super().data_received(data)
        if self._lingering or self.transport.is_closing():
            return
        if head_continues and self._reading_head:
            self._head_bytes += len(data)
            if self._head_bytes > MAX_HEAD_BUFFER_BYTES:
                self._send_refusal(
                    431,
                    "Request header fields too large",
                    "the request line and headers passed "
                    f"{MAX_HEAD_BUFFER_BYTES} bytes unfinished",
                )
                return
        self._arm_header_timer()

    def on_message_begin(self) -> None:
        super().on_message_begin()
        self._reading_head = True
        self._head_bytes = self._header_bytes = 0

    def on_url(self, url: bytes) -> None:
        super().on_url(url)
        if len(self.url) > MAX_TARGET_BYTES:
            self._refuse_head(
                414,
                "URI too long",
                f"the request target has more than {MAX_TARGET_BYTES} bytes",
            )

    def on_header(self, name: bytes, value: bytes) -> None:
        super().on_header(name, value)
        self._header_bytes += len(name) + len(value)
        if self._header_bytes > MAX_HEADER_BYTES:
            self._refuse_head(
                431,
                "Request header fields too large",
                f"the headers have more than {MAX_HEADER_BYTES} bytes",
            )

    def on_headers_complete(self) -> None:
        self._reading_head = False
        super().on_headers_complete()

    def on_response_complete(self) -> None:
        self.transport.flush()  # type: ignore[attr-defined]
        super().on_response_complete()
        self._arm_header_timer()

    def connection_lost(self, exc: Exception | None) -> None:
        self._cancel_header_timer()
        super().connection_lost(exc)

    def send_400_response(self, msg: str) -> None:
        """uvicorn's answer to a parser error: the refusal a callback chose
        (:meth:`_refuse_head`), or a JSON 400."""
        if self._refusal is not None:
            self._send_refusal(*self._refusal)
            return
        self._send_refusal(
            400,
            "Bad request",
            "the request is not valid HTTP/1.1 (malformed request line or "
            "headers, or TLS sent to a plain-HTTP port)",
        )

    def _refuse_head(self, status: int, title: str, description: str) -> None:
        """Stop parsing; ``data_received`` answers with this refusal."""
        self._refusal = (status, title, description)
        raise _HeadRefusedError(description)

    def _send_refusal(self, status: int, title: str, description: str) -> None:
        self.logger.info("refused a request head: %d %s", status, description)
        body, headers = _json_answer(status, title, description)
        self.transport.write(
            f"HTTP/1.1 {status} {title}\r\n".encode()
            + b"".join(name + b": " + value + b"\r\n" for name, value in headers)
            + b"\r\n"
            + body
        )
        self._cancel_header_timer()
        if not self.transport.can_write_eof():
            self.transport.close()
            return
        # A lingering close: closed at once with unread bytes waiting, the
        # socket would send a reset, which can destroy the answer before the
        # client reads it. So the answer leaves with a FIN, what the client
        # still sends is read and dropped, and the socket closes when the
        # client does or after REFUSAL_LINGER_SECONDS.
        self.transport.write_eof()
        self._lingering = True
        self._header_timer = self.loop.call_later(
            REFUSAL_LINGER_SECONDS, self.transport.close
        )

    def _awaiting_head(self) -> bool:
        """Whether the client owes us a request line and headers now: one has
        begun, or no request is in progress or queued."""
        idle = (self.cycle is None or self.cycle.response_complete) and not (
            self.pipeline
        )
        return self._reading_head or idle

    def _arm_header_timer(self) -> None:
        if self._lingering:
            return  # the timer closes the refused connection
        waiting = self._awaiting_head() and not self.transport.is_closing()
        if waiting and self._header_timer is None:
            self._header_timer = self.loop.call_later(
                self.header_timeout, self._header_timeout_expired
            )
        elif not waiting:
            self._cancel_header_timer()

    def _cancel_header_timer(self) -> None:
        if self._header_timer is not None:
            self._header_timer.cancel()
            self._header_timer = None

    def _header_timeout_expired(self) -> None:
        self._header_timer = None
        if self._awaiting_head() and not self.transport.is_closing():
            self.logger.info(
                "closing a connection that sent no complete request within %s s",
                self.header_timeout,
            )
            self.transport.close()


def make_worker_class(header_timeout: float) -> type[UvicornWorker]:
    """A gunicorn worker class serving ASGI apps with
    :class:`HardenedHttpToolsProtocol` on the asyncio loop."""
    protocol = type(
        "AnonymizerHTTPProtocol",
        (HardenedHttpToolsProtocol,),
        {"header_timeout": header_timeout},
    )
    return type(
        "AnonymizerWorker",
        (UvicornWorker,),
        {"CONFIG_KWARGS": {"loop": "asyncio", "http": protocol}},
    )
