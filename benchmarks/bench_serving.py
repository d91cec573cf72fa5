"""``POST /predict`` against upstream and against the in-process limit.

Goal 1 of issue 11 (small requests): 64 rows per request, clients that keep
their connections alive, one worker: ours (``anomed-anonymizer serve``)
answers at least 2x the requests per second of upstream 0.0.22 (plain
gunicorn, its sync worker, in ``--peers-python``). The clients are raw
sockets driven by one asyncio loop (``--clients`` connections), so that
the client costs little next to the servers; upstream's sync worker closes
every connection, so its clients reconnect.

Goal 2 (large requests): 100,000 rows of 30 floats at ``?batch_size=64``:
ours at most 1.15x the in-process limit, which decodes the same body,
makes the same 64-row predict calls on the same fitted model and encodes
the answer in this process.

Both libraries serve ``benchmarks/apps/dp_predict_app.py`` (diffprivlib's
LogisticRegression), fitted from one emulated challenge. Rounds alternate
between the servers; each figure is the median of ``--rounds`` rounds.

Run: ``python benchmarks/bench_serving.py [--quick] [--peers-python PY]``
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import tempfile
import time
from pathlib import Path
from urllib.parse import urlsplit

import numpy as np
import requests
from _servers import start_challenge

from anomed_anonymizer import unpickle_anonymizer
from anomed_anonymizer.cli.processes import free_port, start_server
from anomed_anonymizer.wire import decode_named_arrays, encode_named_arrays

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
FEATURES = 30


def request_bytes(url: str, body: bytes) -> bytes:
    parts = urlsplit(url)
    return (
        f"POST {parts.path}?{parts.query} HTTP/1.1\r\nHost: {parts.netloc}\r\n"
        f"Content-Type: application/octet-stream\r\nContent-Length: {len(body)}"
        "\r\nConnection: keep-alive\r\n\r\n"
    ).encode() + body


async def _client(host: str, port: int, request: bytes, count: int) -> None:
    reader = writer = None
    for _ in range(count):
        if writer is None:
            reader, writer = await asyncio.open_connection(host, port)
        writer.write(request)
        head = await reader.readuntil(b"\r\n\r\n")
        if not head.startswith(b"HTTP/1.1 201"):
            raise SystemExit(f"unexpected answer: {head[:200]!r}")
        lower = head.lower()
        start = lower.index(b"content-length:") + 15
        length = int(lower[start : lower.index(b"\r\n", start)])
        await reader.readexactly(length)
        if b"connection: close" in lower:
            writer.close()
            reader = writer = None
    if writer is not None:
        writer.close()


def requests_per_second(url: str, body: bytes, total: int, clients: int) -> float:
    parts = urlsplit(url)
    request = request_bytes(url, body)

    async def run() -> float:
        started = time.perf_counter()
        await asyncio.gather(
            *(
                _client(parts.hostname, parts.port, request, total // clients)
                for _ in range(clients)
            )
        )
        return (total // clients) * clients / (time.perf_counter() - started)

    return asyncio.run(run())


def latency(session: requests.Session, url: str, body: bytes) -> float:
    started = time.perf_counter()
    response = session.post(url, data=body, timeout=300)
    elapsed = time.perf_counter() - started
    if response.status_code != 201:
        raise SystemExit(f"{url}: {response.status_code} {response.text[:300]}")
    return elapsed


def in_process(model_file: Path, body: bytes, batch_size: int) -> float:
    """Decode, predict in batches and encode, as the limit of a server."""
    if str(HERE / "apps") not in sys.path:  # the pickle names the app's validator
        sys.path.insert(0, str(HERE / "apps"))
    anonymizer = unpickle_anonymizer(model_file)
    started = time.perf_counter()
    X = decode_named_arrays(body, required=("X",), only=("X",))["X"]
    prediction = anonymizer.predict(X, batch_size=batch_size)
    encode_named_arrays({"prediction": prediction})
    return time.perf_counter() - started


def start_servers(args, work: Path) -> tuple[list, dict[str, str], dict[str, Path]]:
    rng = np.random.default_rng(0)
    X = rng.normal(size=(4_000, FEATURES))
    y = (X[:, :3].sum(axis=1) > 0).astype(np.int64)
    (work / "data.npz").write_bytes(encode_named_arrays({"X": X, "y": y}))
    servers = []
    servers.append(start_challenge(work, work / "data.npz"))
    challenge = servers[-1].host
    urls, models = {}, {}
    for name in ("ours", "upstream"):
        port = free_port()
        models[name] = work / f"{name}.pkl"
        env = {"CHALLENGE_HOST": challenge, "MODEL_FILE": str(models[name])}
        if name == "ours":
            argv = [
                sys.executable,
                "-m",
                "anomed_anonymizer",
                "serve",
                "dp_predict_app:application",
                f"--port={port}",
                "--workers=1",
                f"--chdir={HERE / 'apps'}",
            ]
        else:
            argv = [
                args.peers_python,
                "-m",
                "gunicorn",
                "--bind",
                f"127.0.0.1:{port}",
                "--workers=1",
                "--chdir",
                str(HERE / "apps"),
                "dp_predict_app:application",
            ]
            env["PYTHONPATH"] = ""  # upstream's package, not this checkout
        servers.append(start_server(name, argv, port, work, env=env))
        requests.post(f"{servers[-1].url}/fit", timeout=120).raise_for_status()
        urls[name] = f"{servers[-1].url}/predict"
    return servers, urls, models


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--peers-python", default=str(REPO / ".venv-peers/bin/python"))
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--requests", type=int, default=2_000, help="per round")
    parser.add_argument("--clients", type=int, default=4)
    parser.add_argument("--quick", action="store_true", help="3 rounds, fewer requests")
    args = parser.parse_args()
    if args.quick:
        args.rounds, args.requests = 3, 600
    if not Path(args.peers_python).exists():
        raise SystemExit("the peers' environment is missing: run `make peers` first")

    work = Path(tempfile.mkdtemp(prefix="bench-serving-"))
    servers, urls, models = start_servers(args, work)
    try:
        rng = np.random.default_rng(1)
        # Bodies as the peers send them (numpy.savez_compressed).
        small = encode_named_arrays(
            {"X": rng.normal(size=(64, FEATURES))}, compress=True
        )
        rates: dict[str, list[float]] = {"ours": [], "upstream": []}
        for url in urls.values():  # warm up: model loaded, caches filled
            requests_per_second(url, small, 100, args.clients)
        for _ in range(args.rounds):
            for name, url in urls.items():
                rates[name].append(
                    requests_per_second(url, small, args.requests, args.clients)
                )
        ours, upstream = (statistics.median(rates[n]) for n in ("ours", "upstream"))
        print(
            f"POST /predict, 64 rows x {FEATURES} floats, {args.clients} keep-alive "
            f"clients, one worker: ours {ours:.0f} req/s ({1e6 / ours:.0f} us), "
            f"upstream {upstream:.0f} req/s ({1e6 / upstream:.0f} us): "
            f"{ours / upstream:.2f}x (goal >= 2x)"
        )

        large = encode_named_arrays(
            {"X": rng.normal(size=(100_000, FEATURES))}, compress=True
        )
        times: dict[str, list[float]] = {"ours": [], "upstream": [], "limit": []}
        with requests.Session() as session:
            for url in urls.values():
                latency(session, f"{url}?batch_size=64", large)
            for _ in range(args.rounds):
                for name, url in urls.items():
                    times[name].append(latency(session, f"{url}?batch_size=64", large))
                times["limit"].append(in_process(models["ours"], large, 64))
        ours, upstream, limit = (
            statistics.median(times[n]) for n in ("ours", "upstream", "limit")
        )
        print(
            f"POST /predict, 100,000 rows x {FEATURES} floats, batch 64: ours "
            f"{ours * 1e3:.0f} ms, upstream {upstream * 1e3:.0f} ms, in-process "
            f"limit {limit * 1e3:.0f} ms: ours {ours / limit:.2f}x the limit "
            f"(goal <= 1.15x), upstream {upstream / limit:.2f}x"
        )
    finally:
        for server in reversed(servers):
            server.stop()


if __name__ == "__main__":
    main()
