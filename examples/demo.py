"""Run the README's example anonymizer against the real iris challenge, locally.

Starts, as separate processes on free loopback ports: a platform stub, the real
``anomed-challenge`` (from the peers' environment) and the README example under
gunicorn; then runs fit, evaluate (tuning, validation) and one predict, prints
the results and stops everything, also on Ctrl-C or failure.

Usage: ``python examples/demo.py --peers-python .venv-peers/bin/python``
"""

from __future__ import annotations

import argparse
import contextlib
import re
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import requests

from anomed_anonymizer.wire import decode_named_arrays, encode_named_arrays

REPO = Path(__file__).resolve().parents[1]
PEER_APPS = REPO / "tests" / "interop" / "peer_apps"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def start(name, argv, port, log_dir, env=None, cwd=None) -> subprocess.Popen:
    log = open(log_dir / f"{name}.log", "wb")  # noqa: SIM115 - lives with the process
    process = subprocess.Popen(
        argv, stdout=log, stderr=subprocess.STDOUT, cwd=cwd, env=env
    )
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if process.poll() is not None:
            tail = (log_dir / f"{name}.log").read_text(errors="replace")[-2000:]
            raise SystemExit(f"{name} failed to start:\n{tail}")
        with contextlib.suppress(requests.RequestException):
            requests.get(f"http://127.0.0.1:{port}/", timeout=1)
            print(f"  {name:<11} http://127.0.0.1:{port}")
            return process
        time.sleep(0.2)
    raise SystemExit(f"{name} did not start within 60 s; see {log_dir / name}.log")


def gunicorn(python, app, port, chdir, workers=1):
    return [
        str(python),
        "-m",
        "gunicorn",
        "-b",
        f"127.0.0.1:{port}",
        "-w",
        str(workers),
        "--timeout",
        "600",
        "--chdir",
        str(chdir),
        app,
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--peers-python", required=True, type=Path)
    args = parser.parse_args()
    import os

    work = Path(tempfile.mkdtemp(prefix="anomed-demo-"))
    readme = (REPO / "README.md").read_text()
    (work / "app.py").write_text(re.search(r"```python\n(.*?)```", readme, re.S)[1])
    ports = {name: free_port() for name in ("platform", "challenge", "anonymizer")}
    env = dict(os.environ)
    processes = []
    print("Starting servers (logs in", work, ")")
    try:
        processes.append(
            start(
                "platform",
                [
                    sys.executable,
                    str(PEER_APPS / "platform_stub.py"),
                    str(ports["platform"]),
                    str(work / "platform.jsonl"),
                ],
                ports["platform"],
                work,
            )
        )
        env["ANOMED_HOST"] = f"127.0.0.1:{ports['platform']}"
        processes.append(
            start(
                "challenge",
                gunicorn(
                    args.peers_python,
                    "challenge_app:application",
                    ports["challenge"],
                    PEER_APPS,
                ),
                ports["challenge"],
                work,
                env=env,
            )
        )
        env["CHALLENGE_HOST"] = f"127.0.0.1:{ports['challenge']}"
        processes.append(
            start(
                "anonymizer",
                gunicorn(
                    sys.executable,
                    "app:application",
                    ports["anonymizer"],
                    work,
                    workers=2,
                ),
                ports["anonymizer"],
                work,
                env=env,
                cwd=work,
            )
        )
        anonymizer = f"http://127.0.0.1:{ports['anonymizer']}"
        challenge = f"http://127.0.0.1:{ports['challenge']}"

        print("\nPOST /fit")
        response = requests.post(f"{anonymizer}/fit", timeout=600)
        print(f"  {response.status_code} {response.json()}")
        for split in ("tuning", "validation"):
            print(f"POST /evaluate?data_split={split}")
            response = requests.post(
                f"{anonymizer}/evaluate", params={"data_split": split}, timeout=120
            )
            print(f"  {response.status_code} {response.json()}")
        X = decode_named_arrays(
            requests.get(f"{challenge}/data/anonymizer/tuning", timeout=30).content
        )["X"]
        print(f"POST /predict with X of shape {X.shape}")
        response = requests.post(
            f"{anonymizer}/predict", data=encode_named_arrays({"X": X[:5]}), timeout=30
        )
        prediction = decode_named_arrays(response.content)["prediction"]
        print(f"  {response.status_code} prediction={prediction.tolist()}")
    except KeyboardInterrupt:
        print("\ninterrupted")
    finally:
        for process in reversed(processes):
            process.terminate()
        for process in processes:
            with contextlib.suppress(subprocess.TimeoutExpired):
                process.wait(timeout=10)
        print("All servers stopped.")


if __name__ == "__main__":
    main()
