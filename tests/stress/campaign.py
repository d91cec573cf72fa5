"""A red-team campaign against real `serve` processes, rerunnable.

Profiles: ``fast`` (about a minute; `make test` runs it through
``test_campaign.py``) and ``long`` (`make stress`: at least 10,000 hostile
inputs over every route, 20 kills during fit and save, slow and idle
clients, bombs, a hostile challenge, 60 s of /predict load at 16 clients
with a refit in the middle). Prints its figures and exits non-zero if a
goal is missed. All traffic goes to 127.0.0.1; every loop is bounded.

Memory is measured per request, as the goal is stated: before each hostile
request the campaign resets every worker's peak RSS (``/proc/PID/clear_refs``)
and reads its RSS; after the answer it reads the peak (``VmHWM``: the most the
request grew the worker) and the RSS again (what stayed held; per input, the
median over its requests counts, leaving out each worker's first request of
that input: a request that keeps memory keeps it every time it is sent,
while a one-time growth shows once per worker). The servers
run with a body limit of 128 MiB, and the inputs include bodies and payloads
near it.

Usage: python tests/stress/campaign.py [--profile fast|long] [--seed 0]
"""

from __future__ import annotations

import argparse
import collections
import contextlib
import io
import os
import random
import re
import signal
import socket
import statistics
import sys
import tempfile
import threading
import time
import zipfile
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import requests

from anomed_anonymizer.cli.processes import ServerProcess, free_port, start_server
from anomed_anonymizer.emulator.adult import adult_like
from anomed_anonymizer.wire import encode_named_arrays, encode_table

REPO = Path(__file__).resolve().parents[2]
APPS = REPO / "tests" / "interop" / "our_apps"
CLI = str(Path(sys.executable).with_name("anomed-anonymizer"))
BODY_LIMIT = 128 * 1024 * 1024
# What may stay in a worker after an answer: the allocator keeps some freed
# memory for reuse (pages of small objects, a thread's arena), never a body.
HELD_TOLERANCE = 4 * 1024 * 1024
# Within a request: the goal of issue 9. A large /predict body is freed while
# its array is decoded (about 1x), so what remains is the array, the model's
# predictions and the answer.
PEAK_LIMIT = 2 * BODY_LIMIT

PROFILES = {
    # "large": rounds of the near-limit inputs; with 3 over 2 workers, one
    # worker serves each input at least twice (its first is a warm-up).
    "fast": {
        "inputs": 400,
        "kills": 3,
        "load_seconds": 6,
        "idlers": 100,
        "large": 3,
        "isolation_seconds": 5,
    },
    "long": {
        "inputs": 10_000,
        "kills": 20,
        "load_seconds": 60,
        "idlers": 300,
        "large": 3,
        "isolation_seconds": 30,
    },
}
# Issue 19's isolation goal: under any mix of hostile bodies, an innocent
# GET / and a small /predict on other connections are answered within this
# at the 99th percentile. A benchmark figure, judged by the long profile only
# (`make stress`); the fast one in `make test` prints it.
ISOLATION_P99_SECONDS = 0.1


