"""Worker memory of ``POST /fit`` and ``POST /evaluate`` on big data, ours
against upstream.

Goal 3 of issue 11: with at least 1 GB of float64 training data served by the
emulator, a worker's peak RSS minus its idle RSS during ``/fit`` is at most
1.3x the training arrays (``X`` and ``y``); the same for ``/evaluate`` on at
least 1,000,000 validation rows (against the validation ``X``, all the
worker needs). Both libraries serve ``benchmarks/apps/memory_app.py`` (a
model that costs nothing) with one worker: ours with ``anomed-anonymizer
serve``, upstream 0.0.22 (``--peers-python``) with plain gunicorn. The peak
is the kernel's high-water mark (``VmHWM``), reset before each request
through ``/proc/PID/clear_refs``.

Run: ``python benchmarks/bench_memory.py [--quick] [--skip-upstream]``
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import psutil
import requests
from _servers import start_challenge

from anomed_anonymizer.cli.processes import free_port, start_server
from anomed_anonymizer.wire import encode_named_arrays

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
FEATURES = 16
TRAINING_SHARE = 0.7  # the emulator holds out 30 %, halved into tuning/validation


def _status(pid: int, field: str) -> int:
    """A ``/proc/PID/status`` figure in bytes."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1]) * 1024
    raise KeyError(field)


def worker_of(server_pid: int) -> int:
    """The one gunicorn worker under ``server_pid``."""
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        children = psutil.Process(server_pid).children()
        if children:
            return children[0].pid
        time.sleep(0.1)
    raise RuntimeError(f"no worker under {server_pid}")


def peak_over_idle(pid: int, send) -> tuple[int, float]:
    """Peak RSS minus the RSS before ``send()``, and its seconds."""
    Path(f"/proc/{pid}/clear_refs").write_text("5")  # reset VmHWM to VmRSS
    idle = _status(pid, "VmRSS")
    started = time.perf_counter()
    send()
    return _status(pid, "VmHWM") - idle, time.perf_counter() - started


def write_dataset(path: Path, training_bytes: float, seed: int = 0) -> int:
    """An .npz with enough rows that the training split has
    ``training_bytes`` of ``X`` and ``y`` (normal features, which deflate
    hardly shrinks, so that the body is as large as the data). Returns the
    rows."""
    rows = int(training_bytes / ((FEATURES + 1) * 8) / TRAINING_SHARE) + 1
    rng = np.random.default_rng(seed)
    X = rng.standard_normal(size=(rows, FEATURES))
    y = (X[:, 0] > 0).astype(np.int64)
    path.write_bytes(encode_named_arrays({"X": X, "y": y}, compress=False))
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--peers-python", default=str(REPO / ".venv-peers/bin/python"))
    parser.add_argument(
        "--training-gb", type=float, default=1.02, help="training X and y [GB]"
    )
    parser.add_argument("--quick", action="store_true", help="0.25 GB of training data")
    parser.add_argument("--skip-upstream", action="store_true")
    args = parser.parse_args()
    if args.quick:
        args.training_gb = 0.25
    libraries = [("ours", None)]
    if not args.skip_upstream:
        if not Path(args.peers_python).exists():
            raise SystemExit("the peers' environment is missing: run `make peers`")
        libraries.append(("upstream", args.peers_python))

    work = Path(tempfile.mkdtemp(prefix="bench-memory-"))
    rows = write_dataset(work / "data.npz", args.training_gb * 1e9)
    servers = []
    try:
        servers.append(start_challenge(work, work / "data.npz", timeout=600))
        challenge = servers[-1].host
        training = requests.get(
            f"{servers[-1].url}/data/anonymizer/training", timeout=600, stream=True
        )
        training.close()
        n_train = rows - int(np.ceil(rows * (1 - TRAINING_SHARE)))
        n_validation = (rows - n_train) - (rows - n_train) // 2
        training_bytes = n_train * (FEATURES + 1) * 8
        validation_bytes = n_validation * FEATURES * 8
        print(
            f"training data: {n_train:,} rows x {FEATURES} float64 + int64 labels = "
            f"{training_bytes / 1e9:.2f} GB; validation X: {n_validation:,} rows = "
            f"{validation_bytes / 1e9:.2f} GB"
        )
        print(
            f"{'':<10} {'/fit peak-idle':>15} {'÷ data':>7} {'[s]':>6}   "
            f"{'/evaluate peak-idle':>20} {'÷ data':>7} {'[s]':>6}"
        )
        for name, python in libraries:
            port = free_port()
            env = {
                "CHALLENGE_HOST": challenge,
                "MODEL_FILE": str(work / f"{name}.pkl"),
            }
            if python is None:
                argv = [
                    sys.executable,
                    "-m",
                    "anomed_anonymizer",
                    "serve",
                    "memory_app:application",
                    f"--port={port}",
                    "--workers=1",
                    "--timeout=600",
                    f"--chdir={HERE / 'apps'}",
                ]
            else:
                argv = [
                    python,
                    "-m",
                    "gunicorn",
                    "--bind",
                    f"127.0.0.1:{port}",
                    "--workers=1",
                    "--timeout=600",
                    "--chdir",
                    str(HERE / "apps"),
                    "memory_app:application",
                ]
                env["PYTHONPATH"] = ""  # upstream's package, not this checkout
            server = start_server(name, argv, port, work, env=env)
            servers.append(server)
            worker = worker_of(server.pid)
            requests.get(f"{server.url}/", timeout=30)

            def call(route: str, server=server, name=name) -> None:
                response = requests.post(f"{server.url}{route}", timeout=1200)
                if response.status_code != 201:
                    raise SystemExit(
                        f"{name} {route}: {response.status_code} {response.text[:300]}"
                    )

            fit, fit_s = peak_over_idle(worker, lambda: call("/fit"))
            evaluate, evaluate_s = peak_over_idle(
                worker, lambda: call("/evaluate?data_split=validation")
            )
            print(
                f"{name:<10} {fit / 1e9:>12.2f} GB {fit / training_bytes:>6.2f}x "
                f"{fit_s:>6.1f}   {evaluate / 1e9:>17.2f} GB "
                f"{evaluate / validation_bytes:>6.2f}x {evaluate_s:>6.1f}"
            )
            server.stop()
            servers.remove(server)
        print("goal: <= 1.30x for both")
    finally:
        for server in reversed(servers):
            server.stop()


if __name__ == "__main__":
    main()
