"""Build AnoMed anonymizer web servers from privacy-preserving models.

The public API matches the upstream ``anomed-anonymizer`` package, so code
written for it runs unchanged.
"""

from .models import (
    DPSGD,
    PrivacyBudget,
    SupervisedLearningAnonymizer,
    TFKerasWrapper,
    TorchWrapper,
    WrappedAnonymizer,
    batch_views,
    pickle_anonymizer,
    privacy_budget_of,
    unpickle_anonymizer,
)
from .server import (
    AliveResource,
    FitResource,
    InferenceResource,
    register_error_handlers,
    supervised_learning_anonymizer_server_factory,
    tabular_data_anonymizer_server_factory,
    validate_anonymizer_input_or_raise,
)
from .tabular.base import AnonymizationScheme, TabularDataAnonymizer
from .tabular.persistence import PersistingTabularDataAnonymizer

__version__ = "0.1.0"

__all__ = [
    "DPSGD",
    "AliveResource",
    "AnonymizationScheme",
    "FitResource",
    "InferenceResource",
    "PersistingTabularDataAnonymizer",
    "PrivacyBudget",
    "SupervisedLearningAnonymizer",
    "TFKerasWrapper",
    "TabularDataAnonymizer",
    "TorchWrapper",
    "WrappedAnonymizer",
    "batch_views",
    "pickle_anonymizer",
    "privacy_budget_of",
    "register_error_handlers",
    "supervised_learning_anonymizer_server_factory",
    "tabular_data_anonymizer_server_factory",
    "unpickle_anonymizer",
    "validate_anonymizer_input_or_raise",
]
