"""Request logging: route, sizes, status and duration of every request."""

from __future__ import annotations

import logging
import os
import sys
import time

import falcon

__all__ = ["RequestLogger", "configure_logging"]

_logger = logging.getLogger("anomed_anonymizer.access")


class RequestLogger:
    """Falcon middleware that logs one line per request."""

    def process_request(self, req: falcon.Request, resp: falcon.Response) -> None:
        req.context.started = time.perf_counter()

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


def configure_logging() -> None:
    """Send the library's logs to stderr, unless the application configured
    logging itself.

    Under gunicorn nothing configures the root logger, and an operator would
    otherwise never see a request line or a failing URL. The level comes from
    ``ANOMED_LOG_LEVEL`` (default ``INFO``).
    """
    logger = logging.getLogger("anomed_anonymizer")
    if logger.handlers or logging.getLogger().handlers:
        return
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(
        logging.Formatter(
            "%(asctime)s [%(process)d] %(levelname)s %(name)s: %(message)s"
        )
    )
    logger.addHandler(handler)
    logger.setLevel(os.environ.get("ANOMED_LOG_LEVEL", "INFO").upper())
