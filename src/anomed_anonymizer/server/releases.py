"""Persisting anonymized tables: table, scheme, budget and report in one
atomic file.

The scheme, the privacy budget a differentially private anonymizer spent and
its ``report_`` travel inside the Parquet file's key-value metadata, and the
file is replaced by a single rename. So a reader never sees a new table with
an old scheme or report, a crash leaves the previous release, and a restarted
server serves what was persisted. The report, computed on the *leaky* table,
is not published: the bytes served as ``/anon_data`` leave it out.
"""

from __future__ import annotations

import io
import json
import logging
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from ..errors import BusyError, InvalidOutputError, NotReadyError
from ..models.tabular import (
    SCHEMES,
    AnonymizationScheme,
    BudgetRecording,
    Reporting,
    TabularDataAnonymizer,
)
from ..store import SingleWriterStore
from ..web import metrics
from ..wire import decode_table

__all__ = [
    "AnonymizationError",
    "AnonymizationInProgressError",
    "NotAnonymizedError",
    "PersistingTabularDataAnonymizer",
    "Release",
    "ReleaseStore",
]

_logger = logging.getLogger(__name__)

_SCHEME_KEY = b"anomed.scheme"
_BUDGET_KEY = b"anomed.budget"
_REPORT_KEY = b"anomed.report"

# This module's old names for classes of the error vocabulary.
NotAnonymizedError = NotReadyError
AnonymizationInProgressError = BusyError
AnonymizationError = InvalidOutputError


@dataclass(frozen=True)
class Release:
    """One persisted release, read from one file in one go.

    Attributes
    ----------
    parquet : bytes
        The table as published (``/anon_data``): Parquet with the scheme and
        budget in its metadata, without the report.
    scheme : AnonymizationScheme
        How the table represents the leaky one.
    budget : dict | None
        The privacy budget the release spent (see
        :class:`~anomed_anonymizer.models.BudgetRecording`), or ``None``.
    report : dict | None
        The anonymizer's ``report_`` (see
        :class:`~anomed_anonymizer.models.Reporting`); not private.
    """

    parquet: bytes
    scheme: AnonymizationScheme
    budget: dict[str, Any] | None
    report: dict[str, Any] | None

    def table(self) -> pd.DataFrame:
        """The released table."""
        return decode_table(self.parquet)


class ReleaseStore(SingleWriterStore[Release]):
    """The release of a tabular anonymizer server, shared by its workers.

    Parameters
    ----------
    output_dir : str | pathlib.Path
        Where ``anon_data.parquet`` (and its lock) are kept.
    """

    busy_message = "anonymization is already in progress"
    busy_title = "Anonymization in progress"
    not_ready_message = "no anonymized data yet: POST /fit first"
    not_ready_title = "Not anonymized"
    what = "the release"
    kept_message = (
        "a release is already published and this server refuses to replace "
        "it (ANOMED_REFIT=refuse): every new release of a DP synthesizer "
        "spends its privacy budget again. POST /fit?refit=true replaces it on "
        "purpose"
    )

    def __init__(self, output_dir: str | Path) -> None:
        super().__init__(Path(output_dir) / "anon_data.parquet", _read_release)

    def _on_load(self, saved_at: float) -> None:
        metrics().generation.set(saved_at)

    def publish(
        self,
        table: pd.DataFrame,
        scheme: AnonymizationScheme,
        budget: dict[str, Any] | None = None,
        report: dict[str, Any] | None = None,
    ) -> None:
        """Replace the release by ``table`` with its scheme, budget and report,
        atomically.

        Raises
        ------
        InvalidOutputError
            If the table cannot be written as Parquet, or the budget or report
            cannot be written as JSON.
        VerificationError
            If the written file cannot be read back (Parquet's readers refuse
            metadata larger than they accept, such as a column name of a
            50 MB category); the previous release stays.
        """
        metadata = {_SCHEME_KEY: scheme.encode()}
        for key, value in ((_BUDGET_KEY, budget), (_REPORT_KEY, report)):
            if value is not None:
                metadata[key] = _json_bytes(value, key.decode())
        arrow = _arrow(table)
        arrow = arrow.replace_schema_metadata(
            {**(arrow.schema.metadata or {}), **metadata}
        )
        self.replace(lambda path: pq.write_table(arrow, path))


def _read_release(path: Path) -> Release:
    data = path.read_bytes()
    arrow = pq.read_table(pa.BufferReader(data))
    metadata = dict(arrow.schema.metadata or {})
    report = metadata.pop(_REPORT_KEY, None)
    if report is not None:
        # Publish the same table without the report.
        buffer = io.BytesIO()
        pq.write_table(arrow.replace_schema_metadata(metadata), buffer)
        data = buffer.getvalue()
    budget = metadata.get(_BUDGET_KEY)
    return Release(
        parquet=data,
        scheme=metadata[_SCHEME_KEY].decode(),  # type: ignore[arg-type]
        budget=json.loads(budget) if budget else None,
        report=json.loads(report) if report else None,
    )


