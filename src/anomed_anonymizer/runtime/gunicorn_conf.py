"""gunicorn settings that give ``gunicorn app:application`` what ``serve`` has.

Upstream's README and the AnoMed platform's templates start an anonymizer
with plain gunicorn (``gunicorn --workers 4 --timeout 1800 app:application``),
whose sync worker parses each request in Python and closes every connection.
gunicorn reads ``./gunicorn.conf.py`` from the directory it starts in, and
the scaffolds of ``anomed-anonymizer init`` ship one that imports this module,
so that the same command line serves the app as ``serve`` does:

- :class:`~.serving.GunicornWorker`: uvicorn's loop and the bridge that reads
  each request completely, within a deadline and a size bound, before the
  app runs; keep-alive connections;
- ``serve``'s hooks: each worker dies with its master and returns the memory
  a large request freed; the workers share one Prometheus directory, so that
  ``GET /metrics`` counts all of them;
- a worker ``timeout`` of 120 s (gunicorn's 30 s is its default).

Flags on the command line override these. Without a ``gunicorn.conf.py``,
name the module: ``gunicorn -c python:anomed_anonymizer.runtime.gunicorn_conf
app:application``.
"""

from __future__ import annotations

import contextlib
from typing import Any

from .serving import metrics_directory, worker_child_exit, worker_post_fork

__all__ = [
    "child_exit",
    "control_socket_disable",
    "on_exit",
    "on_starting",
    "post_fork",
    "timeout",
    "worker_class",
]

worker_class = "anomed_anonymizer.runtime.serving.GunicornWorker"
timeout = 120
control_socket_disable = True

_metrics = contextlib.ExitStack()


def on_starting(server: Any) -> None:
    """Before the workers fork: their shared Prometheus directory."""
    _metrics.enter_context(metrics_directory())


def on_exit(server: Any) -> None:
    """After the last worker: the directory goes (an operator's is kept)."""
    _metrics.close()


# serve's own hooks (ServeOptions.gunicorn_settings names the same two).
post_fork = worker_post_fork
child_exit = worker_child_exit
