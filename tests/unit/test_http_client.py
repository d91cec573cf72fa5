"""The HTTP client: bounded bodies and errors that say what failed where."""

from __future__ import annotations

import contextlib
import socket
import threading
import time

import falcon
import numpy as np
import pytest

from anomed_anonymizer.wire import (
    ChallengeClient,
    ChallengeProtocolError,
    ChallengeRejectedError,
    ChallengeUnavailableError,
    decode_named_arrays,
    encode_named_arrays,
    http,
)

from .conftest import serve_in_thread


class Echo:
    def on_get_big(self, req, resp):
        resp.data = b"x" * 5000

    def on_post_text(self, req, resp):
        resp.status = falcon.HTTP_CREATED
        resp.content_type = "text/plain"
        resp.data = b"not json"

    def on_post_double(self, req, resp):
        X = decode_named_arrays(req.bounded_stream.read())["X"]
        resp.status = falcon.HTTP_CREATED
        resp.data = encode_named_arrays({"prediction": X * 2})

    def on_get_arrays(self, req, resp):
        resp.data = encode_named_arrays(
            {"X": np.arange(40_000.0).reshape(10_000, 4), "y": np.arange(10_000)},
            compress=req.get_param_as_bool("compress", default=True),
        )

    def on_get_teapot(self, req, resp):
        resp.status = falcon.HTTP_418
        resp.data = b"short and stout" * 10_000

    def on_post_teapot(self, req, resp):
        resp.status = falcon.HTTP_418
        resp.data = b"short and stout"


@pytest.fixture
def server():
    app = falcon.App()
    echo = Echo()
    for suffix in ("big", "text", "double", "teapot", "arrays"):
        app.add_route(f"/{suffix}", echo, suffix=suffix)
    with serve_in_thread(app) as url:
        yield url


def test_responses_over_the_limit_are_refused(server):
    client = ChallengeClient(max_response_bytes=1000)
    with pytest.raises(ChallengeProtocolError, match="limit of 1000"):
        client.fetch_named_arrays(f"{server}/big")


def test_201_without_json_is_a_protocol_error(server):
    with pytest.raises(ChallengeProtocolError, match="without JSON: 'not json'"):
        ChallengeClient().post_named_arrays(
            f"{server}/text", {"prediction": np.ones(1)}
        )


def test_exchange_named_arrays_round_trips(server):
    answer = ChallengeClient().exchange_named_arrays(
        f"{server}/double", {"X": np.arange(3.0)}, required=["prediction"]
    )
    np.testing.assert_array_equal(answer["prediction"], [0.0, 2.0, 4.0])


def test_unexpected_status_carries_status_and_body(server):
    with pytest.raises(ChallengeRejectedError) as excinfo:
        ChallengeClient().post_named_arrays(f"{server}/teapot", {"p": np.ones(1)})
    assert excinfo.value.status == 418
    assert excinfo.value.body_excerpt == "short and stout"
    assert f"{server}/teapot" in str(excinfo.value)


def test_connection_refused_names_the_cause():
    with pytest.raises(ChallengeUnavailableError, match=r"unreachable.*refused"):
        ChallengeClient(download_timeout=2).fetch_table("http://127.0.0.1:9/data")


def test_a_dripping_challenge_is_cut_off_at_the_deadline():
    """One byte every 0.05 s never trips a 1 s per-read timeout; the
    exchange's deadline stops it."""
    stop = threading.Event()

    def drip(environ, start_response):
        start_response("200 OK", [("Content-Type", "application/octet-stream")])

        def body():
            for _ in range(2000):  # 100 s at most
                if stop.is_set():
                    return
                time.sleep(0.05)
                yield b"P"

        return body()

    with serve_in_thread(drip) as url:
        client = ChallengeClient(download_timeout=1.0, deadline=0.5)
        started = time.monotonic()
        with pytest.raises(ChallengeUnavailableError, match="deadline") as excinfo:
            client.fetch_named_arrays(url)
        stop.set()
    assert time.monotonic() - started < 30
    assert "did not finish answering within 0.5 s" in excinfo.value.public_message


@contextlib.contextmanager
def header_dripper(stop: threading.Event):
    """A peer that answers every request with a status line and then one
    header byte every 0.05 s, for up to 100 s."""
    listener = socket.create_server(("127.0.0.1", 0))

    def serve() -> None:
        with contextlib.suppress(OSError):
            connection, _ = listener.accept()
            with connection:
                connection.recv(65536)
                connection.sendall(b"HTTP/1.1 200 OK\r\n")
                for _ in range(2000):
                    if stop.is_set():
                        return
                    time.sleep(0.05)
                    connection.sendall(b"X")

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{listener.getsockname()[1]}"
    finally:
        stop.set()
        listener.close()
        thread.join(30)


def test_a_challenge_dripping_its_headers_is_cut_off_at_the_deadline():
    """requests' per-read timeout restarts with every byte of the headers as
    well: the watchdog shuts the exchange down at its deadline."""
    stop = threading.Event()
    with header_dripper(stop) as url:
        client = ChallengeClient(download_timeout=1.0, deadline=0.5, peer="the x")
        started = time.monotonic()
        with pytest.raises(ChallengeUnavailableError, match="deadline") as excinfo:
            client.fetch_table(url)
        stop.set()
    assert time.monotonic() - started < 30
    assert excinfo.value.public_message == "the x did not finish answering within 0.5 s"


def test_the_watchdog_leaves_a_timely_exchange_and_its_connection_alone(server):
    client = ChallengeClient(deadline=0.2)
    for _ in range(3):  # the pooled connection is reused after the deadline
        answer = client.exchange_named_arrays(
            f"{server}/double", {"X": np.ones(3)}, required=("prediction",)
        )
        assert answer["prediction"].tolist() == [2.0, 2.0, 2.0]
        threading.Event().wait(0.3)  # past the deadline of the finished exchange


@pytest.mark.parametrize("compress", [True, False])
def test_large_downloads_are_decoded_from_a_temporary_file(
    server, monkeypatch, compress
):
    # Bodies over SPOOL_BYTES wait on disk, not in memory, until decoded.
    monkeypatch.setattr(http, "SPOOL_BYTES", 1024)
    client = ChallengeClient()
    url = f"{server}/arrays?compress={compress}"
    arrays = client.fetch_named_arrays(url, required=["X", "y"])
    np.testing.assert_array_equal(arrays["X"][-1], [39_996.0, 39_997, 39_998, 39_999])
    np.testing.assert_array_equal(arrays["y"], np.arange(10_000))
    only = client.fetch_named_arrays(url, required=["y"], only=["y"])
    assert list(only) == ["y"]


def test_a_spooled_download_that_is_refused_still_quotes_the_peer(server, monkeypatch):
    monkeypatch.setattr(http, "SPOOL_BYTES", 1024)
    with pytest.raises(ChallengeRejectedError) as excinfo:
        ChallengeClient().fetch_named_arrays(f"{server}/teapot")
    assert excinfo.value.status == 418
    assert excinfo.value.body_excerpt.startswith("short and stoutshort")
