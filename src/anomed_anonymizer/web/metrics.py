"""Prometheus metrics of every app here (``GET /metrics`` of the servers).

Under ``anomed-anonymizer serve`` every worker process writes its samples to
``PROMETHEUS_MULTIPROC_DIR`` (``serve`` creates that directory) and
``/metrics`` adds up all workers, whichever worker answers. Without that
variable (plain gunicorn, tests) each process reports its own numbers.

- ``anomed_requests_total{route,method,status}`` and
  ``anomed_request_duration_seconds{route,method}``: every request, by route
  template (``unmatched`` for unknown paths, so clients cannot create labels).
- ``anomed_fit_duration_seconds`` and ``anomed_fits_total{outcome}``: fits
  (``/fit`` of either template; the servers record them).
- ``anomed_model_generation_timestamp_seconds{pid}``: when the model (or
  release) that each worker serves was saved; all workers serve the same
  generation when their values agree.
- ``anomed_worker_resident_memory_bytes{pid}``: each worker's RSS, updated
  after a request at most once a second (reading it costs a small
  ``/predict`` a twentieth of its time), after every request that took
  50 ms or more, and by ``/metrics``.
"""

from __future__ import annotations

import math
import os
import resource
import threading
import time
from typing import Any

import falcon

__all__ = ["MULTIPROC_ENV", "MetricsResource", "metrics", "resident_memory_bytes"]

RSS_EVERY_SECONDS = 1.0
LONG_REQUEST_SECONDS = 0.05

MULTIPROC_ENV = "PROMETHEUS_MULTIPROC_DIR"

_lock = threading.Lock()
_instance: _Metrics | None = None
_instance_pid: int | None = None


def resident_memory_bytes() -> int:
    """This process's resident set size in bytes (peak RSS where
    ``/proc`` is missing)."""
    try:
        with open("/proc/self/statm", "rb") as statm:
            return int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
    except (OSError, ValueError, IndexError):
        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024


class _Metrics:
    def __init__(self) -> None:
        # Imported here, not at module import: prometheus_client picks its
        # single- or multi-process storage when it is first imported, and
        # `serve` sets PROMETHEUS_MULTIPROC_DIR before the workers do that.
        from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

        self.multiprocess = bool(os.environ.get(MULTIPROC_ENV))
        self.registry = None if self.multiprocess else CollectorRegistry()
        registry: Any = self.registry
        self.requests = Counter(
            "anomed_requests",
            "Requests answered, by route template, method and status.",
            ["route", "method", "status"],
            registry=registry,
        )
        self.latency = Histogram(
            "anomed_request_duration_seconds",
            "Time to answer a request, by route template and method.",
            ["route", "method"],
            registry=registry,
        )
        self.fit_duration = Histogram(
            "anomed_fit_duration_seconds",
            "Time a successful fit took (training or anonymization, and saving).",
            buckets=(0.1, 0.5, 1, 5, 15, 60, 300, 900, 1800, 3600, float("inf")),
            registry=registry,
        )
        self.fits = Counter(
            "anomed_fits",
            "Fits attempted, by outcome (success, failure).",
            ["outcome"],
            registry=registry,
        )
        self.generation = Gauge(
            "anomed_model_generation_timestamp_seconds",
            "When the model or release this worker serves was saved.",
            multiprocess_mode="liveall",
            registry=registry,
        )
        self.rss = Gauge(
            "anomed_worker_resident_memory_bytes",
            "Resident memory of this worker process.",
            multiprocess_mode="liveall",
            registry=registry,
        )
        self._rss_noted_at = -math.inf

    def observe_request(
        self, route: str, method: str, status: str, duration: float
    ) -> None:
        """Count a request and its latency; note the worker's RSS when the
        last note is a second old or the request was long."""
        self.requests.labels(route, method, status).inc()
        self.latency.labels(route, method).observe(duration)
        now = time.monotonic()
        if (
            duration >= LONG_REQUEST_SECONDS
            or now - self._rss_noted_at >= RSS_EVERY_SECONDS
        ):
            self._rss_noted_at = now
            self.rss.set(resident_memory_bytes())

    def render(self) -> tuple[bytes, str]:
        from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

        if self.multiprocess:
            from prometheus_client import CollectorRegistry, multiprocess

            registry = CollectorRegistry()
            multiprocess.MultiProcessCollector(registry)
        else:
            registry = self.registry
        return generate_latest(registry), CONTENT_TYPE_LATEST


def metrics() -> _Metrics:
    """This process's metrics (made on first use, anew after a fork)."""
    global _instance, _instance_pid
    pid = os.getpid()
    if _instance is None or _instance_pid != pid:
        with _lock:
            if _instance is None or _instance_pid != pid:
                _instance, _instance_pid = _Metrics(), pid
    return _instance


class MetricsResource:
    """``GET /metrics``: the Prometheus text exposition of every worker."""

    def on_get(self, req: falcon.Request, resp: falcon.Response) -> None:
        collected = metrics()
        collected.rss.set(resident_memory_bytes())
        resp.data, resp.content_type = collected.render()
