"""Named NumPy arrays as ``.npz`` bytes, the AnoMed wire format for arrays.

The peers write with :func:`numpy.savez_compressed` and read with
``allow_pickle=False``. Decoding here is defensive: the archive's declared
(decompressed) sizes are checked against a limit *before* anything is inflated,
pickled object arrays are refused, and every failure is a :class:`PayloadError`
whose message says what is wrong.
"""

from __future__ import annotations

import functools
import io
import math
import struct
import zipfile
import zlib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import IO, BinaryIO, cast

import numpy as np

from .chunks import Releasing
from .errors import MissingArrayError, PayloadError, PayloadTooLargeError

try:  # ISA-L's inflate: a small /predict body's deflated floats in half the time
    from isal import isal_zlib as _inflater
except ImportError:  # pragma: no cover - where isal has no wheel
    _inflater = zlib  # type: ignore[assignment]

__all__ = ["decode_named_arrays", "encode_named_arrays", "small_inflated_size"]

_NPY_SUFFIX = ".npy"
DEFAULT_MAX_ARRAYS = 1024
_READ_CHUNK = 1 << 20
_NPY_MAGIC = b"\x93NUMPY"
_MAX_NPY_HEADER_BYTES = 10_000
"""numpy's own bound on an ``.npy`` header (``max_header_size``)."""
COMPRESS_MIN_BYTES = 64 * 1024
"""Arrays up to this many bytes are stored, not deflated, by default."""
_DIRECT_MAX_BYTES = 1 << 20
"""Stored archives up to this size are written directly, not by numpy.savez."""


def encode_named_arrays(
    arrays: Mapping[str, np.ndarray], *, compress: bool | None = None
) -> bytes:
    """Serialize named arrays to ``.npz`` bytes, as the AnoMed peers do.

    Parameters
    ----------
    arrays : Mapping[str, numpy.ndarray]
        The arrays, by name (e.g. ``{"prediction": y_hat}``).
    compress : bool | None, optional
        Deflate the members (``numpy.savez_compressed``, what the peers
        write), or store them (``numpy.savez``; the peers read both). By
        default, deflate when the arrays hold more than
        :data:`COMPRESS_MIN_BYTES`: below that, deflating takes longer than
        the bytes it saves take to send (a small ``/predict`` answer encodes
        in 19 us stored, 47 us deflated).

    Returns
    -------
    bytes
        The ``.npz`` archive.

    Raises
    ------
    PayloadError
        If an array has an object dtype: the peers refuse pickled arrays.

    Examples
    --------
    >>> import numpy as np
    >>> data = encode_named_arrays({"X": np.zeros((2, 3))})
    >>> decode_named_arrays(data, required=["X"])["X"].shape
    (2, 3)
    """
    converted = {}
    for name, array in arrays.items():
        array = np.asanyarray(array)
        if array.dtype.hasobject:
            raise PayloadError(
                f"array {name!r} has dtype {array.dtype}, which can only be sent "
                "pickled; convert it to a numeric, boolean or fixed-width string "
                "dtype first"
            )
        converted[name] = array
    total = sum(array.nbytes for array in converted.values())
    if compress is None:
        compress = total > COMPRESS_MIN_BYTES
    if not compress and total <= _DIRECT_MAX_BYTES:
        return _stored_archive(converted)
    buffer = io.BytesIO()
    if compress:
        np.savez_compressed(buffer, **converted)
    else:
        np.savez(buffer, **converted)
    return buffer.getvalue()


# The zip records (PKWARE APPNOTE 4.3.7, 4.3.12, 4.3.16): local file header,
# central directory header, end of central directory. What this module
# writes is version 2.0, stored, dated 1980-01-01 (DOS date 0x21, time 0).
_LOCAL = struct.Struct("<4s5H3L2H")
_CENTRAL = struct.Struct("<4s6H3L5H2L")
_END = struct.Struct("<4s4H2LH")
_UTF8_NAMES = 0x800
_PLAIN_FLAGS = 0x0002 | 0x0004 | 0x0008 | _UTF8_NAMES
"""Deflate options, data descriptor, UTF-8 names: the flags of plain members."""


