"""Giving memory that a request freed back to the system (glibc only).

A worker that answered a large request should not look, to the operator
and to the kernel, as large as it was during that request. CPython frees the
request's arrays when the answer is composed; whether the pages go back to
the system is up to the C allocator. glibc keeps freed memory for reuse: it
raises its thresholds as large blocks are freed (up to 32 MiB for mapping a
block on its own, 64 MiB kept at the top of a heap), and never returns free
pages in the middle of a heap unless asked. Elsewhere than glibc these
functions do nothing.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import functools
from typing import Any

__all__ = ["MMAP_THRESHOLD_BYTES", "TRIM_THRESHOLD_BYTES", "release", "tune"]

# glibc's mallopt parameters (malloc.h).
_M_TRIM_THRESHOLD = -1
_M_MMAP_THRESHOLD = -3

MMAP_THRESHOLD_BYTES = 1 << 20
"""Blocks this large or larger are mapped on their own, and unmapped when freed."""
TRIM_THRESHOLD_BYTES = 4 << 20
"""The most free memory kept at the top of a heap."""


@functools.cache
def _libc() -> Any:
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        libc.mallopt  # noqa: B018 - glibc, or something else?
        libc.malloc_trim  # noqa: B018
    except (OSError, AttributeError):
        return None
    return libc


def tune() -> None:
    """Fix glibc's thresholds (see :data:`MMAP_THRESHOLD_BYTES` and
    :data:`TRIM_THRESHOLD_BYTES`), so that they no longer grow with the
    largest block freed so far."""
    libc = _libc()
    if libc is not None:
        libc.mallopt(_M_MMAP_THRESHOLD, MMAP_THRESHOLD_BYTES)
        libc.mallopt(_M_TRIM_THRESHOLD, TRIM_THRESHOLD_BYTES)


def release() -> None:
    """Return the free pages of every heap to the system (``malloc_trim``):
    microseconds when there is nothing to return."""
    libc = _libc()
    if libc is not None:
        libc.malloc_trim(0)
