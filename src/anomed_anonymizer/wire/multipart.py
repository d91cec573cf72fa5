"""``multipart/form-data`` bodies, as the tabular challenge expects them."""

from __future__ import annotations

from collections.abc import Mapping

import urllib3

__all__ = ["encode_multipart"]


def encode_multipart(parts: Mapping[str, str | bytes]) -> tuple[bytes, str]:
    """Encode named parts as one ``multipart/form-data`` body.

    Parameters
    ----------
    parts : Mapping[str, str | bytes]
        The parts by field name, e.g. ``{"anon_data": parquet_bytes,
        "anon_scheme": "same"}``.

    Returns
    -------
    (body, content_type) : tuple[bytes, str]
        The body and the value for its ``Content-Type`` header (with boundary).
    """
    body, content_type = urllib3.encode_multipart_formdata(dict(parts))
    return body, content_type
