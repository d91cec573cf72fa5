"""Serving stacks against slow and idle clients, side by side.

Serves one app (tests/interop/our_apps/versioned_app.py) with each stack,
two workers (waitress: one process), one request thread each, and measures:

- ``predict/s``: POST /predict throughput of 4 concurrent clients, no idlers;
- ``GET / with idlers``: seconds until ``GET /`` is answered while 200
  connections sit idle or half-sent (``hung`` after ``--patience`` s);
- ``TLS hello``: the same while a TLS ClientHello waits on the plain port;
- ``long fit``: whether a CPU-bound /fit of 3x the worker timeout completes;
- ``predict during fit``: whether /predict is answered by a single-worker
  server while it trains.

All traffic goes to 127.0.0.1; every loop is bounded.

Usage: python benchmarks/bench_slow_clients.py [--seconds 5] [--patience 10]
"""

from __future__ import annotations

import argparse
import contextlib
import importlib.util
import socket
import ssl
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import requests

from anomed_anonymizer.cli.processes import ServerProcess, free_port, start_server
from anomed_anonymizer.wire import encode_named_arrays

REPO = Path(__file__).resolve().parents[1]
APPS = REPO / "tests" / "interop" / "our_apps"
CLI = str(Path(sys.executable).with_name("anomed-anonymizer"))
WORKER_TIMEOUT = 2


def gunicorn(worker: str, workers: int) -> list[str]:
    return [
        sys.executable,
        "-m",
        "gunicorn",
        "-k",
        worker,
        "--threads",
        "1",
        "--workers",
        str(workers),
        "--timeout",
        str(WORKER_TIMEOUT),
        "--chdir",
        str(APPS),
    ]


STACKS = {
    "gthread (old serve)": lambda port, workers: [
        *gunicorn("gthread", workers),
        "--bind",
        f"127.0.0.1:{port}",
        "versioned_app:application",
    ],
    "sync": lambda port, workers: [
        *gunicorn("sync", workers),
        "--bind",
        f"127.0.0.1:{port}",
        "versioned_app:application",
    ],
    "gevent": lambda port, workers: [
        *gunicorn("gevent", workers),
        "--bind",
        f"127.0.0.1:{port}",
        "versioned_app:application",
    ],
    "waitress (1 process)": lambda port, workers: [
        sys.executable,
        "-m",
        "waitress",
        "--threads=1",
        f"--port={port}",
        "--host=127.0.0.1",
        "--channel-timeout=30",
        "--call",
        "versioned_app:_waitress_app",
    ],
    "uvicorn bridge (serve)": lambda port, workers: [
        CLI,
        "serve",
        "versioned_app:application",
        "--chdir",
        str(APPS),
        f"--port={port}",
        f"--workers={workers}",
        f"--timeout={WORKER_TIMEOUT}",
    ],
}
NEEDS = {"gevent": "gevent", "waitress (1 process)": "waitress"}


def client_hello() -> bytes:
    context = ssl.create_default_context()
    incoming, outgoing = ssl.MemoryBIO(), ssl.MemoryBIO()
    tls = context.wrap_bio(incoming, outgoing, server_hostname="x")
    with contextlib.suppress(ssl.SSLWantReadError):
        tls.do_handshake()
    return outgoing.read()


def seconds_to_answer(url: str, patience: float) -> float | None:
    started = time.perf_counter()
    try:
        requests.get(url + "/", timeout=patience)
    except requests.RequestException:
        return None
    return time.perf_counter() - started


def with_idlers(server: ServerProcess, patience: float, hello: bool) -> str:
    held = []
    try:
        for i in range(1 if hello else 200):
            sock = socket.create_connection(("127.0.0.1", server.port))
            if hello:
                sock.sendall(client_hello())
            elif i % 2:
                sock.sendall(b"GET / HT")
            held.append(sock)
        took = seconds_to_answer(server.url, patience)
        return "hung" if took is None else f"{took:.3f} s"
    finally:
        for sock in held:
            sock.close()


def throughput(url: str, seconds: float) -> float:
    body = encode_named_arrays({"X": np.zeros((100, 4))})
    deadline = time.monotonic() + seconds
    session_local = threading.local()

    def loop() -> int:
        session_local.session = requests.Session()
        done = 0
        while time.monotonic() < deadline:
            answer = session_local.session.post(f"{url}/predict", data=body, timeout=30)
            done += answer.status_code == 201
        return done

    with ThreadPoolExecutor(4) as pool:
        return sum(pool.map(lambda _: loop(), range(4))) / seconds


