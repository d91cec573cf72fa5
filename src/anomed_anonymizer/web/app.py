"""The Falcon app every server of this package starts from."""

from __future__ import annotations

import falcon

from .errors import register_error_handlers
from .middleware import RequestLogger, configure_logging
from .resources import AliveResource

__all__ = ["create_app"]


def create_app(alive_message: str) -> falcon.App:
    """A Falcon app that logs every request, answers every error as JSON (see
    :func:`register_error_handlers`) and serves ``GET /``.

    Parameters
    ----------
    alive_message : str
        The message of ``GET /``.

    Returns
    -------
    falcon.App
        The app; add the routes of the server.
    """
    configure_logging()
    app = falcon.App(middleware=[RequestLogger()])
    register_error_handlers(app)
    app.add_route("/", AliveResource(alive_message))
    return app
