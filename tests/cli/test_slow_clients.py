"""`serve`'s defaults against slow, idle and malformed clients (real processes).

Every wait here is on a condition (an answer, a closed socket, a log line)
with a generous limit; the server's own deadlines are what is under test.
"""

from __future__ import annotations

import json
import socket
import ssl
import sys
import threading
import time
from pathlib import Path

import numpy as np
import pytest
import requests

from anomed_anonymizer.cli.processes import free_port, start_server
from anomed_anonymizer.wire import decode_named_arrays, encode_named_arrays

pytestmark = pytest.mark.slow

CLI = str(Path(sys.executable).with_name("anomed-anonymizer"))
OUR_APPS = Path(__file__).resolve().parents[1] / "interop" / "our_apps"
BODY_LIMIT = 20_000
REQUEST_TIMEOUT = 2
ANSWER = 60  # seconds a test waits for an answer: generous, never reached


@pytest.fixture(scope="module")
def servers(tmp_path_factory):
    work = tmp_path_factory.mktemp("slow-clients")
    emulator_port = free_port()
    emulator = start_server(
        "emulator",
        [CLI, "emulate-challenge", f"--port={emulator_port}", "--workers=1"],
        emulator_port,
        work,
    )
    gates = work / "gates"
    gates.mkdir()
    (gates / "release-fit").touch()  # fits pass until a test closes the gate
    port = free_port()
    anonymizer = start_server(
        "anonymizer",
        [
            CLI,
            "serve",
            "versioned_app:application",
            "--chdir",
            str(OUR_APPS),
            f"--port={port}",
            "--workers=1",
            f"--request-timeout={REQUEST_TIMEOUT}",
        ],
        port,
        work,
        env={
            "CHALLENGE_HOST": emulator.host,
            "MODEL_FILE": str(work / "model.pkl"),
            "GATE_DIR": str(gates),
            "ANOMED_SERVE_MAX_BODY_BYTES": str(BODY_LIMIT),
        },
    )
    anonymizer.gates = gates
    try:
        fit = requests.post(f"{anonymizer.url}/fit", timeout=ANSWER)
        assert fit.status_code == 201, fit.text
        yield anonymizer
    finally:
        anonymizer.stop()
        emulator.stop()


def predict(url: str, **kwargs) -> requests.Response:
    return requests.post(f"{url}/predict", timeout=ANSWER, **kwargs)


def npz_body(rows: int = 10) -> bytes:
    return encode_named_arrays({"X": np.zeros((rows, 4))})


def read_answer(sock: socket.socket) -> bytes:
    """Everything the server sends until it closes the connection."""
    sock.settimeout(ANSWER)
    received = b""
    while chunk := sock.recv(65536):
        received += chunk
    return received


def json_body(answer: bytes) -> dict:
    return json.loads(answer.split(b"\r\n\r\n", 1)[1])


def client_hello() -> bytes:
    """The first bytes a TLS client sends."""
    context = ssl.create_default_context()
    incoming, outgoing = ssl.MemoryBIO(), ssl.MemoryBIO()
    tls = context.wrap_bio(incoming, outgoing, server_hostname="anonymizer")
    with pytest.raises(ssl.SSLWantReadError):
        tls.do_handshake()
    return outgoing.read()


def test_hundreds_of_idle_and_partial_connections_do_not_stop_answers(servers):
    host, port = "127.0.0.1", servers.port
    held = []
    try:
        for i in range(300):
            sock = socket.create_connection((host, port))
            if i % 3 == 1:
                sock.sendall(b"GET / HT")  # half a request line, then nothing
            elif i % 3 == 2:  # headers, and a body that never comes
                sock.sendall(
                    b"POST /predict HTTP/1.1\r\nHost: x\r\nContent-Length: 900\r\n"
                    b"\r\nPK"
                )
            held.append(sock)
        hello = socket.create_connection((host, port))
        hello.sendall(client_hello())  # and then wait, as a TLS client does
        held.append(hello)
        for _ in range(5):
            assert requests.get(f"{servers.url}/", timeout=ANSWER).status_code == 200
            answer = predict(servers.url, data=npz_body())
            assert answer.status_code == 201, answer.text
    finally:
        for sock in held:
            sock.close()


def test_a_tls_client_hello_gets_a_json_400(servers):
    with socket.create_connection(("127.0.0.1", servers.port)) as sock:
        sock.sendall(client_hello())
        answer = read_answer(sock)
    assert answer.startswith(b"HTTP/1.1 400")
    assert json_body(answer)["title"] == "Bad request"


@pytest.mark.parametrize(
    ("request_head", "status"),
    [
        (b"GET /" + b"a" * 10_000 + b" HTTP/1.1\r\nHost: x\r\n\r\n", b"414"),
        (
            b"GET / HTTP/1.1\r\nHost: x\r\n"
            + (b"X-A: " + b"b" * 100 + b"\r\n") * 1000
            + b"\r\n",
            b"431",
        ),
        (b"GET /" + b"a" * 100_000 + b"\r\n", b"414"),  # refused as it arrives
        (b"\x00\xff garbage\r\n\r\n", b"400"),
    ],
    ids=["long-target", "large-headers", "unterminated-line", "garbage"],
)
def test_malformed_or_oversized_heads_get_json_errors(servers, request_head, status):
    with socket.create_connection(("127.0.0.1", servers.port)) as sock:
        sock.sendall(request_head)
        answer = read_answer(sock)
    assert answer.startswith(b"HTTP/1.1 " + status), answer[:200]
    assert "title" in json_body(answer)


