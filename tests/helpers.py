"""Shared test helpers: real server processes, npz bodies, the peers' env."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from anomed_anonymizer.cli.processes import ServerProcess, free_port, start_server
from anomed_anonymizer.wire import decode_named_arrays, encode_named_arrays

__all__ = [
    "PEER_APPS",
    "REPO_ROOT",
    "ServerProcess",
    "free_port",
    "gunicorn_argv",
    "npz",
    "peers_python",
    "start_server",
    "un_npz",
]

REPO_ROOT = Path(__file__).resolve().parents[1]
PEER_APPS = REPO_ROOT / "tests" / "interop" / "peer_apps"


def npz(**arrays: np.ndarray) -> bytes:
    return encode_named_arrays(arrays)


def un_npz(data: bytes) -> dict[str, np.ndarray]:
    return decode_named_arrays(data)


def peers_python() -> Path | None:
    """The interpreter of the peers' environment, if it exists."""
    configured = os.environ.get("ANOMED_PEERS_PYTHON")
    candidate = Path(configured) if configured else REPO_ROOT / ".venv-peers/bin/python"
    return candidate if candidate.exists() else None


def gunicorn_argv(
    python: str | Path,
    app: str,
    port: int,
    workers: int = 1,
    chdir: Path | None = None,
    timeout: int = 600,
) -> list[str]:
    """Plain gunicorn, as the peers' own documentation serves their apps."""
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
