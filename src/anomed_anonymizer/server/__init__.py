"""The web server: Falcon resources and app factories."""

from .app import supervised_learning_anonymizer_server_factory
from .errors import register_error_handlers
from .resources import (
    AliveResource,
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

__all__ = [
    "AliveResource",
    "FitInProgressError",
    "FitResource",
    "InferenceResource",
    "ModelStore",
    "NotFittedError",
    "TabularDataResource",
    "TabularEvaluationResource",
    "TabularFitResource",
    "register_error_handlers",
    "supervised_learning_anonymizer_server_factory",
    "tabular_data_anonymizer_server_factory",
    "validate_anonymizer_input_or_raise",
]