def test_a_head_that_grows_without_end_is_refused_before_it_is_held(servers):
    """One header whose value never ends, sent in pieces: the parser would
    hold it all; the server answers 431 once the head passes its bound."""
    piece = b"b" * 16_384
    with socket.create_connection(("127.0.0.1", servers.port)) as sock:
        sock.sendall(b"GET / HTTP/1.1\r\nHost: x\r\nX-Long: ")
        try:
            for _ in range(64):  # 1 MiB, far past the bound
                sock.sendall(piece)
        except (BrokenPipeError, ConnectionResetError):
            pass  # refused (and closed) before all of it was sent
        answer = read_answer(sock)
    assert answer.startswith(b"HTTP/1.1 431"), answer[:200]
    assert "unfinished" in json_body(answer)["description"]


def test_pipelined_requests_are_answered_in_order_on_one_connection(servers):
    """Three requests sent at once, the last asking to close: three answers,
    in order (predictions of 3, 5 and 7 rows), then the server closes."""
    requests_ = b""
    for rows, connection in ((3, b"keep-alive"), (5, b"keep-alive"), (7, b"close")):
        body = npz_body(rows)
        requests_ += (
            b"POST /predict HTTP/1.1\r\nHost: x\r\nConnection: "
            + connection
            + b"\r\nContent-Length: "
            + str(len(body)).encode()
            + b"\r\n\r\n"
            + body
        )
    with socket.create_connection(("127.0.0.1", servers.port)) as sock:
        sock.sendall(requests_)
        answers = read_answer(sock)
    lengths = []
    while answers:
        head, _, rest = answers.partition(b"\r\n\r\n")
        assert head.startswith(b"HTTP/1.1 201"), head
        size = int(
            next(
                line.split(b":", 1)[1]
                for line in head.split(b"\r\n")
                if line.lower().startswith(b"content-length:")
            )
        )
        lengths.append(len(decode_named_arrays(rest[:size])["prediction"]))
        answers = rest[size:]
    assert lengths == [3, 5, 7]


def test_a_client_that_never_finishes_its_headers_is_cut_off(servers):
    with socket.create_connection(("127.0.0.1", servers.port)) as sock:
        sock.sendall(b"GET / HTTP/1.1\r\nHost: x\r\n")
        assert read_answer(sock) == b""  # closed by the server's deadline


def test_a_body_that_stops_arriving_gets_a_json_408(servers):
    with socket.create_connection(("127.0.0.1", servers.port)) as sock:
        sock.sendall(
            b"POST /predict HTTP/1.1\r\nHost: x\r\nContent-Length: 1000\r\n\r\nPK"
        )
        answer = read_answer(sock)
    assert answer.startswith(b"HTTP/1.1 408")
    assert "did not arrive" in json_body(answer)["description"]


def test_a_chunked_predict_body_is_read(servers):
    body = npz_body(rows=7)
    answer = predict(servers.url, data=iter([body[:100], body[100:]]))
    assert answer.request.headers.get("Transfer-Encoding") == "chunked"
    assert answer.status_code == 201, answer.text
    assert len(decode_named_arrays(answer.content)["prediction"]) == 7


def test_an_oversized_chunked_body_is_413(servers):
    chunk = b"x" * 1000
    answer = predict(servers.url, data=iter([chunk] * (BODY_LIMIT // 1000 + 1)))
    assert answer.status_code == 413, answer.text
    assert str(BODY_LIMIT) in answer.json()["description"]


def test_an_oversized_declared_body_is_413_before_it_is_sent(servers):
    with socket.create_connection(("127.0.0.1", servers.port)) as sock:
        sock.sendall(
            b"POST /predict HTTP/1.1\r\nHost: x\r\nContent-Length: 999999999\r\n\r\n"
        )
        answer = read_answer(sock)
    assert answer.startswith(b"HTTP/1.1 413")


def test_predict_is_answered_while_the_same_worker_fits(servers):
    gates = servers.gates
    (gates / "release-fit").unlink()  # the next fit waits at the gate
    for marker in gates.glob("fitting-*"):
        marker.unlink()
    fit: dict = {}
    thread = threading.Thread(
        target=lambda: fit.update(
            answer=requests.post(f"{servers.url}/fit", timeout=ANSWER)
        )
    )
    thread.start()
    try:
        deadline = time.monotonic() + ANSWER
        while not any(gates.glob("fitting-*")):  # the one worker is fitting
            assert time.monotonic() < deadline, servers.log()[-2000:]
            time.sleep(0.05)
        answer = predict(servers.url, data=npz_body())
        assert answer.status_code == 201, answer.text
        assert thread.is_alive()  # the fit is still waiting at the gate
    finally:
        (gates / "release-fit").touch()
        thread.join(ANSWER)
    assert fit["answer"].status_code == 201
