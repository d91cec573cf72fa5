"""What the benchmarks start: the local challenge, as a real server process."""

from __future__ import annotations

import sys
from pathlib import Path

from anomed_anonymizer.cli.processes import ServerProcess, free_port, start_server


def start_challenge(
    work: Path, dataset: Path | None = None, timeout: float = 60.0
) -> ServerProcess:
    """``emulate-challenge`` with one worker on a free port, logging into
    ``work``: on ``dataset`` (an ``.npz`` of ``X`` and ``y``) or its default."""
    port = free_port()
    argv = [
        sys.executable,
        "-m",
        "anomed_anonymizer",
        "emulate-challenge",
        f"--port={port}",
        "--workers=1",
    ]
    if dataset is not None:
        argv.append(f"--dataset={dataset}")
    return start_server("challenge", argv, port, work, timeout=timeout)
