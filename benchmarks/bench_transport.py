"""Fetching a 50 MB ``.npz`` from a local server: our transport
(``PeerClient``: one pooled ``requests.Session`` with the deadline watchdog's
adapter, bounded chunked reads, spooled to disk past 32 MB) against what
upstream's tests would need us to call (``requests.get(url, stream=True)``,
the same bounded reads and spool, then the same decoder).

Run: ``python benchmarks/bench_transport.py [--rounds 5] [--mb 50]``.
"""

from __future__ import annotations

import argparse
import http.server
import io
import statistics
import threading
import time

import numpy as np
import requests

from anomed_anonymizer.wire.http import _CHUNK, SPOOL_BYTES, PeerClient, _Spool
from anomed_anonymizer.wire.npz import decode_named_arrays


def _serve(body: bytes) -> tuple[http.server.ThreadingHTTPServer, str]:
    class Handler(http.server.BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_GET(self) -> None:
            self.send_response(200)
            self.send_header("Content-Type", "application/octet-stream")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: object) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server, f"http://127.0.0.1:{server.server_port}/data"


def _via_requests_get(url: str, limit: int) -> dict[str, np.ndarray]:
    with requests.get(url, stream=True, timeout=10, allow_redirects=False) as r:
        sink = _Spool(SPOOL_BYTES)
        received = 0
        for chunk in r.iter_content(chunk_size=_CHUNK):
            received += len(chunk)
            if received > limit:
                raise ValueError("too large")
            sink.write(chunk)
    sink.seek(0)
    with sink:
        return decode_named_arrays(sink, required=("X", "y"))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--mb", type=int, default=50)
    args = parser.parse_args()
    rng = np.random.default_rng(0)
    n = args.mb * (1 << 20) // 8
    buffer = io.BytesIO()
    np.savez(buffer, X=rng.random(n - 1000), y=rng.random(1000))
    body = buffer.getvalue()
    server, url = _serve(body)
    client = PeerClient()
    ways = {
        "PeerClient.fetch_named_arrays": lambda: client.fetch_named_arrays(
            url, required=("X", "y")
        ),
        "requests.get(stream=True)": lambda: _via_requests_get(
            url, client.max_response_bytes
        ),
    }
    times: dict[str, list[float]] = {name: [] for name in ways}
    for _ in range(args.rounds):  # interleaved, so drift hits both alike
        for name, fetch in ways.items():
            started = time.perf_counter()
            arrays = fetch()
            times[name].append(time.perf_counter() - started)
            assert arrays["X"].nbytes + arrays["y"].nbytes == n * 8
    server.shutdown()
    print(f"{len(body) / 1e6:.1f} MB npz, {args.rounds} rounds each")
    for name, seconds in times.items():
        print(
            f"{name:32s} median {statistics.median(seconds):.3f} s "
            f"(min {min(seconds):.3f}, max {max(seconds):.3f})"
        )


if __name__ == "__main__":
    main()
