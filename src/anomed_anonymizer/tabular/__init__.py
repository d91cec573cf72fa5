"""Anonymizers that release a whole table at once, and how to score them."""

from .._moved import moved
from ..models.tabular import SCHEMES, AnonymizationScheme, TabularDataAnonymizer
from .generalization import MondrianKAnonymizer
from .metrics import discernibility_metric, normalized_certainty_penalty, sum_of_squares
from .microaggregation import MDAVMicroaggregator
from .synthesis import DPSynthesizer

__all__ = [
    "SCHEMES",
    "AnonymizationScheme",
    "DPSynthesizer",
    "MDAVMicroaggregator",
    "MondrianKAnonymizer",
    "TabularDataAnonymizer",
    "discernibility_metric",
    "normalized_certainty_penalty",
    "sum_of_squares",
]

__getattr__ = moved(
    __name__,
    PersistingTabularDataAnonymizer="anomed_anonymizer.server.releases",
    adult_like="anomed_anonymizer.emulator.adult",
)
