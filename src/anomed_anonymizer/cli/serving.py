"""Serving WSGI apps under gunicorn, with settings fit for anonymizers."""

from __future__ import annotations

import errno
import socket
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from gunicorn.app.base import BaseApplication

__all__ = ["ServeOptions", "ensure_port_free", "run_gunicorn"]


@dataclass
class ServeOptions:
    """How gunicorn runs an anonymizer.

    ``gthread`` workers keep answering gunicorn's heartbeat while a request
    thread trains, so a ``/fit`` that runs for many minutes is not killed by
    the worker timeout (a ``sync`` worker would be, after ``timeout`` seconds).
    One request thread per worker by default: user models need not be
    thread-safe, and parallelism comes from the worker processes.
    """

    host: str = "127.0.0.1"
    port: int = 8000
    workers: int = 2
    threads: int = 1
    timeout: int = 120
    graceful_timeout: int = 30
    log_level: str = "info"

    def gunicorn_settings(self) -> dict[str, Any]:
        return {
            "bind": f"{self.host}:{self.port}",
            "workers": self.workers,
            "threads": self.threads,
            "worker_class": "gthread",
            "timeout": self.timeout,
            "graceful_timeout": self.graceful_timeout,
            "loglevel": self.log_level,
            "accesslog": None,  # our middleware logs each request with sizes
            "control_socket_disable": True,
        }


class _Application(BaseApplication):
    def __init__(self, load: Callable[[], Any], settings: dict[str, Any]) -> None:
        self._load = load
        self._settings = settings
        super().__init__()

    def load_config(self) -> None:
        for key, value in self._settings.items():
            if key in self.cfg.settings:
                self.cfg.set(key, value)

    def load(self) -> Any:
        return self._load()


def ensure_port_free(host: str, port: int) -> None:
    """Raise ``OSError`` with a clear message if ``host:port`` is taken."""
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
            raise OSError(f"cannot listen on {host}:{port}: {exc.strerror}") from exc


def run_gunicorn(load: Callable[[], Any], options: ServeOptions) -> None:
    """Serve the app that ``load()`` returns until gunicorn is told to stop
    (SIGTERM or SIGINT: workers finish their requests, then exit)."""
    ensure_port_free(options.host, options.port)
    _Application(load, options.gunicorn_settings()).run()
