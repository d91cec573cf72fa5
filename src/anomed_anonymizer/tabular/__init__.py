"""Anonymizers that release a whole table at once, and how to score them."""

from typing import Any

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

# Names that moved to the layers that own them; they resolve on first use, so
# importing the algorithms does not import the server or the emulator.
_MOVED = {
    "PersistingTabularDataAnonymizer": "anomed_anonymizer.server.releases",
    "adult_like": "anomed_anonymizer.emulator.adult",
}


def __getattr__(name: str) -> Any:
    if name in _MOVED:
        import importlib

        return getattr(importlib.import_module(_MOVED[name]), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
