"""Build AnoMed anonymizer web servers from privacy-preserving models.

The public API matches the upstream ``anomed-anonymizer`` package, so code
written for it runs unchanged.
"""

from importlib import metadata

from .models import (
    DPSGD,
    AnonymizationScheme,
    PrivacyBudget,
    SupervisedLearningAnonymizer,
    TabularDataAnonymizer,
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
    PersistingTabularDataAnonymizer,
    register_error_handlers,
    supervised_learning_anonymizer_server_factory,
    tabular_data_anonymizer_server_factory,
    validate_anonymizer_input_or_raise,
)
from .wire.addresses import peer_url

try:
    __version__ = metadata.version("anomed-anonymizer")
except metadata.PackageNotFoundError:  # run from a source tree, not installed
    __version__ = "0+unknown"

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
    "peer_url",
    "pickle_anonymizer",
    "privacy_budget_of",
    "register_error_handlers",
    "supervised_learning_anonymizer_server_factory",
    "tabular_data_anonymizer_server_factory",
    "unpickle_anonymizer",
    "validate_anonymizer_input_or_raise",
]
