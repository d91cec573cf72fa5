"""The .npz codec: byte-compatible with numpy.savez_compressed, and safe."""

import io
import tracemalloc
import zipfile

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from anomed_anonymizer.wire import (
    MissingArrayError,
    PayloadError,
    PayloadTooLargeError,
    decode_named_arrays,
    encode_named_arrays,
)


@pytest.mark.parametrize(
    "array",
    [
        np.arange(12, dtype=np.float64).reshape(3, 4),
        np.array([1, 0, 2], dtype=np.int64),
        np.array([True, False]),
        np.array(["a", "bcd"]),
        np.zeros((0, 4)),
    ],
    ids=["float", "int", "bool", "str", "empty"],
)
@pytest.mark.parametrize("compress", [True, False])
def test_round_trip_keeps_values_shape_and_dtype(array, compress):
    decoded = decode_named_arrays(encode_named_arrays({"X": array}, compress=compress))
    assert decoded["X"].dtype == array.dtype
    np.testing.assert_array_equal(decoded["X"], array)


def test_reads_what_numpy_savez_compressed_writes():
    buffer = io.BytesIO()
    np.savez_compressed(buffer, X=np.eye(3), y=np.array([0, 1, 2]))
    decoded = decode_named_arrays(buffer.getvalue(), required=["X", "y"])
    np.testing.assert_array_equal(decoded["X"], np.eye(3))
    np.testing.assert_array_equal(decoded["y"], [0, 1, 2])


def test_numpy_load_reads_what_we_write():
    data = encode_named_arrays({"prediction": np.array([2, 1])})
    with np.load(io.BytesIO(data), allow_pickle=False) as loaded:
        np.testing.assert_array_equal(loaded["prediction"], [2, 1])


def test_empty_body_is_refused():
    with pytest.raises(PayloadError, match="empty"):
        decode_named_arrays(b"")


def test_non_zip_body_is_refused():
    with pytest.raises(PayloadError, match=r"not an \.npz archive"):
        decode_named_arrays(b"definitely not a zip archive")


def test_corrupt_member_is_refused():
    data = bytearray(encode_named_arrays({"X": np.arange(1000.0)}))
    # Flip bytes in the middle of the deflated stream: the CRC or inflate fails.
    for offset in range(200, 260):
        data[offset] ^= 0xFF
    with pytest.raises(PayloadError, match="'X'"):
        decode_named_arrays(bytes(data))


