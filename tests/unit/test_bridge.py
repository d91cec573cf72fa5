"""The bridge's request body: held once, and let go of once the app has it."""

from __future__ import annotations

import asyncio
import sys
import threading
import time

import pytest

from anomed_anonymizer.runtime import bridge as bridge_module
from anomed_anonymizer.runtime.bridge import (
    BufferingBridge,
    _BodyTooLargeError,
    _CoalescingTransport,
    _InputStream,
    _read_body,
)
from anomed_anonymizer.wire import ChunkedBody


def test_the_input_stream_hands_the_whole_body_over_and_lets_go():
    body = bytes(100_000)
    alone = sys.getrefcount(body)
    stream = _InputStream(body)
    assert sys.getrefcount(body) == alone + 1
    data = stream.read(len(body))
    assert data is body  # no copy
    del data
    assert sys.getrefcount(body) == alone  # the stream keeps nothing
    assert stream.read() == b""


def test_the_input_stream_reads_in_parts_and_lines():
    stream = _InputStream(b"a\nbc\nd")
    assert stream.read(1) == b"a"
    assert stream.readline() == b"\n"
    assert list(stream) == [b"bc\n", b"d"]
    assert stream.read() == b"" and stream.readlines() == []


def _receiving(chunks: list[bytes]):
    messages = [
        {"type": "http.request", "body": chunk, "more_body": i < len(chunks) - 1}
        for i, chunk in enumerate(chunks)
    ]

    async def receive():
        return messages.pop(0)

    return receive


def test_a_body_is_gathered_into_one_bytes_object():
    body = asyncio.run(_read_body(_receiving([b"ab", b"cd", b"e"]), limit=5))
    assert body == b"abcde"


def test_a_body_over_the_limit_is_refused_as_it_arrives():
    with pytest.raises(_BodyTooLargeError):
        asyncio.run(_read_body(_receiving([b"ab", b"cd", b"ef"]), limit=5))


class _RecordingTransport:
    def __init__(self) -> None:
        self.events: list[object] = []

    def write(self, data: bytes) -> None:
        self.events.append(bytes(data))

    def close(self) -> None:
        self.events.append("closed")

    def is_closing(self) -> bool:
        return "closed" in self.events


def test_an_answer_leaves_in_one_write():
    inner = _RecordingTransport()
    transport = _CoalescingTransport(inner)
    transport.write(b"HTTP/1.1 201 Created\r\ncontent-length: 2\r\n\r\n")
    assert inner.events == []
    transport.write(b"ok")
    transport.write(b"")  # h11's end of a Content-Length body
    assert inner.events == [
        b"HTTP/1.1 201 Created\r\ncontent-length: 2\r\n\r\nok",
        b"",
    ]


def test_informational_answers_leave_at_once_and_close_sends_what_is_held():
    inner = _RecordingTransport()
    transport = _CoalescingTransport(inner)
    transport.write(b"HTTP/1.1 100 Continue\r\n\r\n")
    assert inner.events == [b"HTTP/1.1 100 Continue\r\n\r\n"]
    transport.write(b"HTTP/1.1 400 Bad Request\r\n\r\n")
    assert not transport.is_closing()  # delegated
    transport.close()
    assert inner.events[1:] == [b"HTTP/1.1 400 Bad Request\r\n\r\n", "closed"]
    assert transport.is_closing()


def test_flush_sends_a_held_answer_without_a_body():
    inner = _RecordingTransport()
    transport = _CoalescingTransport(inner)
    transport.write(b"HTTP/1.1 204 No Content\r\n\r\n")
    transport.flush()
    transport.flush()
    assert inner.events == [b"HTTP/1.1 204 No Content\r\n\r\n"]


def _call_bridge(app) -> list[dict]:
    """One small POST through a BufferingBridge; the messages it sends."""
    bridge = BufferingBridge(app, max_body_bytes=1024, request_timeout=30)
    scope = {
        "type": "http",
        "method": "POST",
        "path": "/predict",
        "raw_path": b"/predict",
        "query_string": b"",
        "headers": [(b"content-length", b"2")],
        "http_version": "1.1",
    }
    sent: list[dict] = []

    async def send(message):
        sent.append(message)

    asyncio.run(bridge(scope, _receiving([b"ab"]), send))
    return sent


def _small_app(environ, start_response):
    environ["wsgi.input"].read()
    start_response("201 Created", [("Content-Type", "text/plain")])
    return [b"ok"]


@pytest.mark.parametrize(("trim_after", "released"), [(0.0, 1), (1e9, 0)])
def test_heap_pages_are_returned_after_a_long_request_of_any_size(
    monkeypatch, trim_after, released
):
    """A small body may inflate to a large array; a request that ran long has
    the heap trimmed before its answer, a quick small one does not pay for it."""
    calls = []
    monkeypatch.setattr(bridge_module.memory, "release", lambda: calls.append(1))
    monkeypatch.setattr(bridge_module, "TRIM_AFTER_SECONDS", trim_after)
    sent = _call_bridge(_small_app)
    assert sent[0]["status"] == 201 and sent[1]["body"] == b"ok"
    assert len(calls) == released


