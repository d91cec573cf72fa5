"""Serving WSGI apps under gunicorn, with settings fit for anonymizers.

gunicorn manages the processes (workers share one listening socket and one
model file, SIGTERM shuts down gracefully); each worker runs uvicorn's event
loop (``uvicorn-worker``) and HTTP/1.1 protocol on httptools, which reads
every request completely before the app runs (see :mod:`.bridge`).
``benchmarks/bench_slow_clients.py`` compares this with the other worker
types.
"""

from __future__ import annotations

import contextlib
import errno
import os
import shutil
import socket
import tempfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

from gunicorn.app.base import BaseApplication

from ..web.metrics import MULTIPROC_ENV
from ..web.settings import DEFAULT_MAX_REQUEST_BYTES
from . import lifetime, memory
from .bridge import BufferingBridge, make_worker_class

__all__ = [
    "GunicornWorker",
    "ServeOptions",
    "ensure_port_free",
    "run_gunicorn",
    "worker_child_exit",
    "worker_post_fork",
]

DEFAULT_MAX_BODY_BYTES = DEFAULT_MAX_REQUEST_BYTES


def _env_int(name: str, default: int) -> int:
    value = os.environ.get(name)
    return int(value) if value else default


@dataclass
class ServeOptions:
    """How gunicorn runs an anonymizer.

    The worker's event loop keeps answering gunicorn's heartbeat while a
    thread trains, so a ``/fit`` that runs for many minutes is not killed by
    the worker ``timeout``. One request thread per worker by default (user
    models need not be thread-safe; parallelism comes from the worker
    processes), plus threads for ``/fit`` and ``/evaluate`` (never queued: a
    second ``/fit`` gets 503 at once), so that a worker that trains or waits
    on the challenge still answers ``/predict`` and ``GET /``. A quick
    ``/predict`` (``inline_paths``) runs on the event loop itself while no
    other request runs: the hand-off to a thread cost a small one a fifth of
    its time (see :mod:`.bridge`).

    ``request_timeout`` bounds how long a client may take to send a request
    (line and headers, then the body), ``max_body_bytes`` how large a body
    may be (default 256 MiB, the factories' ``max_request_bytes``; also from
    ``ANOMED_SERVE_MAX_BODY_BYTES``).
    """

    host: str = "127.0.0.1"
    port: int = 8000
    workers: int = 2
    threads: int = 1
    timeout: int = 120
    graceful_timeout: int = 30
    log_level: str = "info"
    request_timeout: float = 30.0
    max_body_bytes: int | None = None
    dedicated_paths: tuple[str, ...] = ("/fit", "/evaluate")
    inline_paths: tuple[str, ...] = ("/predict",)

    @property
    def body_limit(self) -> int:
        """``max_body_bytes``, or its environment/default value."""
        if self.max_body_bytes is not None:
            return self.max_body_bytes
        return _env_int("ANOMED_SERVE_MAX_BODY_BYTES", DEFAULT_MAX_BODY_BYTES)

    def gunicorn_settings(self) -> dict[str, Any]:
        return {
            "bind": f"{self.host}:{self.port}",
            "workers": self.workers,
            "worker_class": make_worker_class(self.request_timeout),
            "timeout": self.timeout,
            "graceful_timeout": self.graceful_timeout,
            "loglevel": self.log_level,
            "accesslog": None,  # our middleware logs each request with sizes
            "control_socket_disable": True,
            "child_exit": worker_child_exit,
            "post_fork": worker_post_fork,
        }

    def wrap(self, app: Any) -> BufferingBridge:
        """The WSGI ``app`` as the ASGI app the workers serve."""
        return BufferingBridge(
            app,
            max_body_bytes=self.body_limit,
            request_timeout=self.request_timeout,
            threads=self.threads,
            dedicated_paths=self.dedicated_paths,
            inline_paths=self.inline_paths,
        )


def worker_post_fork(server: Any, worker: Any) -> None:
    """gunicorn's post_fork hook: the worker dies with its master (even one
    killed by SIGKILL), and memory a request frees goes back to the system
    (see :mod:`.memory`)."""
    lifetime.die_with_parent(server.pid)
    memory.tune()


def worker_child_exit(server: Any, worker: Any) -> None:
    """gunicorn's child_exit hook: drop a dead worker's live gauges."""
    if os.environ.get(MULTIPROC_ENV):
        from prometheus_client import multiprocess

        multiprocess.mark_process_dead(worker.pid)


