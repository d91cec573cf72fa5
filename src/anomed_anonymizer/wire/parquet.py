"""Tables as Parquet bytes (pyarrow engine), the AnoMed wire format for tables."""

from __future__ import annotations

import io

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from .errors import PayloadError, PayloadTooLargeError

__all__ = ["decode_table", "encode_table"]


def encode_table(table: pd.DataFrame) -> bytes:
    """Serialize a DataFrame to Parquet bytes, as the AnoMed peers do.

    Parameters
    ----------
    table : pandas.DataFrame
        The table.

    Returns
    -------
    bytes
        The Parquet file.

    Raises
    ------
    PayloadError
        If pyarrow cannot represent a column (e.g. mixed Python objects).
    """
    buffer = io.BytesIO()
    try:
        table.to_parquet(buffer, engine="pyarrow")
    except (pa.ArrowException, ValueError, TypeError) as exc:
        raise PayloadError(f"the table cannot be written as Parquet: {exc}") from exc
    return buffer.getvalue()


def decode_table(
    data: bytes, *, max_decompressed_bytes: int | None = None
) -> pd.DataFrame:
    """Deserialize Parquet bytes into a DataFrame, safely.

    Parameters
    ----------
    data : bytes
        The Parquet file.
    max_decompressed_bytes : int | None, optional
        Refuse files whose row groups declare more than this many bytes once
        decompressed. ``None`` disables the check.

    Returns
    -------
    pandas.DataFrame
        The table.

    Raises
    ------
    PayloadTooLargeError
        If the declared uncompressed size exceeds the limit.
    PayloadError
        If the bytes are empty or not a readable Parquet file.
    """
    if not data:
        raise PayloadError("the body is empty: expected a Parquet table")
    source = pa.BufferReader(data)
    try:
        parquet_file = pq.ParquetFile(source)
        metadata = parquet_file.metadata
        declared = sum(
            metadata.row_group(i).total_byte_size
            for i in range(metadata.num_row_groups)
        )
        PayloadTooLargeError.check_declared(
            "the Parquet table", declared, max_decompressed_bytes
        )
        return parquet_file.read(use_pandas_metadata=True).to_pandas()
    except PayloadError:
        raise
    except Exception as exc:  # untrusted bytes: any failure is the payload's
        raise PayloadError(
            f"the body is not a readable Parquet table ({len(data)} bytes): {exc}"
        ) from exc
