"""The Parquet table codec."""

import io

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from anomed_anonymizer.wire import (
    PayloadError,
    PayloadTooLargeError,
    decode_table,
    encode_table,
)


def test_round_trip_keeps_columns_and_dtypes():
    table = pd.DataFrame(
        {"age": [31, 45], "income": [1.5, 2.5], "sex": ["f", "m"], "ok": [True, False]}
    )
    decoded = decode_table(encode_table(table))
    pd.testing.assert_frame_equal(decoded, table)


def test_reads_what_pandas_to_parquet_writes(tmp_path):
    table = pd.DataFrame({"a": [1, 2, 3]})
    table.to_parquet(tmp_path / "t.parquet", engine="pyarrow")
    decoded = decode_table((tmp_path / "t.parquet").read_bytes())
    pd.testing.assert_frame_equal(decoded, table)


@pytest.mark.parametrize("body", [b"", b"PAR1 garbage"])
def test_unreadable_bodies_are_refused(body):
    with pytest.raises(PayloadError):
        decode_table(body)


def test_declared_size_over_limit_is_refused():
    table = pd.DataFrame({"a": range(100_000)})
    with pytest.raises(PayloadTooLargeError):
        decode_table(encode_table(table), max_decompressed_bytes=1000)


def test_unwritable_table_is_a_payload_error():
    with pytest.raises(PayloadError, match="Parquet"):
        encode_table(pd.DataFrame({"a": [object(), 1]}))


# -- bombs: small files that describe huge tables --------------------------------


def _null_bomb() -> bytes:
    # 2 million rows x 20 columns of nulls: a few KB on disk, 320 MB as floats.
    table = pa.table({f"c{i}": pa.nulls(2_000_000, pa.float64()) for i in range(20)})
    buffer = io.BytesIO()
    pq.write_table(table, buffer)
    return buffer.getvalue()


def _dictionary_bomb() -> bytes:
    # One 4,000-character string, repeated by the dictionary 50,000 times:
    # small pages, 200 MB of strings once decoded.
    table = pa.table({"s": pa.array(["x" * 4000] * 50_000)})
    buffer = io.BytesIO()
    pq.write_table(table, buffer, use_dictionary=True, compression="zstd")
    return buffer.getvalue()


@pytest.mark.parametrize("make_bomb", [_null_bomb, _dictionary_bomb])
def test_parquet_bombs_are_refused_before_they_are_materialised(make_bomb):
    bomb = make_bomb()
    limit = 16 * 1024 * 1024
    assert len(bomb) < limit // 16
    pool = pa.default_memory_pool()
    before = pool.bytes_allocated()
    with pytest.raises(PayloadTooLargeError, match="limit of 16777216"):
        decode_table(bomb, max_decompressed_bytes=limit)
    # What was decoded before the refusal stays within the limit and is freed.
    assert pool.bytes_allocated() - before < limit


def test_total_byte_size_is_not_trusted():
    table = pd.DataFrame({"x": np.arange(200_000, dtype=np.int64)})
    data = encode_table(table)
    declared = pq.ParquetFile(io.BytesIO(data)).metadata.row_group(0).total_byte_size
    assert declared > 100_000
    with pytest.raises(PayloadTooLargeError):
        decode_table(data, max_decompressed_bytes=100_000)
    assert decode_table(data, max_decompressed_bytes=10_000_000).equals(table)
