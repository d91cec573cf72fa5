"""Anonymizer interfaces and wrappers, independent of any web server."""

from .base import SupervisedLearningAnonymizer
from .batching import batch_views
from .persistence import pickle_anonymizer, save_atomically, unpickle_anonymizer
from .wrappers import TFKerasWrapper, WrappedAnonymizer

__all__ = [
    "SupervisedLearningAnonymizer",
    "TFKerasWrapper",
    "WrappedAnonymizer",
    "batch_views",
    "pickle_anonymizer",
    "save_atomically",
    "unpickle_anonymizer",
]
