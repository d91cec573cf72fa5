"""Shared test helpers: free ports, real server processes, npz bodies."""

from __future__ import annotations

import contextlib
import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import requests

from anomed_anonymizer.wire import decode_named_arrays, encode_named_arrays

REPO_ROOT = Path(__file__).resolve().parents[1]
PEER_APPS = REPO_ROOT / "tests" / "interop" / "peer_apps"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def npz(**arrays: np.ndarray) -> bytes:
    return encode_named_arrays(arrays)


def un_npz(data: bytes) -> dict[str, np.ndarray]:
    return decode_named_arrays(data)


def peers_python() -> Path | None:
    """The interpreter of the peers' environment, if it exists."""
    configured = os.environ.get("ANOMED_PEERS_PYTHON")
    candidate = Path(configured) if configured else REPO_ROOT / ".venv-peers/bin/python"
    return candidate if candidate.exists() else None


@dataclass
class ServerProcess:
    """A server started as a separate process, listening on ``port``."""

    name: str
    process: subprocess.Popen
    port: int
    log_path: Path

    @property
    def host(self) -> str:
        return f"127.0.0.1:{self.port}"

    @property
    def url(self) -> str:
        return f"http://{self.host}"

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


def start_server(
    name: str,
    argv: Sequence[str],
    port: int,
    log_dir: Path,
    env: Mapping[str, str] | None = None,
    cwd: Path | None = None,
    ready_path: str = "/",
    timeout: float = 60.0,
) -> ServerProcess:
    """Start ``argv`` and wait until ``GET ready_path`` answers."""
    log_path = log_dir / f"{name}.log"
    log_file = open(log_path, "wb")  # noqa: SIM115 - closed with the process
    process = subprocess.Popen(
        list(argv),
        stdout=log_file,
        stderr=subprocess.STDOUT,
        env={**os.environ, **(env or {})},
        cwd=cwd,
        start_new_session=True,
    )
    server = ServerProcess(name, process, port, log_path)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(
                f"{name} exited with {process.returncode} before serving:\n"
                f"{server.log()[-4000:]}"
            )
        with contextlib.suppress(requests.RequestException):
            if requests.get(server.url + ready_path, timeout=2).status_code < 500:
                return server
        time.sleep(0.2)
    server.stop()
    raise RuntimeError(
        f"{name} did not answer within {timeout} s:\n{server.log()[-4000:]}"
    )


def gunicorn_argv(
    python: str | Path,
    app: str,
    port: int,
    workers: int = 1,
    chdir: Path | None = None,
    timeout: int = 600,
) -> list[str]:
    argv = [
        str(python),
        "-m",
        "gunicorn",
        "--bind",
        f"127.0.0.1:{port}",
        "--workers",
        str(workers),
        "--timeout",
        str(timeout),
        "--graceful-timeout",
        "5",
    ]
    if chdir is not None:
        argv += ["--chdir", str(chdir)]
    return [*argv, app]


@contextlib.contextmanager
def running(*servers: ServerProcess) -> Iterator[None]:
    try:
        yield
    finally:
        for server in servers:
            server.stop()


def our_python() -> str:
    return sys.executable
