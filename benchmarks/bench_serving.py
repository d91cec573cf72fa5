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

Issue 24 (where users are): the same app under a plain ``gunicorn
app:application`` (gunicorn's sync worker, as upstream's README and the
AnoMed templates serve it), under that command with the scaffolds'
``gunicorn.conf.py`` (``serve``'s worker), and ``serve --workers 1`` against
upstream's best one-worker gunicorn (sync or gthread), at 1 and 4 clients.
``sync floor`` serves ``apps/floor_app.py`` (reads the body, answers fixed
bytes) under the sync worker: the most any app reaches there.

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


#: name -> (which environment, command line after the interpreter).
SERVERS = {
    # Ours under its own runtime.
    "serve": ("ours", ["-m", "anomed_anonymizer", "serve", "--workers=1"]),
    # Ours as upstream's README (and the AnoMed templates) serve it.
    "gunicorn": ("ours", ["-m", "gunicorn", "--workers=1"]),
    # The same command line with the scaffolds' gunicorn.conf.py (serve's
    # worker and hooks), which gunicorn reads from the folder it starts in.
    "gunicorn+conf": (
        "ours",
        [
            "-m",
            "gunicorn",
            "--config=python:anomed_anonymizer.runtime.gunicorn_conf",
            "--workers=1",
        ],
    ),
    # gunicorn's sync worker with an app that does nothing: its ceiling.
    "sync floor": ("ours", ["-m", "gunicorn", "--workers=1"]),
    "upstream sync": ("upstream", ["-m", "gunicorn", "--workers=1"]),
    "upstream gthread": (
        "upstream",
        ["-m", "gunicorn", "--workers=1", "--worker-class=gthread", "--threads=4"],
    ),
}


def start_servers(args, work: Path) -> tuple[list, dict[str, str], dict[str, Path]]:
    rng = np.random.default_rng(0)
    X = rng.normal(size=(4_000, FEATURES))
    y = (X[:, :3].sum(axis=1) > 0).astype(np.int64)
    (work / "data.npz").write_bytes(encode_named_arrays({"X": X, "y": y}))
    servers = []
    servers.append(start_challenge(work, work / "data.npz"))
    challenge = servers[-1].host
    urls, models = {}, {}
    for name, (library, argv) in SERVERS.items():
        port = free_port()
        models[name] = work / f"{name.replace(' ', '-')}.pkl"
        env = {"CHALLENGE_HOST": challenge, "MODEL_FILE": str(models[name])}
        python = sys.executable if library == "ours" else args.peers_python
        if argv[1] == "anomed_anonymizer":
            argv = [
                *argv,
                "dp_predict_app:application",
                f"--port={port}",
                f"--chdir={HERE / 'apps'}",
            ]
        else:
            argv = [
                *argv,
                f"--bind=127.0.0.1:{port}",
                f"--chdir={HERE / 'apps'}",
                "floor_app:application"
                if name == "sync floor"
                else ("dp_predict_app:application"),
            ]
        if library == "upstream":
            env["PYTHONPATH"] = ""  # upstream's package, not this checkout
        label = name.replace(" ", "-")
        servers.append(start_server(label, [python, *argv], port, work, env=env))
        requests.post(f"{servers[-1].url}/fit", timeout=120).raise_for_status()
        urls[name] = f"{servers[-1].url}/predict"
    return servers, urls, models


def row(work: str, measured: str, goal: str, ratio: float, passed: bool) -> str:
    """One line of the table: what, measured, goal, ratio and PASS or MISS."""
    verdict = "PASS" if passed else "MISS"
    return f"| {work} | {measured} | {goal} | {ratio:.2f}x | {verdict} |"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--peers-python", default=str(REPO / ".venv-peers/bin/python"))
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--requests", type=int, default=2_000, help="per round")
    parser.add_argument(
        "--clients", type=int, nargs="+", default=[1, 4], help="client counts"
    )
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
        rates = {(n, c): [] for n in urls for c in args.clients}
        for url in urls.values():  # warm up: model loaded, caches filled
            requests_per_second(url, small, 100, max(args.clients))
        for _ in range(args.rounds):  # alternating: every server in every round
            for clients in args.clients:
                for name, url in urls.items():
                    rates[name, clients].append(
                        requests_per_second(url, small, args.requests, clients)
                    )
        rate = {key: statistics.median(values) for key, values in rates.items()}

        large = encode_named_arrays(
            {"X": rng.normal(size=(100_000, FEATURES))}, compress=True
        )
        big = ("serve", "gunicorn", "upstream sync")
        times: dict[str, list[float]] = {n: [] for n in (*big, "limit")}
        with requests.Session() as session:
            for name in big:
                latency(session, f"{urls[name]}?batch_size=64", large)
            for _ in range(args.rounds):
                for name in big:
                    times[name].append(
                        latency(session, f"{urls[name]}?batch_size=64", large)
                    )
                times["limit"].append(in_process(models["serve"], large, 64))
        took = {name: statistics.median(values) for name, values in times.items()}
    finally:
        for server in reversed(servers):
            server.stop()

    print(
        f"\nPOST /predict, {FEATURES} floats per row, one worker, medians of "
        f"{args.rounds} alternating rounds (req/s):"
    )
    for clients in args.clients:
        print(
            f"  {clients} client(s): "
            + ", ".join(f"{n} {rate[n, clients]:.0f}" for n in urls)
        )
    print(
        "  100,000 rows at batch 64: "
        + ", ".join(f"{n} {took[n] * 1e3:.0f} ms" for n in took)
    )
    print("\n| work | measured | goal | ratio | |\n|---|---|---|---:|---|")
    small_clients = min(args.clients)
    ratio = rate["gunicorn", small_clients] / rate["upstream sync", small_clients]
    print(
        row(
            f"64 rows, plain `gunicorn app:application` sync worker, "
            f"{small_clients} client(s), against upstream's",
            f"{rate['gunicorn', small_clients]:.0f} vs "
            f"{rate['upstream sync', small_clients]:.0f} req/s",
            ">= 2x upstream",
            ratio,
            ratio >= 2,
        )
    )
    floor, upstream = (
        rate["sync floor", small_clients],
        rate["upstream sync", small_clients],
    )
    budget = 1e6 / (2 * upstream) - 1e6 / floor
    print(
        f"| (gunicorn's sync worker alone: an app that only reads the body "
        f"answers {floor:.0f} req/s, {floor / upstream:.2f}x upstream; 2x needs "
        f"an app under {max(budget, 0):.0f} us a request, ours takes "
        f"{1e6 / rate['gunicorn', small_clients] - 1e6 / floor:.0f} us) | | | | |"
    )
    ratio = rate["gunicorn+conf", small_clients] / rate["upstream sync", small_clients]
    print(
        row(
            f"64 rows, plain `gunicorn app:application` with the scaffolds' "
            f"gunicorn.conf.py, {small_clients} client(s), against upstream's",
            f"{rate['gunicorn+conf', small_clients]:.0f} vs "
            f"{rate['upstream sync', small_clients]:.0f} req/s",
            ">= 2x upstream",
            ratio,
            ratio >= 2,
        )
    )
    for name in ("gunicorn", "serve"):
        ratio = took[name] / took["limit"]
        print(
            row(
                f"100,000 x {FEATURES} at batch 64, "
                + ("plain gunicorn sync worker" if name == "gunicorn" else "serve"),
                f"{took[name] * 1e3:.0f} ms (upstream "
                f"{took['upstream sync'] * 1e3:.0f} ms, limit "
                f"{took['limit'] * 1e3:.0f} ms)",
                "<= 1.15x the in-process limit",
                ratio,
                ratio <= 1.15,
            )
        )
    for clients in args.clients:
        best = max(
            ("upstream sync", "upstream gthread"), key=lambda n: rate[n, clients]
        )
        ratio = rate["serve", clients] / rate[best, clients]
        print(
            row(
                f"64 rows, `serve --workers 1`, {clients} client(s), against "
                f"upstream's best one-worker gunicorn ({best.split()[1]})",
                f"{rate['serve', clients]:.0f} vs {rate[best, clients]:.0f} req/s",
                ">= 2x upstream",
                ratio,
                ratio >= 2,
            )
        )


if __name__ == "__main__":
    main()
