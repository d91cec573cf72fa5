"""Whatever bytes arrive, decoding either succeeds or raises PayloadError:
never another exception, which the server would answer with a 500.
(.npz archives and Parquet tables alike.)"""

from __future__ import annotations

import contextlib
import io

import numpy as np
import pandas as pd
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from anomed_anonymizer.wire import (
    PayloadError,
    decode_named_arrays,
    decode_table,
    encode_named_arrays,
    encode_table,
)

VALID = [
    encode_named_arrays({"X": np.arange(64.0).reshape(16, 4)}),
    encode_named_arrays({"X": np.arange(64.0).reshape(16, 4)}, compress=False),
]


def _decode(data: bytes) -> None:
    with contextlib.suppress(PayloadError):
        decode_named_arrays(data, required=["X"], max_decompressed_bytes=1 << 20)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    base=st.sampled_from(VALID),
    flips=st.lists(st.tuples(st.integers(0, 10_000), st.integers(1, 255)), max_size=8),
    cut=st.one_of(st.none(), st.integers(0, 10_000)),
)
def test_mutated_archives_only_ever_raise_payload_error(base, flips, cut):
    data = bytearray(base)
    for offset, mask in flips:
        data[offset % len(data)] ^= mask
    if cut is not None:
        data = data[: cut % (len(data) + 1)]
    _decode(bytes(data))


@settings(max_examples=200, deadline=None)
@given(st.binary(max_size=2048))
def test_arbitrary_bytes_only_ever_raise_payload_error(data):
    _decode(data)


@settings(max_examples=100, deadline=None)
@given(
    header=st.binary(max_size=200),
    shape=st.lists(st.integers(0, 10), max_size=3),
)
def test_forged_npy_headers_only_ever_raise_payload_error(header, shape):
    buffer = io.BytesIO()
    np.savez(buffer, X=np.zeros(shape))
    data = buffer.getvalue()
    # Overwrite the .npy header region of the first member with arbitrary bytes.
    start = data.find(b"\x93NUMPY")
    forged = data[:start] + header + data[start + len(header) :]
    _decode(forged)


TABLE = encode_table(
    pd.DataFrame({"age": [31, 45, 27], "sex": ["f", "m", "f"], "w": [0.5, 1.5, 2.0]})
)


@settings(max_examples=300, deadline=None)
@given(
    flips=st.lists(st.tuples(st.integers(0, 10_000), st.integers(1, 255)), max_size=8),
    cut=st.one_of(st.none(), st.integers(0, 10_000)),
)
def test_mutated_parquet_only_ever_raises_payload_error(flips, cut):
    data = bytearray(TABLE)
    for offset, mask in flips:
        data[offset % len(data)] ^= mask
    if cut is not None:
        data = data[: cut % (len(data) + 1)]
    with contextlib.suppress(PayloadError):
        decode_table(bytes(data), max_decompressed_bytes=1 << 20)
