"""Request middleware: request ids, the access log, metrics and control access.

Every request gets an id (the client's ``X-Request-ID`` if it is a short
token, else a fresh one). It is answered in the ``X-Request-ID`` header,
stamped on every log record made while the request runs (``%(request_id)s``)
and named in the descriptions of errors whose details stay in the log, so a
client's report leads to the log lines.
"""

from __future__ import annotations

import contextvars
import hmac
import logging
import os
import random
import re
import sys
import time
from collections.abc import Iterable
from typing import Any

import falcon

from .metrics import metrics
from .settings import CONTROL_TOKEN_ENV

__all__ = [
    "CONTROL_TOKEN_ENV",
    "LOG_FORMAT",
    "ControlAccess",
    "RequestLogger",
    "configure_logging",
    "current_request_id",
    "install_request_id_logging",
]

_logger = logging.getLogger("anomed_anonymizer.access")

LOG_FORMAT = (
    "%(asctime)s [%(process)d] %(levelname)s %(name)s [%(request_id)s]: %(message)s"
)
"""The format of the library's log lines: time, process, level, logger, the
request id (``-`` outside a request) and the message."""

_NO_REQUEST = "-"
_request_id: contextvars.ContextVar[str] = contextvars.ContextVar(
    "anomed_request_id", default=_NO_REQUEST
)
_CLIENT_ID = re.compile(r"[A-Za-z0-9._:-]{1,64}")


def current_request_id() -> str:
    """The id of the request this thread is answering (``-`` outside one)."""
    return _request_id.get()


def install_request_id_logging() -> None:
    """Give every log record a ``request_id`` attribute, so that any format
    may name it (``%(request_id)s``). Idempotent; keeps an existing record
    factory."""
    previous = logging.getLogRecordFactory()
    if getattr(previous, "_anomed_request_id", False):
        return

    def factory(*args: Any, **kwargs: Any) -> logging.LogRecord:
        record = previous(*args, **kwargs)
        record.request_id = _request_id.get()
        return record

    factory._anomed_request_id = True  # type: ignore[attr-defined]
    logging.setLogRecordFactory(factory)


class RequestLogger:
    """Falcon middleware: a request id, one log line and the metrics of every
    request."""

    def process_request(self, req: falcon.Request, resp: falcon.Response) -> None:
        req.context.started = time.perf_counter()
        offered = req.get_header("X-Request-ID")
        request_id = (
            offered
            if offered and _CLIENT_ID.fullmatch(offered)
            else f"{random.getrandbits(64):016x}"  # an id, not a secret
        )
        req.context.request_id = request_id
        req.context.request_id_token = _request_id.set(request_id)
        resp.set_header("X-Request-ID", request_id)

    def process_response(
        self,
        req: falcon.Request,
        resp: falcon.Response,
        resource: object,
        req_succeeded: bool,
    ) -> None:
        started = getattr(req.context, "started", None)
        duration = time.perf_counter() - started if started is not None else 0.0
        # render_body() caches rendered media, so Falcon does not serialize twice.
        body = resp.render_body() or b""
        _logger.info(
            "%s %s -> %s (in %s B, out %d B, %.3f s)",
            req.method,
            req.relative_uri,
            resp.status,
            req.content_length if req.content_length is not None else 0,
            len(body),
            duration,
        )
        # Route templates, not paths, so that clients cannot create labels.
        route = req.uri_template or "unmatched"
        status = str(resp.status).split(" ", 1)[0]
        metrics().observe_request(route, req.method, status, duration)
        token = getattr(req.context, "request_id_token", None)
        if token is not None:
            _request_id.reset(token)


class ControlAccess:
    """Falcon middleware: the control routes need ``Authorization: Bearer
    <token>`` when a token is configured.

    Parameters
    ----------
    routes : Iterable[str]
        Route templates that change or spend the model (``/fit``,
        ``/evaluate``).
    token : str | None, optional
        The shared secret (a server's :class:`~.settings.ServerSettings`
        ``control_token``). Empty or ``None``: every caller may use the
        routes, as upstream allows.
    """

    def __init__(self, routes: Iterable[str], token: str | None = None) -> None:
        self.routes = frozenset(routes)
        self._token = token.encode() if token else None

    @property
    def enabled(self) -> bool:
        """Whether a token is required."""
        return self._token is not None

    def process_resource(
        self,
        req: falcon.Request,
        resp: falcon.Response,
        resource: object,
        params: dict[str, Any],
    ) -> None:
        if self._token is None or req.uri_template not in self.routes:
            return
        scheme, _, offered = (req.get_header("Authorization") or "").partition(" ")
        # Compared in constant time: the answer's timing tells nothing.
        if scheme.lower() == "bearer" and hmac.compare_digest(
            offered.strip().encode(), self._token
        ):
            return
        _logger.warning(
            "%s %s refused: missing or wrong control token", req.method, req.path
        )
        raise falcon.HTTPUnauthorized(
            title="Unauthorized",
            description=(
                f"{req.method} {req.uri_template} needs the control token: send "
                "'Authorization: Bearer <token>'"
            ),
            challenges=['Bearer realm="anomed-anonymizer"'],
        )


def configure_logging() -> None:
    """Send the library's logs to stderr, unless the application configured
    logging itself, and stamp every record with its request id.

    Under gunicorn nothing configures the root logger, and an operator would
    otherwise never see a request line or a failing URL. The level comes from
    ``ANOMED_LOG_LEVEL`` (default ``INFO``). The handler is a fallback: once
    the root logger has handlers of its own (an application that configures
    logging after building its app, gunicorn's ``--log-config``), they print
    the library's records and this one stays quiet, so no line appears twice.
    """
    install_request_id_logging()
    logger = logging.getLogger("anomed_anonymizer")
    if logger.handlers or logging.getLogger().handlers:
        return
    handler = _FallbackHandler(sys.stderr)
    handler.setFormatter(logging.Formatter(LOG_FORMAT))
    logger.addHandler(handler)
    logger.setLevel(os.environ.get("ANOMED_LOG_LEVEL", "INFO").upper())


class _FallbackHandler(logging.StreamHandler):
    """Prints a record only while the root logger, where it propagates to,
    has no handler that would print it too."""

    def emit(self, record: logging.LogRecord) -> None:
        if not logging.getLogger().handlers:
            super().emit(record)
