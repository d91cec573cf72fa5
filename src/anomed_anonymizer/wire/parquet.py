"""Tables as Parquet bytes (pyarrow engine), the AnoMed wire format for tables."""

from __future__ import annotations

import io

import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
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

    A Parquet file can describe far more data than it holds (a column of a
    million nulls, a long string repeated by its dictionary), and the sizes
    in its footer are whatever the writer put there. So the limit is checked
    three ways, each before the memory it guards is spent: the row groups'
    declared sizes, rows x columns x 8 bytes (what pandas needs at least per
    cell), and the Arrow memory actually decoded, in batches of a few
    thousand rows. (The column chunks' own metadata is not read: on a
    corrupt footer pyarrow aborts the process there, instead of raising.)

    Parameters
    ----------
    data : bytes
        The Parquet file.
    max_decompressed_bytes : int | None, optional
        Refuse files that would take more than this many bytes once read.
        ``None`` disables the checks.

    Returns
    -------
    pandas.DataFrame
        The table.

    Raises
    ------
    PayloadTooLargeError
        If the table would take more than the limit.
    PayloadError
        If the bytes are empty or not a readable Parquet file.

    Examples
    --------
    >>> table = pd.DataFrame({"x": [None] * 100_000}, dtype="float64")
    >>> decode_table(encode_table(table), max_decompressed_bytes=100_000)
    Traceback (most recent call last):
    ...
    anomed_anonymizer.wire.errors.PayloadTooLargeError: the Parquet table has ...
    """
    if not data:
        raise PayloadError("the body is empty: expected a Parquet table")
    try:
        parquet_file = pq.ParquetFile(pa.BufferReader(data))
        if max_decompressed_bytes is not None:
            _check_declared_sizes(parquet_file.metadata, max_decompressed_bytes)
            return _read_bounded(data, parquet_file, max_decompressed_bytes)
        return parquet_file.read(use_pandas_metadata=True).to_pandas()
    except PayloadError:
        raise
    except Exception as exc:  # untrusted bytes: any failure is the payload's
        raise PayloadError(
            f"the body is not a readable Parquet table ({len(data)} bytes): {exc}"
        ) from exc
    finally:
        # pyarrow's allocator keeps what a refused table took (2 GB after a
        # 23 KB file): give it back.
        pa.default_memory_pool().release_unused()


_BYTES_PER_CELL = 8
_BATCH_ROWS = 4096


def _check_declared_sizes(metadata: pq.FileMetaData, limit: int) -> None:
    declared = sum(
        metadata.row_group(group).total_byte_size
        for group in range(metadata.num_row_groups)
    )
    PayloadTooLargeError.check_declared("the Parquet table", declared, limit)
    cells = metadata.num_rows * max(metadata.num_columns, 1)
    if cells * _BYTES_PER_CELL > limit:
        raise PayloadTooLargeError(
            f"the Parquet table has {metadata.num_rows} rows x "
            f"{metadata.num_columns} columns, at least "
            f"{cells * _BYTES_PER_CELL} bytes once read, more than the limit of "
            f"{limit} bytes",
            size=cells * _BYTES_PER_CELL,
            limit=limit,
        )


def _read_bounded(
    data: bytes, parquet_file: pq.ParquetFile, limit: int
) -> pd.DataFrame:
    """Read in batches, each string column as a dictionary: a batch then costs
    its indices and its distinct values, and the memory its strings would take
    materialized is counted (from the dictionary's lengths) before they are."""
    schema = parquet_file.schema_arrow
    text = [
        field.name
        for field in schema
        if pa.types.is_string(field.type)
        or pa.types.is_large_string(field.type)
        or pa.types.is_binary(field.type)
        or pa.types.is_large_binary(field.type)
    ]
    if text:
        parquet_file = pq.ParquetFile(pa.BufferReader(data), read_dictionary=text)
    batches = []
    decoded = 0
    for batch in parquet_file.iter_batches(
        batch_size=_BATCH_ROWS, use_pandas_metadata=True
    ):
        decoded += _materialized_size(batch)
        if decoded > limit:
            raise PayloadTooLargeError(
                f"the Parquet table decodes to more than the limit of {limit} "
                "bytes (its pages are small, its values are not)",
                size=decoded,
                limit=limit,
            )
        batches.append(_plain(batch, schema))
    table = pa.Table.from_batches(batches, schema=schema)
    return table.to_pandas()


def _materialized_size(batch: pa.RecordBatch) -> int:
    """Bytes the batch takes once every dictionary column is plain."""
    size = 0
    for column in batch.columns:
        if not pa.types.is_dictionary(column.type):
            size += column.get_total_buffer_size()
            continue
        indices = column.indices.to_numpy(zero_copy_only=False)
        valid = indices[~column.is_null().to_numpy(zero_copy_only=False)]
        lengths = pc.binary_length(column.dictionary).to_numpy(zero_copy_only=False)
        size += int(lengths.astype("int64")[valid.astype("int64")].sum())
        size += 8 * (len(column) + 1)  # offsets and validity, about
    return size


def _plain(batch: pa.RecordBatch, schema: pa.Schema) -> pa.RecordBatch:
    """The batch with its dictionary columns decoded, as the file's schema has them."""
    columns = [
        column.dictionary_decode() if pa.types.is_dictionary(column.type) else column
        for column in batch.columns
    ]
    return pa.RecordBatch.from_arrays(columns, schema=schema)
