"""The interface of table anonymizers, and the schemes their output follows."""

from __future__ import annotations

from abc import ABC, abstractmethod
from typing import Literal, get_args

import pandas as pd

__all__ = ["SCHEMES", "AnonymizationScheme", "TabularDataAnonymizer"]

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
