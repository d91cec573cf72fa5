"""The routes an operator uses, mounted on both server templates: readiness,
metrics and the OpenAPI document; and which routes need the control token."""

from __future__ import annotations

import datetime
from collections.abc import Callable
from importlib import resources

import falcon

from ..web import MetricsResource, ServerSettings, create_app
from ..wire import PeerClient

__all__ = [
    "CONTROL_ROUTES",
    "OpenAPIResource",
    "ReadinessResource",
    "add_operational_routes",
    "anonymizer_app",
]

CONTROL_ROUTES = ("/fit", "/evaluate")
"""Routes that change the model or spend the challenge's evaluations: they need
the control token when ``ANOMED_CONTROL_TOKEN`` is set."""


class ReadinessResource:
    """``GET /ready``: whether a model (or release) is there to serve.

    200 ``{"ready": true, "fitted": true, "fitted_since": <ISO 8601>,
    "generation": <epoch seconds>}`` once one is saved; 503 with ``false`` and
    ``null`` before.

    Parameters
    ----------
    saved_at : Callable[[], float | None]
        When the served model was saved (epoch seconds), or ``None``.
    """

    def __init__(self, saved_at: Callable[[], float | None]) -> None:
        self._saved_at = saved_at

    def on_get(self, req: falcon.Request, resp: falcon.Response) -> None:
        saved_at = self._saved_at()
        ready = saved_at is not None
        resp.status = falcon.HTTP_OK if ready else falcon.HTTP_503
        resp.media = {
            "ready": ready,
            "fitted": ready,
            "fitted_since": (
                datetime.datetime.fromtimestamp(
                    saved_at, datetime.timezone.utc
                ).isoformat()
                if saved_at is not None
                else None
            ),
            "generation": saved_at,
        }


class OpenAPIResource:
    """``GET /openapi.json``: the OpenAPI 3 document of a template's routes,
    shipped in the package (``server/openapi/<template>.json``).

    Parameters
    ----------
    template : str
        ``supervised`` or ``tabular``.
    """

    def __init__(self, template: str) -> None:
        document = resources.files(__package__) / "openapi" / f"{template}.json"
        self._body = document.read_bytes()

    def on_get(self, req: falcon.Request, resp: falcon.Response) -> None:
        resp.content_type = falcon.MEDIA_JSON
        resp.data = self._body


def anonymizer_app(
    settings: ServerSettings, template: str, saved_at: Callable[[], float | None]
) -> tuple[falcon.App, PeerClient]:
    """What both server templates start from: the app (its alive message, the
    control token on :data:`CONTROL_ROUTES`, the operator's routes) and the
    client its resources reach the challenge with, both as ``settings`` say.

    Parameters
    ----------
    settings : ServerSettings
        The server's settings (timeouts, response limit, token, debug).
    template, saved_at
        As :func:`add_operational_routes`.
    """
    client = PeerClient(
        download_timeout=settings.download_timeout,
        upload_timeout=settings.upload_timeout,
        max_response_bytes=settings.response_limit,
        peer="the challenge",
    )
    app = create_app(
        "Anonymizer server is alive!",
        control_routes=CONTROL_ROUTES,
        control_token=settings.control_token,
        debug=settings.debug,
    )
    add_operational_routes(app, template, saved_at)
    return app, client


def add_operational_routes(
    app: falcon.App, template: str, saved_at: Callable[[], float | None]
) -> None:
    """Mount ``GET /ready``, ``GET /metrics`` and ``GET /openapi.json``.

    Parameters
    ----------
    app : falcon.App
        The application.
    template : str
        ``supervised`` or ``tabular``: which OpenAPI document to serve.
    saved_at : Callable[[], float | None]
        When the served model or release was saved, or ``None``.
    """
    app.add_route("/ready", ReadinessResource(saved_at))
    app.add_route("/metrics", MetricsResource())
    app.add_route("/openapi.json", OpenAPIResource(template))