def _stored_archive(arrays: Mapping[str, np.ndarray]) -> bytes:
    """An ``.npz`` of stored members, written in one pass: what
    :func:`numpy.savez` writes (readable by :func:`numpy.load` and
    :mod:`zipfile`), without its per-archive work, which took a small
    ``/predict`` answer twice as long as the arrays themselves."""
    parts: list[bytes] = []
    directory: list[bytes] = []
    offset = 0
    for name, array in arrays.items():
        member = io.BytesIO()
        np.lib.format.write_array(member, array, allow_pickle=False)
        data = member.getvalue()
        filename = f"{name}{_NPY_SUFFIX}".encode()
        flags = 0 if filename.isascii() else _UTF8_NAMES
        crc, size = zlib.crc32(data), len(data)
        fields = (flags, 0, 0, 0x21, crc, size, size, len(filename))
        parts += [_LOCAL.pack(b"PK\x03\x04", 20, *fields, 0), filename, data]
        directory += [
            _CENTRAL.pack(
                b"PK\x01\x02", 20, 20, *fields, 0, 0, 0, 0, 0o600 << 16, offset
            ),
            filename,
        ]
        offset += _LOCAL.size + len(filename) + size
    central = b"".join(directory)
    end = _END.pack(
        b"PK\x05\x06", 0, 0, len(arrays), len(arrays), len(central), offset, 0
    )
    return b"".join([*parts, central, end])


def decode_named_arrays(
    data: bytes | BinaryIO,
    *,
    required: Iterable[str] = (),
    only: Iterable[str] | None = None,
    max_decompressed_bytes: int | None = None,
    max_arrays: int = DEFAULT_MAX_ARRAYS,
) -> dict[str, np.ndarray]:
    """Deserialize ``.npz`` bytes into named arrays, safely.

    Parameters
    ----------
    data : bytes or binary file
        The ``.npz`` archive (compressed or not), or a seekable file holding
        it (members are then read from the file straight into their arrays,
        and the archive is never held in memory whole). A file that can
        release what lies behind its reads (a
        :class:`~anomed_anonymizer.wire.chunks.ChunkedBody`) is told to, once
        the archive's directory is read.
    required : Iterable[str], optional
        Names that must be present.
    only : Iterable[str] | None, optional
        Decode just these names and skip (never inflate) the other members.
        By default every member is decoded.
    max_decompressed_bytes : int | None, optional
        Refuse archives whose decoded members declare more than this many
        bytes in total once inflated. ``None`` disables the check.
    max_arrays : int, optional
        Refuse archives with more members than this (each member costs work
        even when skipped).

    Returns
    -------
    dict[str, numpy.ndarray]
        The arrays, by name.

    Raises
    ------
    PayloadTooLargeError
        If the declared decompressed size exceeds ``max_decompressed_bytes``.
    MissingArrayError
        If a required array is absent.
    PayloadError
        If the bytes are empty, not a zip archive, corrupt, contain something
        other than ``.npy`` members, or hold pickled (object) arrays.
    """
    releasing = False
    if isinstance(data, (bytes, bytearray, memoryview)):
        size = len(data)
        stream: BinaryIO = io.BytesIO(data)
    else:
        stream = data
        size = stream.seek(0, io.SEEK_END)
        stream.seek(0)
        # (What isinstance(stream, Releasing) tells, without the cost of a
        # runtime Protocol check: a twentieth of a small /predict.)
        releasing = callable(getattr(stream, "release_behind_reads", None))
    if not size:
        raise PayloadError("the body is empty: expected an .npz archive of arrays")
    archive: zipfile.ZipFile | _SmallArchive | None = None
    if size <= _DIRECT_MAX_BYTES and isinstance(stream, io.BytesIO):
        archive = _SmallArchive.parse(stream.getvalue())
    if archive is None:
        try:
            archive = zipfile.ZipFile(stream)
        except Exception as exc:  # untrusted bytes: any failure is the payload's
            raise PayloadError(
                f"the body is not an .npz archive (zip expected, {size} bytes "
                f"received): {exc}"
            ) from exc
    if releasing:
        # The directory is read; members are read in order from here on, so
        # what lies behind each read can go while the arrays fill.
        cast(Releasing, stream).release_behind_reads()
    with archive:
        members = archive.infolist()
        if len(members) > max_arrays:
            raise PayloadError(
                f"the .npz archive holds {len(members)} members; at most "
                f"{max_arrays} are accepted"
            )
        # A member not named NAME.npy is shown as it is named: "lacks 'X'
        # (found: 'X')" would say nothing.
        present = [
            repr(name.removesuffix(_NPY_SUFFIX))
            if name.endswith(_NPY_SUFFIX)
            else f"{name!r} (not an array: arrays are members named NAME.npy)"
            for name in (member.filename for member in members)
        ]
        for member in members:
            _check_method(member)
        if only is not None:
            wanted = {f"{name}{_NPY_SUFFIX}" for name in only}
            members = [member for member in members if member.filename in wanted]
        PayloadTooLargeError.check_declared(
            "the .npz archive",
            sum(member.file_size for member in members),
            max_decompressed_bytes,
        )
        arrays = {}
        for member in members:
            if not member.filename.endswith(_NPY_SUFFIX):
                raise PayloadError(
                    f"the .npz archive holds {member.filename!r}, which is not an "
                    ".npy array"
                )
            name = member.filename[: -len(_NPY_SUFFIX)]
            arrays[name] = _read_member(archive, member, name)
    missing = [name for name in required if name not in arrays]
    if missing:
        # Name every member, also those ``only`` skipped: the client wants to
        # know what it sent.
        found = ", ".join(present) or "none"
        raise MissingArrayError(
            f"the .npz archive lacks the array(s) {', '.join(map(repr, missing))} "
            f"(found: {found})"
        )
    return arrays


