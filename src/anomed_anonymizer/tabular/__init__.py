"""Anonymizers that release a whole table at once, and how to score them."""

from .base import SCHEMES, AnonymizationScheme, TabularDataAnonymizer
from .datasets import adult_like
from .generalization import MondrianKAnonymizer
from .metrics import discernibility_metric, normalized_certainty_penalty, sum_of_squares
from .microaggregation import MDAVMicroaggregator
from .persistence import PersistingTabularDataAnonymizer
from .synthesis import DPSynthesizer

__all__ = [
    "SCHEMES",
    "AnonymizationScheme",
    "DPSynthesizer",
    "MDAVMicroaggregator",
    "MondrianKAnonymizer",
    "PersistingTabularDataAnonymizer",
    "TabularDataAnonymizer",
    "adult_like",
    "discernibility_metric",
    "normalized_certainty_penalty",
    "sum_of_squares",
]
