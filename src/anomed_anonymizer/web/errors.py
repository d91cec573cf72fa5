"""Turning exceptions into JSON error answers, in one place.

Resources raise the package's error vocabulary (:mod:`anomed_anonymizer.errors`)
or Falcon's own HTTP errors; :data:`STATUSES` gives each class of the
vocabulary its status once, instead of every responder catching them.
Anything unexpected is logged with its traceback and answered with a JSON 500
that names the route.
"""

from __future__ import annotations

import logging
from typing import Any

import falcon

from ..errors import (
    AnomedError,
    BusyError,
    InvalidInputError,
    InvalidOutputError,
    NotReadyError,
    TooLargeError,
    UpstreamError,
    UpstreamUnavailableError,
)

__all__ = ["RETRY_AFTER_SECONDS", "STATUSES", "register_error_handlers"]

_logger = logging.getLogger(__name__)

STATUSES: dict[type[AnomedError], str] = {
    InvalidInputError: falcon.HTTP_400,
    TooLargeError: falcon.HTTP_413,
    NotReadyError: falcon.HTTP_503,
    BusyError: falcon.HTTP_503,
    UpstreamError: falcon.HTTP_502,
    UpstreamUnavailableError: falcon.HTTP_503,
    InvalidOutputError: falcon.HTTP_500,
}
"""The status of each class of the vocabulary; a subclass gets the status of
its nearest listed ancestor."""

RETRY_AFTER_SECONDS = 5
"""Sent with :class:`~anomed_anonymizer.errors.BusyError`: when to try again."""


def status_of(error: AnomedError) -> str:
    """The HTTP status that answers ``error`` (see :data:`STATUSES`)."""
    for cls in type(error).__mro__:
        if cls in STATUSES:
            return STATUSES[cls]
    return falcon.HTTP_500


def _handle_vocabulary(
    req: falcon.Request, resp: falcon.Response, ex: AnomedError, params: Any
) -> None:
    status = status_of(ex)
    _logger.warning("%s %s -> %s (%s): %s", req.method, req.path, status, ex.title, ex)
    headers = (
        {"Retry-After": str(RETRY_AFTER_SECONDS)} if isinstance(ex, BusyError) else None
    )
    raise falcon.HTTPError(status, title=ex.title, description=str(ex), headers=headers)


def _handle_unexpected(
    req: falcon.Request, resp: falcon.Response, ex: Exception, params: Any
) -> None:
    if isinstance(ex, falcon.HTTPError):
        raise ex
    _logger.exception("unexpected error in %s %s", req.method, req.path)
    raise falcon.HTTPInternalServerError(
        title="Internal server error",
        description=(
            f"{req.method} {req.path} failed unexpectedly "
            f"({type(ex).__name__}: {ex}); see the server log for the traceback"
        ),
    )


def register_error_handlers(app: falcon.App) -> None:
    """Install the package's exception-to-status mapping on ``app``.

    Parameters
    ----------
    app : falcon.App
        The application to configure.
    """
    # Falcon picks the handler of the most specific matching class, so the
    # catch-all for Exception does not shadow the vocabulary's.
    app.add_error_handler(Exception, _handle_unexpected)
    app.add_error_handler(AnomedError, _handle_vocabulary)
