"""The Falcon app every server of this package starts from."""

from __future__ import annotations

import logging
from collections.abc import Iterable

import falcon

from .errors import register_error_handlers
from .middleware import ControlAccess, RequestLogger, configure_logging
from .resources import AliveResource
from .settings import DEBUG_WARNING

__all__ = ["create_app"]


def create_app(
    alive_message: str,
    *,
    control_routes: Iterable[str] = (),
    control_token: str | None = None,
    debug: bool = False,
) -> falcon.App:
    """A Falcon app that gives every request an id, logs and counts it,
    answers every error as JSON (see :func:`register_error_handlers`) and
    serves ``GET /``.

    Parameters
    ----------
    alive_message : str
        The message of ``GET /``.
    control_routes : Iterable[str], optional
        Route templates that need ``control_token`` when it is set (see
        :class:`ControlAccess`).
    control_token : str | None, optional
        The secret those routes need (a
        :class:`~.settings.ServerSettings`' ``control_token``); ``None``:
        open.
    debug : bool, optional
        Debug mode (a :class:`~.settings.ServerSettings`' ``debug``): error
        answers add the exception and the failing URL; logs
        :data:`~.settings.DEBUG_WARNING`.

    Returns
    -------
    falcon.App
        The app; add the routes of the server.
    """
    configure_logging()
    middleware: list[object] = [RequestLogger()]
    control_routes = tuple(control_routes)
    if control_routes:
        middleware.append(ControlAccess(control_routes, control_token))
    app = falcon.App(middleware=middleware)
    register_error_handlers(app, debug=debug)
    if debug:
        logging.getLogger("anomed_anonymizer.web").warning("%s", DEBUG_WARNING)
    app.add_route("/", AliveResource(alive_message))
    return app
