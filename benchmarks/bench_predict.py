"""POST /predict latency and throughput: our server against upstream's.

Both serve the same app (benchmarks/apps/predict_app.py) with the same model,
two gunicorn workers each, fitted from the same local challenge; upstream
anomed-anonymizer 0.0.22 runs in the peers' environment (.venv-peers, NumPy
1.26), ours in this one. Prints median latency per body size, throughput
under concurrent clients, and the ratios.

Usage: python benchmarks/bench_predict.py [--peers-python .venv-peers/bin/python]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import requests
from _servers import start_challenge

from anomed_anonymizer.cli.processes import free_port, start_server
from anomed_anonymizer.wire import decode_named_arrays, encode_named_arrays

HERE = Path(__file__).resolve().parent
REPO = HERE.parent


def post(url: str, body: bytes) -> float:
    started = time.perf_counter()
    response = requests.post(url, data=body, timeout=120)
    elapsed = time.perf_counter() - started
    if response.status_code != 201:
        raise SystemExit(
            f"{url} answered {response.status_code}: {response.text[:300]}"
        )
    decode_named_arrays(response.content, required=["prediction"])
    return elapsed


def median_latency(url: str, body: bytes, repeat: int) -> float:
    post(url, body)  # warm the worker (model load)
    return statistics.median(post(url, body) for _ in range(repeat))


def throughput(url: str, body: bytes, requests_total: int, clients: int) -> float:
    started = time.perf_counter()
    with ThreadPoolExecutor(clients) as pool:
        list(pool.map(lambda _: post(url, body), range(requests_total)))
    return requests_total / (time.perf_counter() - started)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--peers-python", default=str(REPO / ".venv-peers/bin/python"))
    parser.add_argument("--repeat", type=int, default=30)
    args = parser.parse_args()
    if not Path(args.peers_python).exists():
        raise SystemExit("the peers' environment is missing: run `make peers` first")

    work = Path(tempfile.mkdtemp(prefix="bench-predict-"))
    servers = []
    try:
        servers.append(start_challenge(work))
        challenge = servers[-1].host
        urls = {}
        for name, python in (("ours", sys.executable), ("upstream", args.peers_python)):
            port = free_port()
            servers.append(
                start_server(
                    name,
                    [
                        str(python),
                        "-m",
                        "gunicorn",
                        "--bind",
                        f"127.0.0.1:{port}",
                        "--workers",
                        "2",
                        "--chdir",
                        str(HERE / "apps"),
                        "predict_app:application",
                    ],
                    port,
                    work,
                    env={
                        "CHALLENGE_HOST": challenge,
                        "MODEL_FILE": str(work / f"{name}.pkl"),
                    },
                )
            )
            requests.post(f"{servers[-1].url}/fit", timeout=120).raise_for_status()
            urls[name] = f"{servers[-1].url}/predict"

        rng = np.random.default_rng(0)
        header = ("rows per request", "ours [ms]", "upstream [ms]", "ratio")
        print("{:>18} {:>10} {:>14} {:>7}".format(*header))
        for rows in (10, 1_000, 100_000):
            body = encode_named_arrays({"X": rng.uniform(0, 8, size=(rows, 4))})
            repeat = args.repeat if rows < 100_000 else max(5, args.repeat // 5)
            ours = median_latency(urls["ours"], body, repeat)
            upstream = median_latency(urls["upstream"], body, repeat)
            print(
                f"{rows:>18} {ours * 1e3:>10.2f} {upstream * 1e3:>14.2f} "
                f"{upstream / ours:>6.2f}x"
            )
        body = encode_named_arrays({"X": rng.uniform(0, 8, size=(1_000, 4))})
        ours = throughput(urls["ours"], body, 300, clients=8)
        upstream = throughput(urls["upstream"], body, 300, clients=8)
        print(
            f"throughput, 1,000 rows, 8 clients: ours {ours:.0f} req/s, "
            f"upstream {upstream:.0f} req/s ({ours / upstream:.2f}x)"
        )
    finally:
        for server in reversed(servers):
            server.stop()


if __name__ == "__main__":
    main()
