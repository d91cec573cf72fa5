"""Turning exceptions into JSON error answers, in one place.

Resources raise the package's error vocabulary (:mod:`anomed_anonymizer.errors`)
or Falcon's own HTTP errors; :data:`STATUSES` gives each class of the
vocabulary its status once, instead of every responder catching them.
Anything unexpected is logged with its traceback and answered with a JSON 500
that names the route.

What reaches the client is written for the client: a title and a description
it can act on (:meth:`~anomed_anonymizer.errors.AnomedError.for_client`).
Details that belong to the operator (a peer's URLs and its own error text,
file paths, the text of an unexpected exception) go to the log, under the
request id that the answer carries in its ``X-Request-ID`` header and names
in its description.

The handlers compose the answer instead of raising a ``falcon.HTTPError``: an
exception raised inside Falcon's handler would chain the original one
(``__context__``), whose traceback holds the responder's frames, into a
reference cycle that keeps the request's arrays alive until the next garbage
collection.
"""

from __future__ import annotations

import functools
import logging
import traceback
from typing import Any

import falcon

from ..errors import (
    AnomedError,
    BusyError,
    ConflictError,
    InvalidInputError,
    InvalidOutputError,
    LockUnavailableError,
    NotReadyError,
    TooLargeError,
    UpstreamError,
    UpstreamUnavailableError,
    VerificationError,
)
from .middleware import current_request_id

__all__ = [
    "RETRY_AFTER_SECONDS",
    "STATUSES",
    "compose_error",
    "error_body",
    "register_error_handlers",
]

_logger = logging.getLogger(__name__)

STATUSES: dict[type[AnomedError], str] = {
    InvalidInputError: falcon.HTTP_400,
    TooLargeError: falcon.HTTP_413,
    NotReadyError: falcon.HTTP_503,
    BusyError: falcon.HTTP_503,
    ConflictError: falcon.HTTP_409,
    UpstreamError: falcon.HTTP_502,
    UpstreamUnavailableError: falcon.HTTP_503,
    InvalidOutputError: falcon.HTTP_500,
    VerificationError: falcon.HTTP_500,
    LockUnavailableError: falcon.HTTP_500,
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


def error_body(title: str, description: str) -> dict[str, str]:
    """The JSON error answer's body, as every server here writes it (also
    ``serve``'s bridge, for what it refuses before the app runs).

    Examples
    --------
    >>> error_body("Busy", "try again")
    {'title': 'Busy', 'description': 'try again'}
    """
    return {"title": title, "description": description}


def compose_error(
    resp: falcon.Response,
    status: str | int,
    title: str,
    description: str,
    headers: dict[str, str] | None = None,
) -> None:
    """Write the JSON error answer ``{"title", "description"}`` into ``resp``.

    Parameters
    ----------
    resp : falcon.Response
        The response to fill.
    status : str | int
        Its status.
    title, description : str
        What the body says.
    headers : dict[str, str] | None, optional
        Extra headers (``Retry-After``, ``Allow``, ``WWW-Authenticate``).
    """
    resp.status = status
    resp.content_type = falcon.MEDIA_JSON
    resp.media = error_body(title, description)
    for name, value in (headers or {}).items():
        resp.set_header(name, value)


def _see_the_log() -> str:
    return f"the server log has the details (request {current_request_id()})"


def _debug_details(resp: falcon.Response, ex: Exception) -> None:
    """Debug mode: the answer adds the exception and the failing URL."""
    media = dict(resp.media)
    media["exception"] = f"{type(ex).__name__}: {ex}"
    url = getattr(ex, "url", None)
    if url:
        media["url"] = url
    resp.media = media


def _handle_vocabulary(
    req: falcon.Request,
    resp: falcon.Response,
    ex: AnomedError,
    params: Any,
    *,
    debug: bool = False,
) -> None:
    status = status_of(ex)
    message = str(ex)
    # The message, not the exception: a handler that keeps records (a
    # MemoryHandler, a test's capture) would keep its frames alive too.
    _logger.warning(
        "%s %s -> %s (%s): %s", req.method, req.path, status, ex.title, message
    )
    description = ex.for_client()
    if description != message:
        description = f"{description}; {_see_the_log()}"
    headers = (
        {"Retry-After": str(RETRY_AFTER_SECONDS)} if isinstance(ex, BusyError) else None
    )
    compose_error(resp, status, ex.title, description, headers)
    if debug:
        _debug_details(resp, ex)


def _handle_http_error(
    req: falcon.Request, resp: falcon.Response, ex: falcon.HTTPError, params: Any
) -> None:
    # Falcon's own errors (unknown route, wrong method, a bad query parameter)
    # and those a resource raises: the same JSON shape, always described.
    compose_error(
        resp,
        ex.status,
        ex.title or str(ex.status),
        ex.description or _default_description(req, ex),
        ex.headers,
    )


def _default_description(req: falcon.Request, ex: falcon.HTTPError) -> str:
    if ex.status_code == 404:
        return f"nothing is served at {req.path}"
    if ex.status_code == 405:
        allowed = (ex.headers or {}).get("Allow", "")
        return f"{req.path} does not accept {req.method}; it accepts {allowed}"
    return f"{req.method} {req.path} failed: {ex.status}"


def _handle_unexpected(
    req: falcon.Request,
    resp: falcon.Response,
    ex: Exception,
    params: Any,
    *,
    debug: bool = False,
) -> None:
    # The traceback as text, not exc_info: a record that keeps the exception
    # would keep the frames (and the request's arrays) with it.
    _logger.error(
        "unexpected error in %s %s\n%s",
        req.method,
        req.path,
        "".join(traceback.format_exception(type(ex), ex, ex.__traceback__)).rstrip(),
    )
    compose_error(
        resp,
        falcon.HTTP_500,
        "Internal server error",
        f"{req.method} {req.path} failed unexpectedly ({type(ex).__name__}); "
        f"{_see_the_log()}",
    )
    if debug:
        _debug_details(resp, ex)


def register_error_handlers(app: falcon.App, *, debug: bool = False) -> None:
    """Install the package's exception-to-status mapping on ``app``.

    Parameters
    ----------
    app : falcon.App
        The application to configure.
    debug : bool, optional
        Debug mode (local work only): the JSON answers of the vocabulary's
        errors and of unexpected ones add ``"exception"`` (type and message)
        and, for a peer's failure, ``"url"``.
    """
    # Falcon picks the handler of the most specific matching class, so the
    # catch-all for Exception shadows neither Falcon's errors nor the
    # vocabulary's.
    app.add_error_handler(Exception, functools.partial(_handle_unexpected, debug=debug))
    app.add_error_handler(falcon.HTTPError, _handle_http_error)
    app.add_error_handler(
        AnomedError, functools.partial(_handle_vocabulary, debug=debug)
    )