def small_inflated_size(data: bytes) -> int | None:
    """What the members of a small ``.npz`` body declare they inflate to, in
    all; ``None`` unless it is an archive of the plainest kind (see
    :class:`_SmallArchive`) whose members are each at most 1 MiB inflated.

    Reads only the zip's directory (microseconds), so that a server can tell
    a small body that inflates to a large array from a small request before
    it decodes either.

    Examples
    --------
    >>> small_inflated_size(encode_named_arrays({"X": np.zeros(10)}))
    208
    >>> small_inflated_size(b"not a zip") is None
    True
    """
    archive = _SmallArchive.parse(data)
    if archive is None:
        return None
    return sum(entry.file_size for entry in archive.infolist())


@dataclass(frozen=True)
class _Entry:
    """A member of a :class:`_SmallArchive` (the fields of a ``ZipInfo`` that
    decoding reads)."""

    filename: str
    file_size: int
    compress_size: int
    compress_type: int
    CRC: int
    header_offset: int


class _SmallArchive:
    """A small zip archive of the plainest kind, read from memory without
    :mod:`zipfile`: one directory, no comment, no zip64, no encryption,
    members stored or deflated, as ``numpy.savez`` and the peers write them,
    none larger than :data:`_DIRECT_MAX_BYTES` once inflated.
    :meth:`parse` gives ``None`` for anything else, which ``zipfile`` then
    reads (and refuses with its own reasons). On a small ``/predict`` body,
    zipfile's per-archive work took as long as the rest of decoding."""

    def __init__(self, data: bytes, entries: list[_Entry]) -> None:
        self._data = data
        self._entries = entries

    @classmethod
    def parse(cls, data: bytes) -> _SmallArchive | None:
        """The archive, or ``None`` where it is not of the plainest kind."""
        end = len(data) - _END.size
        if end < 0:
            return None
        (sig, disk, cd_disk, n_here, n_total, cd_size, cd_offset, comment) = (
            _END.unpack_from(data, end)
        )
        if (
            sig != b"PK\x05\x06"
            or comment
            or disk
            or cd_disk
            or n_here != n_total
            or cd_offset + cd_size != end
        ):
            return None
        entries, at = [], cd_offset
        for _ in range(n_total):
            if at + _CENTRAL.size > end:
                return None
            fields = _CENTRAL.unpack_from(data, at)
            sig, needs, flags, method = fields[0], fields[2], fields[3], fields[4]
            crc, compressed, size, name_len, extra_len, comment_len = fields[7:13]
            if (
                sig != b"PK\x01\x02"
                or needs > 63  # what zipfile reads at most (6.3)
                or flags & ~_PLAIN_FLAGS  # encrypted, patched, ...
                or method not in (zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED)
                or 0xFFFFFFFF in (compressed, size, fields[16])  # zip64
                # a member that inflates large: zipfile's path reads it in
                # chunks straight into its array, never holding it twice
                or size > _DIRECT_MAX_BYTES
            ):
                return None
            name = data[at + _CENTRAL.size : at + _CENTRAL.size + name_len]
            filename = _zip_name(name, flags)
            entries.append(_Entry(filename, size, compressed, method, crc, fields[16]))
            at += _CENTRAL.size + name_len + extra_len + comment_len
        return cls(data, entries) if at == end else None

    def infolist(self) -> list[_Entry]:
        return self._entries

    def read(self, entry: _Entry) -> bytes:
        """The member's data, inflated; its size and CRC checked
        (``zipfile.BadZipFile`` if they do not match)."""
        data, at = self._data, entry.header_offset
        if at + _LOCAL.size > len(data):
            raise zipfile.BadZipFile("its local header is missing")
        local = _LOCAL.unpack_from(data, at)
        if local[0] != b"PK\x03\x04":
            raise zipfile.BadZipFile("bad local header")
        name_at = at + _LOCAL.size
        stored_name = data[name_at : name_at + local[9]]
        if _zip_name(stored_name, local[2]) != entry.filename:
            raise zipfile.BadZipFile("the names in its directory and header differ")
        start = name_at + local[9] + local[10]
        packed = data[start : start + entry.compress_size]
        if len(packed) != entry.compress_size:
            raise zipfile.BadZipFile("the archive is truncated")
        if entry.compress_type == zipfile.ZIP_STORED:
            content = packed
        else:
            # Never more than the declared size, whatever the stream holds.
            content = _inflater.decompressobj(-15).decompress(packed, entry.file_size)
        if len(content) != entry.file_size or zlib.crc32(content) != entry.CRC:
            raise zipfile.BadZipFile("its data do not match its declared size and CRC")
        return content

    def __enter__(self) -> _SmallArchive:
        return self

    def __exit__(self, *exc: object) -> None:
        self._data = b""


