"""Anonymizer interfaces and wrappers, independent of any web server."""

from .base import SupervisedLearningAnonymizer
from .batching import batch_views
from .persistence import pickle_anonymizer, save_atomically, unpickle_anonymizer
from .privacy import PrivacyAccounted, PrivacyBudget, privacy_budget_of, privacy_json
from .pytorch import DPSGD, TorchWrapper, UnsafeWeightsError
from .wrappers import TFKerasWrapper, WrappedAnonymizer

__all__ = [
    "DPSGD",
    "PrivacyAccounted",
    "PrivacyBudget",
    "SupervisedLearningAnonymizer",
    "TFKerasWrapper",
    "TorchWrapper",
    "UnsafeWeightsError",
    "WrappedAnonymizer",
    "batch_views",
    "pickle_anonymizer",
    "privacy_budget_of",
    "privacy_json",
    "save_atomically",
    "unpickle_anonymizer",
]
