"""Request logging: route, sizes, status and duration of every request."""

from __future__ import annotations

import logging
import time

import falcon

__all__ = ["RequestLogger"]

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