def _zip_name(raw: bytes, flags: int) -> str:
    """A member's name as zipfile decodes it (the ASCII case without
    Python's cp437 codec, which costs more than the rest of a small read)."""
    if raw.isascii():
        return raw.decode("ascii")
    return raw.decode("utf-8" if flags & _UTF8_NAMES else "cp437")


_METHODS = {
    zipfile.ZIP_BZIP2: "bzip2",
    zipfile.ZIP_LZMA: "LZMA",
    getattr(zipfile, "ZIP_ZSTANDARD", 93): "Zstandard",
}


def _check_method(member: zipfile.ZipInfo | _Entry) -> None:
    """Only what the peers write (``numpy.savez``: stored; ``savez_compressed``:
    deflate): bzip2 and LZMA inflate far beyond deflate's ~1,030 : 1, and no
    peer needs them."""
    method = member.compress_type
    if method in (zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED):
        return
    what = _METHODS.get(method, "an unknown method")
    raise PayloadError(
        f"the .npz member {member.filename!r} is compressed with {what} (zip "
        f"method {method}); only deflate (numpy.savez_compressed) and stored "
        "(numpy.savez) members are accepted"
    )


def _read_member(
    archive: zipfile.ZipFile | _SmallArchive,
    member: zipfile.ZipInfo | _Entry,
    name: str,
) -> np.ndarray:
    try:
        # A member of a small archive is inflated whole (never past its
        # declared size) and read from memory; zipfile's are read in chunks
        # straight into their arrays, never past what the array needs.
        with (
            io.BytesIO(archive.read(member))
            if isinstance(archive, _SmallArchive)
            else archive.open(member)
        ) as stream:
            shape, fortran_order, dtype = _read_header(stream, member, name)
            return _read_data(stream, shape, fortran_order, dtype, name)
    except PayloadError:
        raise
    except Exception as exc:  # untrusted bytes: any failure is the payload's
        raise PayloadError(
            f"array {name!r} is corrupt in the .npz archive: "
            f"{type(exc).__name__}: {exc}"
        ) from exc


