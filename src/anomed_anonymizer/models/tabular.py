"""The interface of table anonymizers, the schemes their output follows, and
the protocols by which a server finds what else an anonymizer can tell."""

from __future__ import annotations

from abc import ABC, abstractmethod
from typing import Any, Literal, Protocol, get_args, runtime_checkable

import pandas as pd

__all__ = [
    "SCHEMES",
    "AnonymizationScheme",
    "BudgetRecording",
    "Reporting",
    "TabularDataAnonymizer",
]

AnonymizationScheme = Literal["same", "generalization", "microaggregation"]
"""How an anonymized table represents the leaky one.

- ``same``: the same columns with the same dtypes (e.g. synthetic data).
- ``generalization``: every numeric column ``c`` as ``c_min`` and ``c_max``,
  every nominal column ``c`` as boolean indicators ``c=<category>`` (several
  set when a class spans several categories); rows in input order. See
  :class:`~anomed_anonymizer.tabular.MondrianKAnonymizer`.
- ``microaggregation``: the same columns; aggregated numeric values replaced
  by the mean of their group of at least k rows. See
  :class:`~anomed_anonymizer.tabular.MDAVMicroaggregator`.
"""

SCHEMES: tuple[str, ...] = get_args(AnonymizationScheme)


class TabularDataAnonymizer(ABC):
    """Turns a leaky table into an anonymized one, following a scheme."""

    @abstractmethod
    def anonymize(
        self, leaky_data: pd.DataFrame
    ) -> tuple[pd.DataFrame, AnonymizationScheme]:
        """Anonymize ``leaky_data``.

        Parameters
        ----------
        leaky_data : pandas.DataFrame
            The table to protect.

        Returns
        -------
        (anon_data, scheme) : tuple[pandas.DataFrame, AnonymizationScheme]
            The anonymized table and the scheme it follows.

        Raises
        ------
        ValueError
            If the table does not suit the anonymizer; say which column and why.
        """


@runtime_checkable
class Reporting(Protocol):
    """An anonymizer that describes its last release in ``report_``.

    ``report_`` is set by ``anonymize``: a JSON-able dict of figures about the
    release (for example its information loss). It is computed on the leaky
    table, so the server returns it to the caller of ``/fit`` and keeps it with
    the release, but never publishes it with the table.
    """

    report_: dict[str, Any]


@runtime_checkable
class BudgetRecording(Protocol):
    """A differentially private anonymizer that states the privacy budget its
    last release spent.

    The record is public (only the budget and public or differentially private
    values): the server publishes it in the released Parquet file's metadata.
    """

    def budget_record(self) -> dict[str, Any]:
        """The budget the last ``anonymize`` spent, as a JSON-able dict."""
        ...
