"""Request bodies, one reader per format, and the one size check (413).

The formats of this protocol are fixed by the route, not by the request's
``Content-Type``: the peers post ``.npz`` and Parquet bodies as
``application/octet-stream`` or with no type at all (``requests.post(data=...)``).
Falcon's media handlers are chosen by that header, so they would pick the
JSON handler for most peers; these functions are the route-chosen
equivalent. Each bounds what it reads and what the archive may inflate to by
the same limit, and maps a body it cannot use to the error vocabulary
(:class:`~anomed_anonymizer.wire.PayloadError`: 400;
:class:`~anomed_anonymizer.wire.PayloadTooLargeError`: 413), unless the
caller names its own 400 (``invalid=``), as the emulator does to answer
exactly as upstream.
"""

from __future__ import annotations

import contextlib
import io
from collections.abc import Callable, Iterable, Iterator
from typing import TYPE_CHECKING, BinaryIO, cast

import falcon

from ..wire import (
    BodyHandover,
    PayloadError,
    PayloadTooLargeError,
    decode_named_arrays,
    decode_table,
)

if TYPE_CHECKING:
    import numpy as np
    import pandas as pd

__all__ = [
    "npz_body",
    "parquet_body",
    "parquet_bytes",
    "read_body",
    "read_body_file",
    "refuse_larger",
]

#: What a caller's ``invalid=`` turns a :class:`PayloadError` into.
Invalid = Callable[[PayloadError], Exception]


def refuse_larger(size: int | None, max_bytes: int, *, read: bool = False) -> None:
    """The one body-size check: :class:`PayloadTooLargeError` (413) if ``size``
    exceeds ``max_bytes``; ``None`` (no ``Content-Length``) passes.

    ``read=True`` says ``size`` was counted while reading (a read stops one
    byte after the limit, so the true size is unknown).

    Examples
    --------
    >>> refuse_larger(10, 10)
    >>> refuse_larger(11, 10)
    Traceback (most recent call last):
    ...
    anomed_anonymizer.wire.errors.PayloadTooLargeError: the body has 11 bytes, more than the limit of 10
    """  # noqa: E501
    if size is None or size <= max_bytes:
        return
    message = (
        f"the body has more than the limit of {max_bytes} bytes"
        if read
        else f"the body has {size} bytes, more than the limit of {max_bytes}"
    )
    raise PayloadTooLargeError(message, size=size, limit=max_bytes)


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
    refuse_larger(declared, max_bytes)
    if declared is None and _is_chunked(req):
        # Falcon's bounded_stream reads nothing without a Content-Length; the
        # WSGI server has removed the chunk framing from wsgi.input.
        body = req.stream.read(max_bytes + 1)
    else:
        body = req.bounded_stream.read(max_bytes + 1)
    refuse_larger(len(body), max_bytes, read=True)
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
    # What isinstance(stream, BodyHandover) tells, without the runtime
    # Protocol check: about 25 us, a tenth of a small /predict, mostly spent
    # on the plain streams of other servers, which fail it.
    if not callable(getattr(stream, "take_file", None)):
        return io.BytesIO(read_body(req, max_bytes))
    body = cast(BodyHandover, stream).take_file()
    size = body.seek(0, io.SEEK_END)
    body.seek(0)
    refuse_larger(size, max_bytes)
    return body


def npz_body(
    req: falcon.Request,
    max_bytes: int,
    *,
    required: Iterable[str] = (),
    only: Iterable[str] | None = None,
    invalid: Invalid | None = None,
) -> dict[str, np.ndarray]:
    """The request's ``.npz`` body as named arrays (see
    :func:`~anomed_anonymizer.wire.decode_named_arrays`), read as a file so
    that ``serve`` can hand over its chunks.

    Raises
    ------
    PayloadTooLargeError
        If the body or what it inflates to exceeds ``max_bytes``.
    PayloadError
        If it is no usable archive (or ``invalid(error)``, if given).
    """
    body = read_body_file(req, max_bytes)
    with _invalid_as(invalid):
        return decode_named_arrays(
            body, required=required, only=only, max_decompressed_bytes=max_bytes
        )


def parquet_body(
    req: falcon.Request, max_bytes: int, *, invalid: Invalid | None = None
) -> pd.DataFrame:
    """The request's Parquet body as a table (see :func:`parquet_bytes`)."""
    return parquet_bytes(read_body(req, max_bytes), max_bytes, invalid=invalid)


def parquet_bytes(
    data: bytes, max_bytes: int, *, invalid: Invalid | None = None
) -> pd.DataFrame:
    """Parquet bytes (a body, or a part of a multipart body) as a table, decoded
    within ``max_bytes`` (see :func:`~anomed_anonymizer.wire.decode_table`).

    Raises
    ------
    PayloadTooLargeError
        If ``data`` or the table it holds exceeds ``max_bytes``.
    PayloadError
        If it is no usable Parquet file (or ``invalid(error)``, if given).
    """
    refuse_larger(len(data), max_bytes)
    with _invalid_as(invalid):
        return decode_table(data, max_decompressed_bytes=max_bytes)


@contextlib.contextmanager
def _invalid_as(invalid: Invalid | None) -> Iterator[None]:
    """A body's :class:`PayloadError` raised as ``invalid(error)`` (if given);
    :class:`PayloadTooLargeError` always as itself, the 413."""
    try:
        yield
    except PayloadTooLargeError:
        raise
    except PayloadError as exc:
        if invalid is None:
            raise
        raise invalid(exc) from exc
