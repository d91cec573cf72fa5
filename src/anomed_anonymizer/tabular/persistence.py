"""Persisting anonymized tables: table, scheme and privacy budget in one
atomic file.

The scheme and, for differentially private anonymizers, the spent budget
travel inside the Parquet file's key-value metadata, and the file is replaced
by a single rename. So a reader never sees a new table with an old scheme, a
crash leaves the previous release, and a restarted server serves what was
persisted.

The anonymizer's ``report_`` (utility figures computed on the *leaky* table,
hence not private) is kept apart, in ``anon_report.json`` beside the release,
which no route serves.
"""

from __future__ import annotations

import json
import logging
import time
from pathlib import Path
from typing import Any

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from ..files import ExclusiveLock, LockHeldError, save_atomically
from .base import SCHEMES, AnonymizationScheme, TabularDataAnonymizer

__all__ = [
    "AnonymizationError",
    "AnonymizationInProgressError",
    "NotAnonymizedError",
    "PersistingTabularDataAnonymizer",
]

_logger = logging.getLogger(__name__)

_SCHEME_KEY = b"anomed.scheme"
_BUDGET_KEY = b"anomed.budget"


class NotAnonymizedError(RuntimeError):
    """Nothing has been anonymized (and persisted) yet."""


class AnonymizationInProgressError(LockHeldError):
    """Another request (in any worker process) is anonymizing right now."""


class AnonymizationError(RuntimeError):
    """The anonymizer failed or returned something that cannot be released."""


class PersistingTabularDataAnonymizer:
    """Runs a :class:`TabularDataAnonymizer` and persists what it releases.

    Parameters
    ----------
    tabular_data_anonymizer : TabularDataAnonymizer
        Any object with ``anonymize(table) -> (table, scheme)``.
    output_dir : str | pathlib.Path
        Where ``anon_data.parquet`` (table, scheme and report) is kept.
    """

    def __init__(
        self, tabular_data_anonymizer: TabularDataAnonymizer, output_dir: str | Path
    ) -> None:
        self._anonymizer = tabular_data_anonymizer
        self.output_dir = Path(output_dir)
        self.release_path = self.output_dir / "anon_data.parquet"
        self.report_path = self.output_dir / "anon_report.json"
        self._lock = ExclusiveLock(self.output_dir / "anon_data.lock")

    def anonymize(self, leaky_data: pd.DataFrame) -> None:
        """Anonymize ``leaky_data`` and persist the release atomically.

        Raises
        ------
        AnonymizationInProgressError
            If another anonymization runs.
        AnonymizationError
            If the anonymizer's output is not a releasable (table, scheme).
        ValueError
            Whatever the anonymizer raised for unsuitable data.
        """
        try:
            with self._lock.held():
                self._anonymize(leaky_data)
        except LockHeldError as exc:
            if isinstance(exc, AnonymizationInProgressError):
                raise
            raise AnonymizationInProgressError(
                f"anonymization is already in progress ({exc})"
            ) from exc

    def _anonymize(self, leaky_data: pd.DataFrame) -> None:
        started = time.perf_counter()
        result = self._anonymizer.anonymize(leaky_data)
        if not (isinstance(result, tuple) and len(result) == 2):
            raise AnonymizationError(
                "anonymize() must return (anonymized table, scheme), "
                f"got {type(result).__name__}"
            )
        table, scheme = result
        if not isinstance(table, pd.DataFrame):
            raise AnonymizationError(
                f"anonymize() returned a {type(table).__name__}, not a DataFrame"
            )
        if scheme not in SCHEMES:
            raise AnonymizationError(
                f"anonymize() returned scheme {scheme!r}; it must be one of "
                f"{', '.join(SCHEMES)}"
            )
        budget_record = getattr(self._anonymizer, "budget_record", None)
        budget = budget_record() if callable(budget_record) else None
        arrow = _to_arrow(table, scheme, budget)
        report = getattr(self._anonymizer, "report_", None)
        report_json = (
            json.dumps(report, default=_jsonable) if report is not None else None
        )
        save_atomically(lambda path: pq.write_table(arrow, path), self.release_path)
        if report_json is not None:
            save_atomically(lambda path: path.write_text(report_json), self.report_path)
        else:
            self.report_path.unlink(missing_ok=True)
        _logger.info(
            "anonymized %d x %d -> %d x %d (%s) in %.3f s",
            *leaky_data.shape,
            *table.shape,
            scheme,
            time.perf_counter() - started,
        )

    def release_bytes(self) -> bytes:
        """The persisted Parquet file, as served on the wire.

        Raises
        ------
        NotAnonymizedError
            If nothing has been persisted yet.
        """
        try:
            return self.release_path.read_bytes()
        except FileNotFoundError as exc:
            raise _not_yet() from exc

    def get_anon_data(self) -> pd.DataFrame:
        """The persisted table (raises :class:`NotAnonymizedError` before any)."""
        try:
            return pq.read_table(self.release_path).to_pandas()
        except FileNotFoundError as exc:
            raise _not_yet() from exc

    def get_anon_scheme(self) -> AnonymizationScheme:
        """The persisted table's scheme (raises :class:`NotAnonymizedError`)."""
        return self._metadata()[0]

    def get_budget(self) -> dict[str, Any] | None:
        """The privacy budget the release spent (``budget_record()`` of a
        differentially private anonymizer), or ``None``."""
        return self._metadata()[1]

    def get_report(self) -> dict[str, Any] | None:
        """The anonymizer's ``report_`` of the last release (not private), or
        ``None``."""
        try:
            return json.loads(self.report_path.read_text())
        except FileNotFoundError:
            return None

    def _metadata(self) -> tuple[AnonymizationScheme, dict[str, Any] | None]:
        try:
            metadata = pq.read_schema(self.release_path).metadata or {}
        except FileNotFoundError as exc:
            raise _not_yet() from exc
        budget = metadata.get(_BUDGET_KEY)
        return (
            metadata[_SCHEME_KEY].decode(),
            json.loads(budget) if budget else None,
        )


def _to_arrow(table: pd.DataFrame, scheme: str, budget: Any) -> pa.Table:
    try:
        arrow = pa.Table.from_pandas(table)
    except (pa.ArrowException, ValueError, TypeError) as exc:
        raise AnonymizationError(
            f"the anonymized table cannot be written as Parquet: {exc}"
        ) from exc
    metadata = dict(arrow.schema.metadata or {})
    metadata[_SCHEME_KEY] = scheme.encode()
    if budget is not None:
        metadata[_BUDGET_KEY] = json.dumps(budget, default=_jsonable).encode()
    return arrow.replace_schema_metadata(metadata)


def _jsonable(value: Any) -> Any:
    if hasattr(value, "item"):  # NumPy scalars
        return value.item()
    if hasattr(value, "tolist"):
        return value.tolist()
    return str(value)


def _not_yet() -> NotAnonymizedError:
    return NotAnonymizedError("no anonymized data yet: POST /fit first")