class GunicornWorker(make_worker_class(ServeOptions.request_timeout)):
    """``serve``'s worker for a gunicorn command line of your own:
    ``gunicorn --worker-class anomed_anonymizer.runtime.serving.GunicornWorker
    app:application`` serves the WSGI ``app:application`` as ``serve`` does
    (uvicorn's loop, the bridge that reads each request completely, keep-alive
    connections), with :class:`ServeOptions`' defaults (body limit from
    ``ANOMED_SERVE_MAX_BODY_BYTES``) and gunicorn's ``--threads``.

    gunicorn's own sync worker, which upstream's README uses, closes every
    connection and parses requests in Python: a small ``/predict`` spends
    more time there than in the app (``benchmarks/bench_serving.py``).
    :mod:`.gunicorn_conf` sets this worker and ``serve``'s hooks.
    """

    def load_wsgi(self) -> None:
        super().load_wsgi()
        self.wsgi = ServeOptions(threads=max(1, self.cfg.threads)).wrap(self.wsgi)


class _Application(BaseApplication):
    def __init__(self, load: Callable[[], Any], options: ServeOptions) -> None:
        self._load = load
        self._options = options
        super().__init__()

    def load_config(self) -> None:
        for key, value in self._options.gunicorn_settings().items():
            if key in self.cfg.settings:
                self.cfg.set(key, value)

    def load(self) -> Any:
        return self._options.wrap(self._load())


UNPRIVILEGED_PORT_START = "/proc/sys/net/ipv4/ip_unprivileged_port_start"


def ensure_port_free(host: str, port: int) -> None:
    """Raise ``OSError`` with a clear message if ``host:port`` is taken, or
    this process may not bind it (a port below 1024 without the privilege:
    the message names the port, the uid and the ways out)."""
    with socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((host, port))
        except OSError as exc:
            if exc.errno == errno.EADDRINUSE:
                raise OSError(
                    f"port {port} on {host} is already in use; stop what runs there "
                    "or choose another with --port"
                ) from exc
            if exc.errno == errno.EACCES:
                raise OSError(_privileged_port_message(host, port)) from exc
            raise OSError(f"cannot listen on {host}:{port}: {exc.strerror}") from exc


def _privileged_port_message(host: str, port: int) -> str:
    try:
        with open(UNPRIVILEGED_PORT_START) as file:
            start = f"{int(file.read())}"
    except (OSError, ValueError):
        start = "1024"
    uid = os.getuid() if hasattr(os, "getuid") else "?"
    return (
        f"cannot listen on {host}:{port}: permission denied for uid {uid} (here "
        f"unprivileged users may bind ports from {start} up: sysctl "
        "net.ipv4.ip_unprivileged_port_start). Allow low ports (in a container: "
        "--sysctl net.ipv4.ip_unprivileged_port_start=0, compose 'sysctls:'; "
        "Docker 20.10 and later set it by default), give the python binary the "
        "capability (setcap cap_net_bind_service=+ep on the real binary, not a "
        f"venv link), or choose a port >= {start} with --port (serve: "
        "ANOMED_SERVE_PORT) for local runs: the AnoMed platform reaches "
        "containers on port 80 only"
    )


@contextlib.contextmanager
def metrics_directory() -> Iterator[str]:
    """A fresh ``PROMETHEUS_MULTIPROC_DIR`` for the workers of one server,
    removed afterwards (an operator's own directory is kept, but emptied of
    a previous run's files, as prometheus-client requires)."""
    configured = os.environ.get(MULTIPROC_ENV)
    if configured:
        os.makedirs(configured, exist_ok=True)
        for name in os.listdir(configured):
            if name.endswith(".db"):
                os.unlink(os.path.join(configured, name))
        yield configured
        return
    directory = tempfile.mkdtemp(prefix="anomed-metrics-")
    os.environ[MULTIPROC_ENV] = directory
    try:
        yield directory
    finally:
        os.environ.pop(MULTIPROC_ENV, None)
        shutil.rmtree(directory, ignore_errors=True)


def run_gunicorn(load: Callable[[], Any], options: ServeOptions) -> None:
    """Serve the app that ``load()`` returns until gunicorn is told to stop
    (SIGTERM or SIGINT: workers finish their requests, then exit). The
    caller checks the port first (:func:`ensure_port_free`): gunicorn's own
    error for a taken one is a retry loop, not a message."""
    with metrics_directory():
        _Application(load, options).run()