@dataclass
class Figures:
    inputs: int = 0
    statuses: collections.Counter = field(default_factory=collections.Counter)
    server_errors: list = field(default_factory=list)  # (route, status, detail)
    crashes: int = 0
    kills: int = 0
    lost_models: int = 0
    debris: int = 0
    load_requests: int = 0
    load_failures: int = 0
    idle_answer_seconds: float = 0.0
    # Per innocent request kind: latencies (s) under attack; hostile requests sent.
    isolation: dict = field(default_factory=dict)
    isolation_attacks: int = 0
    profile: str = "fast"
    rss_growth: dict = field(default_factory=dict)  # over the whole run, per pid
    # Per request: (bytes, input) of the largest peak growth; per input, what
    # each of its requests left held after the answer.
    request_peak: tuple = (0, "")
    held_by_input: dict = field(default_factory=lambda: collections.defaultdict(list))
    measured_requests: int = 0
    notes: list = field(default_factory=list)

    def record_memory(self, name: str, peak: int, held: int, worker: int) -> None:
        self.measured_requests += 1
        if peak > self.request_peak[0]:
            self.request_peak = (peak, name)
        self.held_by_input[name].append((worker, held))

    @property
    def request_held(self) -> tuple[int, str]:
        """(bytes, input): the largest median, over an input's requests, of
        what a request left held in the worker that served it, leaving out
        each worker's first request of that input where it served more. A
        request that keeps memory does so every time it is sent; a one-time
        growth (a lazily imported module, a new thread's malloc arena, the
        first inflation of a large member) shows once per worker, and is in
        :attr:`largest_growth`."""
        medians = {}
        for name, measured in self.held_by_input.items():
            seen, repeated = set(), []
            for worker, held in measured:
                if worker in seen:
                    repeated.append(held)
                seen.add(worker)
            values = repeated or [held for _, held in measured]
            medians[name] = int(statistics.median(values))
        name = max(medians, key=medians.get, default="")
        return medians.get(name, 0), name

    @property
    def largest_growth(self) -> tuple[int, str]:
        """(bytes, input) of the largest growth any single request left."""
        maxima = {
            name: max(held for _, held in measured)
            for name, measured in self.held_by_input.items()
        }
        name = max(maxima, key=maxima.get, default="")
        return maxima.get(name, 0), name

    def record(self, route: str, response: requests.Response | None, detail=""):
        self.inputs += 1
        status = response.status_code if response is not None else "no answer"
        self.statuses[status] += 1
        if (
            response is None
            or status == 500
            or (isinstance(status, int) and status >= 504)
        ):
            self.server_errors.append((route, status, detail[:80]))


# -- hostile inputs -------------------------------------------------------------


def _zip_bomb() -> bytes:
    buffer = io.BytesIO()
    header = io.BytesIO()
    np.lib.format.write_array_header_1_0(
        header, {"descr": "<f8", "fortran_order": False, "shape": (40_000_000,)}
    )
    with (
        zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive,
        archive.open("X.npy", "w", force_zip64=True) as member,
    ):
        member.write(header.getvalue())
        zeros = bytes(1 << 20)
        for _ in range(320):
            member.write(zeros)
    return buffer.getvalue()


