"""A plain ``gunicorn app:application`` in a scaffold's folder serves the app as
``serve`` does: the scaffold's ``gunicorn.conf.py``, which gunicorn reads from
the folder it starts in, sets ``serve``'s worker and hooks."""

from __future__ import annotations

import json
import socket
import string
import sys

import numpy as np
import pytest
import requests

from anomed_anonymizer.wire import decode_named_arrays, encode_named_arrays
from helpers import REPO_ROOT, free_port, start_server

TEMPLATES = REPO_ROOT / "src" / "anomed_anonymizer" / "cli" / "templates"


def _render(template: str, name: str = "gunicorn_conf_test") -> str:
    return string.Template((TEMPLATES / template).read_text()).safe_substitute(
        name=name
    )


def _read_answer(sock: socket.socket) -> tuple[bytes, bytes]:
    """One HTTP/1.1 answer with a Content-Length: its head and its body."""
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = sock.recv(65536)
        if not chunk:
            raise ConnectionError(f"the server closed the connection after {data!r}")
        data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    length = next(
        int(line.split(b":", 1)[1])
        for line in head.lower().split(b"\r\n")
        if line.startswith(b"content-length:")
    )
    while len(body) < length:
        chunk = sock.recv(65536)
        if not chunk:
            raise ConnectionError("the server closed the connection mid-body")
        body += chunk
    return head, body


def _post(path: str, body: bytes, port: int, length: int | None = None) -> bytes:
    return (
        f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n"
        "Content-Type: application/octet-stream\r\n"
        f"Content-Length: {len(body) if length is None else length}\r\n\r\n"
    ).encode() + body


@pytest.mark.slow
@pytest.mark.parametrize(
    "config",
    [
        # The scaffold's file, read by gunicorn from the folder it starts in:
        # the command of upstream's README, no -c, no --worker-class.
        "scaffold",
        # No file; the settings named as the README says.
        "python:anomed_anonymizer.runtime.gunicorn_conf",
    ],
)
def test_plain_gunicorn_serves_as_serve_does(tmp_path, local_challenge, config):
    (tmp_path / "app.py").write_text(_render("supervised/app.py.tmpl"))
    if config == "scaffold":
        conf = _render("_common/gunicorn.conf.py.tmpl")
        (tmp_path / "gunicorn.conf.py").write_text(conf)
    flags = [] if config == "scaffold" else ["-c", config]
    gunicorn = [sys.executable, "-m", "gunicorn"]
    port = free_port()
    server = start_server(
        "gunicorn",
        [*gunicorn, *flags, f"--bind=127.0.0.1:{port}", "app:application"],
        port,
        tmp_path,
        env={
            "CHALLENGE_HOST": local_challenge.host,
            "ANOMED_PERSISTENT_DATA": str(tmp_path),
            "ANOMED_SERVE_MAX_BODY_BYTES": "1000000",
            "PYTHONPATH": str(REPO_ROOT / "src"),
        },
        cwd=tmp_path,
        timeout=180,
    )
    try:
        requests.post(f"{server.url}/fit", timeout=300).raise_for_status()
        X_tune, _ = local_challenge.tuning
        body = encode_named_arrays({"X": X_tune[:5]})
        with socket.create_connection(("127.0.0.1", port), timeout=120) as sock:
            # Two requests on one connection: gunicorn's sync worker closes it
            # after the first answer.
            for _ in range(2):
                sock.sendall(_post("/predict", body, port))
                head, answer = _read_answer(sock)
                assert head.startswith(b"HTTP/1.1 201"), head
                assert b"connection: close" not in head.lower(), head
                prediction = decode_named_arrays(answer)["prediction"]
                assert prediction.shape == (5,)
                assert np.isin(prediction, local_challenge.training[1]).all()
        with socket.create_connection(("127.0.0.1", port), timeout=120) as sock:
            # Refused from its Content-Length, before a byte of the body is
            # sent: the bridge's bound (ANOMED_SERVE_MAX_BODY_BYTES).
            sock.sendall(_post("/predict", b"", port, length=2_000_000))
            head, answer = _read_answer(sock)
            assert head.startswith(b"HTTP/1.1 413"), head
            assert "1000000" in json.loads(answer)["description"]
    finally:
        server.stop()
    log = (tmp_path / "gunicorn.log").read_text()
    assert "POST /predict -> 201" in log