def test_a_large_body_is_kept_as_its_chunks_and_handed_over_as_a_file():
    chunks = [bytes([i]) * 300_000 for i in range(5)]  # 1.5 MB in all
    body = asyncio.run(_read_body(_receiving(chunks), limit=2_000_000))
    assert isinstance(body, ChunkedBody) and len(body) == 1_500_000
    stream = _InputStream(body)
    taken = stream.take_file()
    assert taken is body and stream.read() == b""  # the stream let go of it
    assert taken.read() == b"".join(chunks)
    small = asyncio.run(_read_body(_receiving([b"ab", b"cd"]), limit=10))
    assert small == b"abcd"  # below CHUNKED_BODY_BYTES: one bytes object
    assert _InputStream(small).take_file().read() == b"abcd"


def _post(bridge, path: str = "/predict", body: bytes = b"ab"):
    """The messages the bridge sends for one POST of ``body`` to ``path``."""
    scope = {
        "type": "http",
        "method": "POST",
        "path": path,
        "raw_path": path.encode(),
        "query_string": b"",
        "headers": [(b"content-length", str(len(body)).encode())],
        "http_version": "1.1",
    }
    sent: list[dict] = []

    async def send(message):
        sent.append(message)

    return bridge(scope, _receiving([body]), send), sent


def _thread_recording_app(threads: list[str], seconds: list[float]):
    """An app that records the thread it runs on and takes the next of
    ``seconds`` (0 once they run out)."""

    def app(environ, start_response):
        threads.append(threading.current_thread().name)
        time.sleep(seconds.pop(0) if seconds else 0)
        start_response("201 Created", [("Content-Type", "text/plain")])
        return [b"ok"]

    return app


def test_a_quick_route_runs_on_the_loop_and_a_slow_request_sends_it_back(
    monkeypatch,
):
    # "Quick" up to half a second here: a busy machine that preempts a
    # request of microseconds does not make it slow; the slow one sleeps 0.6 s.
    monkeypatch.setattr(bridge_module, "INLINE_MAX_SECONDS", 0.5)
    threads: list[str] = []
    runs = bridge_module.INLINE_AFTER_QUICK_RUNS
    # quick runs, then a slow one (on the loop), then quick ones again
    seconds = [0.0] * (runs + 1) + [0.6]
    bridge = BufferingBridge(
        _thread_recording_app(threads, seconds),
        max_body_bytes=1024,
        request_timeout=30,
    )

    async def serve_in_turn(count: int, path: str = "/predict"):
        for _ in range(count):
            call, sent = _post(bridge, path)
            await call
            assert sent[0]["status"] == 201

    loop_thread = threading.current_thread().name
    asyncio.run(serve_in_turn(runs + 2))
    on_loop = [name == loop_thread for name in threads]
    assert on_loop == [False] * runs + [True, True]  # the 2nd on the loop was slow
    asyncio.run(serve_in_turn(runs + 1))
    assert [name == loop_thread for name in threads[runs + 2 :]] == (
        [False] * runs + [True]
    )
    asyncio.run(serve_in_turn(runs + 1, "/fit"))  # dedicated: never on the loop
    assert all(name.startswith("dedicated") for name in threads[-(runs + 1) :])


def test_a_request_never_runs_on_the_loop_while_another_runs_on_a_thread():
    threads: list[str] = []
    runs = bridge_module.INLINE_AFTER_QUICK_RUNS
    release = threading.Event()
    entered = threading.Event()

    def app(environ, start_response):
        threads.append(threading.current_thread().name)
        if environ["PATH_INFO"] == "/hold":
            entered.set()
            release.wait(60)
        start_response("201 Created", [("Content-Type", "text/plain")])
        return [b"ok"]

    bridge = BufferingBridge(app, max_body_bytes=1024, request_timeout=30)

    async def scenario():
        for _ in range(runs):  # /predict becomes quick
            await _post(bridge)[0]
        held = asyncio.ensure_future(_post(bridge, "/hold")[0])
        await asyncio.get_running_loop().run_in_executor(None, entered.wait, 60)
        second = asyncio.ensure_future(_post(bridge)[0])

        async def decided() -> None:
            # It queues for the thread (two requests counted there), or, were
            # it to run on the loop, it is done at once.
            while bridge._running < 2 and not second.done():
                await asyncio.sleep(0.001)

        await asyncio.wait_for(decided(), 60)
        assert threads[-1] == threads[0] and len(threads) == runs + 1
        release.set()
        await asyncio.gather(held, second)

    asyncio.run(scenario())
    assert threading.current_thread().name not in threads  # all on the thread