def hostile_bodies(rng: random.Random) -> list[tuple[str, bytes]]:
    good = encode_named_arrays({"X": np.zeros((5, 4))})
    nan = np.ones((200, 4))
    nan[3, 1] = np.nan
    bodies = [
        ("empty", b""),
        ("garbage", bytes(rng.getrandbits(8) for _ in range(300))),
        ("truncated", good[: len(good) // 2]),
        ("no-X", encode_named_arrays({"Y": np.zeros(3)})),
        ("1-d", encode_named_arrays({"X": np.zeros(7)})),
        ("strings", encode_named_arrays({"X": np.array([["a", "b", "c", "d"]])})),
        ("nan", encode_named_arrays({"X": nan})),
        ("wrong-width", encode_named_arrays({"X": np.zeros((3, 9))})),
        ("complex", encode_named_arrays({"X": np.zeros((3, 4), dtype=complex)})),
        ("zip-bomb", _zip_bomb()),
        (
            "many-members",
            encode_named_arrays({f"a{i}": np.zeros(1) for i in range(1100)}),
        ),
        ("good", good),
    ]
    flipped = bytearray(good)
    for _ in range(5):
        flipped[rng.randrange(len(flipped))] ^= 0xFF
    bodies.append(("bit-flips", bytes(flipped)))
    return bodies


class WorkerMemory:
    """The RSS of a server's worker processes around one request (Linux)."""

    def __init__(self, server: ServerProcess) -> None:
        self.master = server.process.pid

    def workers(self) -> list[int]:
        children = []
        for entry in Path("/proc").iterdir():
            if entry.name.isdigit():
                with contextlib.suppress(OSError, IndexError, ValueError):
                    stat = (entry / "stat").read_text()
                    if int(stat.rsplit(")", 1)[1].split()[1]) == self.master:
                        children.append(int(entry.name))
        return children

    def around(self, name: str, figures: Figures, send, *args, **kwargs):
        """``send(*args, **kwargs)``, with the largest growth of any worker's
        RSS during it (peak minus before) and after it (RSS minus before)
        recorded, and the worker that grew most during it (the one that
        served it)."""
        before = {}
        for pid in self.workers():
            with contextlib.suppress(OSError):
                Path(f"/proc/{pid}/clear_refs").write_text("5")  # peak := now
                before[pid] = _status(pid)["VmRSS"]
        try:
            return send(*args, **kwargs)
        finally:
            peak = held = 0
            worker = -1
            for pid, rss in before.items():
                with contextlib.suppress(OSError, KeyError):
                    status = _status(pid)
                    if status["VmHWM"] - rss >= peak:
                        peak, worker = status["VmHWM"] - rss, pid
                    held = max(held, status["VmRSS"] - rss)
            figures.record_memory(name, peak, held, worker)


def _status(pid: int) -> dict[str, int]:
    """``VmRSS`` and ``VmHWM`` of a process, in bytes."""
    values = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        key, _, value = line.partition(":")
        if key in ("VmRSS", "VmHWM"):
            values[key] = int(value.split()[0]) * 1024
    return values


def hostile_requests(
    url: str, figures: Figures, count: int, seed: int, memory: WorkerMemory
) -> None:
    rng = random.Random(seed)
    bodies = hostile_bodies(rng)
    queries = [
        "",
        "batch_size=1",
        "batch_size=0",
        "batch_size=-3",
        "batch_size=abc",
        "batch_size=99999999999999999999",
        "batch_size=1&batch_size=2",
        "data_split=tuning",
        "data_split=nope",
        "data_split=",
        "x=%00%ff",
    ]
    routes = [
        ("POST", "/predict"),
        ("POST", "/evaluate"),
        ("GET", "/"),
        ("GET", "/ready"),
        ("GET", "/metrics"),
        ("GET", "/openapi.json"),
        ("PUT", "/predict"),
        ("GET", "/nowhere"),
        ("DELETE", "/fit"),
        ("POST", "/fit"),
    ]
    session = requests.Session()
    for i in range(count):
        method, route = routes[0] if i % 3 else rng.choice(routes)
        name, body = rng.choice(bodies)
        query = rng.choice(queries)
        headers = {
            "Content-Type": rng.choice(
                ["application/octet-stream", "application/json", "text/plain"]
            )
        }
        if route == "/fit" and method == "POST" and rng.random() < 0.9:
            method = "GET"  # keep refits rare: the load phase checks them
        try:
            response = memory.around(
                f"{method} {route} {name}",
                figures,
                session.request,
                method,
                f"{url}{route}?{query}",
                data=body,
                headers=headers,
                timeout=60,
            )
        except requests.RequestException as exc:
            figures.record(route, None, f"{name}: {exc}")
            session = requests.Session()
            continue
        figures.record(f"{method} {route}", response, f"{name} {query}")


def large_inputs(url: str, figures: Figures, repeats: int, memory: WorkerMemory):
    """Bodies and payloads near the body limit, where growth would show: a
    valid array of incompressible floats, the same rejected (1-d), one that
    inflates from a small body, and bodies over the limit (declared, and
    chunked without a length)."""
    rows = (BODY_LIMIT - 4096) // 32  # X as large as the limit lets it be
    noise = np.random.default_rng(1).uniform(0, 5, (rows, 4))
    inputs = [
        ("near-limit", encode_named_arrays({"X": noise}), 201),
        ("near-limit-rejected", encode_named_arrays({"X": noise.ravel()}), 400),
        ("inflating", encode_named_arrays({"X": np.zeros((rows, 4))}), 201),
        ("over-limit", bytes(BODY_LIMIT + 1), 413),
    ]
    del noise
    session = requests.Session()
    for _ in range(repeats):
        for name, body, expected in inputs:
            response = memory.around(
                name,
                figures,
                session.post,
                f"{url}/predict",
                data=body,
                timeout=120,
            )
            figures.record(f"POST /predict {name}", response, name)
            if response.status_code != expected:
                figures.notes.append(
                    f"{name} answered {response.status_code}, not {expected}"
                )
        chunks = [bytes(1 << 20)] * (BODY_LIMIT // (1 << 20) + 1)
        response = memory.around(
            "over-limit-chunked",
            figures,
            session.post,
            f"{url}/predict",
            data=iter(chunks),
            timeout=120,
        )
        figures.record("POST /predict over-limit-chunked", response)
        if response.status_code != 413:
            figures.notes.append(f"over-limit-chunked answered {response.status_code}")


def tabular_hostile_requests(url: str, figures: Figures, count: int, seed: int):
    rng = random.Random(seed)
    routes = ["/anon_data", "/anon_data_scheme", "/", "/ready", "/metrics"]
    session = requests.Session()
    for _ in range(count):
        route = rng.choice(routes)
        method = rng.choice(["GET", "GET", "POST", "PUT"])
        try:
            response = session.request(
                method, f"{url}{route}", data=os.urandom(rng.randrange(64)), timeout=60
            )
        except requests.RequestException as exc:
            figures.record(route, None, str(exc))
            continue
        figures.record(f"{method} {route}", response)


# -- a hostile challenge --------------------------------------------------------


class _Quiet(WSGIRequestHandler):
    def log_message(self, *args):
        pass


class _Threading(WSGIServer):
    daemon_threads = True

    def process_request(self, request, client_address):
        threading.Thread(
            target=self._serve_one, args=(request, client_address), daemon=True
        ).start()

    def _serve_one(self, request, client_address):
        try:
            self.finish_request(request, client_address)
        except Exception:
            pass
        finally:
            self.shutdown_request(request)


class HostileChallenge:
    """Serves the anonymizer's data routes with one misbehaviour at a time."""

    MODES = [
        "drip",
        "error-text",
        "garbage",
        "huge-declared",
        "endless",
        "npz-bomb",
        "parquet-bomb",
        "long-category",
        "wrong-shape",
        "slow-then-fine",
    ]

    def __init__(self) -> None:
        self.mode = "error-text"
        self.stop = threading.Event()
        self._bomb = _zip_bomb()
        nulls = pa.table({f"c{i}": pa.nulls(3_000_000, pa.float64()) for i in range(9)})
        buffer = io.BytesIO()
        pq.write_table(nulls, buffer)
        self._parquet_bomb = buffer.getvalue()
        leaky = adult_like(300, seed=3)
        leaky.loc[0, "race"] = "x" * 3_000_000
        self._long_category = encode_table(leaky)

    def app(self, environ, start_response):
        mode = self.mode
        if mode == "drip":
            start_response("200 OK", [("Content-Type", "application/octet-stream")])
            return self._drip()
        if mode == "error-text":
            start_response(
                "500 Internal Server Error", [("Content-Type", "text/plain")]
            )
            return [b"Traceback: /srv/challenge/secret_path.py line 3: KeyError"]
        if mode == "garbage":
            start_response("200 OK", [])
            return [os.urandom(5000)]
        if mode == "huge-declared":
            start_response("200 OK", [("Content-Length", str(1 << 40))])
            return [b"PK"]
        if mode == "endless":
            start_response("200 OK", [])
            return self._endless()
        if mode == "npz-bomb":
            start_response("200 OK", [])
            return [self._bomb]
        if mode == "parquet-bomb":
            start_response("200 OK", [])
            return [self._parquet_bomb]
        if mode == "long-category":
            start_response("200 OK", [])
            return [self._long_category]
        if mode == "wrong-shape":
            start_response("200 OK", [])
            return [encode_named_arrays({"X": np.zeros(3), "y": np.zeros(9)})]
        start_response("201 Created", [("Content-Type", "application/json")])
        return [b'{"accuracy": 1.0}']

    def _drip(self):
        for _ in range(400):
            if self.stop.is_set():
                return
            time.sleep(0.5)
            yield b"P"

    def _endless(self):
        chunk = bytes(1 << 20)
        for _ in range(4096):  # 4 GiB at most
            if self.stop.is_set():
                return
            yield chunk


def hostile_challenge_phase(work: Path, figures: Figures) -> None:
    hostile = HostileChallenge()
    server = make_server(
        "127.0.0.1", 0, hostile.app, server_class=_Threading, handler_class=_Quiet
    )
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    host = f"127.0.0.1:{server.server_port}"
    # Timeouts of 2 s: an exchange's deadline is then 12 s, however the
    # challenge drips.
    quick = {"CHALLENGE_TIMEOUT": "2"}
    anonymizers = [
        _serve(work, "hostile-sup", "versioned_app:application", host, 1, env=quick),
        _serve(work, "hostile-tab", "tabular_app:application", host, 1, env=quick),
    ]
    try:
        for mode in HostileChallenge.MODES:
            hostile.mode = mode
            for anonymizer in anonymizers:
                for route in ("/fit", "/evaluate?data_split=tuning"):
                    try:
                        response = requests.post(anonymizer.url + route, timeout=120)
                    except requests.RequestException as exc:
                        figures.record(route, None, f"{mode}: {exc}")
                        continue
                    figures.record(f"hostile {mode} {route}", response, response.text)
                    if "secret_path" in response.text or host in response.text:
                        figures.notes.append(f"leak in {mode} {route}")
        figures.crashes += sum(_crashes(a, 1) for a in anonymizers)
    finally:
        hostile.stop.set()
        for anonymizer in anonymizers:
            anonymizer.stop()
        server.shutdown()


# -- servers --------------------------------------------------------------------


def _serve(work, name, app, challenge_host, workers=2, model=None, env=None):
    port = free_port()
    return start_server(
        name,
        [
            CLI,
            "serve",
            app,
            "--chdir",
            str(APPS),
            f"--port={port}",
            f"--workers={workers}",
            "--request-timeout=5",
        ],
        port,
        work,
        env={
            "CHALLENGE_HOST": challenge_host,
            "MODEL_FILE": str(model or work / f"{name}.pkl"),
            "OUTPUT_DIR": str(work / f"{name}-release"),
            "ANOMED_SERVE_MAX_BODY_BYTES": str(BODY_LIMIT),
            "MAX_REQUEST_BYTES": str(BODY_LIMIT),
            "ANOMED_LOG_LEVEL": "WARNING",
            **(env or {}),
        },
        timeout=120,
    )


def _crashes(server: ServerProcess, workers: int) -> int:
    log = server.log()
    return max(0, log.count("Booting worker with pid") - workers)


def _worker_rss(url: str) -> dict[str, float]:
    text = requests.get(f"{url}/metrics", timeout=60).text
    return {
        pid: float(value)
        for pid, value in re.findall(
            r'anomed_worker_resident_memory_bytes\{pid="(\d+)"\} (\S+)', text
        )
    }


# -- phases -----------------------------------------------------------------------


def idle_clients_phase(server: ServerProcess, figures: Figures, idlers: int) -> None:
    held = []
    try:
        for i in range(idlers):
            sock = socket.create_connection(("127.0.0.1", server.port))
            if i % 2:
                sock.sendall(b"POST /predict HTTP/1.1\r\nContent-Length: 99\r\n\r\nP")
            held.append(sock)
        hello = socket.create_connection(("127.0.0.1", server.port))
        hello.sendall(b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03" + os.urandom(64))
        held.append(hello)
        started = time.perf_counter()
        response = requests.post(
            f"{server.url}/predict",
            data=encode_named_arrays({"X": np.zeros((5, 4))}),
            timeout=60,
        )
        figures.record("POST /predict with idlers", response)
        figures.idle_answer_seconds = time.perf_counter() - started
    finally:
        for sock in held:
            sock.close()


def load_phase(server: ServerProcess, figures: Figures, seconds: float) -> None:
    body = encode_named_arrays({"X": np.random.default_rng(0).uniform(0, 5, (50, 4))})
    deadline = time.monotonic() + seconds
    refit: dict = {}

    def client() -> tuple[int, int]:
        session, done, failed = requests.Session(), 0, 0
        while time.monotonic() < deadline:
            try:
                response = session.post(f"{server.url}/predict", data=body, timeout=60)
                failed += response.status_code != 201
            except requests.RequestException:
                failed += 1
                session = requests.Session()
            done += 1
        return done, failed

    def refit_in_the_middle() -> None:
        time.sleep(seconds / 2)  # the campaign's schedule, not a synchronisation
        refit["status"] = requests.post(f"{server.url}/fit", timeout=120).status_code

    refitter = threading.Thread(target=refit_in_the_middle)
    refitter.start()
    with ThreadPoolExecutor(16) as pool:
        results = list(pool.map(lambda _: client(), range(16)))
    refitter.join()
    figures.load_requests = sum(done for done, _ in results)
    figures.load_failures = sum(failed for _, failed in results)
    if refit.get("status") != 201:
        figures.notes.append(f"refit during load answered {refit.get('status')}")


def _inflating_bodies() -> list[tuple[str, bytes]]:
    """Small bodies that inflate to about 100 MB each: one the validator
    rejects after decoding (1-d), one it accepts (the model then predicts
    for 3 million rows)."""
    bodies = []
    for name, shape in (("1-d", (12_500_000,)), ("valid", (3_125_000, 4))):
        body = encode_named_arrays({"X": np.zeros(shape)}, compress=True)
        bodies.append((f"inflating {name} ({len(body) // 1024} KB)", body))
    return bodies


def isolation_phase(server: ServerProcess, figures: Figures, seconds: float) -> None:
    """Hostile bodies from 4 clients; meanwhile innocent clients time a GET /
    and a small /predict each, on connections of their own."""
    bodies = _inflating_bodies()
    small = encode_named_arrays({"X": np.random.default_rng(1).uniform(0, 5, (5, 4))})
    deadline = time.monotonic() + seconds
    latencies: dict[str, list[float]] = {"GET /": [], "POST /predict (5 rows)": []}

    def attacker(index: int) -> int:
        session, sent = requests.Session(), 0
        while time.monotonic() < deadline:
            _, body = bodies[(index + sent) % len(bodies)]
            with contextlib.suppress(requests.RequestException):
                session.post(f"{server.url}/predict", data=body, timeout=120)
            sent += 1
        return sent

    def innocent(kind: str) -> None:
        session = requests.Session()
        while time.monotonic() < deadline:
            started = time.perf_counter()
            if kind == "GET /":
                response = session.get(f"{server.url}/", timeout=120)
            else:
                response = session.post(
                    f"{server.url}/predict", data=small, timeout=120
                )
            latencies[kind].append(time.perf_counter() - started)
            figures.record(f"{kind} under attack", response)
            time.sleep(0.01)  # a client's pace, not a synchronisation

    with ThreadPoolExecutor(4 + len(latencies)) as pool:
        attacks = [pool.submit(attacker, i) for i in range(4)]
        for kind in latencies:
            pool.submit(innocent, kind)
    figures.isolation_attacks = sum(attack.result() for attack in attacks)
    figures.isolation = latencies


def _percentile(values: list[float], q: float) -> float:
    return float(np.quantile(values, q)) if values else float("nan")


def kill_phase(work: Path, challenge: str, figures: Figures, kills: int, seed: int):
    rng = random.Random(seed)
    model = work / "killed.pkl"
    saved = False
    for i in range(kills):
        server = _serve(
            work,
            f"kill-{i}",
            "versioned_app:application",
            challenge,
            model=model,
            env={"FIT_SECONDS": f"{rng.uniform(0, 0.4):.2f}"},
        )
        debris = [p for p in work.iterdir() if p.name.startswith(".killed.pkl.")]
        figures.debris += len(debris)
        if saved:
            ready = requests.get(f"{server.url}/ready", timeout=60)
            answer = requests.post(
                f"{server.url}/predict",
                data=encode_named_arrays({"X": np.zeros((2, 4))}),
                timeout=60,
            )
            figures.lost_models += ready.status_code != 200 or answer.status_code != 201
        threading.Thread(
            target=lambda url=server.url: _quietly_post(f"{url}/fit"), daemon=True
        ).start()
        deadline = time.monotonic() + 30
        while "fitting on X" not in server.log() and time.monotonic() < deadline:
            time.sleep(0.01)
        time.sleep(rng.uniform(0, 0.6))  # kill at a random point of fit or save
        os.killpg(server.process.pid, signal.SIGKILL)
        server.process.wait()
        figures.kills += 1
        saved = saved or model.exists()
    final = _serve(
        work, "after-kills", "versioned_app:application", challenge, model=model
    )
    try:
        figures.debris += len(
            [p for p in work.iterdir() if p.name.startswith(".killed.pkl.")]
        )
        if saved:
            ready = requests.get(f"{final.url}/ready", timeout=60)
            figures.lost_models += ready.status_code != 200
    finally:
        final.stop()


def _quietly_post(url: str) -> None:
    with contextlib.suppress(requests.RequestException):
        requests.post(url, timeout=60)


# -- the campaign -------------------------------------------------------------------


@contextlib.contextmanager
def phase(name: str):
    """Show on stderr which phase runs, and how long it took."""
    print(f"{name} ...", end=" ", file=sys.stderr, flush=True)
    started = time.perf_counter()
    yield
    print(f"done ({time.perf_counter() - started:.1f} s)", file=sys.stderr)


def run(profile: str, seed: int, work: Path | None = None) -> Figures:
    """Run a profile's campaign in ``work`` (by default a new temporary
    folder, kept for inspection) and return its figures."""
    settings = PROFILES[profile]
    figures = Figures(profile=profile)
    if work is None:
        work = Path(tempfile.mkdtemp(prefix=f"anomed-stress-{profile}-"))
    print(f"campaign ({profile}) working in {work}", file=sys.stderr)
    emulators = []
    for kind in ("supervised", "tabular"):
        port = free_port()
        argv = [CLI, "emulate-challenge", f"--port={port}", "--workers=1"]
        if kind == "tabular":
            argv += ["--kind=tabular", "--rows=300"]
        emulators.append(start_server(f"emulator-{kind}", argv, port, work))
    supervised_challenge, tabular_challenge = (e.host for e in emulators)
    try:
        sup = _serve(
            work, "anonymizer", "versioned_app:application", supervised_challenge
        )
        tab = _serve(work, "tabular", "tabular_app:application", tabular_challenge)
        try:
            for server in (sup, tab):
                requests.post(f"{server.url}/fit", timeout=120).raise_for_status()
            rss_before = _worker_rss(sup.url)
            memory = WorkerMemory(sup)
            with phase("hostile inputs"):
                hostile_requests(
                    sup.url, figures, settings["inputs"] * 9 // 10, seed, memory
                )
            with phase("bodies near and over the limit"):
                large_inputs(sup.url, figures, settings["large"], memory)
            with phase("hostile tabular inputs"):
                tabular_hostile_requests(
                    tab.url, figures, settings["inputs"] // 10, seed
                )
            with phase("idle and slow clients"):
                idle_clients_phase(sup, figures, settings["idlers"])
            with phase("load with a refit"):
                load_phase(sup, figures, settings["load_seconds"])
            with phase("innocent requests under inflating bodies"):
                isolation_phase(sup, figures, settings["isolation_seconds"])
            rss_after = _worker_rss(sup.url)
            figures.rss_growth = {
                pid: rss_after[pid] - rss_before.get(pid, rss_after[pid])
                for pid in rss_after
            }
            figures.crashes += _crashes(sup, 2) + _crashes(tab, 2)
        finally:
            sup.stop()
            tab.stop()
        with phase("hostile challenge"):
            hostile_challenge_phase(work, figures)
        with phase("kills during fit and save"):
            kill_phase(work, supervised_challenge, figures, settings["kills"], seed)
    finally:
        for emulator in emulators:
            emulator.stop()
    return figures


def report(figures: Figures) -> bool:
    drift = max(figures.rss_growth.values(), default=0.0)
    peak, peak_input = figures.request_peak
    held, held_input = figures.request_held
    print(f"inputs tried:            {figures.inputs}")
    print(f"statuses:                {dict(sorted(figures.statuses.items(), key=str))}")
    print(f"5xx other than 502/503:  {len(figures.server_errors)}")
    for route, status, detail in figures.server_errors[:10]:
        print(f"  {status} {route} {detail}")
    print(f"worker crashes:          {figures.crashes}")
    print(f"kills during fit/save:   {figures.kills}")
    print(f"lost models:             {figures.lost_models}")
    print(f"staging debris at start: {figures.debris}")
    print(f"GET with idlers:         {figures.idle_answer_seconds:.3f} s")
    print(
        f"load: {figures.load_requests} predictions at 16 clients, "
        f"{figures.load_failures} failed (a refit in the middle)"
    )
    isolated = True
    print(
        f"isolation: {figures.isolation_attacks} inflating bodies (~100 MB each) "
        "from 4 clients; innocent requests on their own connections:"
    )
    for kind, values in figures.isolation.items():
        p50, p99 = _percentile(values, 0.5), _percentile(values, 0.99)
        isolated &= bool(values) and p99 <= ISOLATION_P99_SECONDS
        print(
            f"  {kind:<24} n={len(values):<5} p50 {p50 * 1000:7.1f} ms  "
            f"p99 {p99 * 1000:7.1f} ms (goal p99 <= "
            f"{ISOLATION_P99_SECONDS * 1000:.0f} ms)"
        )
    print(f"body limit:              {BODY_LIMIT / 2**20:.0f} MiB")
    print(
        f"RSS growth in a request: {peak / 2**20:.1f} MiB at most "
        f"({peak / BODY_LIMIT:.2f}x the body limit), over "
        f"{figures.measured_requests} requests ({peak_input}; limit 2 x body "
        f"limit = {PEAK_LIMIT / 2**20:.0f} MiB)"
    )
    once, once_input = figures.largest_growth
    print(
        f"RSS held after answer:   {held / 2**20:.1f} MiB at most, median over an "
        f"input's requests ({held_input}; tolerance {HELD_TOLERANCE / 2**20:.0f} "
        f"MiB); largest single growth {once / 2**20:.1f} MiB ({once_input})"
    )
    print(f"RSS drift over the run:  {drift / 2**20:.1f} MiB (a worker, load included)")
    for note in figures.notes:
        print(f"note: {note}")
    return (
        not figures.server_errors
        and figures.crashes == 0
        and figures.lost_models == 0
        and figures.load_failures == 0
        and figures.measured_requests > 0
        and peak <= PEAK_LIMIT
        and held <= HELD_TOLERANCE
        and not figures.notes
        # A latency goal: judged by `make stress` (long), printed by the fast.
        and (figures.profile != "long" or isolated)
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--profile", choices=sorted(PROFILES), default="fast")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    ok = report(run(args.profile, args.seed))
    print("goals met" if ok else "GOALS MISSED")
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