def test_truncated_archive_is_refused():
    data = encode_named_arrays({"X": np.arange(1000.0)})
    with pytest.raises(PayloadError):
        decode_named_arrays(data[: len(data) // 2])


def test_missing_required_array_names_it_and_what_was_found():
    data = encode_named_arrays({"features": np.zeros(3)})
    with pytest.raises(MissingArrayError, match=r"'X'.*found: 'features'"):
        decode_named_arrays(data, required=["X"])


def _archive(method: int, name: str = "X.npy") -> bytes:
    array = io.BytesIO()
    np.save(array, np.zeros(1000))
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=method) as archive:
        archive.writestr(name, array.getvalue())
    return buffer.getvalue()


@pytest.mark.parametrize(
    ("method", "name"),
    [(zipfile.ZIP_BZIP2, "bzip2"), (zipfile.ZIP_LZMA, "LZMA")],
)
def test_only_the_peers_compression_methods_are_accepted(method, name):
    # bzip2 and LZMA inflate 420 bytes to 265 MB; the peers write deflate.
    with pytest.raises(PayloadError, match=rf"compressed with {name} \(zip method"):
        decode_named_arrays(_archive(method), required=["X"])
    for accepted in (zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED):
        assert decode_named_arrays(_archive(accepted))["X"].shape == (1000,)


def test_a_member_without_the_npy_suffix_is_named_as_it_is():
    archive = _archive(zipfile.ZIP_DEFLATED, name="X")
    with pytest.raises(MissingArrayError, match=r"found: 'X' \(not an array: arr"):
        decode_named_arrays(archive, required=["X"], only=["X"])


def test_pickled_object_arrays_are_refused():
    buffer = io.BytesIO()
    np.savez(buffer, X=np.array([{"a": 1}, None], dtype=object))
    with pytest.raises(PayloadError, match="pickled"):
        decode_named_arrays(buffer.getvalue())


def test_non_npy_members_are_refused():
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("notes.txt", "hello")
    with pytest.raises(PayloadError, match=r"notes\.txt"):
        decode_named_arrays(buffer.getvalue())


def test_zip_bomb_is_refused_before_inflating():
    # 64 MiB of zeros deflate to about 64 KiB.
    bomb = encode_named_arrays({"X": np.zeros(8 * 1024 * 1024)})
    assert len(bomb) < 1024 * 1024
    tracemalloc.start()
    try:
        with pytest.raises(PayloadTooLargeError) as excinfo:
            decode_named_arrays(bomb, max_decompressed_bytes=1024 * 1024)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert excinfo.value.size > 64 * 1024 * 1024
    assert peak < 8 * 1024 * 1024, "the archive must not be inflated"


def test_a_small_body_that_inflates_large_is_held_once_while_it_decodes():
    """64 MiB of zeros in a 64 KiB body (under the limit): decoding holds
    the array, not the array and its inflated bytes as well."""
    body = encode_named_arrays({"X": np.zeros(8 * 1024 * 1024)})
    assert len(body) < 1024 * 1024
    tracemalloc.start()
    try:
        decoded = decode_named_arrays(body)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert decoded["X"].nbytes == 64 * 1024 * 1024
    assert peak < 1.2 * decoded["X"].nbytes


def test_encoding_object_arrays_is_refused():
    with pytest.raises(PayloadError, match="dtype object"):
        encode_named_arrays({"X": np.array([None, 1], dtype=object)})


def test_decoding_applies_the_limit_to_the_declared_size():
    with pytest.raises(PayloadTooLargeError):
        decode_named_arrays(
            encode_named_arrays({"X": np.zeros(200)}), max_decompressed_bytes=1000
        )
    small = encode_named_arrays({"X": np.zeros(2)})
    assert decode_named_arrays(small, max_decompressed_bytes=1000)["X"].shape == (2,)


def test_only_decodes_the_named_arrays_and_never_inflates_the_others():
    bomb = np.zeros(8 * 1024 * 1024)  # 64 MiB, deflates to ~64 KiB
    data = encode_named_arrays({"X": np.ones((2, 2)), "ballast": bomb})
    decoded = decode_named_arrays(
        data, required=["X"], only=["X"], max_decompressed_bytes=1024 * 1024
    )
    assert list(decoded) == ["X"]


def test_archives_with_too_many_members_are_refused():
    data = encode_named_arrays({f"a{i}": np.zeros(1) for i in range(20)})
    with pytest.raises(PayloadError, match="20 members; at most 10"):
        decode_named_arrays(data, max_arrays=10)


def test_shape_claiming_more_data_than_the_member_holds_is_refused():
    # A header may claim a billion rows over a few bytes of data: numpy would
    # allocate the claimed size before noticing.
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        header = io.BytesIO()
        np.lib.format.write_array_header_1_0(
            header, {"descr": "<f8", "fortran_order": False, "shape": (10**9, 4)}
        )
        archive.writestr("X.npy", header.getvalue() + b"\0" * 64)
    tracemalloc.start()
    try:
        with pytest.raises(PayloadError, match=r"claims shape \(1000000000, 4\)"):
            decode_named_arrays(buffer.getvalue())
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 8 * 1024 * 1024


class _Unseekable(io.RawIOBase):
    """A write-only stream that cannot seek, like a socket or a pipe: zipfile
    then writes each member's sizes in a data descriptor after its data
    (flag bit 3), not in its local header."""

    def __init__(self) -> None:
        self.buffer = bytearray()

    def writable(self) -> bool:
        return True

    def write(self, data) -> int:
        self.buffer += data
        return len(data)


def _npz_through_a_pipe(arrays, compression: int, force_zip64: bool) -> bytes:
    sink = _Unseekable()
    with zipfile.ZipFile(sink, "w", compression=compression) as archive:
        for name, array in arrays.items():
            with archive.open(f"{name}.npy", "w", force_zip64=force_zip64) as member:
                np.lib.format.write_array(member, array, allow_pickle=False)
    return bytes(sink.buffer)


@pytest.mark.parametrize("compression", [zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED])
@pytest.mark.parametrize("force_zip64", [False, True], ids=["zip32", "zip64"])
@pytest.mark.parametrize("as_file", [False, True], ids=["bytes", "file"])
def test_members_with_data_descriptors_decode(compression, force_zip64, as_file):
    # Regression: an .npz streamed by a writer that cannot seek back must
    # decode, stored or deflated, zip64 or not, from bytes or from a file.
    arrays = {"X": np.arange(20.0).reshape(5, 4), "y": np.array([1, 0, 1, 1, 0])}
    data = _npz_through_a_pipe(arrays, compression, force_zip64)
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        assert all(info.flag_bits & 0x08 for info in archive.infolist())
    decoded = decode_named_arrays(
        io.BytesIO(data) if as_file else data, required=["X", "y"]
    )
    for name, array in arrays.items():
        np.testing.assert_array_equal(decoded[name], array)
        assert decoded[name].dtype == array.dtype


def test_decodes_from_a_file_with_the_same_refusals(tmp_path):
    path = tmp_path / "bomb.npz"
    path.write_bytes(encode_named_arrays({"X": np.zeros((1000, 1000))}))
    with path.open("rb") as file, pytest.raises(PayloadTooLargeError):
        decode_named_arrays(file, max_decompressed_bytes=1_000_000)
    with path.open("rb") as file:
        assert decode_named_arrays(file, required=["X"])["X"].shape == (1000, 1000)
    (tmp_path / "empty.npz").write_bytes(b"")
    with (
        (tmp_path / "empty.npz").open("rb") as file,
        pytest.raises(PayloadError, match="empty"),
    ):
        decode_named_arrays(file)


@pytest.mark.parametrize("compress", [True, False])
def test_fortran_ordered_and_structured_arrays_decode_as_numpy_loads_them(compress):
    buffer = io.BytesIO()
    fortran = np.asfortranarray(np.arange(12.0).reshape(3, 4))
    structured = np.array([(1, 2.5), (3, 4.5)], dtype=[("a", ">i4"), ("b", "<f8")])
    (np.savez_compressed if compress else np.savez)(buffer, F=fortran, S=structured)
    decoded = decode_named_arrays(buffer.getvalue())
    np.testing.assert_array_equal(decoded["F"], fortran)
    assert decoded["F"].flags.f_contiguous
    np.testing.assert_array_equal(decoded["S"], structured)
    assert decoded["S"].dtype == structured.dtype


def test_small_arrays_are_stored_and_large_ones_deflated_by_default():
    def methods(data: bytes) -> set[int]:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            return {info.compress_type for info in archive.infolist()}

    small = encode_named_arrays({"prediction": np.zeros(64, dtype=np.int64)})
    large = encode_named_arrays({"prediction": np.zeros(100_000, dtype=np.int64)})
    assert methods(small) == {zipfile.ZIP_STORED}
    assert methods(large) == {zipfile.ZIP_DEFLATED}
    assert len(large) < 10_000
    np.testing.assert_array_equal(np.load(io.BytesIO(small))["prediction"], 0)


def test_stored_archives_are_valid_zips_that_numpy_reads_member_for_member():
    """Small stored archives are written directly (not by numpy.savez): the
    CRCs check, every member reads back with numpy.load, names may be
    non-ASCII, and the direct and numpy's stored archives hold the same."""
    arrays = {
        "prediction": np.arange(64),
        "zß": np.asfortranarray(np.arange(12.0).reshape(3, 4)),
        "s": np.array(["ab", "c"]),
        "scalar": np.array(3.5),
        "empty": np.zeros((0, 3)),
    }
    data = encode_named_arrays(arrays, compress=False)
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        assert archive.testzip() is None  # every CRC matches
        assert [info.filename for info in archive.infolist()] == [
            f"{name}.npy" for name in arrays
        ]
        assert {info.compress_type for info in archive.infolist()} == {
            zipfile.ZIP_STORED
        }
        numpys = io.BytesIO()
        np.savez(numpys, **arrays)
        with zipfile.ZipFile(numpys) as theirs:
            for name in arrays:
                assert archive.read(f"{name}.npy") == theirs.read(f"{name}.npy")
    with np.load(io.BytesIO(data), allow_pickle=False) as loaded:
        for name, array in arrays.items():
            assert loaded[name].dtype == array.dtype
            np.testing.assert_array_equal(loaded[name], array)


class _OnDisk(io.RawIOBase):
    """A seekable file that is not a BytesIO: decoding takes zipfile's path."""

    def __init__(self, data: bytes) -> None:
        self._inner = io.BytesIO(data)

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:
        return self._inner.readinto(buffer)

    def seek(self, offset: int, whence: int = 0) -> int:
        return self._inner.seek(offset, whence)

    def tell(self) -> int:
        return self._inner.tell()


def _outcome(data: bytes, as_file: bool):
    try:
        arrays = decode_named_arrays(_OnDisk(data) if as_file else data)
    except PayloadError as exc:
        return type(exc)
    return {name: (a.dtype.str, a.shape, a.tobytes()) for name, a in arrays.items()}


_SAMPLE = encode_named_arrays(
    {"X": np.arange(60.0).reshape(6, 10), "y": np.arange(6)}, compress=True
)


@settings(max_examples=300, deadline=None)
@given(
    flips=st.lists(
        st.tuples(st.integers(0, len(_SAMPLE) - 1), st.integers(1, 255)),
        min_size=1,
        max_size=4,
    )
)
def test_small_archives_decode_as_zipfile_decodes_them_whatever_the_bytes(flips):
    """Small bodies are read without zipfile (``_SmallArchive``); on damaged
    archives too, it refuses with a PayloadError, never another error, and
    what it accepts zipfile's path accepts too, with the same arrays. (It
    may refuse more: a member whose data do not match the declared size and
    CRC, where zipfile's path reads only what the array needs.)"""
    data = bytearray(_SAMPLE)
    for offset, mask in flips:
        data[offset] ^= mask
    small = _outcome(bytes(data), as_file=False)
    if small is not PayloadError:
        assert small == _outcome(bytes(data), as_file=True)


def test_archives_of_other_kinds_take_zipfiles_path_with_the_same_result():
    arrays = {"X": np.arange(12.0).reshape(3, 4)}
    plain = encode_named_arrays(arrays, compress=True)
    commented = io.BytesIO()
    with zipfile.ZipFile(commented, "w") as archive:
        archive.writestr("X.npy", plain_member(arrays["X"]))
        archive.comment = b"a comment"
    for data in (plain, commented.getvalue()):
        decoded = decode_named_arrays(data)
        np.testing.assert_array_equal(decoded["X"], arrays["X"])
        assert _outcome(data, as_file=False) == _outcome(data, as_file=True)


def plain_member(array: np.ndarray) -> bytes:
    buffer = io.BytesIO()
    np.lib.format.write_array(buffer, array)
    return buffer.getvalue()
