"""A large request body kept as its chunks: read like a file, freed while an
array is decoded from it."""

from __future__ import annotations

import io

import numpy as np
import pytest

from anomed_anonymizer.wire import ChunkedBody, decode_named_arrays, encode_named_arrays


def _split(data: bytes, sizes: list[int]) -> list[bytes]:
    chunks, start = [], 0
    for size in sizes:
        chunks.append(data[start : start + size])
        start += size
    return [*chunks, data[start:]]


@pytest.mark.parametrize("seed", range(5))
def test_reads_and_seeks_like_the_bytes_it_holds(seed):
    rng = np.random.default_rng(seed)
    data = rng.integers(0, 256, 5000, dtype=np.uint8).tobytes()
    body = ChunkedBody(_split(data, list(rng.integers(0, 700, 12))))
    reference = io.BytesIO(data)
    assert len(body) == len(data) and body.seekable() and body.readable()
    for _ in range(200):
        offset = int(rng.integers(0, 5200))
        size = int(rng.integers(-1, 900))
        assert body.seek(offset) == reference.seek(offset)
        assert body.read(size) == reference.read(size)
        assert body.tell() == reference.tell()
    assert body.seek(-10, io.SEEK_END) == len(data) - 10
    assert body.seek(3, io.SEEK_CUR) == len(data) - 7
    buffer = bytearray(4)
    body.seek(1)
    assert body.readinto(buffer) == 4 and bytes(buffer) == data[1:5]


def test_what_lies_behind_a_read_is_let_go_once_asked():
    chunks = [bytes([i]) * 100 for i in range(10)]
    body = ChunkedBody(chunks)
    body.seek(950)
    body.read(10)
    assert body.released_bytes == 0  # not asked yet: everything stays
    body.release_behind_reads()
    body.seek(450)
    assert body.read(100) == bytes([4]) * 50 + bytes([5]) * 50
    assert body.released_bytes == 400
    body.seek(0)
    with pytest.raises(OSError, match="already released"):
        body.read(1)


@pytest.mark.parametrize("compress", [True, False])
def test_an_array_decoded_from_chunks_frees_the_body_as_it_fills(compress):
    X = np.random.default_rng(0).uniform(size=(100_000, 8))  # 6.4 MB
    data = encode_named_arrays({"X": X, "y": np.arange(3)}, compress=compress)
    body = ChunkedBody([data[i : i + 65536] for i in range(0, len(data), 65536)])
    decoded = decode_named_arrays(body, required=("X",), only=("X",))["X"]
    np.testing.assert_array_equal(decoded, X)
    # Released: all but the chunk X's member ends in and what follows it (the
    # small y and the archive's directory).
    assert body.released_bytes >= len(data) - 2 * 65536 - 2048
