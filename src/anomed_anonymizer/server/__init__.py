"""The web servers: Falcon resources, the stores they share between worker
processes, and app factories."""

from ..web import AliveResource, register_error_handlers
from .app import supervised_learning_anonymizer_server_factory
from .releases import PersistingTabularDataAnonymizer, Release, ReleaseStore
from .resources import (
    FitResource,
    InferenceResource,
    validate_anonymizer_input_or_raise,
)
from .storage import FitInProgressError, ModelStore, NotFittedError
from .tabular import (
    TabularDataResource,
    TabularEvaluationResource,
    TabularFitResource,
    tabular_data_anonymizer_server_factory,
)
from .urls import SuspiciousURLWarning

__all__ = [
    "AliveResource",
    "FitInProgressError",
    "FitResource",
    "InferenceResource",
    "ModelStore",
    "NotFittedError",
    "PersistingTabularDataAnonymizer",
    "Release",
    "ReleaseStore",
    "SuspiciousURLWarning",
    "TabularDataResource",
    "TabularEvaluationResource",
    "TabularFitResource",
    "register_error_handlers",
    "supervised_learning_anonymizer_server_factory",
    "tabular_data_anonymizer_server_factory",
    "validate_anonymizer_input_or_raise",
]
