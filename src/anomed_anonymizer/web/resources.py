"""Resources and request helpers every app mounts or uses."""

from __future__ import annotations

import json

import falcon

from .bodies import read_body, read_body_file

__all__ = ["AliveResource", "read_body", "read_body_file"]


class AliveResource:
    """``GET /``: a static JSON alive message.

    Parameters
    ----------
    message : str, optional
        The message, by default ``"Anonymizer server is alive!"``.
    """

    def __init__(self, message: str = "Anonymizer server is alive!") -> None:
        self._body = json.dumps({"message": message})

    def on_get(self, req: falcon.Request, resp: falcon.Response) -> None:
        resp.text = self._body
        resp.content_type = falcon.MEDIA_JSON

    # HEAD / as GET / without the body (Falcon drops it), as most servers do:
    # health checks that send HEAD get 200, not 405.
    on_head = on_get
