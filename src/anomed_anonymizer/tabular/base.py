"""Where the table-anonymizer interface used to live; it is now
:mod:`anomed_anonymizer.models.tabular`, beside the supervised one. These names
stay importable from here."""

from ..models.tabular import (
    SCHEMES,
    AnonymizationScheme,
    BudgetRecording,
    Reporting,
    TabularDataAnonymizer,
)

__all__ = [
    "SCHEMES",
    "AnonymizationScheme",
    "BudgetRecording",
    "Reporting",
    "TabularDataAnonymizer",
]