def long_fit(server: ServerProcess) -> str:
    try:
        answer = requests.post(f"{server.url}/fit", timeout=60)
    except requests.RequestException as exc:
        return f"failed ({type(exc).__name__})"
    return "completes" if answer.status_code == 201 else f"{answer.status_code}"


def predict_during_fit(server: ServerProcess, patience: float) -> str:
    result: dict = {}
    fit = threading.Thread(
        target=lambda: result.update(fit=long_fit(server)), daemon=True
    )
    fit.start()
    deadline = time.monotonic() + 30
    while "fitting on X" not in server.log()[-5000:] and time.monotonic() < deadline:
        time.sleep(0.05)
    body = encode_named_arrays({"X": np.zeros((10, 4))})
    started = time.perf_counter()
    try:
        answer = requests.post(f"{server.url}/predict", data=body, timeout=patience)
        ok = answer.status_code == 201 and fit.is_alive()
        took = time.perf_counter() - started
        verdict = f"{took:.3f} s" if ok else f"after the fit ({took:.1f} s)"
    except requests.RequestException:
        verdict = "hung"
    fit.join(60)
    return verdict


def run_stack(name, argv_for, emulator, work, args) -> dict[str, str]:
    row: dict[str, str] = {}
    for workers, fit_busy in ((2, 0), (1, 3 * WORKER_TIMEOUT)):
        port = free_port()
        server = start_server(
            f"{name.split()[0]}-{workers}",
            argv_for(port, workers),
            port,
            work,
            env={
                "CHALLENGE_HOST": emulator.host,
                "MODEL_FILE": str(work / f"{name.split()[0]}.pkl"),
                "FIT_BUSY_SECONDS": "0",
                "PYTHONPATH": f"{APPS}:{REPO / 'src'}",
            },
            cwd=APPS,
            timeout=120,
        )
        try:
            if workers == 2:
                requests.post(f"{server.url}/fit", timeout=60).raise_for_status()
                row["predict/s"] = f"{throughput(server.url, args.seconds):.0f}"
                row["GET / with idlers"] = with_idlers(server, args.patience, False)
                row["TLS hello"] = with_idlers(server, args.patience, True)
            else:
                server.stop()
                server = start_server(
                    f"{name.split()[0]}-fit",
                    argv_for(port, workers),
                    port,
                    work,
                    env={
                        "CHALLENGE_HOST": emulator.host,
                        "MODEL_FILE": str(work / f"{name.split()[0]}.pkl"),
                        "FIT_BUSY_SECONDS": str(fit_busy),
                        "PYTHONPATH": f"{APPS}:{REPO / 'src'}",
                    },
                    cwd=APPS,
                    timeout=120,
                )
                row["predict during fit"] = predict_during_fit(server, args.patience)
                row["long fit"] = long_fit(server)
        finally:
            server.stop(timeout=5)
    return row


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=5.0)
    parser.add_argument("--patience", type=float, default=10.0)
    parser.add_argument("--only", nargs="*", help="stacks to run (default all)")
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="bench-slow-"))
    port = free_port()
    emulator = start_server(
        "emulator", [CLI, "emulate-challenge", f"--port={port}"], port, work
    )
    rows = {}
    try:
        for name, argv_for in STACKS.items():
            if args.only and not any(o in name for o in args.only):
                continue
            module = NEEDS.get(name)
            if module and importlib.util.find_spec(module) is None:
                print(f"skipping {name}: pip install {module}", file=sys.stderr)
                continue
            print(f"measuring {name} ...", file=sys.stderr)
            rows[name] = run_stack(name, argv_for, emulator, work, args)
    finally:
        emulator.stop()
    columns = [
        "predict/s",
        "GET / with idlers",
        "TLS hello",
        "long fit",
        "predict during fit",
    ]
    print("| stack | " + " | ".join(columns) + " |")
    print("|---" * (len(columns) + 1) + "|")
    for name, row in rows.items():
        print(f"| {name} | " + " | ".join(row.get(c, "-") for c in columns) + " |")
    ours = rows.get("uvicorn bridge (serve)")
    old = rows.get("gthread (old serve)")
    if ours and old:
        ratio = float(ours["predict/s"]) / float(old["predict/s"])
        print(f"\npredict throughput, serve now / old gthread: {ratio:.2f}x")
    print(f"(logs in {work})")


if __name__ == "__main__":
    main()