class PersistingTabularDataAnonymizer:
    """Runs a :class:`TabularDataAnonymizer` and persists what it releases.

    Parameters
    ----------
    tabular_data_anonymizer : TabularDataAnonymizer
        Any object with ``anonymize(table) -> (table, scheme)``; its
        ``budget_record()`` and ``report_`` are kept with the release when it
        has them (see :class:`~anomed_anonymizer.models.BudgetRecording` and
        :class:`~anomed_anonymizer.models.Reporting`).
    output_dir : str | pathlib.Path
        Where ``anon_data.parquet`` (table, scheme, budget and report) is kept.
    """

    def __init__(
        self, tabular_data_anonymizer: TabularDataAnonymizer, output_dir: str | Path
    ) -> None:
        self._anonymizer = tabular_data_anonymizer
        self.output_dir = Path(output_dir)
        self._store = ReleaseStore(self.output_dir)
        self.release_path = self._store.path

    def anonymize(
        self, leaky_data: pd.DataFrame, *, keep_existing: bool = False
    ) -> Release:
        """Anonymize ``leaky_data`` and persist the release atomically.

        Parameters
        ----------
        leaky_data : pandas.DataFrame
            The table to anonymize.
        keep_existing : bool, optional
            Refuse (before anonymizing) if a release is already published.

        Returns
        -------
        Release
            What was persisted.

        Raises
        ------
        BusyError
            If another anonymization runs (in any worker process).
        ConflictError
            If ``keep_existing`` and a release is already published.
        InvalidOutputError
            If the anonymizer's output is not a releasable (table, scheme).
        VerificationError
            If the release cannot be read back; the previous one stays.
        ValueError
            Whatever the anonymizer raised for unsuitable data.
        """
        with self._store.writing(keep_existing=keep_existing):
            started = time.perf_counter()
            table, scheme = _checked(self._anonymizer.anonymize(leaky_data))
            anonymizer = self._anonymizer
            self._store.publish(
                table,
                scheme,
                budget=(
                    anonymizer.budget_record()
                    if isinstance(anonymizer, BudgetRecording)
                    else None
                ),
                report=anonymizer.report_
                if isinstance(anonymizer, Reporting)
                else None,
            )
            release = self._store.latest()
        _logger.info(
            "anonymized %d x %d -> %d x %d (%s) in %.3f s",
            *leaky_data.shape,
            *table.shape,
            scheme,
            time.perf_counter() - started,
        )
        return release

    def release(self) -> Release:
        """The persisted release: table, scheme, budget and report of one
        version, read together.

        Raises
        ------
        NotReadyError
            If nothing has been persisted yet.
        """
        return self._store.latest()

    def refuse_if_released(self) -> None:
        """Raise :class:`~anomed_anonymizer.errors.ConflictError` if a
        release is already published."""
        self._store.refuse_if_written()

    def saved_at(self) -> float | None:
        """When the current release was persisted (epoch seconds), or ``None``."""
        return self._store.saved_at()

    def release_bytes(self) -> bytes:
        """The persisted table as published (Parquet; see :meth:`release`)."""
        return self.release().parquet

    def get_anon_data(self) -> pd.DataFrame:
        """The persisted table (see :meth:`release`)."""
        return self.release().table()

    def get_anon_scheme(self) -> AnonymizationScheme:
        """The persisted table's scheme (see :meth:`release`)."""
        return self.release().scheme

    def get_budget(self) -> dict[str, Any] | None:
        """The privacy budget the release spent, or ``None`` (see :meth:`release`)."""
        return self.release().budget

    def get_report(self) -> dict[str, Any] | None:
        """The anonymizer's ``report_`` of the release, or ``None`` (see
        :meth:`release`)."""
        return self.release().report


def _checked(result: object) -> tuple[pd.DataFrame, AnonymizationScheme]:
    if not (isinstance(result, tuple) and len(result) == 2):
        raise _unreleasable(
            "anonymize() must return (anonymized table, scheme), "
            f"got {type(result).__name__}"
        )
    table, scheme = result
    if not isinstance(table, pd.DataFrame):
        raise _unreleasable(
            f"anonymize() returned a {type(table).__name__}, not a DataFrame"
        )
    if scheme not in SCHEMES:
        raise _unreleasable(
            f"anonymize() returned scheme {scheme!r}; it must be one of "
            f"{', '.join(SCHEMES)}"
        )
    return table, scheme


def _arrow(table: pd.DataFrame) -> pa.Table:
    try:
        return pa.Table.from_pandas(table)
    except (pa.ArrowException, ValueError, TypeError) as exc:
        raise _unreleasable(
            f"the anonymized table cannot be written as Parquet: {exc}"
        ) from exc


def _json_bytes(value: Any, what: str) -> bytes:
    try:
        return json.dumps(value, default=_jsonable).encode()
    except (TypeError, ValueError) as exc:
        raise _unreleasable(
            f"the {what.removeprefix('anomed.')} cannot be written as JSON: {exc}"
        ) from exc


def _unreleasable(message: str) -> InvalidOutputError:
    return InvalidOutputError(message, title="Anonymization failed")


def _jsonable(value: Any) -> Any:
    if hasattr(value, "item"):  # NumPy scalars
        return value.item()
    if hasattr(value, "tolist"):
        return value.tolist()
    return str(value)
