"""A local AnoMed challenge, wire-identical to ``anomed-challenge``'s servers,
for developing anonymizers without the platform."""

from .adult import adult_like
from .app import supervised_challenge_app
from .datasets import (
    EMBEDDED_DATASETS,
    REGRESSION_DATASETS,
    Dataset,
    load_dataset,
    load_table,
    read_table,
)
from .glucose import GLUCOSE_FEATURES, GLUCOSE_MINUTES, glucose_curves
from .supervised import MIAChallenge, evaluate_membership_inference, strict_accuracy
from .tabular import ReconstructionChallenge, tabular_challenge_app

__all__ = [
    "EMBEDDED_DATASETS",
    "GLUCOSE_FEATURES",
    "GLUCOSE_MINUTES",
    "REGRESSION_DATASETS",
    "Dataset",
    "MIAChallenge",
    "ReconstructionChallenge",
    "adult_like",
    "evaluate_membership_inference",
    "glucose_curves",
    "load_dataset",
    "load_table",
    "read_table",
    "strict_accuracy",
    "supervised_challenge_app",
    "tabular_challenge_app",
]
