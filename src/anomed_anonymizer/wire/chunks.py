"""A request body as the chunks it arrived in, readable as a seekable file
that can let go of what lies behind its reader.

A server that reads a body completely before it runs the app (see
``runtime/bridge.py``) would otherwise hold the whole body beside the arrays
decoded from it. :class:`ChunkedBody` keeps the chunks as they came; once the
``.npz`` decoder has read the archive's directory (at its end), it calls
:meth:`ChunkedBody.release_behind_reads`, and from then on every chunk that
lies wholly behind a read is dropped: while an array fills, the body it
comes from empties.
"""

from __future__ import annotations

import bisect
import io
from collections.abc import Sequence
from typing import BinaryIO, Protocol, runtime_checkable

__all__ = ["BodyHandover", "ChunkedBody", "Releasing"]


@runtime_checkable
class BodyHandover(Protocol):
    """A ``wsgi.input`` that hands its whole body over as a file.

    ``serve``'s bridge (``runtime/bridge.py``) reads a request completely
    before the app runs; its input stream implements this, and the app's
    body readers (``web/resources.py``) take the body as a seekable file
    without copying it. Any other ``wsgi.input`` is read as a stream.
    """

    def take_file(self) -> BinaryIO:
        """The unread body as a seekable file; the stream is empty after."""


@runtime_checkable
class Releasing(Protocol):
    """A file that can drop what lies behind its later reads."""

    def release_behind_reads(self) -> None:
        """From now on, let go of whatever lies wholly before a read."""


class ChunkedBody(io.RawIOBase):
    """A read-only, seekable binary file over byte chunks.

    Parameters
    ----------
    chunks : Sequence[bytes]
        The body's parts, in order; empty ones are skipped. The file takes
        them over: keep no other reference if they are to be freed.

    Examples
    --------
    >>> body = ChunkedBody([b"abc", b"de", b"fgh"])
    >>> body.seek(2), body.read(4), body.tell(), len(body)
    (2, b'cdef', 6, 8)
    >>> body.release_behind_reads()
    >>> body.read(2), body.released_bytes
    (b'gh', 5)
    >>> _ = body.seek(0)
    >>> body.read(1)
    Traceback (most recent call last):
    ...
    OSError: bytes 0 to 5 of the body were already released (read behind the reader)
    """

    def __init__(self, chunks: Sequence[bytes]) -> None:
        super().__init__()
        self._chunks: list[bytes | None] = [bytes(c) for c in chunks if len(c)]
        self._starts: list[int] = []
        size = 0
        for chunk in self._chunks:
            self._starts.append(size)
            size += len(chunk)  # type: ignore[arg-type]
        self._size = size
        self._pos = 0
        self._releasing = False
        self._released = 0  # chunks[:_released] are gone

    def __len__(self) -> int:
        return self._size

    @property
    def released_bytes(self) -> int:
        """How many leading bytes have been let go of."""
        if self._released == 0:
            return 0
        if self._released >= len(self._chunks):
            return self._size
        return self._starts[self._released]

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def tell(self) -> int:
        return self._pos

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        base = {io.SEEK_SET: 0, io.SEEK_CUR: self._pos, io.SEEK_END: self._size}
        if whence not in base:
            raise ValueError(f"invalid whence {whence!r}")
        position = base[whence] + offset
        if position < 0:
            raise ValueError(f"negative seek position {position}")
        self._pos = position
        return position

    def release_behind_reads(self) -> None:
        """From now on, drop every chunk that ends at or before a read's start."""
        self._releasing = True

    def read(self, size: int | None = -1) -> bytes:
        remaining = self._size - self._pos
        if size is None or size < 0 or size > remaining:
            size = max(remaining, 0)
        if size == 0:
            return b""
        index = bisect.bisect_right(self._starts, self._pos) - 1
        if self._releasing:
            self._release_before(index)
        if index < self._released:
            raise OSError(
                f"bytes 0 to {self.released_bytes} of the body were already "
                "released (read behind the reader)"
            )
        pieces = []
        position, wanted = self._pos, size
        while wanted:
            chunk = self._chunks[index]
            assert chunk is not None
            offset = position - self._starts[index]
            piece = chunk[offset : offset + wanted]
            pieces.append(piece)
            position += len(piece)
            wanted -= len(piece)
            index += 1
        self._pos = position
        return pieces[0] if len(pieces) == 1 else b"".join(pieces)

    def readinto(self, buffer) -> int:  # type: ignore[no-untyped-def]
        data = self.read(len(memoryview(buffer).cast("B")))
        memoryview(buffer).cast("B")[: len(data)] = data
        return len(data)

    def readall(self) -> bytes:
        return self.read(-1)

    def close(self) -> None:
        self._chunks = []
        self._starts = []
        super().close()

    def _release_before(self, index: int) -> None:
        for position in range(self._released, index):
            self._chunks[position] = None
        self._released = max(self._released, index)
