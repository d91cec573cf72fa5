"""Build AnoMed anonymizer web servers from privacy-preserving models.

The public API matches the upstream ``anomed-anonymizer`` package, so code
written for it runs unchanged.
"""

from .models import (
    SupervisedLearningAnonymizer,
    TFKerasWrapper,
    WrappedAnonymizer,
    batch_views,
    pickle_anonymizer,
    unpickle_anonymizer,
)
from .server import (
    AliveResource,
    FitResource,
    InferenceResource,
    register_error_handlers,
    supervised_learning_anonymizer_server_factory,
    validate_anonymizer_input_or_raise,
)

__version__ = "0.1.0"

__all__ = [
    "AliveResource",
    "FitResource",
    "InferenceResource",
    "SupervisedLearningAnonymizer",
    "TFKerasWrapper",
    "WrappedAnonymizer",
    "batch_views",
    "pickle_anonymizer",
    "register_error_handlers",
    "supervised_learning_anonymizer_server_factory",
    "unpickle_anonymizer",
    "validate_anonymizer_input_or_raise",
]
