"""Where the table-anonymizer interface used to live: it is
:mod:`anomed_anonymizer.models.tabular` now, beside the supervised one."""

from .._moved import moved

__getattr__ = moved(__name__, "anomed_anonymizer.models.tabular")
