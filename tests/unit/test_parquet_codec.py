"""The Parquet table codec."""

import pandas as pd
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
