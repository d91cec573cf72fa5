"""Turning exceptions into JSON error answers.

Resources raise domain exceptions (a payload that cannot be decoded, a
challenge that is down, a fit already running); the handlers registered here
map each to its status code once, instead of every responder catching them.
Anything unexpected is logged with its traceback and answered with a JSON 500
that names the route.
"""

from __future__ import annotations

import logging
from typing import Any

import falcon

from ..tabular.persistence import (
    AnonymizationError,
    AnonymizationInProgressError,
    NotAnonymizedError,
)
from ..wire import (
    ChallengeProtocolError,
    ChallengeRejectedError,
    ChallengeUnavailableError,
    PayloadError,
    PayloadTooLargeError,
)
from .storage import FitInProgressError, NotFittedError

__all__ = ["AnonymizerInputError", "register_error_handlers"]

_logger = logging.getLogger(__name__)


class AnonymizerInputError(ValueError):
    """A client's feature array was rejected by the anonymizer."""


def _raise(error_class: type[falcon.HTTPError], title: str, **extra: Any):
    def handler(req: falcon.Request, resp: falcon.Response, ex: Exception, params):
        _logger.warning("%s %s -> %s: %s", req.method, req.path, title, ex)
        raise error_class(title=title, description=str(ex), **extra)

    return handler


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
    """Install the project's exception-to-status mapping on ``app``.

    Parameters
    ----------
    app : falcon.App
        The application to configure.
    """
    # Falcon picks the handler of the most specific matching class, so the
    # catch-all for Exception does not shadow the ones below.
    app.add_error_handler(Exception, _handle_unexpected)
    app.add_error_handler(PayloadError, _raise(falcon.HTTPBadRequest, "Bad payload"))
    app.add_error_handler(
        PayloadTooLargeError,
        _raise(falcon.HTTPContentTooLarge, "Payload too large"),
    )
    app.add_error_handler(
        AnonymizerInputError, _raise(falcon.HTTPBadRequest, "Invalid feature array")
    )
    app.add_error_handler(
        NotFittedError, _raise(falcon.HTTPServiceUnavailable, "Not fitted")
    )
    app.add_error_handler(
        FitInProgressError,
        _raise(falcon.HTTPServiceUnavailable, "Fitting in progress", retry_after=5),
    )
    app.add_error_handler(
        NotAnonymizedError, _raise(falcon.HTTPServiceUnavailable, "Not anonymized")
    )
    app.add_error_handler(
        AnonymizationInProgressError,
        _raise(
            falcon.HTTPServiceUnavailable, "Anonymization in progress", retry_after=5
        ),
    )
    app.add_error_handler(
        AnonymizationError,
        _raise(falcon.HTTPInternalServerError, "Anonymization failed"),
    )
    app.add_error_handler(
        ChallengeUnavailableError,
        _raise(falcon.HTTPServiceUnavailable, "Challenge unavailable"),
    )
    app.add_error_handler(
        ChallengeRejectedError, _raise(falcon.HTTPBadGateway, "Challenge rejected")
    )
    app.add_error_handler(
        ChallengeProtocolError, _raise(falcon.HTTPBadGateway, "Bad challenge payload")
    )