def _holding_app(release: threading.Event, entered: dict[str, threading.Event]):
    """Holds requests to the paths in ``entered`` until ``release``; records
    the thread of every request."""
    threads: dict[str, list[str]] = {}

    def app(environ, start_response):
        path = environ["PATH_INFO"]
        threads.setdefault(path, []).append(threading.current_thread().name)
        if path in entered:
            entered[path].set()
            release.wait(60)
        start_response("201 Created", [("Content-Type", "text/plain")])
        return [b"ok"]

    return app, threads


def test_a_dedicated_request_is_never_queued_behind_a_running_one():
    release = threading.Event()
    entered = {"/fit": threading.Event()}
    app, threads = _holding_app(release, entered)
    bridge = BufferingBridge(
        app, max_body_bytes=1024, request_timeout=30, dedicated_threads=1
    )

    async def scenario():
        first, first_sent = _post(bridge, "/fit")
        first = asyncio.ensure_future(first)
        await asyncio.get_running_loop().run_in_executor(None, entered["/fit"].wait, 60)
        second, second_sent = _post(bridge, "/fit")
        await asyncio.wait_for(second, 60)  # answered while the first runs
        assert second_sent[0]["status"] == 503
        assert b"Busy" in second_sent[1]["body"]
        assert not first.done()
        release.set()
        await first
        assert first_sent[0]["status"] == 201

    asyncio.run(scenario())
    assert len(threads["/fit"]) == 1  # the second never reached the app


@pytest.mark.parametrize(
    ("held", "answered", "held_on"),
    [
        # /evaluate waits on the challenge on a thread of its own
        ("/evaluate", ("/predict", "/"), "dedicated"),
        # GET / is answered on the loop beside a busy request thread
        ("/hold", ("/",), "request"),
    ],
)
def test_a_held_request_holds_no_other(held, answered, held_on):
    release = threading.Event()
    entered = {held: threading.Event()}
    app, threads = _holding_app(release, entered)
    bridge = BufferingBridge(app, max_body_bytes=1024, request_timeout=30)

    async def scenario():
        holding = asyncio.ensure_future(_post(bridge, held)[0])
        await asyncio.get_running_loop().run_in_executor(None, entered[held].wait, 60)
        for path in answered:
            call, sent = _post(bridge, path)
            await asyncio.wait_for(call, 60)
            assert sent[0]["status"] == 201
        assert not holding.done()
        release.set()
        await holding

    asyncio.run(scenario())
    assert threads[held][0].startswith(held_on)
    assert threads["/"] == [threading.current_thread().name]  # on the loop


def test_a_small_body_that_inflates_large_never_runs_on_the_loop():
    import numpy as np

    from anomed_anonymizer.wire import encode_named_arrays

    threads: list[str] = []
    runs = bridge_module.INLINE_AFTER_QUICK_RUNS
    bridge = BufferingBridge(
        _thread_recording_app(threads, []), max_body_bytes=1 << 20, request_timeout=30
    )
    small = encode_named_arrays({"X": np.zeros((4, 4))})
    bomb = encode_named_arrays({"X": np.zeros((1000, 1000))}, compress=True)
    assert len(bomb) < bridge_module.INLINE_MAX_BODY_BYTES  # small on the wire

    async def serve(bodies):
        for body in bodies:
            call, sent = _post(bridge, "/predict", body)
            await call
            assert sent[0]["status"] == 201

    asyncio.run(serve([small] * (runs + 1) + [bomb]))
    loop_thread = threading.current_thread().name
    assert [name == loop_thread for name in threads] == [False] * runs + [True, False]


def test_a_heavy_body_queues_apart_from_small_requests():
    import numpy as np

    from anomed_anonymizer.wire import encode_named_arrays

    release = threading.Event()
    entered = threading.Event()
    threads: list[tuple[int, str]] = []

    def app(environ, start_response):
        body = environ["wsgi.input"].read()
        threads.append((len(body), threading.current_thread().name))
        if len(body) > 1000:
            entered.set()
            release.wait(60)
        start_response("201 Created", [("Content-Type", "text/plain")])
        return [b"ok"]

    bridge = BufferingBridge(app, max_body_bytes=1 << 20, request_timeout=30)
    bomb = encode_named_arrays({"X": np.zeros((1000, 1000))}, compress=True)

    async def scenario():
        held = asyncio.ensure_future(_post(bridge, "/predict", bomb)[0])
        await asyncio.get_running_loop().run_in_executor(None, entered.wait, 60)
        call, sent = _post(bridge, "/predict", b"ab")
        await asyncio.wait_for(call, 60)  # not behind the heavy one
        assert sent[0]["status"] == 201
        assert not held.done()
        release.set()
        await held

    asyncio.run(scenario())
    assert threads[0][1].startswith("heavy") and threads[1][1].startswith("request")
