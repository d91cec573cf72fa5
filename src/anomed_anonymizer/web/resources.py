"""Resources and request helpers every app mounts or uses."""

from __future__ import annotations

import io
import json
from typing import BinaryIO

import falcon

from ..wire import BodyHandover, PayloadTooLargeError

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


def read_body(req: falcon.Request, max_bytes: int) -> bytes:
    """Read the request body, refusing more than ``max_bytes``.

    A body without ``Content-Length`` (``Transfer-Encoding: chunked``) is read
    from the server's de-chunked stream, with the same bound.

    Raises
    ------
    PayloadTooLargeError
        If the declared or actual length exceeds ``max_bytes``.
    """
    declared = req.content_length
    if declared is not None and declared > max_bytes:
        raise PayloadTooLargeError(
            f"the body has {declared} bytes, more than the limit of {max_bytes}",
            size=declared,
            limit=max_bytes,
        )
    if declared is None and _is_chunked(req):
        # Falcon's bounded_stream reads nothing without a Content-Length; the
        # WSGI server has removed the chunk framing from wsgi.input.
        body = req.stream.read(max_bytes + 1)
    else:
        body = req.bounded_stream.read(max_bytes + 1)
    if len(body) > max_bytes:
        raise PayloadTooLargeError(
            f"the body has more than the limit of {max_bytes} bytes",
            size=len(body),
            limit=max_bytes,
        )
    return body


def _is_chunked(req: falcon.Request) -> bool:
    encoding = (req.get_header("Transfer-Encoding") or "").lower()
    return "chunked" in encoding or bool(req.env.get("wsgi.input_terminated"))


def read_body_file(req: falcon.Request, max_bytes: int) -> BinaryIO:
    """The request body as a seekable binary file, refusing more than
    ``max_bytes``.

    Under ``anomed-anonymizer serve`` a large body comes as the chunks it
    arrived in (:class:`~anomed_anonymizer.wire.ChunkedBody`), which a decoder
    frees as it reads, so that a request does not hold its whole body beside
    what is decoded from it; elsewhere the body is read (see
    :func:`read_body`).

    Raises
    ------
    PayloadTooLargeError
        If the declared or actual length exceeds ``max_bytes``.
    """
    stream = req.env.get("wsgi.input")
    if not isinstance(stream, BodyHandover):
        return io.BytesIO(read_body(req, max_bytes))
    body = stream.take_file()
    size = body.seek(0, io.SEEK_END)
    body.seek(0)
    if size > max_bytes:
        raise PayloadTooLargeError(
            f"the body has {size} bytes, more than the limit of {max_bytes}",
            size=size,
            limit=max_bytes,
        )
    return body