def _read_header(
    stream: IO[bytes], member: zipfile.ZipInfo | _Entry, name: str
) -> tuple[tuple[int, ...], bool, np.dtype]:
    """Read an ``.npy`` header; refuse pickled arrays, and shapes that claim
    more data than the member holds (the array is allocated before its data
    is read)."""
    start = stream.read(len(_NPY_MAGIC) + 2)
    if len(start) < len(_NPY_MAGIC) + 2 or not start.startswith(_NPY_MAGIC):
        raise PayloadError(f"array {name!r} in the .npz archive is not an .npy array")
    length_bytes = stream.read(2 if start[-2] == 1 else 4)
    length = int.from_bytes(length_bytes, "little")
    if length > _MAX_NPY_HEADER_BYTES:
        raise PayloadError(
            f"array {name!r} has an .npy header of {length} bytes; at most "
            f"{_MAX_NPY_HEADER_BYTES} are accepted"
        )
    shape, fortran_order, dtype = _parse_header(
        start[-2:] + length_bytes + stream.read(length)
    )
    if dtype.hasobject:
        raise PayloadError(
            f"array {name!r} is a pickled object array, which is refused for "
            "safety; send a numeric, boolean or fixed-width string array"
        )
    claimed = math.prod(shape) * dtype.itemsize
    if claimed > member.file_size:
        raise PayloadError(
            f"array {name!r} claims shape {shape} of {dtype} ({claimed} bytes) but "
            f"its archive member holds only {member.file_size} bytes"
        )
    return shape, fortran_order, dtype


@functools.lru_cache(maxsize=128)
def _parse_header(raw: bytes) -> tuple[tuple[int, ...], bool, np.dtype]:
    """Shape, order and dtype of an ``.npy`` header (version, length and
    text), parsed by numpy. Cached: a client sends the same header with
    every request, and parsing it (a literal ``eval``) took a tenth of a
    small ``/predict``."""
    version, header = (raw[0], raw[1]), io.BytesIO(raw[2:])
    if version == (1, 0):
        return np.lib.format.read_array_header_1_0(header)
    if version in ((2, 0), (3, 0)):
        return np.lib.format.read_array_header_2_0(header)
    raise ValueError(f"unknown .npy format version {version}")


def _read_data(
    stream: IO[bytes],
    shape: tuple[int, ...],
    fortran_order: bool,
    dtype: np.dtype,
    name: str,
) -> np.ndarray:
    """The member's data after its header, read in chunks straight into the
    array (no copy of the member in memory), as ``numpy.load`` lays it out."""
    array = np.empty(shape[::-1] if fortran_order else shape, dtype=dtype)
    target = memoryview(array.reshape(-1).view(np.uint8))
    filled = 0
    while filled < len(target):
        chunk = stream.read(min(_READ_CHUNK, len(target) - filled))
        if not chunk:
            raise PayloadError(
                f"array {name!r} is truncated in the .npz archive: "
                f"{filled} of {len(target)} bytes of data"
            )
        target[filled : filled + len(chunk)] = chunk
        filled += len(chunk)
    return array.transpose() if fortran_order else array
