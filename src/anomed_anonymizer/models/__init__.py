"""Anonymizer interfaces (supervised and tabular) and wrappers, independent of
any web server."""

from .base import SupervisedLearningAnonymizer
from .batching import batch_views
from .persistence import pickle_anonymizer, unpickle_anonymizer
from .privacy import PrivacyAccounted, PrivacyBudget, privacy_budget_of, privacy_json
from .tabular import (
    SCHEMES,
    AnonymizationScheme,
    BudgetRecording,
    Reporting,
    TabularDataAnonymizer,
)
from .torch import DPSGD, TorchWrapper, UnsafeWeightsError
from .wrappers import TFKerasWrapper, WrappedAnonymizer, check_servable

__all__ = [
    "DPSGD",
    "SCHEMES",
    "AnonymizationScheme",
    "BudgetRecording",
    "PrivacyAccounted",
    "PrivacyBudget",
    "Reporting",
    "SupervisedLearningAnonymizer",
    "TFKerasWrapper",
    "TabularDataAnonymizer",
    "TorchWrapper",
    "UnsafeWeightsError",
    "WrappedAnonymizer",
    "batch_views",
    "check_servable",
    "pickle_anonymizer",
    "privacy_budget_of",
    "privacy_json",
    "unpickle_anonymizer",
]
